"""The BlobStore protocol every back end implements (local disk, S3/MinIO).

Durability contract: when `put_*` returns, the blob survives a crash (fsync'd, or acknowledged by
the object store); readers never observe a partially written blob.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, runtime_checkable

__all__ = ["BlobNotFound", "BlobStore", "PresignedUpload"]


class BlobNotFound(KeyError):
    """No blob under that key."""


@dataclass(frozen=True, slots=True)
class PresignedUpload:
    """How a client uploads one object directly to the store."""

    url: str
    method: str  # "PUT" or "POST" (S3 POST policy)
    headers: dict[str, str] = field(default_factory=dict)
    fields: dict[str, str] = field(default_factory=dict)


@runtime_checkable
class BlobStore(Protocol):
    name: str

    def put_bytes(self, key: str, data: bytes, content_type: str) -> None:
        """Store `data` under `key` atomically and durably, replacing any previous blob."""

    def put_file(self, key: str, path: Path, content_type: str) -> None:
        """Store the file at `path` under `key` (the source file is left in place)."""

    def move(self, src: str, dst: str) -> None:
        """Rename a blob; when `dst` already exists (same content-addressed bytes) just drop `src`."""

    def read(self, key: str) -> bytes:
        """The whole blob; raises BlobNotFound."""

    def iter_range(self, key: str, start: int = 0, end: int | None = None, chunk: int = 1 << 20) -> Iterator[bytes]:
        """Bytes [start, end) of the blob in chunks; raises BlobNotFound before yielding anything."""

    def size(self, key: str) -> int:
        """Size in bytes; raises BlobNotFound."""

    def exists(self, key: str) -> bool: ...

    def delete(self, key: str) -> None:
        """Remove a blob; no error when it is already gone."""

    def local_path(self, key: str) -> Path | None:
        """A file path readable by libvips, when the back end keeps blobs on local disk; else None."""

    def iter_keys(self, prefix: str = "") -> Iterator[str]:
        """Every key under `prefix` (for verify and garbage collection)."""

    def free_bytes(self) -> int | None:
        """Free space where new blobs go, when known."""
