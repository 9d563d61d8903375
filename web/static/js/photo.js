// The photo page: ←/→ step through the grid the photo was opened from, Esc goes back to it; likes,
// saves, comments, tags, details, album and sharing for the owner.
import { api, el, onSubmit, toast } from "./api.js";
import { NAV_KEY } from "./grid.js";
import { initShareDialog } from "./share.js";
import "./engage.js";

const viewer = document.getElementById("viewer");
const id = viewer.dataset.photoId;
const prev = document.getElementById("prev");
const next = document.getElementById("next");
const close = document.getElementById("close");

const nav = JSON.parse(sessionStorage.getItem(NAV_KEY) || "null");
if (nav) {
  const i = nav.ids.indexOf(id);
  if (i >= 0) {
    close.href = nav.back;
    if (i > 0) {
      prev.href = `/photos/${nav.ids[i - 1]}`;
      prev.hidden = false;
    }
    if (i < nav.ids.length - 1) {
      next.href = `/photos/${nav.ids[i + 1]}`;
      next.hidden = false;
    }
  }
}

document.addEventListener("keydown", (event) => {
  if (event.target.closest("input, textarea, select, [contenteditable]") || event.metaKey || event.ctrlKey) return;
  if (document.querySelector("dialog[open]")) return;
  const target = { ArrowLeft: prev, ArrowRight: next, Escape: close }[event.key];
  if (target && !target.hidden) {
    event.preventDefault();
    location.href = target.href;
  }
});

// -- comments ---------------------------------------------------------------------------------
const list = document.getElementById("comment-list");
onSubmit(document.getElementById("comment-form"), async (fields, form) => {
  const c = await api("POST", `/v1/photos/${id}/comments`, { body: fields.body });
  list.append(el("li", { dataset: { commentId: c.comment_id } }, el("strong", {}, c.username), ` ${c.body} `,
    el("button", { type: "button", class: "link", dataset: { deleteComment: c.comment_id },
      "aria-label": `Delete comment by ${c.username}` }, "Delete")));
  form.reset();
});
list?.addEventListener("click", async (event) => {
  const button = event.target.closest("[data-delete-comment]");
  if (!button) return;
  try {
    await api("DELETE", `/v1/comments/${button.dataset.deleteComment}`);
    button.closest("li").remove();
  } catch (err) {
    toast(err.message, { error: true });
  }
});

// -- owner controls ---------------------------------------------------------------------------
if (viewer.dataset.owner === "true") {
  const tags = document.getElementById("tags");
  const tagItem = (t) => el("li", {}, el("a", { href: `/search?q=${encodeURIComponent(t)}` }, `#${t}`),
    el("button", { type: "button", class: "chip-x", dataset: { untag: t }, "aria-label": `Remove tag ${t}` }, "×"));
  onSubmit(document.getElementById("tag-form"), async (fields, form) => {
    const photo = await api("POST", `/v1/photos/${id}/tags`, { tags: [fields.tag] });
    tags.replaceChildren(...photo.tags.map(tagItem));
    form.reset();
  });
  tags.addEventListener("click", async (event) => {
    const button = event.target.closest("[data-untag]");
    if (!button) return;
    const photo = await api("DELETE", `/v1/photos/${id}/tags/${encodeURIComponent(button.dataset.untag)}`);
    tags.replaceChildren(...photo.tags.map(tagItem));
  });
  onSubmit(document.getElementById("edit-form"), async (fields) => {
    const photo = await api("PATCH", `/v1/photos/${id}`, fields);
    document.getElementById("title").textContent = photo.title || "Untitled";
    toast("Saved");
  });
  onSubmit(document.getElementById("album-form"), async (fields) => {
    await api("POST", `/v1/albums/${fields.album_id}/photos`, { photo_ids: [id] });
    toast("Added to the album");
  });
  document.getElementById("delete")?.addEventListener("click", async () => {
    if (!confirm("Move this photo to the trash?")) return;
    await api("DELETE", `/v1/photos/${id}`);
    location.href = close.href;
  });
  document.getElementById("restore")?.addEventListener("click", async () => {
    await api("POST", `/v1/photos/${id}/restore`);
    location.reload();
  });
  initShareDialog(document.getElementById("share-open"));
}
