"""Two-phase uploads through the appliance's own signed upload endpoint, one-shot uploads, listing, editing."""

from __future__ import annotations

import hashlib
import random
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import pytest

from photoshare.context import build_context
from photoshare.settings import load_settings
from tests.conftest import NO_ML, bearer, make_jpeg
from tests.conftest import drain as _process
from tests.conftest import local_path as _path

# -- helpers ---------------------------------------------------------------------------------------


def _error(response: Any, status: int, code: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    err = response.json()["error"]
    assert err["code"] and err["message"]
    if code is not None:
        assert err["code"] == code
    return err


def _upload_url(
    client: Any, headers: dict[str, str], data: bytes, content_type: str = "image/jpeg", **extra: Any
) -> dict[str, Any]:
    body = {"filename": "photo.jpg", "content_type": content_type, "size_bytes": len(data), **extra}
    r = client.post("/v1/photos/upload-url", json=body, headers=headers)
    assert r.status_code == 200, r.text
    return r.json()


def _put(client: Any, grant: dict[str, Any], data: bytes, content_type: str | None = None) -> Any:
    headers = dict(grant["headers"])
    if content_type is not None:
        headers["Content-Type"] = content_type
    return client.put(_path(grant["presigned_url"]), content=data, headers=headers)


def _confirm(client: Any, headers: dict[str, str], upload_id: str, **meta: Any) -> Any:
    return client.post("/v1/photos", json={"upload_id": upload_id, **meta}, headers=headers)


def _upload(client: Any, headers: dict[str, str], data: bytes, content_type: str = "image/jpeg", **meta: Any) -> str:
    grant = _upload_url(client, headers, data, content_type)
    assert _put(client, grant, data).status_code == 200
    r = _confirm(client, headers, grant["upload_id"], **meta)
    assert r.status_code == 201, r.text
    return str(r.json()["photo_id"])


def _multipart(client: Any, headers: dict[str, str], data: bytes, **fields: str) -> Any:
    return client.post(
        "/v1/photos/upload", files={"file": ("photo.jpg", data, "image/jpeg")}, data=fields, headers=headers
    )


def _get(client: Any, headers: dict[str, str] | None, photo_id: str) -> Any:
    return client.get(f"/v1/photos/{photo_id}", headers=headers or {})


def _originals(ctx: Any) -> list[Path]:
    root = ctx.settings.blob_root / "originals"
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


@pytest.fixture
def ah(ctx: Any, alice: Any) -> dict[str, str]:
    return bearer(ctx, alice)


@pytest.fixture
def bh(ctx: Any, bob: Any) -> dict[str, str]:
    return bearer(ctx, bob)


# -- the two-phase flow ----------------------------------------------------------------------------
def test_two_phase_upload_end_to_end(client: Any, ctx: Any, ah: dict[str, str]) -> None:
    data = make_jpeg(900, 600, gps=True)
    r = client.post(
        "/v1/photos/upload-url",
        json={"filename": "beach.jpg", "content_type": "image/jpeg", "size_bytes": len(data)},
        headers=ah,
    )
    assert r.status_code == 200, r.text
    grant = r.json()
    assert {"upload_id", "presigned_url", "method", "headers", "fields", "expires_at"} <= set(grant)
    assert grant["method"] == "PUT"
    assert grant["headers"]["Content-Type"] == "image/jpeg"
    assert isinstance(grant["fields"], dict)
    assert grant["presigned_url"].startswith(ctx.settings.base_url + "/upload/" + grant["upload_id"] + "?")
    expires = time.mktime(time.strptime(grant["expires_at"][:19], "%Y-%m-%dT%H:%M:%S")) - time.timezone
    assert abs(expires - (time.time() + ctx.settings.uploads.url_ttl_s)) < 120

    put = client.put(_path(grant["presigned_url"]), content=data, headers=grant["headers"])
    assert put.status_code == 200, put.text
    sha = hashlib.sha256(data).hexdigest()
    assert put.json() == {"upload_id": grant["upload_id"], "size_bytes": len(data), "sha256": sha}

    r = _confirm(client, ah, grant["upload_id"], title="Beach", visibility="private", tags=["Sea", "#sunset"])
    assert r.status_code == 201, r.text
    created = r.json()
    assert created["status"] == "processing"
    assert created["urls"] == {"original": None, "large": None, "medium": None, "thumb": None}
    photo_id = created["photo_id"]

    pending = _get(client, ah, photo_id).json()
    assert pending["processing_status"] == "processing"

    _process(ctx)
    photo = _get(client, ah, photo_id).json()
    assert photo["processing_status"] == "ready"
    assert (photo["width"], photo["height"]) == (900, 600)
    assert photo["sha256"] == sha
    assert photo["file_size_bytes"] == len(data)
    assert photo["title"] == "Beach"
    assert photo["tags"] == ["sea", "sunset"]
    assert photo["exif"]["camera_make"] == "TestMake"
    assert photo["exif"]["gps_lat"] == pytest.approx(52.37, abs=0.01)
    for name in ("original", "large", "medium", "thumb"):
        assert photo["urls"][name], name
    # The staging key is gone; the original sits under its content address.
    assert [p.name for p in _originals(ctx)] == [f"{sha}.jpg"]
    assert not any((ctx.settings.blob_root / "uploads").glob("*"))


def test_social_spelling_of_the_two_steps(client: Any, ctx: Any, ah: dict[str, str]) -> None:
    data = make_jpeg(300, 200)
    r = client.post(
        "/v1/uploads", json={"filename": "a.jpg", "content_type": "image/jpeg", "size_bytes": len(data)}, headers=ah
    )
    assert r.status_code == 200, r.text
    grant = r.json()
    assert grant["media_id"] == grant["upload_id"]
    assert _put(client, grant, data).status_code == 200
    r = client.post("/v1/posts", json={"media_id": grant["media_id"], "caption": "hello"}, headers=ah)
    assert r.status_code == 201, r.text
    assert r.json()["post_id"] == r.json()["photo_id"]
    _process(ctx)
    photo = _get(client, ah, r.json()["photo_id"]).json()
    assert photo["description"] == "hello"
    assert photo["visibility"] == "followers"
    assert photo["processing_status"] == "ready"


# -- the store enforces the grant ------------------------------------------------------------------
def test_store_rejects_a_body_larger_than_authorised(client: Any, ctx: Any, ah: dict[str, str]) -> None:
    data = make_jpeg(300, 200)
    grant = _upload_url(client, ah, data)
    _error(_put(client, grant, data + b"x"), 413)
    # Also without Content-Length (chunked): the receiver counts while streaming.
    chunks = iter([data, b"overflow"])
    r = client.put(_path(grant["presigned_url"]), content=chunks, headers=grant["headers"])
    _error(r, 413)
    assert not any((ctx.settings.blob_root / "uploads").glob("*"))
    assert not any(ctx.store.tmp_dir.iterdir())
    _error(_confirm(client, ah, grant["upload_id"]), 409)
    # The grant is still good for the authorised bytes.
    assert _put(client, grant, data).status_code == 200


def test_store_rejects_a_wrong_content_type(client: Any, ah: dict[str, str]) -> None:
    data = make_jpeg(300, 200)
    grant = _upload_url(client, ah, data)
    _error(_put(client, grant, data, content_type="image/png"), 403)
    _error(client.put(_path(grant["presigned_url"]), content=data), 403)
    _error(_confirm(client, ah, grant["upload_id"]), 409)


def test_store_rejects_a_token_used_for_another_upload(client: Any, ah: dict[str, str]) -> None:
    data = make_jpeg(300, 200)
    first = _upload_url(client, ah, data)
    second = _upload_url(client, ah, data)
    token = parse_qs(urlsplit(first["presigned_url"]).query)["token"][0]
    r = client.put(f"/upload/{second['upload_id']}?token={token}", content=data, headers=first["headers"])
    _error(r, 403)
    # Neither upload received anything.
    _error(_confirm(client, ah, second["upload_id"]), 409)
    _error(_confirm(client, ah, first["upload_id"]), 409)


@pytest.mark.parametrize("how", ["signature", "claims", "missing", "garbage"])
def test_store_rejects_a_tampered_token(client: Any, ah: dict[str, str], how: str) -> None:
    data = make_jpeg(300, 200)
    grant = _upload_url(client, ah, data)
    token = parse_qs(urlsplit(grant["presigned_url"]).query)["token"][0]
    body, _, sig = token.partition(".")
    if how == "signature":
        token = f"{body}.{sig[:-1]}{'A' if sig[-1] != 'A' else 'B'}"
    elif how == "claims":
        # Raise the size limit in the claims and keep the old signature.
        import base64
        import json

        claims = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
        claims["max"] = 10**9
        raw = json.dumps(claims, separators=(",", ":"), sort_keys=True).encode()
        token = base64.urlsafe_b64encode(raw).rstrip(b"=").decode() + "." + sig
    elif how == "missing":
        token = ""
    else:
        token = "not-a-token"
    r = client.put(f"/upload/{grant['upload_id']}?token={quote(token)}", content=data, headers=grant["headers"])
    _error(r, 403)
    _error(_confirm(client, ah, grant["upload_id"]), 409)


def test_store_rejects_an_expired_url(client: Any, ah: dict[str, str]) -> None:
    data = make_jpeg(300, 200)
    grant = _upload_url(client, ah, data, expires_in=1)
    time.sleep(2.1)
    _error(_put(client, grant, data), 403)
    _error(_confirm(client, ah, grant["upload_id"]), 409)


@pytest.mark.parametrize("method", ["POST", "GET", "DELETE"])
def test_store_allows_only_put(client: Any, ah: dict[str, str], method: str) -> None:
    data = make_jpeg(300, 200)
    grant = _upload_url(client, ah, data)
    r = client.request(method, _path(grant["presigned_url"]), content=data if method != "GET" else None)
    _error(r, 405)
    assert "PUT" in r.headers.get("allow", "")
    _error(_confirm(client, ah, grant["upload_id"]), 409)


def test_store_accepts_a_url_once(client: Any, ah: dict[str, str]) -> None:
    data = make_jpeg(300, 200)
    other = make_jpeg(300, 200, seed=9)
    grant = _upload_url(client, ah, data)
    assert _put(client, grant, data).status_code == 200
    _error(_put(client, grant, other[: len(data)]), 409)
    # The first bytes are the ones that count.
    r = _confirm(client, ah, grant["upload_id"])
    assert r.status_code == 201
    assert _get(client, ah, r.json()["photo_id"]).json()["sha256"] == hashlib.sha256(data).hexdigest()
    _error(_put(client, grant, data), 409)


def test_store_rejects_an_empty_body(client: Any, ah: dict[str, str]) -> None:
    data = make_jpeg(300, 200)
    grant = _upload_url(client, ah, data)
    _error(_put(client, grant, b""), 400)
    _error(_confirm(client, ah, grant["upload_id"]), 409)


# -- confirm ---------------------------------------------------------------------------------------
def test_confirm_twice_is_409(client: Any, ctx: Any, ah: dict[str, str]) -> None:
    data = make_jpeg(300, 200)
    grant = _upload_url(client, ah, data)
    assert _put(client, grant, data).status_code == 200
    assert _confirm(client, ah, grant["upload_id"]).status_code == 201
    _error(_confirm(client, ah, grant["upload_id"]), 409)
    assert ctx.db.value("SELECT COUNT(*) FROM photos") == 1


def test_confirm_before_put_is_409(client: Any, ctx: Any, ah: dict[str, str]) -> None:
    data = make_jpeg(300, 200)
    grant = _upload_url(client, ah, data)
    _error(_confirm(client, ah, grant["upload_id"]), 409)
    assert ctx.db.value("SELECT COUNT(*) FROM photos") == 0
    # Uploading afterwards still works.
    assert _put(client, grant, data).status_code == 200
    assert _confirm(client, ah, grant["upload_id"]).status_code == 201


def test_confirm_someone_elses_upload_is_404(client: Any, ctx: Any, ah: dict[str, str], bh: dict[str, str]) -> None:
    data = make_jpeg(300, 200)
    grant = _upload_url(client, ah, data)
    assert _put(client, grant, data).status_code == 200
    _error(_confirm(client, bh, grant["upload_id"]), 404)
    _error(_confirm(client, ah, "0" * 32), 404)
    assert ctx.db.value("SELECT COUNT(*) FROM photos") == 0
    # The owner can still confirm it.
    assert _confirm(client, ah, grant["upload_id"]).status_code == 201


def test_confirm_validates_metadata(client: Any, ctx: Any, ah: dict[str, str]) -> None:
    data = make_jpeg(300, 200)
    grant = _upload_url(client, ah, data)
    assert _put(client, grant, data).status_code == 200
    _error(_confirm(client, ah, grant["upload_id"], visibility="everyone"), 400)
    _error(_confirm(client, ah, grant["upload_id"], tags=["ok", "<script>"]), 400)
    _error(client.post("/v1/photos", json={"title": "no id"}, headers=ah), 400)
    assert ctx.db.value("SELECT COUNT(*) FROM photos") == 0
    assert _confirm(client, ah, grant["upload_id"], visibility="public").status_code == 201


def test_upload_endpoints_need_authentication(client: Any, alice: Any) -> None:
    body = {"filename": "a.jpg", "content_type": "image/jpeg", "size_bytes": 10}
    _error(client.post("/v1/photos/upload-url", json=body), 401)
    _error(client.post("/v1/photos", json={"upload_id": "0" * 32}), 401)
    _error(client.post("/v1/photos/upload", files={"file": ("a.jpg", b"x", "image/jpeg")}), 401)


# -- upload-url validation -------------------------------------------------------------------------
def test_upload_url_refuses_more_than_max_upload_mb(client: Any, ctx: Any, ah: dict[str, str]) -> None:
    limit = ctx.settings.limits.max_upload_mb * 1024 * 1024
    ok = {"filename": "a.jpg", "content_type": "image/jpeg", "size_bytes": limit}
    assert client.post("/v1/photos/upload-url", json=ok, headers=ah).status_code == 200
    _error(client.post("/v1/photos/upload-url", json={**ok, "size_bytes": limit + 1}, headers=ah), 413)


@pytest.mark.parametrize("content_type", ["application/pdf", "text/html", "image/svg+xml", ""])
def test_upload_url_refuses_unsupported_types(client: Any, ah: dict[str, str], content_type: str) -> None:
    body = {"filename": "a", "content_type": content_type, "size_bytes": 100}
    _error(client.post("/v1/photos/upload-url", json=body, headers=ah), 415)


@pytest.mark.parametrize("size", [0, -1])
def test_upload_url_refuses_non_positive_sizes(client: Any, ah: dict[str, str], size: int) -> None:
    body = {"filename": "a.jpg", "content_type": "image/jpeg", "size_bytes": size}
    _error(client.post("/v1/photos/upload-url", json=body, headers=ah), 400)


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"content_type": "image/jpeg", "size_bytes": 100},
        {"filename": "a.jpg", "size_bytes": 100},
        {"filename": "a.jpg", "content_type": "image/jpeg"},
        {"filename": "a.jpg", "content_type": "image/jpeg", "size_bytes": 1.5},
        {"filename": "a.jpg", "content_type": "image/jpeg", "size_bytes": 100, "expires_in": 0},
        {"filename": "a.jpg", "content_type": "image/jpeg", "size_bytes": 100, "expires_in": 10**9},
        {"filename": None, "content_type": "image/jpeg", "size_bytes": 100},
        [],
    ],
)
def test_upload_url_bad_input_is_400(client: Any, ah: dict[str, str], body: Any) -> None:
    _error(client.post("/v1/photos/upload-url", json=body, headers=ah), 400)


