// Like and save buttons (feed cards and the photo page): toggled with aria-pressed, counts from the server.
import { api, toast } from "./api.js";

document.addEventListener("click", async (event) => {
  const button = event.target.closest("[data-like], [data-save]");
  if (!button) return;
  const like = button.hasAttribute("data-like");
  const id = button.dataset.like || button.dataset.save;
  const on = button.getAttribute("aria-pressed") !== "true";
  button.disabled = true;
  try {
    const result = await api(on ? "POST" : "DELETE", `/v1/photos/${id}/${like ? "like" : "save"}`);
    button.setAttribute("aria-pressed", String(on));
    const n = button.querySelector(".n");
    if (n && result.like_count !== undefined) n.textContent = result.like_count;
  } catch (err) {
    toast(err.message, { error: true });
  } finally {
    button.disabled = false;
  }
});
