// Admin page: storage use, accounts (add, disable/enable) and the job queue (failed jobs, retry).
import { api, el, onSubmit, toast } from "./api.js";

const size = (n) => {
  const units = ["B", "KB", "MB", "GB", "TB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i += 1;
  }
  return `${n.toFixed(i ? 1 : 0)} ${units[i]}`;
};

async function loadStorage() {
  const s = await api("GET", "/v1/admin/storage");
  const rows = [["Backend", s.backend], ["Photos", s.photos], ["Space used", size(s.bytes)],
    ["Disk free", `${size(s.disk_free_bytes)} of ${size(s.disk_total_bytes)}`]];
  document.getElementById("storage").replaceChildren(...rows.flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, String(v))]));
}

async function loadUsers() {
  const { items } = await api("GET", "/v1/admin/users");
  document.querySelector("#users tbody").replaceChildren(...items.map((u) => el("tr", { dataset: { userId: u.user_id } },
    el("td", {}, u.username), el("td", {}, u.is_admin ? "admin" : "member"), el("td", {}, String(u.photos)),
    el("td", {}, size(u.bytes)),
    el("td", {}, el("button", { type: "button", class: "link", dataset: { toggle: u.user_id, disabled: String(u.disabled) },
      "aria-label": `${u.disabled ? "Enable" : "Disable"} ${u.username}` }, u.disabled ? "Disabled — enable" : "Active — disable")))));
}

async function loadJobs() {
  const { counts, items } = await api("GET", "/v1/admin/jobs?status=dead&limit=50");
  document.getElementById("job-counts").textContent =
    Object.entries(counts).map(([k, v]) => `${k}: ${v}`).join(" · ") || "The queue is empty.";
  document.querySelector("#jobs tbody").replaceChildren(...items.map((j) => el("tr", {},
    el("td", {}, j.name), el("td", {}, j.status), el("td", {}, `${j.attempts}/${j.max_attempts}`),
    el("td", {}, (j.last_error || "").split("\n")[0].slice(0, 120)),
    el("td", {}, el("button", { type: "button", class: "link", dataset: { retry: j.id }, "aria-label": `Retry job ${j.name}` }, "Retry")))));
}

document.addEventListener("click", async (event) => {
  const toggle = event.target.closest("[data-toggle]");
  const retry = event.target.closest("[data-retry], #retry-all");
  try {
    if (toggle) {
      await api("PATCH", `/v1/admin/users/${toggle.dataset.toggle}`, { disabled: toggle.dataset.disabled !== "true" });
      await loadUsers();
    } else if (retry) {
      const r = await api("POST", "/v1/admin/jobs/retry", retry.dataset.retry ? { job_id: retry.dataset.retry } : {});
      toast(`Requeued ${r.requeued} job(s)`);
      await loadJobs();
    }
  } catch (err) {
    toast(err.message, { error: true });
  }
});

onSubmit(document.getElementById("user-form"), async (fields, form) => {
  await api("POST", "/v1/admin/users", {
    username: fields.username, password: fields.password, is_admin: document.getElementById("new-admin").checked,
  });
  form.reset();
  toast("User added");
  await Promise.all([loadUsers(), loadStorage()]);
}, document.getElementById("user-error"));

loadStorage();
loadUsers();
loadJobs();
