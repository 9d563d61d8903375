// Upload page: drop or choose many files; each gets a row with a progress bar. The bytes go straight to
// the store (a signed PUT to the appliance, or an S3 POST policy to the bucket), then the photo is
// confirmed and its row follows processing → ready over the event stream.
import { api, el } from "./api.js";

const form = document.getElementById("upload-form");
const drop = document.getElementById("drop");
const input = document.getElementById("files");
const queueList = document.getElementById("queue");
const maxMb = Number(form.dataset.maxMb);
const PARALLEL = 3; // enough to fill the pipe, few enough to show steady progress

const rows = new Map(); // photo_id → row, waiting for photo.ready / photo.failed
const early = new Map(); // events that arrived before their confirm answer did

function contentType(file) {
  if (file.type) return file.type;
  const ext = file.name.split(".").pop().toLowerCase();
  return { heic: "image/heic", heif: "image/heif", avif: "image/avif", jpg: "image/jpeg", jpeg: "image/jpeg" }[ext]
    || "application/octet-stream";
}

function send(ticket, file, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open(ticket.method, ticket.presigned_url);
    let body = file;
    if (ticket.method === "POST") {
      body = new FormData();
      for (const [k, v] of Object.entries(ticket.fields || {})) body.append(k, v);
      body.append("file", file);
    } else {
      for (const [k, v] of Object.entries(ticket.headers || {})) xhr.setRequestHeader(k, v);
    }
    xhr.upload.onprogress = (e) => e.lengthComputable && onProgress(e.loaded / e.total);
    xhr.onload = () => (xhr.status < 300 ? resolve() : reject(new Error(uploadError(xhr))));
    xhr.onerror = () => reject(new Error("network error"));
    xhr.send(body);
  });
}

function uploadError(xhr) {
  try {
    return JSON.parse(xhr.responseText).error.message;
  } catch {
    return xhr.statusText || `upload refused (${xhr.status})`;
  }
}

function setState(row, state, text) {
  row.dataset.state = state;
  row.querySelector(".state").textContent = text;
}

async function settle(row, type, data) {
  if (type === "photo.failed") {
    setState(row, "failed", `Failed: ${data.reason || "could not process"}`);
    return;
  }
  const photo = await api("GET", `/v1/photos/${data.photo_id}`);
  row.querySelector(".thumb").replaceChildren(
    el("a", { href: `/photos/${photo.photo_id}`, "aria-label": `Open ${row.dataset.name}` },
      el("img", { src: photo.urls.thumb, alt: "" })),
  );
  setState(row, "ready", "Ready");
}

function onEvent(type) {
  return (event) => {
    const data = JSON.parse(event.data);
    const row = rows.get(data.photo_id);
    if (row) {
      rows.delete(data.photo_id);
      settle(row, type, data);
    } else early.set(data.photo_id, [type, data]);
  };
}

const events = new EventSource("/v1/events");
events.addEventListener("photo.ready", onEvent("photo.ready"));
events.addEventListener("photo.failed", onEvent("photo.failed"));

// A stream can drop (laptop asleep, proxy restart): rows still waiting are checked now and then.
setInterval(async () => {
  for (const [id, row] of rows) {
    const photo = await api("GET", `/v1/photos/${id}`).catch(() => null);
    if (photo && (photo.status === "ready" || photo.status === "failed")) {
      rows.delete(id);
      settle(row, photo.status === "ready" ? "photo.ready" : "photo.failed", { photo_id: id, reason: photo.failure_reason });
    }
  }
}, 10000);

async function uploadOne(file, row) {
  const bar = row.querySelector("progress");
  try {
    if (file.size > maxMb * 1024 * 1024) throw new Error(`larger than ${maxMb} MB`);
    setState(row, "uploading", "Uploading…");
    const ticket = await api("POST", "/v1/photos/upload-url", {
      filename: file.name, content_type: contentType(file), size_bytes: file.size,
    });
    await send(ticket, file, (f) => {
      bar.value = f;
      row.querySelector(".state").textContent = `Uploading ${Math.round(f * 100)}%`;
    });
    bar.value = 1;
    const album = document.getElementById("album").value;
    const photo = await api("POST", "/v1/photos", {
      upload_id: ticket.upload_id,
      title: file.name.replace(/\.[^.]+$/, ""),
      visibility: document.getElementById("visibility").value,
      album_id: album || undefined,
    });
    row.dataset.photoId = photo.photo_id;
    setState(row, "processing", "Processing…");
    const seen = early.get(photo.photo_id);
    if (seen) {
      early.delete(photo.photo_id);
      settle(row, ...seen);
    } else rows.set(photo.photo_id, row);
  } catch (err) {
    setState(row, "failed", `Failed: ${err.message}`);
  }
}

function enqueue(files) {
  const jobs = [...files].map((file) => {
    const row = el("li", { class: "upload-row", dataset: { name: file.name, state: "queued" } },
      el("span", { class: "thumb" }),
      el("span", { class: "name" }, file.name),
      el("progress", { max: 1, value: 0, "aria-label": `Upload progress for ${file.name}` }),
      el("span", { class: "state" }, "Waiting"));
    queueList.append(row);
    return [file, row];
  });
  const workers = Array.from({ length: PARALLEL }, async () => {
    while (jobs.length) await uploadOne(...jobs.shift());
  });
  return Promise.all(workers);
}

drop.addEventListener("click", () => input.click());
drop.addEventListener("keydown", (e) => {
  if (e.key === "Enter" || e.key === " ") {
    e.preventDefault();
    input.click();
  }
});
for (const type of ["dragenter", "dragover"]) {
  drop.addEventListener(type, (e) => {
    e.preventDefault();
    drop.classList.add("over");
  });
}
drop.addEventListener("dragleave", () => drop.classList.remove("over"));
drop.addEventListener("drop", (e) => {
  e.preventDefault();
  drop.classList.remove("over");
  enqueue(e.dataTransfer.files);
});
input.addEventListener("change", () => {
  const files = [...input.files];
  input.value = "";
  enqueue(files);
});
