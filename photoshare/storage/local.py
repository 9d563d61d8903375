"""Blobs as files under one folder: temp write, fsync, rename, fsync the folder.

Rename is atomic on POSIX, so a reader sees the old blob or the new one, never half of one; the
fsyncs make the rename itself survive power loss before anyone is told the upload succeeded.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from photoshare.storage.base import BlobNotFound

__all__ = ["BlobWriter", "LocalBlobStore"]


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class BlobWriter:
    """Streams bytes into a temp file while hashing them; `commit(key)` makes the blob durable."""

    def __init__(self, store: LocalBlobStore) -> None:
        self._store = store
        fd, name = tempfile.mkstemp(dir=store.tmp_dir, prefix="w-")
        self.path = Path(name)
        self._file: BinaryIO = os.fdopen(fd, "wb")
        self.size = 0
        self._hash = hashlib.sha256()

    def write(self, data: bytes) -> None:
        self._file.write(data)
        self._hash.update(data)
        self.size += len(data)

    @property
    def sha256(self) -> str:
        return self._hash.hexdigest()

    def commit(self, key: str) -> None:
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()
        self._store._install(self.path, key)

    def abort(self) -> None:
        if not self._file.closed:
            self._file.close()
        self.path.unlink(missing_ok=True)


class LocalBlobStore:
    name = "local"

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.tmp_dir = self.root / ".tmp"
        self.tmp_dir.mkdir(parents=True, exist_ok=True)

    def _path(self, key: str) -> Path:
        if not key or key.startswith("/") or ".." in key.split("/") or key.startswith(".tmp"):
            raise ValueError(f"invalid blob key {key!r}")
        return self.root / key

    def _install(self, tmp: Path, key: str) -> None:
        final = self._path(key)
        final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(tmp, final)
        _fsync_dir(final.parent)

    def writer(self) -> BlobWriter:
        return BlobWriter(self)

    def put_bytes(self, key: str, data: bytes, content_type: str = "") -> None:
        w = self.writer()
        try:
            w.write(data)
            w.commit(key)
        except BaseException:
            w.abort()
            raise

    def put_file(self, key: str, path: Path, content_type: str = "") -> None:
        fd, name = tempfile.mkstemp(dir=self.tmp_dir, prefix="c-")
        os.close(fd)
        tmp = Path(name)
        try:
            shutil.copyfile(path, tmp)
            with open(tmp, "rb+") as f:
                os.fsync(f.fileno())
            self._install(tmp, key)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise

    def move(self, src: str, dst: str) -> None:
        s, d = self._path(src), self._path(dst)
        if d.exists():
            s.unlink(missing_ok=True)
            return
        if not s.exists():
            raise BlobNotFound(src)
        d.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.replace(s, d)
        except FileNotFoundError:
            raise BlobNotFound(src) from None  # a concurrent move won the race
        _fsync_dir(d.parent)
        _fsync_dir(s.parent)

    def read(self, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError:
            raise BlobNotFound(key) from None

    def iter_range(self, key: str, start: int = 0, end: int | None = None, chunk: int = 1 << 20) -> Iterator[bytes]:
        try:
            f = open(self._path(key), "rb")  # noqa: SIM115 - closed by the generator below
        except FileNotFoundError:
            raise BlobNotFound(key) from None
        return self._iter_file(f, start, end, chunk)

    @staticmethod
    def _iter_file(f: BinaryIO, start: int, end: int | None, chunk: int) -> Iterator[bytes]:
        with f:
            f.seek(start)
            remaining = None if end is None else end - start
            while remaining is None or remaining > 0:
                data = f.read(chunk if remaining is None else min(chunk, remaining))
                if not data:
                    break
                if remaining is not None:
                    remaining -= len(data)
                yield data

    def size(self, key: str) -> int:
        try:
            return self._path(key).stat().st_size
        except FileNotFoundError:
            raise BlobNotFound(key) from None

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def delete(self, key: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self._path(key).unlink()

    def local_path(self, key: str) -> Path | None:
        return self._path(key)

    def iter_keys(self, prefix: str = "") -> Iterator[str]:
        base = self.root
        for dirpath, dirnames, filenames in os.walk(base):
            rel_dir = os.path.relpath(dirpath, base)
            if rel_dir == ".tmp" or rel_dir.startswith(".tmp" + os.sep):
                dirnames[:] = []
                continue
            for fname in filenames:
                key = fname if rel_dir == "." else f"{rel_dir.replace(os.sep, '/')}/{fname}"
                if key.startswith(prefix):
                    yield key

    def free_bytes(self) -> int | None:
        return shutil.disk_usage(self.root).free

    def clean_tmp(self) -> int:
        """Remove temp files left by a crash mid-write (never acknowledged, so nothing is lost)."""
        n = 0
        for p in self.tmp_dir.iterdir():
            p.unlink(missing_ok=True)
            n += 1
        return n
