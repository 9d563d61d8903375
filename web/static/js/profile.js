// Follow / unfollow on a profile (a private account turns a follow into a request).
import { api, toast } from "./api.js";

const button = document.getElementById("follow");
const userId = document.getElementById("profile").dataset.userId;
const LABELS = { accepted: "Following", pending: "Requested", "": "Follow" };

button?.addEventListener("click", async () => {
  const following = !!button.dataset.status;
  button.disabled = true;
  try {
    const result = await api(following ? "DELETE" : "POST", `/v1/users/${userId}/follow`);
    const status = following ? "" : result.status || "accepted";
    const profile = await api("GET", `/v1/users/${userId}`);
    document.getElementById("followers").textContent = profile.followers_count;
    button.dataset.status = status;
    button.textContent = LABELS[status];
    button.setAttribute("aria-pressed", String(!!status));
  } catch (err) {
    toast(err.message, { error: true });
  } finally {
    button.disabled = false;
  }
});
