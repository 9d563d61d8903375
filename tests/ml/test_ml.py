"""The ML stage end to end on real corpus photos with the real models: labels, text, faces, people,
similar photos, hybrid search, failure handling. One appliance for the module (models load once)."""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pytest

from photoshare.context import AppContext
from photoshare.ml.labels import EMBEDDING_MODEL
from tests.conftest import bearer, drain
from tests.ml.conftest import corpus, ingest, resized_jpeg, screenshot_png

SCREEN_TEXT = ["Quarterly invoice 2024-117", "Meeting notes: harbour renovation"]


@pytest.fixture(scope="module")
def library(ml_ctx: AppContext) -> dict[str, Any]:
    """Alice's photos (processed and analysed once for the whole module), and Bob."""
    ctx = ml_ctx
    alice = ctx.users.create("alice", "alice-password", is_admin=True)
    bob = ctx.users.create("bob", "bob-password")
    flower = corpus("pillow/flower.jpg")
    ids = {
        "hopper": ingest(ctx, alice, corpus("pillow/hopper.jpg"), "hopper.jpg", visibility="public"),
        # The same portrait stored rotated with an EXIF orientation: variants are upright, so is the face.
        "hopper_rotated": ingest(ctx, alice, corpus("pillow/hopper_orientation_6.jpg"), "hopper6.jpg"),
        "landscape": ingest(ctx, alice, corpus("exif-orientation-examples/Landscape_1.jpg"), "land.jpg"),
        "screenshot": ingest(ctx, alice, screenshot_png(SCREEN_TEXT), "screen.png", visibility="public"),
        "lizard": ingest(ctx, alice, corpus("exif-samples/jpg/Kodak_CX7530.jpg"), "kodak.jpg", visibility="public"),
        "flower": ingest(ctx, alice, flower, "flower.jpg", visibility="public"),
        "flower_small": ingest(ctx, alice, resized_jpeg(flower, 0.55), "flower-small.jpg"),
        "snake": ingest(ctx, alice, corpus("exif-samples/jpg/Nikon_D70.jpg"), "nikon.jpg", visibility="public"),
        "portrait": ingest(ctx, alice, corpus("exif-orientation-examples/Portrait_1.jpg"), "portrait.jpg"),
    }
    drain(ctx, timeout=300)
    return {"alice": alice, "bob": bob, "ids": ids}


@pytest.fixture(scope="module")
def http(ml_ctx: AppContext, library: dict[str, Any]) -> Any:
    from litestar.testing import TestClient

    from photoshare.app import create_asgi

    with TestClient(app=create_asgi(ml_ctx), base_url=ml_ctx.settings.base_url) as c:
        yield c


def _result(ctx: AppContext, photo_id: str) -> dict[str, Any]:
    result = ctx.ml.repo.result(photo_id)
    assert result is not None
    return result


def test_every_photo_is_analysed_and_stays_ready(ml_ctx: AppContext, library: dict[str, Any]) -> None:
    for name, photo_id in library["ids"].items():
        photo = ml_ctx.photo_repo.get(photo_id)
        assert photo is not None and photo["processing_status"] == "ready", name
        result = _result(ml_ctx, photo_id)
        assert result["status"] == "done", (name, result)
        for stage in ("labels", "ocr", "faces"):
            assert "ms" in result["stages"][stage], (name, stage, result["stages"])


def test_labels_reach_the_photo_api_and_search(ml_ctx: AppContext, library: dict[str, Any], http: Any) -> None:
    headers = bearer(ml_ctx, library["alice"])
    photo = http.get(f"/v1/photos/{library['ids']['lizard']}", headers=headers).json()
    names = [label["label"] for label in photo["labels"]]
    assert "agama" in names, photo["labels"]
    assert all(label["confidence"] >= ml_ctx.settings.ml.label_threshold for label in photo["labels"])
    assert photo["ml_labels"] == names
    found = http.get("/v1/search/photos", params={"q": "agama"}, headers=headers).json()
    assert library["ids"]["lizard"] in [r["photo_id"] for r in found["results"]]


