// Trash: restore a photo to the library, or free the space of everything in the trash now.
import { api, toast } from "./api.js";

document.addEventListener("click", async (event) => {
  const restore = event.target.closest("[data-restore]");
  try {
    if (restore) {
      await api("POST", `/v1/photos/${restore.dataset.restore}/restore`);
      restore.closest(".tile").remove();
      toast("Restored to your library");
    } else if (event.target.closest("#empty-trash")) {
      if (!confirm("Delete every photo in the trash for good? This cannot be undone.")) return;
      const result = await api("POST", "/v1/trash/empty");
      for (const tile of document.querySelectorAll("[data-grid] .tile")) tile.remove();
      toast(`Deleting ${result.purging} photo(s)`);
    }
  } catch (err) {
    toast(err.message, { error: true });
  }
});
