"""ML pieces on their own: the disabled stage, the ONNX export against torch, fusion, plugins."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from photoshare.context import AppContext, build_context
from photoshare.ml.models import default_models_dir
from photoshare.search.hybrid import rrf
from tests.conftest import CORPUS, add_photo, drain
from tests.ml.conftest import corpus, ingest, ml_settings, require_models

PLUGIN = Path(__file__).with_name("label_space_plugin.py")


def test_with_ml_disabled_photos_are_ready_and_ml_endpoints_answer_empty(ctx: AppContext, client: Any) -> None:
    from tests.conftest import bearer

    alice = ctx.users.create("alice", "alice-password")
    photo_id = add_photo(ctx, alice)
    assert ctx.photo_repo.get(photo_id)["processing_status"] == "ready"  # type: ignore[index]
    assert ctx.jobs.pending() == 0 and ctx.db.value("SELECT COUNT(*) FROM ml_results") == 0
    headers = bearer(ctx, alice)
    similar = client.get(f"/v1/photos/{photo_id}/similar", headers=headers).json()
    assert similar == {"results": [], "next_cursor": None, "status": "disabled"}
    assert client.get("/v1/people", headers=headers).json() == {"items": [], "next_cursor": None}


def test_rrf_rewards_agreement_between_lists() -> None:
    assert rrf([["a", "b", "c"], ["b"]]) == ["b", "a", "c"]
    assert rrf([["x"]]) == ["x"] and rrf([]) == []


def test_exported_onnx_model_matches_torch_on_real_photos() -> None:
    torch = pytest.importorskip("torch", reason="torch is only installed for the one-time export")
    del torch
    from photoshare.ml.images import decode_rgb
    from photoshare.ml.install import _torch_model, torch_reference
    from photoshare.ml.labels import LabelModel

    model = LabelModel.load(default_models_dir(), 1)
    reference = _torch_model()
    for rel in ("pillow/hopper.jpg", "exif-samples/jpg/Kodak_CX7530.jpg", "exif-orientation-examples/Landscape_1.jpg"):
        rgb = decode_rgb(corpus(rel))
        logits, features = torch_reference(reference, rgb)
        probs, embedding = model.run(rgb)
        assert int(np.argmax(probs)) == int(np.argmax(logits)), rel
        assert np.allclose(embedding, features / np.linalg.norm(features), atol=1e-4), rel


def test_a_text_embedding_plugin_gets_its_own_index_and_text_to_image_search(tmp_path: Path) -> None:
    ctx = build_context(ml_settings(tmp_path / "data", plugins=[str(PLUGIN)], ocr=False, faces=False), create=True)
    try:
        require_models(ctx)
        alice = ctx.users.create("alice", "alice-password")
        lizard = ingest(ctx, alice, corpus("exif-samples/jpg/Kodak_CX7530.jpg"), "lizard.jpg")
        car = ingest(ctx, alice, corpus("exif-samples/jpg/Canon_DIGITAL_IXUS_400.jpg"), "car.jpg")
        drain(ctx, timeout=120)
        assert sorted(ctx.ml.repo.models()) == [("effnet-lite0", 1280), ("label-space", 1000)]
        # No title, tag or label says "car": the plugin's text embedding finds it anyway.
        ctx.db.execute("DELETE FROM photo_tags")
        ctx.search.rebuild()
        results = ctx.search.search(alice, {"q": "car"})["results"]
        assert results and results[0]["photo_id"] == car
        assert lizard not in [r["photo_id"] for r in results[:1]]
    finally:
        ctx.close()


def test_corpus_is_where_the_tests_expect_it() -> None:
    assert (CORPUS / "pillow" / "hopper.jpg").exists()


def test_the_clip_plugin_says_which_file_is_missing(tmp_path: Path) -> None:
    from photoshare.ml.models import ModelUnavailable, load_plugin

    clip = Path(__file__).resolve().parents[2] / "plugins" / "clip_onnx.py"
    with pytest.raises(ModelUnavailable, match=r"visual\.onnx is missing"):
        load_plugin(str(clip), tmp_path, 1)
