// Naming people: a name makes every photo of that person findable by it; a name already given to
// another group merges the two (the answer says which person survives).
import { api, toast } from "./api.js";

for (const form of document.querySelectorAll(".name-form")) {
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const name = new FormData(form).get("name");
    try {
      const person = await api("POST", `/v1/people/${form.dataset.personId}`, { name });
      if (form.dataset.reload || person.person_id !== form.dataset.personId) {
        location.href = `/people/${person.person_id}`;
        return;
      }
      form.closest(".person").querySelector(".name").textContent = person.name || "Unnamed";
      toast("Name saved");
    } catch (err) {
      toast(err.message, { error: true });
    }
  });
}
