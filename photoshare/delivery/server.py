"""The media fast path: `GET /media/{photo_id}/{variant}/{version}`.

Answers from memory for hot thumbnails, negotiates AVIF > WebP > JPEG by Accept (with
`Vary: Accept`), supports ETag/If-None-Match, HEAD and single byte ranges, and sets
`public, immutable` caching for public media and `private` for signed links.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from photoshare.delivery.cache import MediaCache, MediaEntry, VariantFile
from photoshare.delivery.urls import MEDIA_PREFIX, MediaUrls
from photoshare.http.raw import Receive, Scope, Send, header, send_error, send_json
from photoshare.sharing.access import Access
from photoshare.storage.base import BlobNotFound

__all__ = ["MediaServer"]

_PUBLIC_CACHE = b"public, max-age=31536000, immutable"
_PREFERENCE = (("avif", b"image/avif"), ("webp", b"image/webp"))


def _refused(accept: bytes, mime: bytes) -> bool:
    """True when the Accept header lists `mime` with q=0 (explicitly not acceptable)."""
    for part in accept.split(b","):
        media, _, params = part.strip().partition(b";")
        if media.strip() == mime:
            for param in params.split(b";"):
                name, _, value = param.strip().partition(b"=")
                if name.strip() == b"q":
                    try:
                        return float(value) == 0.0
                    except ValueError:
                        return False
            return False
    return False


def _choose(formats: dict[str, VariantFile], accept: bytes) -> VariantFile | None:
    # Our preference (smallest first) among what the client accepts: browsers list the modern formats
    # explicitly and JPEG only through */* or image/*, so q-values beyond q=0 carry no useful ranking.
    for fmt, mime in _PREFERENCE:
        if fmt in formats and mime in accept and (b"q=0" not in accept or not _refused(accept, mime)):
            return formats[fmt]
    return formats.get("jpeg") or next(iter(formats.values()), None)


def _parse_range(value: bytes, size: int) -> tuple[int, int] | None:
    """One `bytes=a-b` range as [start, end); None when unsatisfiable or not understood."""
    try:
        unit, _, spec = value.decode("latin-1").partition("=")
        if unit.strip() != "bytes" or "," in spec:
            return None
        first, _, last = spec.strip().partition("-")
        if first == "":
            n = int(last)
            if n <= 0:
                return None
            return max(0, size - n), size
        start = int(first)
        end = size if last == "" else min(size, int(last) + 1)
        if start >= size or end <= start:
            return None
        return start, end
    except ValueError:
        return None


def _signature_params(query: bytes) -> tuple[str, str, str]:
    exp = viewer = sig = ""
    for part in query.split(b"&"):
        key, _, value = part.partition(b"=")
        if key == b"exp":
            exp = value.decode("latin-1")
        elif key == b"v":
            viewer = value.decode("latin-1")
        elif key == b"sig":
            sig = value.decode("latin-1")
    return exp, viewer, sig


class MediaServer:
    def __init__(
        self,
        cache: MediaCache,
        urls: MediaUrls,
        access: Access,
        presign_get: Callable[[str, int], str] | None = None,
    ) -> None:
        self.cache = cache
        # With an object store, originals can be handed off to a short presigned GET instead of
        # streaming them through the appliance ([storage.s3] presigned_reads).
        self.presign_get = presign_get
        self.urls = urls
        self.access = access
        self.served = 0
        # (viewer scope, photo, original?) -> (allowed, access generation it was decided in, valid until)
        self._decisions: dict[tuple[str, str, bool], tuple[bool, int, float]] = {}
        # Signed URLs repeat (a grid is re-fetched, many viewers share a link): remember good
        # signatures; the expiry is still checked on every request.
        self._good_signatures: dict[tuple[str, str, str, str, str], int] = {}

    def _verified(self, photo_id: str, name: str, version: str, exp: str, viewer: str, sig: str) -> bool:
        key = (photo_id, name, version, exp + viewer, sig)
        expires = self._good_signatures.get(key)
        if expires is not None:
            return expires >= time.time()
        if not self.urls.verify(photo_id, name, version, exp, viewer, sig):
            return False
        if len(self._good_signatures) >= 65536:
            self._good_signatures.clear()
        self._good_signatures[key] = int(exp)
        return True

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        method = scope["method"]
        if method not in ("GET", "HEAD"):
            await send_json(
                send,
                405,
                {"error": {"code": "method_not_allowed", "message": "media is read-only"}},
                [(b"allow", b"GET, HEAD")],
            )
            return
        parts = scope["path"][len(MEDIA_PREFIX) :].split("/")
        if len(parts) != 3:
            await send_error(send, 404, "not_found", "no such media")
            return
        photo_id, name, version = parts
        entry = self.cache.entry(photo_id)
        if entry is None:
            await send_error(send, 404, "not_found", "no such media")
            return
        f, cacheable = self._resolve(entry, name, version)
        if f is None:
            await send_error(send, 404, "not_found", "no such media")
            return
        if not (cacheable and entry.public):
            exp, viewer, sig = _signature_params(scope.get("query_string", b""))
            if not self._verified(photo_id, name, version, exp, viewer, sig) or not await self._allowed(
                viewer, photo_id, name == "original"
            ):
                # A photo in the trash does not exist for anyone but its owner.
                if entry.deleted:
                    await send_error(send, 404, "not_found", "no such media")
                    return
                await send_error(send, 403, "forbidden", "this media link is invalid or has expired")
                return
            cache_control = f"private, max-age={max(0, int(exp) - int(time.time()))}"
        else:
            cache_control = _PUBLIC_CACHE.decode()
        if name == "original" and self.presign_get is not None:
            location = await asyncio.to_thread(self.presign_get, f.key, 300)
            await send(
                {
                    "type": "http.response.start",
                    "status": 302,
                    "headers": [
                        (b"location", location.encode()),
                        (b"cache-control", b"private, no-store"),
                        (b"content-length", b"0"),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": b""})
            return
        if name != "original":
            f = _choose(entry.variants[name], header(scope, b"accept") or b"")
            if f is None:
                await send_error(send, 404, "not_found", "no such media")
                return
        await self._send_blob(scope, send, f, cache_control, vary=name != "original")

    async def _allowed(self, viewer: str, photo_id: str, original: bool) -> bool:
        """Does the viewer the URL was minted for still have access? Cached until access changes
        or a share the answer rests on expires."""
        key = (viewer, photo_id, original)
        generation = self.access.generation
        decided = self._decisions.get(key)
        if decided is not None and decided[1] == generation and time.time() < decided[2]:
            return decided[0]
        allowed, valid_until = await asyncio.to_thread(self.access.media_scope_allows, viewer, photo_id, original)
        if len(self._decisions) >= 65536:
            self._decisions.clear()
        self._decisions[key] = (allowed, generation, valid_until)
        return allowed

    @staticmethod
    def _resolve(entry: MediaEntry, name: str, version: str) -> tuple[VariantFile | None, bool]:
        if name == "original":
            ok = entry.original is not None and version == entry.original.etag[:16]
            return (entry.original if ok else None), False
        if not entry.ready or version != entry.version or name not in entry.variants:
            return None, False
        return next(iter(entry.variants[name].values())), True

    async def _send_blob(self, scope: Scope, send: Send, f: VariantFile, cache_control: str, *, vary: bool) -> None:
        etag = f'"{f.etag}"'.encode()
        headers = [
            (b"content-type", f.content_type.encode()),
            (b"etag", etag),
            (b"cache-control", cache_control.encode()),
            (b"accept-ranges", b"bytes"),
        ]
        if vary:
            headers.append((b"vary", b"Accept"))
        inm = header(scope, b"if-none-match")
        if inm is not None and (inm == etag or inm == b"*" or etag in inm.split(b", ")):
            await send({"type": "http.response.start", "status": 304, "headers": headers})
            await send({"type": "http.response.body", "body": b""})
            return
        size = f.size
        start, end, status = 0, size, 200
        rng = header(scope, b"range")
        if rng is not None:
            parsed = _parse_range(rng, size)
            if parsed is None:
                await send(
                    {
                        "type": "http.response.start",
                        "status": 416,
                        "headers": [(b"content-range", f"bytes */{size}".encode())],
                    }
                )
                await send({"type": "http.response.body", "body": b""})
                return
            start, end = parsed
            status = 206
            headers.append((b"content-range", f"bytes {start}-{end - 1}/{size}".encode()))
        headers.append((b"content-length", str(end - start).encode()))
        head = scope["method"] == "HEAD"
        data = None if head else self.cache.cached(f)
        chunks = None
        if data is None and not head:
            try:
                if self.cache.cacheable(f):
                    data = await asyncio.to_thread(self.cache.blob, f)
                else:
                    chunks = iter(await asyncio.to_thread(self.cache.store.iter_range, f.key, start, end))
            except BlobNotFound:
                await send_error(send, 404, "not_found", "media file is missing")
                return
        self.served += 1
        await send({"type": "http.response.start", "status": status, "headers": headers})
        if data is not None:
            await send({"type": "http.response.body", "body": data[start:end] if status == 206 else data})
            return
        while chunks is not None:
            chunk = await asyncio.to_thread(next, chunks, None)
            if chunk is None:
                break
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b""})
