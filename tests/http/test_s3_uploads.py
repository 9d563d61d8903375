"""Direct uploads into a real S3 server (SeaweedFS): the object store itself enforces the POST policy,
and the appliance never proxies the bytes."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from photoshare.context import AppContext
from tests.conftest import NO_ML, bearer, make_jpeg


@pytest.fixture
def s3_client(s3_ctx: AppContext) -> Iterator[Any]:
    from litestar.testing import TestClient

    from photoshare.app import create_asgi

    with TestClient(app=create_asgi(s3_ctx), base_url=s3_ctx.settings.base_url) as c:
        yield c


@pytest.fixture
def owner(s3_ctx: AppContext) -> dict[str, str]:
    return bearer(s3_ctx, s3_ctx.users.create("olga", "olga-password"))


def _ticket(client: Any, headers: dict[str, str], data: bytes, ctype: str = "image/jpeg", **extra: Any) -> dict:
    r = client.post(
        "/v1/photos/upload-url",
        headers=headers,
        json={"filename": "x.jpg", "content_type": ctype, "size_bytes": len(data), **extra},
    )
    assert r.status_code == 200, r.text
    return dict(r.json())


def _post(
    ticket: dict, data: bytes, *, fields: dict[str, str] | None = None, ctype: str = "image/jpeg"
) -> httpx.Response:
    form = {**ticket["fields"], **(fields or {})}
    return httpx.post(ticket["presigned_url"], data=form, files={"file": ("x.jpg", data, ctype)}, timeout=30)


def test_upload_url_is_an_s3_post_policy(s3_client: Any, s3_ctx: AppContext, owner: dict[str, str]) -> None:
    ticket = _ticket(s3_client, owner, b"x" * 100)
    s3 = s3_ctx.settings.storage.s3
    assert ticket["method"] == "POST"
    assert ticket["presigned_url"] == f"http://{s3.endpoint}/{s3.bucket}"  # straight to the bucket
    assert ticket["fields"]["key"] == f"uploads/{ticket['upload_id']}"
    assert ticket["fields"]["Content-Type"] == "image/jpeg"
    assert "policy" in ticket["fields"] and "x-amz-signature" in ticket["fields"]


def test_direct_upload_confirm_process_and_serve(s3_client: Any, s3_ctx: AppContext, owner: dict[str, str]) -> None:
    data = make_jpeg(1200, 800, gps=True)
    ticket = _ticket(s3_client, owner, data)
    assert _post(ticket, data).status_code in (200, 201, 204)
    r = s3_client.post("/v1/photos", headers=owner, json={"upload_id": ticket["upload_id"], "title": "s3"})
    assert r.status_code == 201, r.text
    photo_id = r.json()["photo_id"]
    s3_ctx.runner.run_until_idle()
    photo = s3_client.get(f"/v1/photos/{photo_id}", headers=owner).json()
    assert photo["status"] == "ready", photo["failure_reason"]
    sha = hashlib.sha256(data).hexdigest()
    assert photo["sha256"] == sha and (photo["width"], photo["height"]) == (1200, 800)
    row = s3_ctx.photo_repo.get(photo_id)
    assert row["original_key"].startswith("originals/") and sha in row["original_key"]
    assert not s3_ctx.store.exists(ticket["fields"]["key"])  # staging object moved to its content address
    assert s3_ctx.store.read(row["original_key"]) == data
    thumb = s3_client.get(photo["urls"]["thumb"], headers={"Accept": "image/webp"})
    assert thumb.status_code == 200 and thumb.headers["content-type"] == "image/webp"
    original = s3_client.get(photo["urls"]["original"])
    assert original.content == data
    ranged = s3_client.get(photo["urls"]["original"], headers={"Range": "bytes=10-19"})
    assert ranged.status_code == 206 and ranged.content == data[10:20]


def test_store_rejects_too_large_wrong_type_other_key_and_expired(
    s3_client: Any, s3_ctx: AppContext, owner: dict[str, str]
) -> None:
    data = make_jpeg(300, 200)
    ticket = _ticket(s3_client, owner, data)
    assert _post(ticket, data + b"\0" * 10).status_code == 400  # EntityTooLarge
    assert _post(ticket, data, fields={"Content-Type": "text/html"}, ctype="text/html").status_code == 403
    other = f"uploads/{'0' * 32}"
    assert _post(ticket, data, fields={"key": other}).status_code == 403
    assert not s3_ctx.store.exists(other) and not s3_ctx.store.exists(ticket["fields"]["key"])
    short = _ticket(s3_client, owner, data, expires_in=1)
    time.sleep(2.1)
    assert _post(short, data).status_code == 403
    assert not s3_ctx.store.exists(short["fields"]["key"])
    # Nothing arrived, so confirming is refused and no photo exists.
    r = s3_client.post("/v1/photos", headers=owner, json={"upload_id": short["upload_id"]})
    assert r.status_code == 409 and r.json()["error"]["code"] == "not_uploaded"


def test_presigned_reads_redirect_originals_to_the_bucket(s3_server: Any, tmp_path: Any) -> None:
    import os

    from litestar.testing import TestClient

    from photoshare.app import create_asgi
    from photoshare.context import build_context
    from photoshare.photos.service import PhotoMeta
    from photoshare.settings import load_settings

    storage = s3_server.settings(f"pr-{os.urandom(4).hex()}")
    storage["s3"]["presigned_reads"] = True
    ctx = build_context(load_settings(None, NO_ML, data_dir=str(tmp_path / "d"), storage=storage), create=True)
    try:
        user = ctx.users.create("pia", "pia-password")
        src = tmp_path / "p.jpg"
        src.write_bytes(make_jpeg(300, 200))
        photo = ctx.uploads.ingest_file(user, src, filename="p.jpg", content_type="image/jpeg", meta=PhotoMeta())
        ctx.runner.run_until_idle()
        urls = ctx.photos.get(user, photo["id"])["urls"]
        with TestClient(app=create_asgi(ctx), base_url=ctx.settings.base_url) as client:
            r = client.get(urls["original"], follow_redirects=False)
            assert r.status_code == 302 and s3_server.endpoint in r.headers["location"]
            assert httpx.get(r.headers["location"]).content == src.read_bytes()
            assert client.get(urls["thumb"]).status_code == 200  # variants still come from the appliance
    finally:
        ctx.close()


def test_identical_bytes_stored_once_and_purge_keeps_shared_blob(
    s3_client: Any, s3_ctx: AppContext, owner: dict[str, str]
) -> None:
    data = make_jpeg(500, 400, seed=9)
    ids = []
    for _ in range(2):
        ticket = _ticket(s3_client, owner, data)
        assert _post(ticket, data).status_code in (200, 201, 204)
        ids.append(
            s3_client.post("/v1/photos", headers=owner, json={"upload_id": ticket["upload_id"]}).json()["photo_id"]
        )
    s3_ctx.runner.run_until_idle()
    originals = list(s3_ctx.store.iter_keys("originals/"))
    assert len(originals) == 1
    assert list(s3_ctx.store.iter_keys("uploads/")) == []
    assert s3_client.delete(f"/v1/photos/{ids[0]}?purge=true", headers=owner).status_code == 200
    s3_ctx.runner.run_until_idle()
    assert list(s3_ctx.store.iter_keys("originals/")) == originals  # still used by the second photo
    assert s3_client.delete(f"/v1/photos/{ids[1]}?purge=true", headers=owner).status_code == 200
    s3_ctx.runner.run_until_idle()
    assert list(s3_ctx.store.iter_keys("originals/")) == []
    assert list(s3_ctx.store.iter_keys("variants/")) == []
