// Settings: profile, password, API tokens.
import { api, el, onSubmit, toast } from "./api.js";

onSubmit(document.getElementById("profile-form"), async (fields) => {
  await api("PATCH", "/v1/users/me", {
    display_name: fields.display_name, bio: fields.bio, private: document.getElementById("private").checked,
  });
  toast("Profile saved");
});

onSubmit(document.getElementById("password-form"), async (fields, form) => {
  if (fields.new_password !== fields.confirm_password) throw new Error("the new passwords do not match");
  await api("POST", "/v1/users/me/password", {
    current_password: fields.current_password, new_password: fields.new_password,
  });
  form.reset();
  toast("Password changed; your other sessions were signed out");
}, document.getElementById("password-error"));

const tokens = document.getElementById("token-list");
onSubmit(document.getElementById("token-form"), async (fields, form) => {
  const t = await api("POST", "/v1/tokens", { name: fields.name });
  document.getElementById("token-value").value = t.token;
  document.getElementById("token-created").hidden = false;
  tokens.append(el("li", { dataset: { tokenId: t.token_id } }, el("span", {}, t.name), " ",
    el("button", { type: "button", class: "link", dataset: { revokeToken: t.token_id }, "aria-label": `Revoke token ${t.name}` }, "Revoke")));
  form.reset();
});
tokens.addEventListener("click", async (event) => {
  const button = event.target.closest("[data-revoke-token]");
  if (!button) return;
  await api("DELETE", `/v1/tokens/${button.dataset.revokeToken}`);
  button.closest("li").remove();
  toast("Token revoked");
});

// Follow requests of a private account: approve (they see your posts) or decline.
document.getElementById("follow-requests")?.addEventListener("click", async (event) => {
  const approve = event.target.closest("[data-approve]");
  const decline = event.target.closest("[data-decline]");
  if (!approve && !decline) return;
  const userId = (approve || decline).closest("li").dataset.userId;
  try {
    if (approve) await api("POST", `/v1/follow-requests/${userId}/approve`);
    else await api("DELETE", `/v1/follow-requests/${userId}`);
    (approve || decline).closest("li").remove();
    toast(approve ? "Request approved" : "Request declined");
  } catch (err) {
    toast(err.message, { error: true });
  }
});
