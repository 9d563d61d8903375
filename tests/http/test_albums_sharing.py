"""Albums, tags and ML labels, the trash and its cleanup jobs, and share creation rules, over HTTP."""

from __future__ import annotations

import time
from typing import Any

import pytest

from photoshare.clock import to_iso
from tests.conftest import bearer, make_jpeg
from tests.conftest import drain as _process
from tests.conftest import local_path as _path

# -- helpers ---------------------------------------------------------------------------------------


def _ok(r: Any, status: int = 200) -> Any:
    assert r.status_code == status, f"{r.request.method} {r.request.url.path}: {r.status_code} {r.text[:300]}"
    return r.json()


def _error(r: Any, status: int, code: str | None = None) -> None:
    assert r.status_code == status, f"{r.request.method} {r.request.url.path}: {r.status_code} {r.text[:300]}"
    if code is not None:
        assert r.json()["error"]["code"] == code, r.text


def _put(client: Any, headers: dict[str, str], data: bytes) -> str:
    """Phase one of an upload: returns the upload_id with the bytes in place, not yet confirmed."""
    body = {"filename": "p.jpg", "content_type": "image/jpeg", "size_bytes": len(data)}
    grant = _ok(client.post("/v1/photos/upload-url", json=body, headers=headers))
    put = client.put(_path(grant["presigned_url"]), content=data, headers=grant["headers"])
    assert put.status_code == 200, put.text
    return str(grant["upload_id"])


def _upload(client: Any, headers: dict[str, str], data: bytes, **meta: Any) -> str:
    upload_id = _put(client, headers, data)
    return str(_ok(client.post("/v1/photos", json={"upload_id": upload_id, **meta}, headers=headers), 201)["photo_id"])


_seed = iter(range(1, 10_000))


def _photos(client: Any, ctx: Any, headers: dict[str, str], n: int, **meta: Any) -> list[str]:
    ids = [_upload(client, headers, make_jpeg(600, 400, seed=next(_seed)), **meta) for _ in range(n)]
    _process(ctx)
    return ids


def _album(client: Any, headers: dict[str, str], **body: Any) -> dict[str, Any]:
    return dict(_ok(client.post("/v1/albums", json={"title": "album", **body}, headers=headers), 201))


def _album_ids(client: Any, headers: dict[str, str] | None, album_id: str, **params: Any) -> list[str]:
    body = _ok(client.get(f"/v1/albums/{album_id}/photos", params=params, headers=headers or {}))
    return [p["photo_id"] for p in body["photos"]]


def _library(client: Any, headers: dict[str, str], **params: Any) -> dict[str, Any]:
    return dict(_ok(client.get("/v1/photos", params={"limit": 200, **params}, headers=headers)))


def _library_ids(client: Any, headers: dict[str, str], **params: Any) -> list[str]:
    return [p["photo_id"] for p in _library(client, headers, **params)["photos"]]


def _share(client: Any, headers: dict[str, str], kind: str, target_id: str, body: dict[str, Any]) -> dict[str, Any]:
    return dict(_ok(client.post(f"/v1/{kind}s/{target_id}/share", json=body, headers=headers), 201))


def _token(share_url: str) -> str:
    return share_url.rsplit("/s/", 1)[1]


def _media(client: Any, url: str) -> Any:
    return client.get(_path(url))


def _blob_keys(ctx: Any, photo_id: str) -> list[str]:
    row = ctx.db.one("SELECT original_key FROM photos WHERE id = ?", (photo_id,))
    variants = ctx.db.query("SELECT object_key FROM photo_variants WHERE photo_id = ?", (photo_id,))
    return [row["original_key"], *(v["object_key"] for v in variants)]


@pytest.fixture
def ah(ctx: Any, alice: Any) -> dict[str, str]:
    return bearer(ctx, alice)


@pytest.fixture
def bh(ctx: Any, bob: Any) -> dict[str, str]:
    return bearer(ctx, bob)


# -- albums ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "body",
    [{"title": ""}, {"title": "   "}, {"title": 5}, {"title": "x" * 201}, {"title": "x", "visibility": "everyone"}, {}],
)
def test_create_album_validates(client: Any, ah: dict[str, str], body: dict[str, Any]) -> None:
    _error(client.post("/v1/albums", json=body, headers=ah), 400, "invalid_input")


