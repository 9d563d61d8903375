"""LocalBlobStore on a real folder, and the object-key builders."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from photoshare.storage.base import BlobNotFound, BlobStore
from photoshare.storage.keys import is_upload_key, original_key, upload_key, variant_key
from photoshare.storage.local import LocalBlobStore

SHA = hashlib.sha256(b"hello").hexdigest()


@pytest.fixture
def store(tmp_path: Path) -> LocalBlobStore:
    return LocalBlobStore(tmp_path / "blobs")


def tmp_files(store: LocalBlobStore) -> list[Path]:
    return list(store.tmp_dir.iterdir())


def test_implements_the_protocol(store: LocalBlobStore) -> None:
    assert isinstance(store, BlobStore)
    assert store.name == "local"
    assert store.tmp_dir.is_dir()


def test_put_read_size_exists_delete(store: LocalBlobStore) -> None:
    key = "originals/aa/bb/blob.jpg"
    assert not store.exists(key)
    store.put_bytes(key, b"hello world", "image/jpeg")
    assert store.exists(key)
    assert store.read(key) == b"hello world"
    assert store.size(key) == 11
    assert (store.root / key).read_bytes() == b"hello world"
    assert store.local_path(key) == store.root / key
    store.delete(key)
    assert not store.exists(key)
    assert not (store.root / key).exists()
    store.delete(key)  # already gone: no error
    store.delete("never/was/here")


def test_put_replaces_existing_blob(store: LocalBlobStore) -> None:
    store.put_bytes("k/one", b"first")
    store.put_bytes("k/one", b"second, longer")
    assert store.read("k/one") == b"second, longer"
    assert store.size("k/one") == len(b"second, longer")


def test_empty_blob(store: LocalBlobStore) -> None:
    store.put_bytes("k/empty", b"")
    assert store.exists("k/empty")
    assert store.size("k/empty") == 0
    assert store.read("k/empty") == b""
    assert b"".join(store.iter_range("k/empty")) == b""


def test_put_file_copies_and_leaves_source(store: LocalBlobStore, tmp_path: Path) -> None:
    src = tmp_path / "src.bin"
    src.write_bytes(b"x" * 5000)
    store.put_file("files/src.bin", src, "application/octet-stream")
    assert store.read("files/src.bin") == b"x" * 5000
    assert src.exists()
    assert tmp_files(store) == []


def test_put_file_missing_source_leaves_nothing(store: LocalBlobStore, tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        store.put_file("files/none", tmp_path / "missing", "")
    assert not store.exists("files/none")
    assert tmp_files(store) == []


def test_missing_blob_raises_blob_not_found(store: LocalBlobStore) -> None:
    with pytest.raises(BlobNotFound):
        store.read("no/such")
    with pytest.raises(BlobNotFound):
        store.size("no/such")
    with pytest.raises(BlobNotFound):
        store.iter_range("no/such")  # raised at call time, before any iteration
    assert isinstance(BlobNotFound("x"), KeyError)


def test_iter_range_full_and_partial(store: LocalBlobStore) -> None:
    data = bytes(range(256)) * 40  # 10240 bytes
    store.put_bytes("r/data", data)
    assert b"".join(store.iter_range("r/data")) == data
    assert b"".join(store.iter_range("r/data", 0, None, chunk=1000)) == data
    chunks = list(store.iter_range("r/data", chunk=1000))
    assert len(chunks) == 11
    assert all(len(c) <= 1000 for c in chunks)
    assert b"".join(store.iter_range("r/data", 100, 200)) == data[100:200]
    assert b"".join(store.iter_range("r/data", 100, 5000, chunk=7)) == data[100:5000]
    assert b"".join(store.iter_range("r/data", 10_000)) == data[10_000:]
    assert b"".join(store.iter_range("r/data", 10_239, 10_240)) == data[-1:]
    assert b"".join(store.iter_range("r/data", 5, 5)) == b""
    # An end past the blob is clamped to its size.
    assert b"".join(store.iter_range("r/data", 10_200, 99_999)) == data[10_200:]
    assert b"".join(store.iter_range("r/data", 20_000)) == b""


def test_move(store: LocalBlobStore) -> None:
    store.put_bytes("uploads/a", b"payload")
    store.move("uploads/a", "originals/x/y/a.jpg")
    assert not store.exists("uploads/a")
    assert store.read("originals/x/y/a.jpg") == b"payload"


def test_move_when_destination_exists_drops_source(store: LocalBlobStore) -> None:
    store.put_bytes("originals/x/same", b"identical")
    store.put_bytes("uploads/b", b"identical")
    store.move("uploads/b", "originals/x/same")
    assert not store.exists("uploads/b")
    assert store.read("originals/x/same") == b"identical"


def test_move_missing_source(store: LocalBlobStore) -> None:
    with pytest.raises(BlobNotFound):
        store.move("uploads/missing", "originals/dst")
    assert not store.exists("originals/dst")


@pytest.mark.parametrize(
    "key",
    ["../escape", "a/../../escape", "a/../b", "/etc/passwd", "", ".tmp/w-123", ".tmp", "x/.."],
)
def test_bad_keys_are_rejected(store: LocalBlobStore, key: str, tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        store.put_bytes(key, b"evil")
    with pytest.raises(ValueError):
        store.read(key)
    with pytest.raises(ValueError):
        store.exists(key)
    with pytest.raises(ValueError):
        store.delete(key)
    with pytest.raises(ValueError):
        store.move("whatever", key)
    assert not (tmp_path / "escape").exists()
    assert tmp_files(store) == []


def test_put_leaves_nothing_in_tmp(store: LocalBlobStore) -> None:
    for i in range(5):
        store.put_bytes(f"k/{i}", os.urandom(1000))
    assert tmp_files(store) == []


def test_writer_streams_hashes_and_commits(store: LocalBlobStore) -> None:
    w = store.writer()
    w.write(b"hel")
    w.write(b"lo")
    assert w.size == 5
    assert w.sha256 == SHA
    assert w.path.parent == store.tmp_dir
    assert w.path.exists()
    assert not store.exists("k/w")  # not visible before commit
    w.commit("k/w")
    assert store.read("k/w") == b"hello"
    assert tmp_files(store) == []


def test_aborted_writer_leaves_no_file(store: LocalBlobStore) -> None:
    w = store.writer()
    w.write(b"partial data")
    w.abort()
    assert not w.path.exists()
    assert tmp_files(store) == []
    assert list(store.iter_keys()) == []
    w.abort()  # twice is harmless


def test_iter_keys_lists_keys_but_never_tmp(store: LocalBlobStore) -> None:
    store.put_bytes("originals/aa/bb/one.jpg", b"1")
    store.put_bytes("originals/cc/dd/two.jpg", b"2")
    store.put_bytes("variants/aa/x/thumb.webp", b"3")
    store.put_bytes("top", b"4")
    w = store.writer()
    w.write(b"in flight")
    (store.tmp_dir / "leftover").write_bytes(b"crash")
    try:
        keys = sorted(store.iter_keys())
        assert keys == ["originals/aa/bb/one.jpg", "originals/cc/dd/two.jpg", "top", "variants/aa/x/thumb.webp"]
        assert sorted(store.iter_keys("originals/")) == ["originals/aa/bb/one.jpg", "originals/cc/dd/two.jpg"]
        assert list(store.iter_keys("variants/")) == ["variants/aa/x/thumb.webp"]
        assert list(store.iter_keys("nothing/")) == []
        assert all(".tmp" not in k for k in store.iter_keys())
    finally:
        w.abort()


def test_clean_tmp_removes_leftovers(store: LocalBlobStore) -> None:
    store.put_bytes("keep/me", b"committed")
    (store.tmp_dir / "w-crashed1").write_bytes(b"half")
    (store.tmp_dir / "c-crashed2").write_bytes(b"half")
    assert store.clean_tmp() == 2
    assert tmp_files(store) == []
    assert store.read("keep/me") == b"committed"
    assert store.clean_tmp() == 0


def test_store_reopens_existing_root(tmp_path: Path) -> None:
    LocalBlobStore(tmp_path / "b").put_bytes("a/b", b"persisted")
    again = LocalBlobStore(tmp_path / "b")
    assert again.read("a/b") == b"persisted"


def test_free_bytes(store: LocalBlobStore) -> None:
    free = store.free_bytes()
    assert isinstance(free, int)
    assert free > 0


# -- keys ----------------------------------------------------------------------------------------
def test_original_key_is_content_addressed_with_extension() -> None:
    key = original_key(SHA, "image/jpeg")
    assert key == f"originals/{SHA[:2]}/{SHA[2:4]}/{SHA}.jpg"
    assert original_key(SHA, "image/jpeg") == key
    assert original_key(SHA, "image/png").endswith(f"{SHA}.png")
    assert original_key(SHA, "image/heic").endswith(".heic")
    assert original_key(SHA, "application/x-unknown") == f"originals/{SHA[:2]}/{SHA[2:4]}/{SHA}"
    other = hashlib.sha256(b"other").hexdigest()
    assert original_key(other, "image/jpeg") != key


@pytest.mark.parametrize(
    "bad", ["", "abc", "g" * 64, SHA.upper(), SHA[:-1], SHA + "0", "../" + SHA[3:], SHA[:63] + "/"]
)
def test_keys_reject_non_hex(bad: str) -> None:
    with pytest.raises(ValueError):
        original_key(bad, "image/jpeg")
    with pytest.raises(ValueError):
        variant_key(bad, "v1", "thumb", "webp")


def test_variant_key_is_deterministic() -> None:
    a = variant_key(SHA, "v1", "thumb", "webp")
    assert a == f"variants/{SHA[:2]}/{SHA}/v1/thumb.webp"
    assert variant_key(SHA, "v1", "thumb", "webp") == a
    assert variant_key(SHA, "v2", "thumb", "webp") != a
    assert variant_key(SHA, "v1", "medium", "webp") != a
    assert variant_key(SHA, "v1", "thumb", "jpeg") != a


def test_upload_keys() -> None:
    uid = "0" * 31 + "a"
    assert upload_key(uid) == f"uploads/{uid}"
    assert is_upload_key(upload_key(uid))
    assert not is_upload_key("uploads/../originals/x")
    assert not is_upload_key(original_key(SHA, "image/jpeg"))


def test_keys_are_valid_store_keys(store: LocalBlobStore) -> None:
    for key in (original_key(SHA, "image/jpeg"), variant_key(SHA, "v1", "thumb", "webp"), upload_key("a" * 32)):
        store.put_bytes(key, b"ok")
        assert store.read(key) == b"ok"
