"""Media URLs: `{public_url}/media/{photo_id}/{variant}/{version}`.

`version` is a hash of the bytes behind the URL, so a URL names immutable content and a CDN may
cache it forever. Media that is not public additionally carries `?exp=…&v=…&sig=…`: a short-lived
capability minted only after sharing/access.py said yes. `v` names the viewer it was minted for
("u.<user>", "s.<share link>" or "p" for anonymous visitors), so the media server can re-check that
viewer's access and a revocation applies at once, not when the URL expires.
"""

from __future__ import annotations

import math
import time
from typing import Any

from photoshare.signing import Signer

__all__ = ["MEDIA_PREFIX", "MediaUrls"]

MEDIA_PREFIX = "/media/"
_PURPOSE = "media"
_SIGNED_CACHE_MAX = 50_000


class MediaUrls:
    def __init__(self, base_url: str, signer: Signer, ttl_s: int) -> None:
        self.base_url = base_url.rstrip("/")
        self.signer = signer
        self.ttl_s = ttl_s
        # Signatures are deterministic within an expiry step: remembering them saves the MACs on every
        # page view after the first (and on a photo's other sizes within one page).
        self._signed: dict[tuple[str, bool, str, str, int], str] = {}

    def expiry(self) -> int:
        # Rounded up to a quarter of the TTL: the same URL is handed out for a while, so browsers and
        # private caches can reuse what they fetched instead of seeing a new URL on every page view.
        step = max(1, self.ttl_s // 4)
        return int(math.ceil((time.time() + self.ttl_s) / step) * step)

    def message(self, photo_id: str, name: str, version: str, exp: int, scope: str) -> str:
        # One capability covers every rendered size of a photo (whoever may see one size may see them
        # all), so a page signs once per photo, not once per size; the original is a permission of its own.
        kind = "original" if name == "original" else "variants"
        return f"{photo_id}/{kind}/{version}/{exp}/{scope}"

    def url(self, photo_id: str, name: str, version: str, *, scope: str | None, exp: int | None = None) -> str:
        """An unsigned URL when `scope` is None (public media), else one signed for that viewer."""
        path = f"{self.base_url}{MEDIA_PREFIX}{photo_id}/{name}/{version}"
        if scope is None:
            return path
        exp = exp or self.expiry()
        key = (photo_id, name == "original", version, scope, exp)
        query = self._signed.get(key)
        if query is None:
            sig = self.signer.mac(_PURPOSE, self.message(photo_id, name, version, exp, scope))
            query = f"exp={exp}&v={scope}&sig={sig}"
            if len(self._signed) >= _SIGNED_CACHE_MAX:
                self._signed.clear()  # entries from past expiry steps are useless anyway
            self._signed[key] = query
        return f"{path}?{query}"

    def verify(self, photo_id: str, name: str, version: str, exp: str, scope: str, sig: str) -> bool:
        if not exp.isdigit() or int(exp) < time.time():
            return False
        return self.signer.check(_PURPOSE, self.message(photo_id, name, version, int(exp), scope), sig)

    def for_photo(
        self, photo: dict[str, Any], *, scope: str, public: bool, download: bool, exp: int | None = None
    ) -> dict[str, str | None]:
        """URLs for every variant (and the original when `download`); all None until processed.

        Public photos get unsigned, CDN-cacheable variant URLs; everything else is signed for `scope`.
        A page of photos passes one `exp` for all of them.
        """
        version = photo.get("variant_version")
        if photo.get("processing_status") != "ready" or not version:
            return {"original": None, "large": None, "medium": None, "thumb": None}
        exp = exp or self.expiry()
        photo_id = photo["id"]
        variant_scope = None if public else scope
        # Originals are never served unsigned: downloading is a permission of its own.
        original = self.url(photo_id, "original", photo["sha256"][:16], scope=scope, exp=exp) if download else None
        return {
            "original": original,
            "large": self.url(photo_id, "large", version, scope=variant_scope, exp=exp),
            "medium": self.url(photo_id, "medium", version, scope=variant_scope, exp=exp),
            "thumb": self.url(photo_id, "thumb", version, scope=variant_scope, exp=exp),
        }
