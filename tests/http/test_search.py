"""Search over real corpus photos: camera, year, place (offline reverse geocoding), permissions,
facets, pagination, freshness, and rebuilding a lost index."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from photoshare.context import AppContext, build_context
from photoshare.photos.service import PhotoMeta
from photoshare.settings import load_settings
from tests.conftest import CORPUS, NO_ML, bearer

FILES = {
    "iphone": ("exif-samples/heic/IMG_5195.HEIC", "image/heic"),  # Apple, 2021, Blue Springs, Missouri
    "canon": ("exif-samples/jpg/Canon_40D.jpg", "image/jpeg"),  # Canon EOS 40D, 2008, no GPS
    "nikon": ("exif-samples/jpg/gps/DSCN0010.jpg", "image/jpeg"),  # NIKON COOLPIX P6000, 2008, Arezzo, Italy
}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[AppContext, dict[str, Any]]]:
    if not all((CORPUS / rel).exists() for rel, _ in FILES.values()):
        pytest.skip("corpus missing")
    settings = load_settings(None, NO_ML, data_dir=str(tmp_path_factory.mktemp("search") / "data"))
    ctx = build_context(settings, create=True)
    alice = ctx.users.create("alice", "alice-password")
    bob = ctx.users.create("bob", "bob-password")
    ids = {}
    for name, (rel, ctype) in FILES.items():
        path = CORPUS / rel
        visibility = "public" if name == "nikon" else "private"
        ids[name] = ctx.uploads.ingest_file(
            alice,
            path,
            filename=path.name,
            content_type=ctype,
            meta=PhotoMeta(title=f"trip {name}", visibility=visibility, tags=["family"] if name == "canon" else []),
        )["id"]
    ctx.runner.run_until_idle()
    yield ctx, {"alice": alice, "bob": bob, "ids": ids}
    ctx.close()


def _titles(result: dict[str, Any]) -> set[str]:
    return {r["title"] for r in result["results"]}


def test_search_by_camera_model_year_and_place(world: tuple[AppContext, dict[str, Any]]) -> None:
    ctx, w = world
    alice = w["alice"]
    assert _titles(ctx.search.search(alice, {"q": "canon"})) == {"trip canon"}
    assert _titles(ctx.search.search(alice, {"camera": "EOS 40D"})) == {"trip canon"}
    assert _titles(ctx.search.search(alice, {"q": "iphone"})) == {"trip iphone"}
    assert _titles(ctx.search.search(alice, {"date_from": "2021-01-01", "date_to": "2021-12-31"})) == {"trip iphone"}
    assert _titles(ctx.search.search(alice, {"date_to": "2008-12-31"})) == {"trip canon", "trip nikon"}
    # Places come from GPS through the offline GeoNames data: city, region and country are all searchable.
    assert _titles(ctx.search.search(alice, {"q": "missouri"})) == {"trip iphone"}
    assert _titles(ctx.search.search(alice, {"location": "Italy"})) == {"trip nikon"}
    assert _titles(ctx.search.search(alice, {"q": "arezzo"})) == {"trip nikon"}
    assert _titles(ctx.search.search(alice, {"near": "39.05,-94.29,25"})) == {"trip iphone"}
    assert _titles(ctx.search.search(alice, {"near": "39.05,-94.29,25", "q": "canon"})) == set()
    assert _titles(ctx.search.search(alice, {"q": "family"})) == {"trip canon"}  # user tags
    assert _titles(ctx.search.search(alice, {"q": "fmaily"})) == {"trip canon"}  # a typo still finds it


def test_facets_count_what_matched(world: tuple[AppContext, dict[str, Any]]) -> None:
    ctx, w = world
    result = ctx.search.search(w["alice"], {"q": "trip"})
    assert result["total"] == 3
    years = {f["value"]: f["count"] for f in result["facets"]["years"]}
    assert years == {2021: 1, 2008: 2}
    places = {f["value"] for f in result["facets"]["locations"]}
    assert any("Missouri" in p for p in places) and any("Italy" in p for p in places)
    cameras = {f["value"] for f in result["facets"]["cameras"]}
    assert "Canon EOS 40D" in cameras


def test_private_photos_of_others_never_appear(world: tuple[AppContext, dict[str, Any]]) -> None:
    ctx, w = world
    bob = w["bob"]
    assert _titles(ctx.search.search(bob, {"q": "trip"})) == {"trip nikon"}  # the public one only
    assert _titles(ctx.search.search(bob, {"q": "canon"})) == set()
    assert ctx.search.search(bob, {"q": "canon"})["total"] == 0
    assert _titles(ctx.search.search(None, {"q": "trip"})) == {"trip nikon"}
    # A share makes it findable for bob, revoking makes it vanish again.
    share = ctx.shares.create(w["alice"], "photo", w["ids"]["canon"], {"type": "users", "user_ids": [bob.id]})
    assert _titles(ctx.search.search(bob, {"q": "canon"})) == {"trip canon"}
    ctx.shares.revoke(w["alice"], share["share_id"])
    assert _titles(ctx.search.search(bob, {"q": "canon"})) == set()


def test_pagination_and_bad_parameters(world: tuple[AppContext, dict[str, Any]], tmp_path: Path) -> None:
    ctx, w = world
    seen: list[str] = []
    cursor = None
    while True:
        page = ctx.search.search(w["alice"], {"q": "trip", "limit": 2, "cursor": cursor})
        seen += [r["photo_id"] for r in page["results"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == sorted(w["ids"].values())
    from photoshare.errors import InvalidInput

    for bad in ({"near": "1,2"}, {"near": "100,0,5"}, {"date_from": "yesterday"}, {"limit": 0}, {"cursor": "%%"}):
        with pytest.raises(InvalidInput):
            ctx.search.search(w["alice"], bad)


def test_http_endpoint_and_freshness(tmp_path: Path) -> None:
    """Over HTTP with the background job pool: a new title is searchable within 2 s."""
    from litestar.testing import TestClient

    from photoshare.app import create_asgi
    from tests.conftest import make_jpeg

    ctx = build_context(load_settings(None, NO_ML, data_dir=str(tmp_path / "d"), jobs={"poll_s": 0.05}), create=True)
    try:
        user = ctx.users.create("carl", "carl-password")
        headers = bearer(ctx, user)
        src = tmp_path / "a.jpg"
        src.write_bytes(make_jpeg(400, 300))
        photo = ctx.uploads.ingest_file(user, src, filename="a.jpg", content_type="image/jpeg", meta=PhotoMeta())
        ctx.runner.start()
        assert ctx.runner.wait_idle(60)
        with TestClient(app=create_asgi(ctx), base_url=ctx.settings.base_url) as client:
            assert client.get("/v1/search/photos", params={"q": "zanzibar"}, headers=headers).json()["total"] == 0
            r = client.patch(f"/v1/photos/{photo['id']}", json={"title": "Zanzibar sunset"}, headers=headers)
            assert r.status_code == 200
            start = time.monotonic()
            while time.monotonic() - start < 2.0:
                found = client.get("/v1/search/photos", params={"q": "zanzibar"}, headers=headers).json()
                if found["total"] == 1:
                    break
                time.sleep(0.05)
            assert found["total"] == 1 and found["results"][0]["photo_id"] == photo["id"]
            assert set(found["facets"]) == {"years", "locations", "cameras"}
            assert client.get("/v1/search/photos", params={"near": "x"}, headers=headers).status_code == 400
            client.delete(f"/v1/photos/{photo['id']}", headers=headers)
            time.sleep(0.5)
            assert client.get("/v1/search/photos", params={"q": "zanzibar"}, headers=headers).json()["total"] == 0
    finally:
        ctx.close()


def test_lost_index_is_rebuilt_and_reindex_command(tmp_path: Path) -> None:
    from tests.conftest import make_jpeg

    data = tmp_path / "d"
    ctx = build_context(load_settings(None, NO_ML, data_dir=str(data)), create=True)
    user = ctx.users.create("dora", "dora-password")
    for i in range(3):
        src = tmp_path / f"{i}.jpg"
        src.write_bytes(make_jpeg(300, 200, seed=i))
        ctx.uploads.ingest_file(
            user, src, filename=src.name, content_type="image/jpeg", meta=PhotoMeta(title=f"lighthouse {i}")
        )
    ctx.runner.run_until_idle()
    assert ctx.search.search(user, {"q": "lighthouse"})["total"] == 3
    ctx.close()

    shutil.rmtree(data / "index")  # lost
    ctx = build_context(load_settings(None, NO_ML, data_dir=str(data)))
    try:
        assert ctx.search.search(user, {"q": "lighthouse"})["total"] == 0
        ctx.runner.run_until_idle()  # the rebuild job queued at start
        assert ctx.search.search(user, {"q": "lighthouse"})["total"] == 3
    finally:
        ctx.close()

    (data / "index" / "text" / "meta.json").write_text("{not json")  # corrupt
    ctx = build_context(load_settings(None, NO_ML, data_dir=str(data)))
    try:
        ctx.runner.run_until_idle()
        assert ctx.search.search(user, {"q": "lighthouse"})["total"] == 3
    finally:
        ctx.close()

    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith("PHOTOSHARE_")}
    out = subprocess.run(
        [sys.executable, "-m", "photoshare", "reindex", "--data-dir", str(data)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert "Search index: 3 photos" in out.stdout


def test_reindex_while_serving_queues_the_rebuild(live_server: Any) -> None:
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith("PHOTOSHARE_")}
    out = subprocess.run(
        [sys.executable, "-m", "photoshare", "reindex", "--data-dir", str(live_server.data_dir)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert "queued" in out.stdout
    import httpx

    deadline = time.monotonic() + 30
    while httpx.get(f"{live_server.url}/healthz").json()["jobs_pending"] and time.monotonic() < deadline:
        time.sleep(0.2)
    assert httpx.get(f"{live_server.url}/healthz").json()["jobs_pending"] == 0
