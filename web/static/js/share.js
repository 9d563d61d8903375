// The share dialog of a photo or album: link (password, expiry, download), chosen people, or public.
import { api, el, onSubmit, toast } from "./api.js";

async function userIds(names) {
  const ids = [];
  for (const name of names) {
    const found = await api("GET", `/v1/search/users?q=${encodeURIComponent(name)}`);
    const match = found.results.find((u) => u.username === name.toLowerCase());
    if (!match) throw new Error(`no user called ${name}`);
    ids.push(match.user_id);
  }
  return ids;
}

function describe(share) {
  const bits = [share.type, share.permissions];
  if (share.has_password || share.password) bits.push("password");
  if (share.expires_at) bits.push(`until ${share.expires_at.slice(0, 10)}`);
  return bits.join(" · ");
}

export function initShareDialog(openButton) {
  const dialog = document.getElementById("share-dialog");
  if (!dialog || !openButton) return;
  const form = document.getElementById("share-form");
  const { targetType, targetId } = dialog.dataset;
  const sync = () => {
    const type = form.elements.type.value;
    for (const part of form.querySelectorAll("[data-for]")) part.hidden = part.dataset.for !== type;
  };
  form.addEventListener("change", sync);
  openButton.addEventListener("click", () => dialog.showModal());
  document.getElementById("share-close").addEventListener("click", () => dialog.close());
  document.getElementById("share-copy").addEventListener("click", async () => {
    const url = document.getElementById("share-url");
    url.select();
    await navigator.clipboard?.writeText(url.value).catch(() => {});
    toast("Link copied");
  });
  onSubmit(form, async (fields) => {
    const body = { type: fields.type, permissions: fields.permissions };
    if (fields.type === "link" && fields.password) body.password = fields.password;
    if (fields.expires) body.expires_at = `${fields.expires}T23:59:59Z`;
    if (fields.type === "users") {
      const names = fields.usernames.split(",").map((s) => s.trim()).filter(Boolean);
      if (!names.length) throw new Error("name at least one person");
      body.user_ids = await userIds(names);
    }
    const share = await api("POST", `/v1/${targetType}s/${targetId}/share`, body);
    document.getElementById("share-url").value = share.share_url;
    document.getElementById("share-result").hidden = false;
    const item = el("li", { dataset: { shareId: share.share_id } }, el("span", {}, describe({ ...share, password: body.password })));
    if (share.type === "link") item.append(" ", el("input", { readonly: true, value: share.share_url, "aria-label": "Link address" }));
    item.append(" ", el("button", { type: "button", class: "link", dataset: { revoke: share.share_id }, "aria-label": `Stop sharing (${share.type})` }, "Stop sharing"));
    document.getElementById("share-list").prepend(item);
    toast("Shared");
  }, document.getElementById("share-error"));
}

// "Stop sharing" buttons, in the dialog and on the Shared page.
document.addEventListener("click", async (event) => {
  const button = event.target.closest("[data-revoke]");
  if (!button) return;
  try {
    await api("DELETE", `/v1/shares/${button.dataset.revoke}`);
    button.closest("li").remove();
    toast("Sharing stopped");
  } catch (err) {
    toast(err.message, { error: true });
  }
});