def test_upload_url_absurd_size_is_a_client_error(client: Any, ah: dict[str, str]) -> None:
    body = {"filename": "a.jpg", "content_type": "image/jpeg", "size_bytes": 10**30}
    r = client.post("/v1/photos/upload-url", json=body, headers=ah)
    assert r.status_code in (400, 413), r.text
    assert r.json()["error"]["code"]


def test_upload_url_non_json_body_is_400(client: Any, ah: dict[str, str]) -> None:
    r = client.post("/v1/photos/upload-url", content=b"{nope", headers={**ah, "content-type": "application/json"})
    _error(r, 400)


@pytest.fixture
def full_disk(tmp_path: Path) -> Iterator[tuple[Any, Any, dict[str, str]]]:
    from litestar.testing import TestClient

    from photoshare.app import create_asgi

    settings = load_settings(None, NO_ML, data_dir=str(tmp_path / "full"), limits={"min_free_disk_mb": 10**12})
    context = build_context(settings, create=True)
    user = context.users.create("carol", "carol-password")
    try:
        with TestClient(app=create_asgi(context), base_url=settings.base_url) as c:
            yield context, c, bearer(context, user)
    finally:
        context.close()


def test_low_disk_refuses_uploads_with_507(full_disk: tuple[Any, Any, dict[str, str]]) -> None:
    context, c, headers = full_disk
    data = make_jpeg(300, 200)
    body = {"filename": "a.jpg", "content_type": "image/jpeg", "size_bytes": len(data)}
    _error(c.post("/v1/photos/upload-url", json=body, headers=headers), 507)
    _error(_multipart(c, headers, data), 507)
    assert context.db.value("SELECT COUNT(*) FROM uploads") == 0
    assert context.db.value("SELECT COUNT(*) FROM photos") == 0
    assert _originals(context) == []


