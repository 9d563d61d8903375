"""The only place object keys are built.

Originals are content-addressed (identical bytes are stored once); variants are keyed by the
original's hash plus a recipe version, so re-processing writes the same keys (idempotent jobs)
and a new rendering (an edit, a better encoder) gets new keys and therefore new URLs.
"""

from __future__ import annotations

import re

__all__ = [
    "EXTERNAL_PREFIX",
    "external_key",
    "is_upload_key",
    "original_key",
    "split_external_key",
    "upload_key",
    "variant_key",
]

_EXT = {
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "image/webp": ".webp",
    "image/gif": ".gif",
    "image/tiff": ".tif",
    "image/heic": ".heic",
    "image/heif": ".heif",
    "image/avif": ".avif",
    "image/x-mpo": ".mpo",
    "image/mpo": ".mpo",
}
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_UPLOAD = re.compile(r"^uploads/[0-9a-f]{32}$")
_LIBRARY = re.compile(r"^[0-9a-f]{32}$")
EXTERNAL_PREFIX = "external/"


def upload_key(upload_id: str) -> str:
    """Staging key a signed upload URL may write to (one per upload)."""
    return f"uploads/{upload_id}"


def is_upload_key(key: str) -> bool:
    return bool(_UPLOAD.match(key))


def original_key(sha256: str, content_type: str) -> str:
    if not _HEX64.match(sha256):
        raise ValueError("sha256 must be 64 lowercase hex digits")
    return f"originals/{sha256[:2]}/{sha256[2:4]}/{sha256}{_EXT.get(content_type, '')}"


def variant_key(sha256: str, recipe: str, name: str, fmt: str) -> str:
    if not _HEX64.match(sha256):
        raise ValueError("sha256 must be 64 lowercase hex digits")
    return f"variants/{sha256[:2]}/{sha256}/{recipe}/{name}.{fmt}"


def external_key(library_id: str, relative_path: str) -> str:
    """An original left in place in an external library folder: the library plus the file's path in it.

    Such keys are resolved by storage.external.ExternalFiles, never by a back end, so the file is
    only ever read.
    """
    if not _LIBRARY.match(library_id):
        raise ValueError("library id must be 32 lowercase hex digits")
    parts = relative_path.split("/")
    if relative_path.startswith("/") or any(p in ("", ".", "..") for p in parts):
        raise ValueError(f"invalid path in library: {relative_path!r}")
    return f"{EXTERNAL_PREFIX}{library_id}/{relative_path}"


def split_external_key(key: str) -> tuple[str, str] | None:
    """(library id, relative path) of an external key, or None for any other key."""
    if not key.startswith(EXTERNAL_PREFIX):
        return None
    library_id, _, rel = key[len(EXTERNAL_PREFIX) :].partition("/")
    try:
        external_key(library_id, rel)
    except ValueError:
        return None
    return library_id, rel
