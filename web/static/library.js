// Library page: upload with per-file progress (two-phase: signed URL, direct PUT, confirm), then poll
// each new photo until it is ready and swap its tile in.
const csrf = document.querySelector('meta[name="csrf-token"]').content;
const grid = document.getElementById("grid");
const progressList = document.getElementById("progress");
const input = document.getElementById("files");
const maxBytes = Number(input.dataset.maxMb) * 1024 * 1024;

async function api(method, path, body) {
  const res = await fetch(path, {
    method, credentials: "same-origin",
    headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error((data.error && data.error.message) || res.statusText);
  return data;
}

// The upload ticket says how to send the bytes: PUT to the appliance's own signed URL, or an S3 POST
// policy form (fields first, the file last) straight to the bucket.
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
    xhr.onload = () => (xhr.status < 300 ? resolve() : reject(new Error(xhr.responseText || xhr.statusText)));
    xhr.onerror = () => reject(new Error("network error"));
    xhr.send(body);
  });
}

function contentType(file) {
  if (file.type) return file.type;
  const ext = file.name.split(".").pop().toLowerCase();
  return { heic: "image/heic", heif: "image/heif", avif: "image/avif" }[ext] || "application/octet-stream";
}

function tileFor(photo) {
  const li = document.createElement("li");
  li.className = "tile";
  li.dataset.photoId = photo.photo_id;
  renderTile(li, photo);
  return li;
}

function renderTile(li, photo) {
  li.dataset.status = photo.status;
  li.replaceChildren();
  if (photo.status === "ready") {
    const img = document.createElement("img");
    img.src = photo.urls.thumb;
    img.alt = photo.title || "Photo";
    img.loading = "lazy";
    if (photo.placeholder) img.style.backgroundImage = `url('${photo.placeholder}')`;
    li.append(img);
  } else if (photo.status === "failed") {
    const div = document.createElement("div");
    div.className = "failed";
    div.textContent = `Could not process this file: ${photo.failure_reason || "unknown error"}`;
    li.append(div);
  } else {
    const div = document.createElement("div");
    div.className = "pending";
    div.textContent = "Processing…";
    li.append(div);
  }
}

async function watch(li) {
  for (let delay = 500; ; delay = Math.min(delay * 1.5, 5000)) {
    await new Promise((r) => setTimeout(r, delay));
    const photo = await api("GET", `/v1/photos/${li.dataset.photoId}`);
    if (photo.status !== "processing" && photo.status !== "pending") {
      renderTile(li, photo);
      return;
    }
  }
}

async function uploadOne(file) {
  const row = document.createElement("li");
  const bar = document.createElement("progress");
  bar.max = 1;
  bar.value = 0;
  bar.setAttribute("aria-label", `Upload progress for ${file.name}`);
  row.append(`${file.name} `, bar);
  progressList.append(row);
  try {
    if (file.size > maxBytes) throw new Error(`larger than ${input.dataset.maxMb} MB`);
    const ticket = await api("POST", "/v1/photos/upload-url", {
      filename: file.name, content_type: contentType(file), size_bytes: file.size,
    });
    await send(ticket, file, (f) => (bar.value = f));
    const photo = await api("POST", "/v1/photos", { upload_id: ticket.upload_id, title: "" });
    row.append(" uploaded");
    document.getElementById("empty")?.remove();
    const li = tileFor({ photo_id: photo.photo_id, status: "processing" });
    grid.prepend(li);
    watch(li);
  } catch (err) {
    row.append(` failed: ${err.message}`);
  }
}

input.addEventListener("change", async () => {
  const files = [...input.files];
  input.value = "";
  // Three at a time: enough to fill the pipe, few enough to show steady progress.
  const queue = files.slice();
  await Promise.all([0, 1, 2].map(async () => {
    while (queue.length) await uploadOne(queue.shift());
  }));
});

for (const li of grid.querySelectorAll('.tile[data-status="processing"], .tile[data-status="pending"]')) watch(li);
