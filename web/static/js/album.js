// One album: add photos from the library (a picker paging the library grid), reorder by dragging or
// with the keyboard (Alt+←/→ on a focused photo), share, delete.
import { api, toast } from "./api.js";
import { pager } from "./grid.js";
import { initShareDialog } from "./share.js";

const root = document.getElementById("album");
const albumId = root.dataset.albumId;
const owner = !!document.getElementById("add-open");

if (owner) {
  const dialog = document.getElementById("add-dialog");
  const picker = document.getElementById("picker");
  let paged = null;
  document.getElementById("add-open").addEventListener("click", () => {
    dialog.showModal();
    if (!paged) paged = pager(picker, document.getElementById("picker-more"), { source: "/", pick: true, initial: true });
  });
  document.getElementById("add-close").addEventListener("click", () => dialog.close());
  document.getElementById("add-confirm").addEventListener("click", async () => {
    const ids = [...picker.querySelectorAll("input.pick:checked")].map((c) => c.value);
    if (!ids.length) return toast("Select some photos first", { error: true });
    try {
      await api("POST", `/v1/albums/${albumId}/photos`, { photo_ids: ids });
      location.reload();
    } catch (err) {
      toast(err.message, { error: true });
    }
  });

  // Reordering: the album's photos in their new order, with the version this page loaded (a stale
  // version means someone else changed the album: reload rather than overwrite their change).
  const grid = document.querySelector("[data-grid] ul.grid");
  const toggle = document.getElementById("reorder-toggle");
  let dragged = null;
  async function saveOrder() {
    const ids = [...grid.querySelectorAll(".tile")].map((t) => t.dataset.photoId);
    try {
      const album = await api("PATCH", `/v1/albums/${albumId}`, { photo_ids: ids, version: Number(root.dataset.version) });
      root.dataset.version = album.version;
      toast("Order saved");
    } catch (err) {
      toast(`${err.message}`, { error: true });
    }
  }
  toggle.addEventListener("click", () => {
    const on = toggle.getAttribute("aria-pressed") !== "true";
    toggle.setAttribute("aria-pressed", String(on));
    toggle.textContent = on ? "Done reordering" : "Reorder";
    grid?.classList.toggle("reordering", on);
    for (const tile of grid?.querySelectorAll(".tile") || []) {
      tile.draggable = on;
      tile.tabIndex = on ? 0 : -1;
      tile.setAttribute("aria-roledescription", on ? "movable photo: Alt+Left or Alt+Right to move" : "");
    }
  });
  grid?.addEventListener("dragstart", (e) => {
    dragged = e.target.closest(".tile");
  });
  grid?.addEventListener("dragover", (e) => {
    if (!dragged) return;
    e.preventDefault();
    const over = e.target.closest(".tile");
    if (!over || over === dragged) return;
    const after = [...grid.children].indexOf(over) > [...grid.children].indexOf(dragged);
    over[after ? "after" : "before"](dragged);
  });
  grid?.addEventListener("drop", (e) => {
    e.preventDefault();
    dragged = null;
    saveOrder();
  });
  grid?.addEventListener("keydown", (e) => {
    const tile = e.target.closest(".tile");
    if (!tile || !grid.classList.contains("reordering") || !e.altKey) return;
    if (e.key === "ArrowLeft" && tile.previousElementSibling) tile.previousElementSibling.before(tile);
    else if (e.key === "ArrowRight" && tile.nextElementSibling) tile.nextElementSibling.after(tile);
    else return;
    e.preventDefault();
    tile.focus();
    saveOrder();
  });

  document.getElementById("album-delete").addEventListener("click", async () => {
    if (!confirm("Delete this album? Its photos stay in your library.")) return;
    await api("DELETE", `/v1/albums/${albumId}`);
    location.href = "/albums";
  });
  initShareDialog(document.getElementById("share-open"));
}
