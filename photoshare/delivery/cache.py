"""What the media fast path needs to know about a photo, and the bytes of small variants, cached.

Entries are dropped by PhotoService.invalidate() whenever a photo changes (visibility, deletion,
re-processing), and also expire after a short TTL as a second line of defence.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from photoshare.db import Database
from photoshare.storage.base import BlobStore

__all__ = ["MediaCache", "MediaEntry", "VariantFile"]

_ENTRY_TTL_S = 30.0


@dataclass(frozen=True, slots=True)
class VariantFile:
    key: str
    size: int
    etag: str
    content_type: str


@dataclass(slots=True)
class MediaEntry:
    photo_id: str
    public: bool
    ready: bool
    version: str | None
    original: VariantFile | None
    deleted: bool = False
    variants: dict[str, dict[str, VariantFile]] = field(default_factory=dict)
    loaded_at: float = field(default_factory=time.monotonic)


_TYPES = {"jpeg": "image/jpeg", "webp": "image/webp", "avif": "image/avif"}


class MediaCache:
    def __init__(self, db: Database, store: BlobStore, max_bytes: int, max_entries: int = 100_000) -> None:
        self.db = db
        self.store = store
        self.max_bytes = max_bytes
        self.max_entries = max_entries
        self._entries: OrderedDict[str, MediaEntry] = OrderedDict()
        self._blobs: OrderedDict[str, bytes] = OrderedDict()
        self._blob_bytes = 0
        self._lock = threading.Lock()

    def entry(self, photo_id: str) -> MediaEntry | None:
        entry = self._entries.get(photo_id)
        if entry is not None and time.monotonic() - entry.loaded_at < _ENTRY_TTL_S:
            return entry
        entry = self._load(photo_id)
        with self._lock:
            if entry is None:
                self._entries.pop(photo_id, None)
            else:
                self._entries[photo_id] = entry
                if len(self._entries) > self.max_entries:
                    self._entries.popitem(last=False)
        return entry

    def _load(self, photo_id: str) -> MediaEntry | None:
        row = self.db.one(
            "SELECT p.id, p.visibility, p.processing_status, p.variant_version, p.original_key, p.sha256,"
            " p.file_size_bytes, p.content_type, p.deleted_at, u.private AS owner_private"
            " FROM photos p JOIN users u ON u.id = p.user_id WHERE p.id = ?",
            (photo_id,),
        )
        if row is None:
            return None
        entry = MediaEntry(
            photo_id=photo_id,
            # A photo in the trash is only served under its owner's signed URLs (checked per request).
            public=row["visibility"] == "public" and not row["owner_private"] and not row["deleted_at"],
            deleted=bool(row["deleted_at"]),
            ready=row["processing_status"] == "ready",
            version=row["variant_version"],
            original=VariantFile(row["original_key"], row["file_size_bytes"], row["sha256"][:32], row["content_type"]),
        )
        for v in self.db.query(
            "SELECT name, format, object_key, size_bytes, etag FROM photo_variants WHERE photo_id = ?", (photo_id,)
        ):
            entry.variants.setdefault(v["name"], {})[v["format"]] = VariantFile(
                v["object_key"], v["size_bytes"], v["etag"], _TYPES.get(v["format"], "application/octet-stream")
            )
        return entry

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def invalidate(self, photo_id: str) -> None:
        with self._lock:
            self._entries.pop(photo_id, None)

    def cached(self, f: VariantFile) -> bytes | None:
        return self._blobs.get(f.key)

    def cacheable(self, f: VariantFile) -> bool:
        return f.size <= self.max_bytes // 16

    def blob(self, f: VariantFile) -> bytes:
        """Bytes of a small blob, from memory or read (and kept) on a miss."""
        data = self._blobs.get(f.key)
        if data is not None:
            return data
        data = self.store.read(f.key)
        with self._lock:
            if f.key not in self._blobs:
                self._blobs[f.key] = data
                self._blob_bytes += len(data)
                while self._blob_bytes > self.max_bytes and self._blobs:
                    _, old = self._blobs.popitem(last=False)
                    self._blob_bytes -= len(old)
        return data

    def stats(self) -> dict[str, Any]:
        return {"entries": len(self._entries), "blobs": len(self._blobs), "blob_bytes": self._blob_bytes}
