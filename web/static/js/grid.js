// Photo grids: infinite scroll (the page's own URL with ?fragment=1 returns the next tiles, drawn by the
// same template), tiles that turn from "processing" to the photo as soon as it is ready, and the list of
// photos the viewer opens one of, so the photo page can step through them with ← and →.
import { api } from "./api.js";

export const NAV_KEY = "photoshare.nav";

function merge(container, fragment) {
  container.querySelector(":scope > .empty")?.remove();
  for (const part of [...fragment.children]) {
    if (part.matches("section.day")) {
      const days = container.querySelectorAll(":scope > section.day");
      const last = days[days.length - 1];
      if (last && last.dataset.day === part.dataset.day) {
        last.querySelector("ul").append(...part.querySelector("ul").children);
        continue;
      }
      container.append(part);
    } else {
      const list = container.querySelector(`:scope > ul.${part.classList[0]}`);
      if (list) list.append(...part.children);
      else container.append(part);
    }
  }
}

export function pager(container, more, { source = null, pick = false, initial = false } = {}) {
  let next = container.dataset.next || "";
  let loading = false;
  let started = !initial;
  async function load() {
    if (loading || (started && !next)) return;
    loading = true;
    try {
      const url = new URL(source || location.pathname + location.search, location.origin);
      if (next) url.searchParams.set("cursor", next);
      url.searchParams.set("fragment", "1");
      if (pick) url.searchParams.set("pick", "1");
      const res = await fetch(url, { credentials: "same-origin" });
      if (!res.ok) throw new Error(res.statusText);
      const doc = new DOMParser().parseFromString(await res.text(), "text/html");
      const fragment = doc.querySelector("[data-fragment]");
      merge(container, fragment);
      next = fragment.dataset.next || "";
      container.dataset.next = next;
      started = true;
      watchPending(container);
    } finally {
      loading = false;
      more.hidden = !next;
    }
    // Still near the bottom (a tall screen, or a short page): keep filling.
    if (next && more.getBoundingClientRect().top < innerHeight + 800) load();
  }
  new IntersectionObserver((entries) => entries.some((e) => e.isIntersecting) && load(), {
    rootMargin: "800px",
  }).observe(more);
  if (initial) load();
  return { load };
}

function renderReady(li, photo) {
  li.dataset.status = photo.status;
  if (photo.status === "failed") {
    const div = document.createElement("div");
    div.className = "failed";
    div.textContent = `Could not process this file: ${photo.failure_reason || "unknown error"}`;
    li.replaceChildren(div);
    return;
  }
  const a = document.createElement("a");
  a.href = `/photos/${photo.photo_id}`;
  a.className = "open";
  a.setAttribute("aria-label", `Open ${photo.title || "photo"}`);
  const img = document.createElement("img");
  img.src = photo.urls.thumb;
  img.alt = photo.title || "Photo";
  if (photo.placeholder) img.style.backgroundImage = `url('${photo.placeholder}')`;
  a.append(img);
  li.replaceChildren(a);
}

let events = null;
const waiting = new Map();

// Tiles still processing listen for photo.ready / photo.failed on the user's event stream.
export function watchPending(root) {
  const tiles = root.querySelectorAll('.tile[data-status="processing"], .tile[data-status="pending"]');
  if (!tiles.length) return;
  for (const li of tiles) waiting.set(li.dataset.photoId, li);
  if (events) return;
  events = new EventSource("/v1/events");
  const settle = async (event) => {
    const { photo_id: id } = JSON.parse(event.data);
    const li = waiting.get(id);
    if (!li) return;
    waiting.delete(id);
    renderReady(li, await api("GET", `/v1/photos/${id}`));
  };
  events.addEventListener("photo.ready", settle);
  events.addEventListener("photo.failed", settle);
}

// Opening a photo remembers the grid it came from, for ←/→ and Esc on the photo page.
document.addEventListener("click", (event) => {
  const link = event.target.closest("[data-grid] a.open");
  if (!link) return;
  const grid = link.closest("[data-grid]");
  const ids = [...grid.querySelectorAll(".tile[data-status=ready], .post")].map((t) => t.dataset.photoId);
  sessionStorage.setItem(NAV_KEY, JSON.stringify({ ids, back: location.pathname + location.search }));
});

for (const container of document.querySelectorAll("[data-grid]:not([data-source])")) {
  const more = container.nextElementSibling?.matches("[data-more]") ? container.nextElementSibling : null;
  if (more) pager(container, more);
  watchPending(container);
}
