"""One contract, every back end: the local disk store and S3 (a real SeaweedFS server)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from photoshare.settings import S3Settings
from photoshare.storage.base import BlobNotFound, BlobStore
from photoshare.storage.local import LocalBlobStore
from photoshare.storage.migrate import migrate_blobs
from photoshare.storage.s3 import S3BlobStore


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[BlobStore]:
    if request.param == "local":
        yield LocalBlobStore(tmp_path / "blobs")
        return
    server = request.getfixturevalue("s3_server")
    yield S3BlobStore(
        S3Settings(
            endpoint=server.endpoint,
            bucket=f"c-{os.urandom(4).hex()}",
            access_key=server.access_key,
            secret_key=server.secret_key,
        )
    )


def test_put_read_size_exists_delete(store: Any) -> None:
    store.put_bytes("originals/ab/cd/x.jpg", b"hello world", "image/jpeg")
    assert store.read("originals/ab/cd/x.jpg") == b"hello world"
    assert store.size("originals/ab/cd/x.jpg") == 11
    assert store.exists("originals/ab/cd/x.jpg")
    store.put_bytes("originals/ab/cd/x.jpg", b"replaced", "image/jpeg")
    assert store.read("originals/ab/cd/x.jpg") == b"replaced"
    store.delete("originals/ab/cd/x.jpg")
    store.delete("originals/ab/cd/x.jpg")  # deleting twice is fine
    assert not store.exists("originals/ab/cd/x.jpg")


def test_missing_blob_raises_blob_not_found(store: Any) -> None:
    with pytest.raises(BlobNotFound):
        store.read("nope/1")
    with pytest.raises(BlobNotFound):
        store.size("nope/1")
    with pytest.raises(BlobNotFound):
        list(store.iter_range("nope/1"))


def test_iter_range(store: Any) -> None:
    data = bytes(range(256)) * 4096  # 1 MiB
    store.put_bytes("variants/r/large.jpeg", data, "image/jpeg")
    assert b"".join(store.iter_range("variants/r/large.jpeg", chunk=65536)) == data
    assert b"".join(store.iter_range("variants/r/large.jpeg", 1000, 3000)) == data[1000:3000]
    assert b"".join(store.iter_range("variants/r/large.jpeg", len(data) - 10)) == data[-10:]


def test_put_file_and_move(store: Any, tmp_path: Path) -> None:
    src = tmp_path / "f.bin"
    src.write_bytes(b"x" * 5000)
    store.put_file("uploads/0123", src, "image/jpeg")
    assert src.exists()  # the source file is left in place
    store.move("uploads/0123", "originals/aa/bb/f.jpg")
    assert store.read("originals/aa/bb/f.jpg") == b"x" * 5000
    assert not store.exists("uploads/0123")
    # Moving onto an existing (content-addressed, identical) blob just drops the source.
    store.put_file("uploads/0456", src, "image/jpeg")
    store.move("uploads/0456", "originals/aa/bb/f.jpg")
    assert not store.exists("uploads/0456") and store.size("originals/aa/bb/f.jpg") == 5000
    with pytest.raises(BlobNotFound):
        store.move("uploads/missing", "originals/zz/zz/none.jpg")


def test_iter_keys(store: Any) -> None:
    for key in ("originals/a/1", "originals/b/2", "variants/x/thumb.jpeg"):
        store.put_bytes(key, b"1", "")
    assert sorted(store.iter_keys("originals/")) == ["originals/a/1", "originals/b/2"]
    assert sorted(store.iter_keys()) == ["originals/a/1", "originals/b/2", "variants/x/thumb.jpeg"]


def test_migrate_local_to_s3_is_complete_and_resumable(tmp_path: Path, s3_server: Any) -> None:
    local = LocalBlobStore(tmp_path / "blobs")
    for i in range(6):
        local.put_bytes(f"originals/{i:02d}/{i}.jpg", os.urandom(1000 + i), "image/jpeg")
    local.put_bytes("uploads/0000", b"never confirmed", "image/jpeg")
    s3 = S3BlobStore(
        S3Settings(
            endpoint=s3_server.endpoint,
            bucket=f"m-{os.urandom(4).hex()}",
            access_key=s3_server.access_key,
            secret_key=s3_server.secret_key,
        )
    )
    s3.put_bytes("originals/00/0.jpg", local.read("originals/00/0.jpg"), "")  # as if interrupted after one
    report = migrate_blobs(local, s3)
    assert (report.copied, report.skipped, report.failed) == (5, 1, [])
    for i in range(6):
        assert s3.read(f"originals/{i:02d}/{i}.jpg") == local.read(f"originals/{i:02d}/{i}.jpg")
    assert not s3.exists("uploads/0000")
    again = migrate_blobs(local, s3)
    assert (again.copied, again.skipped) == (0, 6)
    # And back again, into an empty folder.
    back = LocalBlobStore(tmp_path / "back")
    assert migrate_blobs(s3, back).copied == 6
    assert back.read("originals/05/5.jpg") == local.read("originals/05/5.jpg")