def test_album_crud(client: Any, ctx: Any, ah: dict[str, str], bh: dict[str, str]) -> None:
    assert client.post("/v1/albums", json={"title": "x"}).status_code == 401
    album = _album(client, ah, title=" Holiday ", description="the sea")
    album_id = album["album_id"]
    assert album["title"] == "Holiday" and album["description"] == "the sea"
    assert album["visibility"] == "private" and album["photo_count"] == 0
    assert album["cover_photo_id"] is None and album["cover_url"] is None
    assert album["permissions"] == {"edit": True, "download": True}
    assert _ok(client.get(f"/v1/albums/{album_id}", headers=ah)) == album
    assert album_id in [a["album_id"] for a in _ok(client.get("/v1/albums", headers=ah))["items"]]
    assert _ok(client.get("/v1/albums", headers=bh))["items"] == []

    changed = _ok(
        client.patch(
            f"/v1/albums/{album_id}",
            json={"title": "Summer", "description": "", "visibility": "followers"},
            headers=ah,
        )
    )
    assert (changed["title"], changed["description"], changed["visibility"]) == ("Summer", "", "followers")
    assert changed["version"] > album["version"]
    for bad in ({"title": ""}, {"visibility": "world"}, {"owner": "bob"}, {"cover_photo_id": "nope"}):
        _error(client.patch(f"/v1/albums/{album_id}", json=bad, headers=ah), 400)

    (photo_id,) = _photos(client, ctx, ah, 1)
    _ok(client.post(f"/v1/albums/{album_id}/photos", json={"photo_ids": [photo_id]}, headers=ah))
    assert _ok(client.delete(f"/v1/albums/{album_id}", headers=ah)) == {"album_id": album_id, "deleted": True}
    _error(client.get(f"/v1/albums/{album_id}", headers=ah), 404)
    _error(client.delete(f"/v1/albums/{album_id}", headers=ah), 404)
    # Deleting an album keeps its photos.
    assert _library_ids(client, ah) == [photo_id]


def test_add_photos_takes_only_your_own(client: Any, ctx: Any, ah: dict[str, str], bh: dict[str, str]) -> None:
    mine, second, trashed = _photos(client, ctx, ah, 3)
    (bobs,) = _photos(client, ctx, bh, 1, visibility="public")  # visible to alice, still not hers
    _ok(client.delete(f"/v1/photos/{trashed}", headers=ah))
    album_id = _album(client, ah)["album_id"]
    unknown = "0" * 32
    out = _ok(
        client.post(f"/v1/albums/{album_id}/photos", json={"photo_ids": [mine, bobs, unknown, trashed]}, headers=ah)
    )
    assert out["added"] == [mine]
    assert out["skipped"] == [bobs, unknown, trashed]
    assert out["album"]["photo_count"] == 1
    # Adding again adds nothing and skips nothing; adding another of hers works.
    out = _ok(client.post(f"/v1/albums/{album_id}/photos", json={"photo_ids": [mine, second]}, headers=ah))
    assert out["added"] == [second] and out["skipped"] == []
    assert _album_ids(client, ah, album_id) == [mine, second]
    for bad in ({"photo_ids": "x"}, {"photo_ids": [1]}, {}):
        _error(client.post(f"/v1/albums/{album_id}/photos", json=bad, headers=ah), 400)
    # Bob cannot add his photo to alice's album (he cannot even see it).
    _error(client.post(f"/v1/albums/{album_id}/photos", json={"photo_ids": [bobs]}, headers=bh), 404)


def test_cover_auto_set_changed_and_cleared(client: Any, ctx: Any, ah: dict[str, str], bh: dict[str, str]) -> None:
    p1, p2, p3 = _photos(client, ctx, ah, 3)
    (bobs,) = _photos(client, ctx, bh, 1, visibility="public")
    album_id = _album(client, ah)["album_id"]
    assert _ok(client.get(f"/v1/albums/{album_id}", headers=ah))["cover_photo_id"] is None
    out = _ok(client.post(f"/v1/albums/{album_id}/photos", json={"photo_ids": [p1, p2, p3]}, headers=ah))
    assert out["album"]["cover_photo_id"] == p1, "the first photo added becomes the cover"
    assert _media(client, out["album"]["cover_url"]).status_code == 200

    album = _ok(client.patch(f"/v1/albums/{album_id}", json={"cover_photo_id": p2}, headers=ah))
    assert album["cover_photo_id"] == p2
    for bad in (bobs, "0" * 32):
        _error(client.patch(f"/v1/albums/{album_id}", json={"cover_photo_id": bad}, headers=ah), 400)

    out = _ok(client.request("DELETE", f"/v1/albums/{album_id}/photos", json={"photo_ids": [p2]}, headers=ah))
    assert out["removed"] == 1
    assert out["album"]["cover_photo_id"] is None and out["album"]["cover_url"] is None
    assert out["album"]["photo_count"] == 2
    out = _ok(client.request("DELETE", f"/v1/albums/{album_id}/photos", json={"photo_ids": [p2]}, headers=ah))
    assert out["removed"] == 0
    # Removing a photo that is not the cover leaves the cover alone.
    _ok(client.patch(f"/v1/albums/{album_id}", json={"cover_photo_id": p3}, headers=ah))
    out = _ok(client.request("DELETE", f"/v1/albums/{album_id}/photos", json={"photo_ids": [p1]}, headers=ah))
    assert out["album"]["cover_photo_id"] == p3
    assert _ok(client.patch(f"/v1/albums/{album_id}", json={"cover_photo_id": None}, headers=ah))["cover_url"] is None


