// What every page script shares: JSON calls with the page's CSRF token, a status toast, and
// element building without innerHTML (user text never becomes markup).
const meta = document.querySelector('meta[name="csrf-token"]');
export const csrf = meta ? meta.content : "";

export async function api(method, path, body) {
  const res = await fetch(path, {
    method,
    credentials: "same-origin",
    headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error((data.error && data.error.message) || res.statusText);
  return data;
}

export function toast(message, { error = false } = {}) {
  const box = document.getElementById("toast");
  if (!box) return;
  box.textContent = message;
  box.classList.toggle("error", error);
  box.classList.add("show");
  clearTimeout(box._timer);
  box._timer = setTimeout(() => box.classList.remove("show"), 4000);
}

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "dataset") Object.assign(node.dataset, v);
    else if (k in node && typeof v !== "string") node[k] = v;
    else node.setAttribute(k, v === true ? "" : v);
  }
  node.append(...children.filter((c) => c !== null && c !== undefined));
  return node;
}

// Run `fn` on submit with the form's fields as an object; errors go to the toast (or `errorEl`).
export function onSubmit(form, fn, errorEl) {
  if (!form) return;
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (errorEl) errorEl.hidden = true;
    const button = form.querySelector('button[type="submit"]');
    if (button) button.disabled = true;
    try {
      await fn(Object.fromEntries(new FormData(form)), form);
    } catch (err) {
      if (errorEl) {
        errorEl.textContent = err.message;
        errorEl.hidden = false;
      } else toast(err.message, { error: true });
    } finally {
      if (button) button.disabled = false;
    }
  });
}
