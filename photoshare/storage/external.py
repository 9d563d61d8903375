"""Originals left in place in an admin's own photo folders ("external libraries"), read-only.

Every other key goes to the real back end. Wrapping the store, rather than teaching each caller
about external files, keeps processing, delivery, verify and purge on one code path: they read
external originals like any blob, and a delete of one is ignored, so emptying the trash can never
remove a file from the admin's folder.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from photoshare.storage.base import BlobNotFound, BlobStore
from photoshare.storage.keys import split_external_key
from photoshare.storage.local import LocalBlobStore

__all__ = ["ExternalFiles", "ReadOnlyBlob"]


class ReadOnlyBlob(PermissionError):
    """A write or move aimed at a file of an external library."""


class ExternalFiles:
    """A BlobStore: external-library keys resolve to files under their library's folder."""

    def __init__(self, inner: BlobStore, library_root: Callable[[str], str | None]) -> None:
        self.inner = inner
        self._library_root = library_root
        self._roots: dict[str, Path] = {}

    def __getattr__(self, attr: str) -> Any:
        # Back-end extras (local writer and clean_tmp, S3 presigning) stay reachable.
        return getattr(self.inner, attr)

    @property
    def name(self) -> str:
        return self.inner.name

    def _file(self, key: str) -> Path | None:
        """The file behind an external key (None for ordinary keys); BlobNotFound for an unknown library."""
        parts = split_external_key(key)
        if parts is None:
            if key.startswith("external/"):
                raise BlobNotFound(key)
            return None
        library_id, rel = parts
        root = self._roots.get(library_id)
        if root is None:
            found = self._library_root(library_id)
            if found is None:
                raise BlobNotFound(key)
            root = self._roots[library_id] = Path(found)
        return root / rel

    def _refuse(self, key: str) -> None:
        if self._file(key) is not None:
            raise ReadOnlyBlob(f"{key} is a file of an external library and is never written")

    # -- writes: never to an external file ----------------------------------------------------
    def put_bytes(self, key: str, data: bytes, content_type: str = "") -> None:
        self._refuse(key)
        self.inner.put_bytes(key, data, content_type)

    def put_file(self, key: str, path: Path, content_type: str = "") -> None:
        self._refuse(key)
        self.inner.put_file(key, path, content_type)

    def move(self, src: str, dst: str) -> None:
        self._refuse(src)
        self._refuse(dst)
        self.inner.move(src, dst)

    def delete(self, key: str) -> None:
        try:
            if self._file(key) is not None:
                return  # the admin's file, not ours to remove
        except BlobNotFound:
            return
        self.inner.delete(key)

    # -- reads --------------------------------------------------------------------------------
    def read(self, key: str) -> bytes:
        path = self._file(key)
        if path is None:
            return self.inner.read(key)
        try:
            return path.read_bytes()
        except (FileNotFoundError, IsADirectoryError):
            raise BlobNotFound(key) from None

    def iter_range(self, key: str, start: int = 0, end: int | None = None, chunk: int = 1 << 20) -> Iterator[bytes]:
        path = self._file(key)
        if path is None:
            return self.inner.iter_range(key, start, end, chunk)
        try:
            f = open(path, "rb")  # noqa: SIM115 - closed by the generator
        except (FileNotFoundError, IsADirectoryError):
            raise BlobNotFound(key) from None
        return LocalBlobStore._iter_file(f, start, end, chunk)

    def size(self, key: str) -> int:
        path = self._file(key)
        if path is None:
            return self.inner.size(key)
        try:
            return path.stat().st_size
        except FileNotFoundError:
            raise BlobNotFound(key) from None

    def exists(self, key: str) -> bool:
        try:
            path = self._file(key)
        except BlobNotFound:
            return False
        return self.inner.exists(key) if path is None else path.is_file()

    def local_path(self, key: str) -> Path | None:
        path = self._file(key)
        return self.inner.local_path(key) if path is None else path

    def iter_keys(self, prefix: str = "") -> Iterator[str]:
        """The back end's keys only: external files belong to their folders, not to the store."""
        return self.inner.iter_keys(prefix)

    def free_bytes(self) -> int | None:
        return self.inner.free_bytes()