def test_reorder_needs_the_current_version_and_the_exact_set(
    client: Any, ctx: Any, ah: dict[str, str], bh: dict[str, str]
) -> None:
    p1, p2, p3 = _photos(client, ctx, ah, 3)
    (bobs,) = _photos(client, ctx, bh, 1)
    album = _album(client, ah, photo_ids=[p1, p2, p3])
    album_id = album["album_id"]
    assert _album_ids(client, ah, album_id) == [p1, p2, p3]
    version = album["version"]

    moved = _ok(
        client.patch(f"/v1/albums/{album_id}", json={"photo_ids": [p3, p1, p2], "version": version}, headers=ah)
    )
    assert _album_ids(client, ah, album_id) == [p3, p1, p2]
    assert moved["version"] > version

    stale = client.patch(f"/v1/albums/{album_id}", json={"photo_ids": [p1, p2, p3], "version": version}, headers=ah)
    _error(stale, 409, "stale_version")
    assert _album_ids(client, ah, album_id) == [p3, p1, p2], "a stale reorder must change nothing"

    for wrong in ([p1, p2], [p1, p2, p3, bobs], [p1, p2, "0" * 32], []):
        r = client.patch(f"/v1/albums/{album_id}", json={"photo_ids": wrong, "version": moved["version"]}, headers=ah)
        _error(r, 400, "invalid_input")
    assert _album_ids(client, ah, album_id) == [p3, p1, p2]


def test_reorder_lists_what_the_client_can_see(client: Any, ctx: Any, ah: dict[str, str]) -> None:
    """A client reorders the photos the album shows; a photo in the trash is not one of them."""
    p1, p2, p3 = _photos(client, ctx, ah, 3)
    album = _album(client, ah, photo_ids=[p1, p2, p3])
    _ok(client.delete(f"/v1/photos/{p2}", headers=ah))
    album = _ok(client.get(f"/v1/albums/{album['album_id']}", headers=ah))
    shown = _album_ids(client, ah, album["album_id"])
    assert shown == [p1, p3] and album["photo_count"] == 2
    r = client.patch(
        f"/v1/albums/{album['album_id']}", json={"photo_ids": [p3, p1], "version": album["version"]}, headers=ah
    )
    assert r.status_code == 200, f"reordering the photos the album shows was refused: {r.status_code} {r.text}"
    assert _album_ids(client, ah, album["album_id"]) == [p3, p1]