def test_receiver_refuses_when_disk_runs_low_after_grant(client: Any, ctx: Any, ah: dict[str, str]) -> None:
    data = make_jpeg(300, 200)
    grant = _upload_url(client, ah, data)
    ctx.settings.limits.min_free_disk_mb = 10**12
    _error(_put(client, grant, data), 507)
    assert not any((ctx.settings.blob_root / "uploads").glob("*"))


# -- deduplication ---------------------------------------------------------------------------------
def test_identical_bytes_are_stored_once_but_give_two_photos(
    client: Any, ctx: Any, ah: dict[str, str], bh: dict[str, str]
) -> None:
    data = make_jpeg(900, 600, seed=3)
    first = _upload(client, ah, data, title="mine")
    second = _upload(client, bh, data, title="also mine")
    third = _multipart(client, ah, data, title="again").json()["photo_id"]
    assert len({first, second, third}) == 3
    files = _originals(ctx)
    assert len(files) == 1
    assert files[0].read_bytes() == data
    assert not any((ctx.settings.blob_root / "uploads").glob("*"))
    _process(ctx)
    a, b = _get(client, ah, first).json(), _get(client, bh, second).json()
    assert a["processing_status"] == b["processing_status"] == "ready"
    assert a["sha256"] == b["sha256"] == hashlib.sha256(data).hexdigest()
    assert a["user_id"] != b["user_id"]
    assert _get(client, ah, third).json()["processing_status"] == "ready"
    # Each owner sees only their own.
    _error(_get(client, bh, first), 404)
    _error(_get(client, ah, second), 404)


