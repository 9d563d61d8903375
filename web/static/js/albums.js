// Albums page: create an album and open it.
import { api, onSubmit } from "./api.js";

onSubmit(document.getElementById("album-create"), async (fields) => {
  const album = await api("POST", "/v1/albums", { title: fields.title, description: fields.description });
  location.href = `/albums/${album.album_id}`;
});