def test_album_photos_cursor_pagination(client: Any, ctx: Any, ah: dict[str, str]) -> None:
    ids = _photos(client, ctx, ah, 5)
    album_id = _album(client, ah, photo_ids=ids)["album_id"]
    seen, cursor, pages = [], None, 0
    while True:
        params: dict[str, Any] = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = _ok(client.get(f"/v1/albums/{album_id}/photos", params=params, headers=ah))
        assert page["total"] == 5
        seen += [p["photo_id"] for p in page["photos"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
        assert len(page["photos"]) == 2
    assert pages == 3 and seen == ids
    # The library spelling gives the same pages.
    same = _ok(client.get("/v1/photos", params={"album_id": album_id, "limit": 2}, headers=ah))
    assert [p["photo_id"] for p in same["photos"]] == ids[:2]
    for bad in ({"cursor": "!!!"}, {"cursor": "bm9wZQ"}, {"limit": 0}, {"limit": 201}):
        _error(client.get(f"/v1/albums/{album_id}/photos", params=bad, headers=ah), 400)


# -- tags and ML labels ----------------------------------------------------------------------------
def _tags(client: Any, headers: dict[str, str]) -> dict[str, int]:
    return {t["tag"]: t["count"] for t in _ok(client.get("/v1/tags", headers=headers))["items"]}


def test_user_tags(client: Any, ctx: Any, ah: dict[str, str], bh: dict[str, str]) -> None:
    p1, p2, p3 = _photos(client, ctx, ah, 3)
    (bobs,) = _photos(client, ctx, bh, 1)
    _ok(client.post(f"/v1/photos/{bobs}/tags", json={"tags": ["beach"]}, headers=bh))
    out = _ok(client.post(f"/v1/photos/{p1}/tags", json={"tags": ["#Beach", " sunset "]}, headers=ah))
    assert out["tags"] == ["beach", "sunset"]
    _ok(client.post(f"/v1/photos/{p2}/tags", json={"tags": ["beach"]}, headers=ah))
    assert _tags(client, ah) == {"beach": 2, "sunset": 1}, "counts are per user"
    assert set(_library_ids(client, ah, tag="beach")) == {p1, p2}
    assert _library(client, ah, tag="beach")["total"] == 2
    assert _library_ids(client, ah, tag="#Sunset") == [p1]
    assert _library_ids(client, ah, tag="nothing") == []

    out = _ok(client.delete(f"/v1/photos/{p1}/tags/beach", headers=ah))
    assert out["tags"] == ["sunset"]
    assert _tags(client, ah) == {"beach": 1, "sunset": 1}
    assert _library_ids(client, ah, tag="beach") == [p2]

    for bad in (["bad/tag"], [""], ["x" * 51], [5]):
        _error(client.post(f"/v1/photos/{p3}/tags", json={"tags": bad}, headers=ah), 400)
    # Only the owner tags: bob cannot see alice's private photo at all.
    _error(client.post(f"/v1/photos/{p3}/tags", json={"tags": ["mine"]}, headers=bh), 404)
    _error(client.delete(f"/v1/photos/{p2}/tags/beach", headers=bh), 404)
    # Trashed photos leave the counts.
    _ok(client.delete(f"/v1/photos/{p2}", headers=ah))
    assert _tags(client, ah) == {"sunset": 1}


def _add_ml_labels(ctx: Any, photo_id: str, owner_id: str, labels: dict[str, float]) -> None:
    for tag, confidence in labels.items():
        ctx.db.execute(
            "INSERT INTO photo_tags (photo_id, user_id, tag, source, confidence, created_at)"
            " VALUES (?, ?, ?, 'ml', ?, ?)",
            (photo_id, owner_id, tag, confidence, to_iso(time.time())),
        )


def test_ml_labels_are_kept_apart_from_tags(client: Any, ctx: Any, alice: Any, ah: dict[str, str]) -> None:
    (photo_id,) = _photos(client, ctx, ah, 1)
    _ok(client.post(f"/v1/photos/{photo_id}/tags", json={"tags": ["beach"]}, headers=ah))
    _add_ml_labels(ctx, photo_id, alice.id, {"dog": 0.93, "beach": 0.61})
    photo = _ok(client.get(f"/v1/photos/{photo_id}", headers=ah))
    assert photo["tags"] == ["beach"]
    assert photo["ml_labels"] == ["dog", "beach"]
    assert photo["labels"] == [{"label": "dog", "confidence": 0.93}, {"label": "beach", "confidence": 0.61}]
    listed = next(p for p in _library(client, ah)["photos"] if p["photo_id"] == photo_id)
    assert listed["tags"] == ["beach"] and listed["ml_labels"] == ["dog", "beach"]
    assert _tags(client, ah) == {"beach": 1}

    # Tag edits never touch labels.
    _ok(client.delete(f"/v1/photos/{photo_id}/tags/dog", headers=ah))
    _ok(client.delete(f"/v1/photos/{photo_id}/tags/beach", headers=ah))
    photo = _ok(client.get(f"/v1/photos/{photo_id}", headers=ah))
    assert photo["tags"] == [] and photo["ml_labels"] == ["dog", "beach"]
    photo = _ok(client.patch(f"/v1/photos/{photo_id}", json={"tags": ["sea"]}, headers=ah))
    assert photo["tags"] == ["sea"] and photo["ml_labels"] == ["dog", "beach"]
    assert _tags(client, ah) == {"sea": 1}


def test_tag_filter_matches_user_tags_only(client: Any, ctx: Any, alice: Any, ah: dict[str, str]) -> None:
    """`?tag=` lists photos whose `tags` hold the tag, consistent with GET /v1/tags, not ML labels."""
    tagged, labelled = _photos(client, ctx, ah, 2)
    _ok(client.post(f"/v1/photos/{tagged}/tags", json={"tags": ["dog"]}, headers=ah))
    _add_ml_labels(ctx, labelled, alice.id, {"dog": 0.99})
    page = _library(client, ah, tag="dog")
    assert [p["photo_id"] for p in page["photos"]] == [tagged], "an ML label matched the user-tag filter"
    assert page["total"] == 1 == _tags(client, ah)["dog"]


# -- trash -----------------------------------------------------------------------------------------
def test_trash_hides_everywhere_at_once_and_restore_brings_back(
    client: Any, ctx: Any, ah: dict[str, str], bob: Any, bh: dict[str, str]
) -> None:
    photo_id, other = _photos(client, ctx, ah, 2)
    album_id = _album(client, ah, photo_ids=[photo_id, other])["album_id"]
    _share(client, ah, "photo", photo_id, {"type": "users", "user_ids": [bob.id]})
    album_token = _token(_share(client, ah, "album", album_id, {"type": "link"})["share_url"])
    photo_token = _token(_share(client, ah, "photo", photo_id, {"type": "link"})["share_url"])

    def everywhere() -> dict[str, bool]:
        shared = _ok(client.get("/v1/shared", headers=bh))["items"]
        return {
            "library": photo_id in _library_ids(client, ah),
            "album": photo_id in _album_ids(client, ah, album_id),
            "album link": photo_id in [p["photo_id"] for p in _ok(client.get(f"/v1/links/{album_token}"))["photos"]],
            "album link page": photo_id in client.get(f"/s/{album_token}").text,
            "photo link": client.get(f"/v1/links/{photo_token}").status_code == 200,
            "photo link page": client.get(f"/s/{photo_token}").status_code == 200,
            "shared with bob": photo_id in [i["photo"]["photo_id"] for i in shared if "photo" in i],
            "bob opens it": client.get(f"/v1/photos/{photo_id}", headers=bh).status_code == 200,
        }

    assert all(everywhere().values()), everywhere()
    assert _ok(client.delete(f"/v1/photos/{photo_id}", headers=ah)) == {"photo_id": photo_id, "status": "trashed"}
    still = [k for k, v in everywhere().items() if v]
    assert still == [], f"a trashed photo is still visible in: {still}"
    assert _library(client, ah)["total"] == 1
    assert _ok(client.get(f"/v1/albums/{album_id}", headers=ah))["photo_count"] == 1
    assert [p["photo_id"] for p in _ok(client.get("/v1/trash", headers=ah))["photos"]] == [photo_id]
    assert _ok(client.get("/v1/trash", headers=bh))["photos"] == []
    assert _ok(client.get(f"/v1/photos/{photo_id}", headers=ah))["deleted_at"], "the owner still sees it, as trashed"
    # Trashing twice is harmless; only the owner can trash or restore.
    _ok(client.delete(f"/v1/photos/{photo_id}", headers=ah))
    _error(client.post(f"/v1/photos/{photo_id}/restore", headers=bh), 404)

    restored = _ok(client.post(f"/v1/photos/{photo_id}/restore", headers=ah))
    assert restored["deleted_at"] is None
    back = everywhere()
    assert all(back.values()), f"restore did not bring it back everywhere: {back}"
    assert _ok(client.get("/v1/trash", headers=ah))["photos"] == []
    _error(client.post(f"/v1/photos/{photo_id}/restore", headers=ah), 409, "not_trashed")
    _error(client.post(f"/v1/photos/{other}/restore", headers=ah), 409, "not_trashed")


def test_trash_listing_says_when_each_photo_was_deleted(client: Any, ctx: Any, ah: dict[str, str]) -> None:
    """The trash view shows how long each photo has left before the sweep removes it."""
    first, second = _photos(client, ctx, ah, 2)
    for photo_id in (first, second):
        _ok(client.delete(f"/v1/photos/{photo_id}", headers=ah))
    page = _ok(client.get("/v1/trash", params={"limit": 1}, headers=ah))
    assert [p["photo_id"] for p in page["photos"]] == [second] and page["next_cursor"]
    rest = _ok(client.get("/v1/trash", params={"limit": 1, "cursor": page["next_cursor"]}, headers=ah))
    assert [p["photo_id"] for p in rest["photos"]] == [first] and rest["next_cursor"] is None
    for item in page["photos"] + rest["photos"]:
        stored = ctx.db.value("SELECT deleted_at FROM photos WHERE id = ?", (item["photo_id"],))
        assert item.get("deleted_at") == stored, f"GET /v1/trash items lack deleted_at: {sorted(item)}"


def test_purge_removes_rows_and_blobs(client: Any, ctx: Any, ah: dict[str, str]) -> None:
    photo_id, keep = _photos(client, ctx, ah, 2)
    album_id = _album(client, ah, photo_ids=[photo_id, keep])["album_id"]
    link = _share(client, ah, "photo", photo_id, {"type": "link"})
    keys = _blob_keys(ctx, photo_id)
    assert keys[0].startswith("originals/") and all(k.startswith("variants/") for k in keys[1:]) and len(keys) > 3
    assert all((ctx.settings.blob_root / k).is_file() for k in keys)

    out = _ok(client.delete(f"/v1/photos/{photo_id}", params={"purge": "true"}, headers=ah))
    assert out["status"] == "purging"
    assert photo_id not in _library_ids(client, ah)
    _process(ctx)
    _error(client.get(f"/v1/photos/{photo_id}", headers=ah), 404)
    assert _ok(client.get("/v1/trash", headers=ah))["photos"] == []
    for table, column in (("photos", "id"), ("photo_variants", "photo_id"), ("photo_exif", "photo_id")):
        assert ctx.db.value(f"SELECT COUNT(*) FROM {table} WHERE {column} = ?", (photo_id,)) == 0, table
    assert ctx.db.value("SELECT COUNT(*) FROM album_photos WHERE photo_id = ?", (photo_id,)) == 0
    assert ctx.db.value("SELECT COUNT(*) FROM shares WHERE id = ?", (link["share_id"],)) == 0
    left = [k for k in keys if (ctx.settings.blob_root / k).exists()]
    assert left == [], f"blobs left behind: {left}"
    album = _ok(client.get(f"/v1/albums/{album_id}", headers=ah))
    assert album["cover_photo_id"] is None and album["photo_count"] == 1
    assert client.get(f"/v1/links/{_token(link['share_url'])}").status_code == 404
    # The other photo is untouched.
    assert all((ctx.settings.blob_root / k).is_file() for k in _blob_keys(ctx, keep))


@pytest.mark.parametrize("other_owner", ["same user", "another user"])
def test_purge_keeps_blobs_another_photo_uses(
    client: Any, ctx: Any, ah: dict[str, str], bh: dict[str, str], other_owner: str
) -> None:
    data = make_jpeg(600, 400, seed=201)
    oh = ah if other_owner == "same user" else bh
    gone = _upload(client, ah, data)
    stays = _upload(client, oh, data)
    _process(ctx)
    keys = _blob_keys(ctx, gone)
    assert sorted(keys) == sorted(_blob_keys(ctx, stays)), "identical bytes share their blobs"

    _ok(client.delete(f"/v1/photos/{gone}", params={"purge": "true"}, headers=ah))
    _process(ctx)
    assert ctx.db.value("SELECT COUNT(*) FROM photos WHERE id = ?", (gone,)) == 0
    missing = [k for k in keys if not (ctx.settings.blob_root / k).is_file()]
    assert missing == [], f"blobs still used by {other_owner}'s photo were deleted: {missing}"
    urls = _ok(client.get(f"/v1/photos/{stays}", headers=oh))["urls"]
    for name in ("thumb", "large", "original"):
        assert _media(client, urls[name]).status_code == 200, name

    # Once nobody uses them, they go.
    _ok(client.delete(f"/v1/photos/{stays}", params={"purge": "true"}, headers=oh))
    _process(ctx)
    assert [k for k in keys if (ctx.settings.blob_root / k).exists()] == []


def test_empty_trash(client: Any, ctx: Any, ah: dict[str, str], bh: dict[str, str]) -> None:
    t1, t2, kept = _photos(client, ctx, ah, 3)
    (bobs,) = _photos(client, ctx, bh, 1)
    for photo_id in (t1, t2):
        _ok(client.delete(f"/v1/photos/{photo_id}", headers=ah))
    _ok(client.delete(f"/v1/photos/{bobs}", headers=bh))
    assert _ok(client.post("/v1/trash/empty", headers=ah)) == {"purging": 2}
    _process(ctx)
    assert _ok(client.get("/v1/trash", headers=ah))["photos"] == []
    for photo_id in (t1, t2):
        assert ctx.db.value("SELECT COUNT(*) FROM photos WHERE id = ?", (photo_id,)) == 0
    assert _library_ids(client, ah) == [kept]
    assert [p["photo_id"] for p in _ok(client.get("/v1/trash", headers=bh))["photos"]] == [bobs]
    assert client.post("/v1/trash/empty").status_code == 401


def test_trash_sweep_purges_only_items_past_retention(
    client: Any, ctx: Any, ah: dict[str, str], bh: dict[str, str]
) -> None:
    old, recent, kept = _photos(client, ctx, ah, 3)
    (bobs_old,) = _photos(client, ctx, bh, 1)
    for headers, photo_id in ((ah, old), (ah, recent), (bh, bobs_old)):
        _ok(client.delete(f"/v1/photos/{photo_id}", headers=headers))
    days = ctx.settings.trash.retention_days
    old_keys = _blob_keys(ctx, old)
    for photo_id, age in ((old, days + 1), (bobs_old, days + 0.01), (recent, days - 1)):
        ctx.db.execute("UPDATE photos SET deleted_at = ? WHERE id = ?", (to_iso(time.time() - age * 86400), photo_id))

    ctx.jobs.enqueue("trash.sweep", {})
    _process(ctx)
    for photo_id in (old, bobs_old):
        assert ctx.db.value("SELECT COUNT(*) FROM photos WHERE id = ?", (photo_id,)) == 0, "expired trash stays"
    assert [k for k in old_keys if (ctx.settings.blob_root / k).exists()] == []
    assert [p["photo_id"] for p in _ok(client.get("/v1/trash", headers=ah))["photos"]] == [recent]
    assert _library_ids(client, ah) == [kept]
    _ok(client.post(f"/v1/photos/{recent}/restore", headers=ah))


# -- share creation rules --------------------------------------------------------------------------
@pytest.mark.parametrize(
    "body",
    [
        {"type": "bogus"},
        {"type": "link", "permissions": "edit"},
        {"type": "link", "expires_at": "2000-01-01T00:00:00Z"},
        {"type": "link", "expires_at": "tomorrow"},
        {"type": "link", "expires_at": 1234},
        {"type": "link", "password": "abc"},
        {"type": "link", "password": 12345},
        {"type": "link", "password": "x" * 201},
        {"type": "link", "max_views": 0},
        {"type": "link", "max_views": True},
        {"type": "link", "max_views": "3"},
        {"type": "users"},
        {"type": "users", "user_ids": []},
        {"type": "users", "user_ids": "BOB"},
        {"type": "users", "user_ids": ["UNKNOWN"]},
        {"type": "users", "user_ids": ["SELF"]},
        {"type": "users", "user_ids": ["BOB", "SELF"]},
        {"type": "users", "user_ids": ["BOB"], "password": "secret-1"},
        {"type": "public", "max_views": 3},
    ],
    ids=lambda b: "-".join(f"{k}={v}" for k, v in b.items())[:60],
)
def test_share_input_validation(
    client: Any, alice: Any, bob: Any, ah: dict[str, str], bh: dict[str, str], body: dict[str, Any]
) -> None:
    names = {"BOB": bob.id, "SELF": alice.id, "UNKNOWN": "0" * 32}

    def fill(value: Any) -> Any:
        if isinstance(value, list):
            return [names.get(v, v) for v in value]
        return names.get(value, value) if isinstance(value, str) else value

    body = {k: fill(v) for k, v in body.items()}
    photo_id = _upload(client, ah, make_jpeg(600, 400, seed=5))
    album_id = _album(client, ah)["album_id"]
    for kind, target in (("photo", photo_id), ("album", album_id)):
        r = client.post(f"/v1/{kind}s/{target}/share", json=body, headers=ah)
        _error(r, 400, "invalid_input")
    assert _ok(client.get("/v1/shares", headers=ah))["items"] == [], "a refused share was stored"
    assert _ok(client.get(f"/v1/photos/{photo_id}", headers=ah))["visibility"] == "private"
    assert _ok(client.get(f"/v1/albums/{album_id}", headers=ah))["visibility"] == "private"
    assert _ok(client.get("/v1/shared", headers=bh))["items"] == []


def test_sharing_what_you_do_not_own(client: Any, ctx: Any, ah: dict[str, str], bh: dict[str, str]) -> None:
    bobs_private, bobs_public = _photos(client, ctx, bh, 2)
    _ok(client.patch(f"/v1/photos/{bobs_public}", json={"visibility": "public"}, headers=bh))
    bobs_album = _album(client, bh)["album_id"]
    bobs_open_album = _album(client, bh, visibility="public")["album_id"]
    link = {"type": "link"}
    _error(client.post(f"/v1/photos/{bobs_private}/share", json=link, headers=ah), 404)
    _error(client.post(f"/v1/photos/{'0' * 32}/share", json=link, headers=ah), 404)
    _error(client.post(f"/v1/albums/{bobs_album}/share", json=link, headers=ah), 404)
    # What alice can see but does not own: forbidden rather than missing.
    _error(client.post(f"/v1/photos/{bobs_public}/share", json=link, headers=ah), 403)
    _error(client.post(f"/v1/albums/{bobs_open_album}/share", json=link, headers=ah), 403)
    assert client.post(f"/v1/photos/{bobs_private}/share", json=link).status_code == 401
    # Bob's share cannot be revoked by alice.
    share = _share(client, bh, "photo", bobs_private, link)
    _error(client.delete(f"/v1/shares/{share['share_id']}", headers=ah), 404)
    assert client.get(f"/v1/links/{_token(share['share_url'])}").status_code == 200
    # A trashed photo is restored before it is shared.
    (mine,) = _photos(client, ctx, ah, 1)
    _ok(client.delete(f"/v1/photos/{mine}", headers=ah))
    _error(client.post(f"/v1/photos/{mine}/share", json=link, headers=ah), 400)


def test_list_my_shares(client: Any, ctx: Any, alice: Any, bob: Any, ah: dict[str, str], bh: dict[str, str]) -> None:
    photo_id, other = _photos(client, ctx, ah, 2)
    (bobs,) = _photos(client, ctx, bh, 1)
    expires = to_iso(time.time() + 86400)
    link = _share(
        client, ah, "photo", photo_id, {"type": "link", "password": "hunter22", "max_views": 3, "expires_at": expires}
    )
    users = _share(client, ah, "photo", photo_id, {"type": "users", "permissions": "download", "user_ids": [bob.id]})
    public = _share(client, ah, "photo", other, {"type": "public"})
    bobs_share = _share(client, bh, "photo", bobs, {"type": "link"})
    assert link["share_url"].startswith(f"{ctx.settings.base_url}/s/")
    assert users["share_url"] == f"{ctx.settings.base_url}/photos/{photo_id}"

    body = client.get("/v1/shares", headers=ah)
    assert "hunter22" not in body.text
    items = {s["share_id"]: s for s in _ok(body)["items"]}
    assert set(items) == {link["share_id"], users["share_id"], public["share_id"]}
    assert items[link["share_id"]]["has_password"] is True
    assert items[link["share_id"]]["max_views"] == 3 and items[link["share_id"]]["view_count"] == 0
    assert items[link["share_id"]]["expires_at"] == link["expires_at"] is not None
    assert items[link["share_id"]]["share_url"] == link["share_url"]
    assert items[users["share_id"]]["user_ids"] == [bob.id]
    assert items[users["share_id"]]["permissions"] == "download"
    assert items[public["share_id"]]["type"] == "public" and items[public["share_id"]]["has_password"] is False
    assert {i["target_id"] for i in items.values()} == {photo_id, other}
    assert [s["share_id"] for s in _ok(client.get("/v1/shares", headers=bh))["items"]] == [bobs_share["share_id"]]
    stored = ctx.db.value("SELECT password_hash FROM shares WHERE id = ?", (link["share_id"],))
    assert stored.startswith("$argon2") and "hunter22" not in stored

    first = _ok(client.get("/v1/shares", params={"limit": 2}, headers=ah))
    assert len(first["items"]) == 2 and first["next_cursor"]
    rest = _ok(client.get("/v1/shares", params={"limit": 2, "cursor": first["next_cursor"]}, headers=ah))
    assert len(rest["items"]) == 1 and rest["next_cursor"] is None

    _ok(client.delete(f"/v1/shares/{users['share_id']}", headers=ah))
    remaining = {s["share_id"] for s in _ok(client.get("/v1/shares", headers=ah))["items"]}
    assert remaining == {link["share_id"], public["share_id"]}
    # The owner's photo shows its live shares; others never see them.
    sharing = _ok(client.get(f"/v1/photos/{photo_id}", headers=ah))["sharing"]
    assert [s["share_id"] for s in sharing["shares"]] == [link["share_id"]]


def test_share_visibility_side_effects(client: Any, ctx: Any, bob: Any, ah: dict[str, str]) -> None:
    def visibility(photo_id: str) -> str:
        return str(_ok(client.get(f"/v1/photos/{photo_id}", headers=ah))["visibility"])

    private, followers, twice = _photos(client, ctx, ah, 3)
    _ok(client.patch(f"/v1/photos/{followers}", json={"visibility": "followers"}, headers=ah))

    public = _share(client, ah, "photo", private, {"type": "public"})
    assert visibility(private) == "public"
    assert _ok(client.get(f"/v1/photos/{private}"))["photo_id"] == private
    _ok(client.delete(f"/v1/shares/{public['share_id']}", headers=ah))
    assert visibility(private) == "private"
    _error(client.get(f"/v1/photos/{private}"), 404)

    first = _share(client, ah, "photo", private, {"type": "users", "user_ids": [bob.id]})
    assert visibility(private) == "shared"
    second = _share(client, ah, "photo", private, {"type": "users", "permissions": "download", "user_ids": [bob.id]})
    _ok(client.delete(f"/v1/shares/{first['share_id']}", headers=ah))
    assert visibility(private) == "shared", "another users share still needs it"
    _ok(client.delete(f"/v1/shares/{second['share_id']}", headers=ah))
    assert visibility(private) == "private"

    users = _share(client, ah, "photo", followers, {"type": "users", "user_ids": [bob.id]})
    assert visibility(followers) == "followers", "a users share does not narrow a wider audience"
    _ok(client.delete(f"/v1/shares/{users['share_id']}", headers=ah))
    assert visibility(followers) == "followers"

    a = _share(client, ah, "photo", twice, {"type": "public"})
    b = _share(client, ah, "photo", twice, {"type": "public"})
    _ok(client.delete(f"/v1/shares/{a['share_id']}", headers=ah))
    assert visibility(twice) == "public"
    _ok(client.delete(f"/v1/shares/{b['share_id']}", headers=ah))
    assert visibility(twice) == "private"

    album_id = _album(client, ah)["album_id"]
    shared = _share(client, ah, "album", album_id, {"type": "public"})
    assert _ok(client.get(f"/v1/albums/{album_id}"))["visibility"] == "public"
    _ok(client.delete(f"/v1/shares/{shared['share_id']}", headers=ah))
    _error(client.get(f"/v1/albums/{album_id}"), 404)
    assert _ok(client.get(f"/v1/albums/{album_id}", headers=ah))["visibility"] == "private"


# -- confirm into an album -------------------------------------------------------------------------
def test_confirm_with_album_id_adds_the_photo(client: Any, ctx: Any, ah: dict[str, str]) -> None:
    album_id = _album(client, ah)["album_id"]
    photo_id = _upload(client, ah, make_jpeg(600, 400, seed=301), album_id=album_id, title="into")
    _process(ctx)
    assert _album_ids(client, ah, album_id) == [photo_id]
    album = _ok(client.get(f"/v1/albums/{album_id}", headers=ah))
    assert album["photo_count"] == 1 and album["cover_photo_id"] == photo_id


@pytest.mark.parametrize(("album_visibility", "status"), [("private", 404), ("public", 403)])
def test_confirm_into_someone_elses_album_is_refused_before_consuming_the_upload(
    client: Any, ah: dict[str, str], bh: dict[str, str], album_visibility: str, status: int
) -> None:
    bobs = _album(client, bh, visibility=album_visibility)["album_id"]
    upload_id = _put(client, ah, make_jpeg(600, 400, seed=302))
    r = client.post("/v1/photos", json={"upload_id": upload_id, "album_id": bobs}, headers=ah)
    _error(r, status)
    assert _library_ids(client, ah) == [], "a refused confirm created a photo"
    # The upload was not consumed: confirming it without the album works once.
    photo_id = _ok(client.post("/v1/photos", json={"upload_id": upload_id}, headers=ah), 201)["photo_id"]
    assert _library_ids(client, ah) == [photo_id]
    assert _ok(client.get(f"/v1/albums/{bobs}", headers=bh))["photo_count"] == 0