# -- one-shot multipart ----------------------------------------------------------------------------
def test_multipart_upload_creates_and_processes(client: Any, ctx: Any, ah: dict[str, str]) -> None:
    data = make_jpeg(900, 600, seed=5)
    r = _multipart(client, ah, data, title="Harbour", visibility="public", tags="boats, Sea")
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["status"] == "processing"
    assert body["urls"] == {"original": None, "large": None, "medium": None, "thumb": None}
    _process(ctx)
    photo = _get(client, ah, body["photo_id"]).json()
    assert photo["processing_status"] == "ready"
    assert photo["title"] == "Harbour"
    assert photo["visibility"] == "public"
    assert sorted(photo["tags"]) == ["boats", "sea"]
    assert photo["filename"] == "photo.jpg"
    assert photo["sha256"] == hashlib.sha256(data).hexdigest()
    assert (photo["width"], photo["height"]) == (900, 600)


def test_multipart_bad_input_is_4xx(client: Any, ah: dict[str, str]) -> None:
    _error(client.post("/v1/photos/upload", data={"title": "no file"}, headers=ah), 400)
    r = client.post("/v1/photos/upload", files={"file": ("a.pdf", b"%PDF-1.4", "application/pdf")}, headers=ah)
    _error(r, 415)
    _error(_multipart(client, ah, b""), 400)
    _error(_multipart(client, ah, make_jpeg(100, 100), visibility="everyone"), 400)