def test_text_in_a_screenshot_and_a_photo_is_read_and_searchable(
    ml_ctx: AppContext, library: dict[str, Any], http: Any
) -> None:
    ids = library["ids"]
    assert _result(ml_ctx, ids["screenshot"])["ocr_text"].splitlines() == SCREEN_TEXT
    # The corpus landscape has its orientation words printed on the photo.
    words = set(_result(ml_ctx, ids["landscape"])["ocr_text"].lower().split())
    assert {"top", "bottom", "left", "right"} <= words
    headers = bearer(ml_ctx, library["alice"])
    found = http.get("/v1/search/photos", params={"q": "harbour renovation"}, headers=headers).json()
    assert [r["photo_id"] for r in found["results"]] == [ids["screenshot"]]
    detail = http.get(f"/v1/photos/{ids['screenshot']}/ml", headers=headers).json()
    assert "Quarterly invoice" in detail["text"]


def test_a_face_is_found_embedded_and_clustered_with_the_same_person(
    ml_ctx: AppContext, library: dict[str, Any]
) -> None:
    ids = library["ids"]
    faces = ml_ctx.ml.repo.faces_of_photo(ids["hopper"])
    assert len(faces) == 1
    x, y, w, h = faces[0]["box"]
    assert 0.15 < x < 0.5 and 0.05 < y < 0.4 and 0.2 < w < 0.6 and 0.2 < h < 0.7, faces[0]["box"]
    rotated = ml_ctx.ml.repo.faces_of_photo(ids["hopper_rotated"])
    assert len(rotated) == 1
    assert rotated[0]["person_id"] == faces[0]["person_id"]  # one person, two photos
    for name in ("landscape", "lizard", "flower", "screenshot"):
        assert ml_ctx.ml.repo.faces_of_photo(ids[name]) == [], name


def test_naming_a_person_makes_the_name_find_every_photo_of_them_for_the_owner_only(
    ml_ctx: AppContext, library: dict[str, Any], http: Any
) -> None:
    ids = library["ids"]
    alice, bob = bearer(ml_ctx, library["alice"]), bearer(ml_ctx, library["bob"])
    people = http.get("/v1/people", headers=alice).json()["items"]
    assert len(people) == 1 and people[0]["photo_count"] == 2 and people[0]["name"] is None
    person_id = people[0]["person_id"]
    assert people[0]["cover"]["photo_id"] in (ids["hopper"], ids["hopper_rotated"])
    named = http.post(f"/v1/people/{person_id}", json={"name": "Grace Hopper"}, headers=alice)
    assert named.status_code == 200 and named.json()["name"] == "Grace Hopper"
    photos = http.get(f"/v1/people/{person_id}/photos", headers=alice).json()["photos"]
    assert {p["photo_id"] for p in photos} == {ids["hopper"], ids["hopper_rotated"]}
    found = http.get("/v1/search/photos", params={"q": "grace"}, headers=alice).json()
    assert {r["photo_id"] for r in found["results"]} == {ids["hopper"], ids["hopper_rotated"]}
    assert found["total"] == 2
    # Names are the owner's: Bob sees the public portrait but cannot find it by Alice's name for it,
    # nor read her people.
    assert http.get("/v1/search/photos", params={"q": "grace"}, headers=bob).json()["results"] == []
    assert http.get(f"/v1/people/{person_id}", headers=bob).status_code == 404
    assert http.get(f"/v1/photos/{ids['hopper']}/ml", headers=bob).json()["faces"][0]["name"] is None
    # A filter still applies to people matches.
    none = http.get("/v1/search/photos", params={"q": "grace", "date_to": "1990-01-01"}, headers=alice).json()
    assert none["results"] == []
    assert http.post(f"/v1/people/{person_id}", json={"name": 5}, headers=alice).status_code == 400


def test_nearest_neighbour_of_a_photo_is_its_resized_copy(
    ml_ctx: AppContext, library: dict[str, Any], http: Any
) -> None:
    ids = library["ids"]
    alice, bob = bearer(ml_ctx, library["alice"]), bearer(ml_ctx, library["bob"])
    similar = http.get(f"/v1/photos/{ids['flower']}/similar", params={"limit": 3}, headers=alice).json()
    assert similar["results"][0]["photo_id"] == ids["flower_small"]
    assert similar["results"][0]["similarity"] > 0.9
    assert ids["flower"] not in [r["photo_id"] for r in similar["results"]]
    back = http.get(f"/v1/photos/{ids['flower_small']}/similar", params={"limit": 1}, headers=alice).json()
    assert back["results"][0]["photo_id"] == ids["flower"]
    # Bob may see the public flower but not Alice's private copy: it is never offered to him.
    for_bob = http.get(f"/v1/photos/{ids['flower']}/similar", params={"limit": 50}, headers=bob).json()["results"]
    assert for_bob and all(r["visibility"] == "public" for r in for_bob)
    assert http.get(f"/v1/photos/{ids['flower_small']}/similar", headers=bob).status_code == 404
    assert http.get(f"/v1/photos/{ids['flower']}/similar", params={"limit": 0}, headers=alice).status_code == 400


