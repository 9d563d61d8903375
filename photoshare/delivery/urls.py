"""Media URLs: `{public_url}/media/{photo_id}/{variant}/{version}`.

`version` is a hash of the bytes behind the URL, so a URL names immutable content and a CDN may
cache it forever. Media that is not public additionally carries `?exp=…&sig=…`: a short-lived
capability minted only after sharing/access.py said yes.
"""

from __future__ import annotations

import math
import time
from typing import Any

from photoshare.signing import Signer

__all__ = ["MEDIA_PREFIX", "VARIANT_NAMES", "MediaUrls"]

MEDIA_PREFIX = "/media/"
VARIANT_NAMES = ("thumb", "medium", "large")
_PURPOSE = "media"


class MediaUrls:
    def __init__(self, base_url: str, signer: Signer, ttl_s: int) -> None:
        self.base_url = base_url.rstrip("/")
        self.signer = signer
        self.ttl_s = ttl_s

    def _expiry(self) -> int:
        # Rounded up to a quarter of the TTL: the same URL is handed out for a while, so browsers and
        # private caches can reuse what they fetched instead of seeing a new URL on every page view.
        step = max(1, self.ttl_s // 4)
        return int(math.ceil((time.time() + self.ttl_s) / step) * step)

    def message(self, photo_id: str, name: str, version: str, exp: int) -> str:
        return f"{photo_id}/{name}/{version}/{exp}"

    def url(self, photo_id: str, name: str, version: str, *, signed: bool) -> str:
        path = f"{self.base_url}{MEDIA_PREFIX}{photo_id}/{name}/{version}"
        if not signed:
            return path
        exp = self._expiry()
        return f"{path}?exp={exp}&sig={self.signer.mac(_PURPOSE, self.message(photo_id, name, version, exp))}"

    def verify(self, photo_id: str, name: str, version: str, exp: str, sig: str) -> bool:
        if not exp.isdigit() or int(exp) < time.time():
            return False
        return self.signer.check(_PURPOSE, self.message(photo_id, name, version, int(exp)), sig)

    def for_photo(self, photo: dict[str, Any], *, public: bool, download: bool) -> dict[str, str | None]:
        """URLs for every variant (and the original when `download`); all None until processed."""
        urls: dict[str, str | None] = {"original": None, "large": None, "medium": None, "thumb": None}
        version = photo.get("variant_version")
        if photo.get("processing_status") != "ready" or not version:
            return urls
        for name in VARIANT_NAMES:
            urls[name] = self.url(photo["id"], name, version, signed=not public)
        if download:
            # Originals are never served unsigned: downloading is a permission of its own.
            urls["original"] = self.url(photo["id"], "original", photo["sha256"][:16], signed=True)
        return urls