def test_broken_file_fails_while_good_one_in_same_batch_is_ready(client: Any, ctx: Any, ah: dict[str, str]) -> None:
    good = make_jpeg(900, 600, seed=7)
    broken = random.Random(1).randbytes(5000)
    good_id = _upload(client, ah, good, title="good")
    broken_id = _upload(client, ah, broken, title="broken")
    _process(ctx)
    g = _get(client, ah, good_id).json()
    b = _get(client, ah, broken_id).json()
    assert g["processing_status"] == "ready"
    assert g["failure_reason"] is None
    assert b["processing_status"] == "failed"
    assert isinstance(b["failure_reason"], str) and b["failure_reason"].strip()
    assert str(ctx.settings.data_path) not in b["failure_reason"]
    assert b["urls"] == {"original": None, "large": None, "medium": None, "thumb": None}


# -- listing ---------------------------------------------------------------------------------------
def test_listing_paginates_newest_first(client: Any, ctx: Any, ah: dict[str, str], bh: dict[str, str]) -> None:
    created = [_multipart(client, ah, make_jpeg(64, 48, seed=i)).json()["photo_id"] for i in range(7)]
    _multipart(client, bh, make_jpeg(64, 48, seed=99))  # someone else's photo never shows up
    seen: list[str] = []
    cursor: str | None = None
    pages = []
    for _ in range(10):
        params: dict[str, Any] = {"limit": 3}
        if cursor:
            params["cursor"] = cursor
        r = client.get("/v1/photos", params=params, headers=ah)
        assert r.status_code == 200, r.text
        page = r.json()
        pages.append(len(page["photos"]))
        seen += [p["photo_id"] for p in page["photos"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert pages == [3, 3, 1]
    assert seen == list(reversed(created))
    assert cursor is None


def test_listing_exact_multiple_of_limit_ends_with_null_cursor(client: Any, ah: dict[str, str]) -> None:
    for i in range(3):
        _multipart(client, ah, make_jpeg(64, 48, seed=i))
    r = client.get("/v1/photos", params={"limit": 3}, headers=ah).json()
    assert len(r["photos"]) == 3
    assert r["next_cursor"] is None


@pytest.mark.parametrize("query", ["limit=0", "limit=201", "limit=-1", "limit=abc", "cursor=%25%25%25", "cursor=abc"])
def test_listing_rejects_bad_parameters(client: Any, ah: dict[str, str], query: str) -> None:
    _error(client.get(f"/v1/photos?{query}", headers=ah), 400)


def test_listing_limit_bounds_are_inclusive(client: Any, ah: dict[str, str]) -> None:
    assert client.get("/v1/photos?limit=1", headers=ah).status_code == 200
    assert client.get("/v1/photos?limit=200", headers=ah).status_code == 200


def test_listing_needs_authentication(client: Any) -> None:
    _error(client.get("/v1/photos"), 401)


# -- visibility and editing ------------------------------------------------------------------------
def test_private_photo_is_hidden_until_made_public_and_ready(
    client: Any, ctx: Any, ah: dict[str, str], bh: dict[str, str]
) -> None:
    photo_id = _upload(client, ah, make_jpeg(900, 600), visibility="private")
    _error(_get(client, bh, photo_id), 404)
    _error(_get(client, None, photo_id), 404)
    r = client.patch(f"/v1/photos/{photo_id}", json={"visibility": "public"}, headers=ah)
    assert r.status_code == 200, r.text
    # Public but still processing: not shown to others yet.
    _error(_get(client, bh, photo_id), 404)
    _process(ctx)
    r = _get(client, bh, photo_id)
    assert r.status_code == 200
    photo = r.json()
    assert photo["visibility"] == "public"
    assert photo["urls"]["thumb"]
    assert photo["urls"]["original"] is None  # downloading the original is the owner's
    assert _get(client, None, photo_id).status_code == 200
    # And back to private hides it again.
    assert client.patch(f"/v1/photos/{photo_id}", json={"visibility": "private"}, headers=ah).status_code == 200
    _error(_get(client, bh, photo_id), 404)


def test_patch_updates_title_tags_visibility(client: Any, ctx: Any, ah: dict[str, str]) -> None:
    photo_id = _upload(client, ah, make_jpeg(300, 200), title="old", tags=["keep"])
    _process(ctx)
    r = client.patch(
        f"/v1/photos/{photo_id}",
        json={"title": "New title", "tags": ["#Beach", "sun set", "beach"], "visibility": "public"},
        headers=ah,
    )
    assert r.status_code == 200, r.text
    assert r.json()["title"] == "New title"
    photo = _get(client, ah, photo_id).json()
    assert photo["title"] == "New title"
    assert sorted(photo["tags"]) == ["beach", "sun set"]
    assert photo["visibility"] == "public"
    # A partial PATCH leaves the other fields alone.
    r = client.patch(f"/v1/photos/{photo_id}", json={"description": "at dusk"}, headers=ah)
    assert r.status_code == 200
    photo = _get(client, ah, photo_id).json()
    assert (photo["title"], photo["description"], photo["visibility"]) == ("New title", "at dusk", "public")
    assert sorted(photo["tags"]) == ["beach", "sun set"]


@pytest.mark.parametrize(
    "change",
    [{"owner": "bob"}, {"title": "x", "sha256": "0" * 64}, {"visibility": "world"}, {"tags": "not-a-list-of-str"}],
)
def test_patch_rejects_bad_changes(client: Any, ah: dict[str, str], change: dict[str, Any]) -> None:
    photo_id = _upload(client, ah, make_jpeg(300, 200), title="before")
    _error(client.patch(f"/v1/photos/{photo_id}", json=change, headers=ah), 400)
    photo = _get(client, ah, photo_id).json()
    assert photo["title"] == "before"
    assert photo["visibility"] == "private"


def test_patch_of_someone_elses_public_photo_is_403(
    client: Any, ctx: Any, ah: dict[str, str], bh: dict[str, str]
) -> None:
    photo_id = _upload(client, ah, make_jpeg(300, 200), title="alice's", visibility="public")
    _process(ctx)
    _error(client.patch(f"/v1/photos/{photo_id}", json={"title": "bob was here"}, headers=bh), 403)
    assert _get(client, ah, photo_id).json()["title"] == "alice's"
    # A private one is not even acknowledged.
    private_id = _upload(client, ah, make_jpeg(300, 200, seed=2))
    _error(client.patch(f"/v1/photos/{private_id}", json={"title": "x"}, headers=bh), 404)
    _error(client.patch(f"/v1/photos/{photo_id}", json={"title": "x"}), 401)


def test_unknown_photo_is_404(client: Any, ah: dict[str, str]) -> None:
    _error(_get(client, ah, "0" * 32), 404)
    _error(client.patch(f"/v1/photos/{'0' * 32}", json={"title": "x"}, headers=ah), 404)


def test_concurrent_confirms_of_one_upload_create_one_photo(client: Any, ctx: Any, ah: dict[str, str]) -> None:
    import threading
    from concurrent.futures import ThreadPoolExecutor

    rounds = 6
    for i in range(rounds):
        data = make_jpeg(64, 48, seed=100 + i)
        grant = _upload_url(client, ah, data)
        assert _put(client, grant, data).status_code == 200
        barrier = threading.Barrier(2)

        def confirm(_: int, upload_id: str = grant["upload_id"], barrier: threading.Barrier = barrier) -> int:
            barrier.wait()
            return int(_confirm(client, ah, upload_id).status_code)

        with ThreadPoolExecutor(2) as pool:
            statuses = sorted(pool.map(confirm, range(2)))
        assert statuses == [201, 409], (i, statuses)
    assert ctx.db.value("SELECT COUNT(*) FROM photos") == rounds