def test_vector_index_is_derived_and_rebuilt_from_sqlite(ml_ctx: AppContext, library: dict[str, Any]) -> None:
    from photoshare.ml.vectors import exact_knn

    labels, matrix = ml_ctx.ml.repo.all_embeddings(EMBEDDING_MODEL)
    assert len(labels) == len(library["ids"]) and matrix.shape[1] == 1280
    assert np.allclose(np.linalg.norm(matrix, axis=1), 1.0, atol=1e-4)
    index = ml_ctx.ml.vectors.index(EMBEDDING_MODEL, 1280)
    index.close()
    assert index.path.is_file()
    assert ml_ctx.ml.rebuild_vectors() == {EMBEDDING_MODEL: len(labels)}
    for row in range(len(labels)):
        exact = [labels[i] for i in exact_knn(matrix, matrix[row], 3)]
        assert [lbl for lbl, _ in index.query(matrix[row], 3)] == exact


def test_an_unreadable_analysis_image_is_a_recorded_failure_and_the_photo_stays_ready(
    ml_ctx: AppContext, library: dict[str, Any]
) -> None:
    photo_id = ingest(ml_ctx, library["alice"], corpus("exif-samples/jpg/Nikon_COOLPIX_P1.jpg"), "p1.jpg")
    ml_ctx.runner.run_until_idle()
    variants = ml_ctx.photo_repo.variants([photo_id])[photo_id]
    for v in variants:
        if v["format"] == "jpeg" and v["name"] in ("large", "medium"):
            ml_ctx.store.put_bytes(v["object_key"], b"\xff\xd8\xff\xe0 not really a jpeg", "image/jpeg")
    ml_ctx.jobs.enqueue("ml.analyze", {"photo_id": photo_id})
    drain(ml_ctx)
    result = _result(ml_ctx, photo_id)
    assert result["status"] == "failed" and "cannot decode" in result["failure_reason"]
    photo = ml_ctx.photo_repo.get(photo_id)
    assert photo is not None and photo["processing_status"] == "ready"
    assert not [j for j in ml_ctx.jobs.list(status="dead") if j["name"].startswith("ml.")]


def test_web_pages_show_people_similar_photos_and_found_text(
    ml_ctx: AppContext, library: dict[str, Any], http: Any
) -> None:
    ids = library["ids"]
    r = http.post("/login", data={"username": "alice", "password": "alice-password"}, follow_redirects=False)
    assert r.status_code in (302, 303)
    try:
        photo_page = http.get(f"/photos/{ids['flower']}")
        assert photo_page.status_code == 200
        similar = photo_page.text.split('id="similar-h"', 1)[1]
        # The resized copy is the first tile of the "Similar photos" grid.
        assert re.findall(r'data-photo-id="([0-9a-f]{32})"', similar)[0] == ids["flower_small"]
        screen = http.get(f"/photos/{ids['screenshot']}").text
        assert "Quarterly invoice 2024-117" in screen and 'id="ocr-text"' in screen

        people = http.get("/people").text
        person_id = http.get("/v1/people").json()["items"][0]["person_id"]
        assert f'data-person-id="{person_id}"' in people and 'aria-label="Photos of' in people
        portrait = http.get(f"/photos/{ids['hopper']}").text
        assert f'href="/people/{person_id}"' in portrait  # "Found in this photo" links the person
        person = http.get(f"/people/{person_id}").text
        assert {ids["hopper"], ids["hopper_rotated"]} <= set(re.findall(r'data-photo-id="([0-9a-f]{32})"', person))
        assert http.get("/people/" + "0" * 32).status_code == 404
    finally:
        http.post("/logout")
