"""Every file of the real-photo corpus through the whole pipeline (store → job → EXIF → variants).

Decodable files must end `ready` with upright dimensions and EXIF matching the ExifTool oracle
(pixels win where the two disagree, see the corpus README); broken ones must end `failed` with a
reason, and none of them may stop the others.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from photoshare.context import AppContext, build_context
from photoshare.imaging.exif import read_exif
from photoshare.photos.service import PhotoMeta
from photoshare.settings import load_settings
from tests.conftest import CORPUS, NO_ML

try:
    from tests.test_exif import KNOWN_EXCEPTIONS
except ImportError:  # pragma: no cover - the EXIF suite always ships beside this one
    KNOWN_EXCEPTIONS = {}

_TYPES = {
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".png": "image/png",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".tif": "image/tiff",
    ".tiff": "image/tiff",
    ".heic": "image/heic",
    ".heif": "image/heif",
    ".avif": "image/avif",
    ".mpo": "image/mpo",
}


@pytest.fixture(scope="module")
def ingested(tmp_path_factory: pytest.TempPathFactory, oracle: dict[str, Any]) -> Iterator[tuple[AppContext, dict]]:
    """Upload the whole corpus as one user, then run the job pool until it is idle."""
    settings = load_settings(
        None,
        NO_ML,
        data_dir=str(tmp_path_factory.mktemp("corpus") / "data"),
        jobs={"backoff_s": 0.0, "max_attempts": 2},
    )
    ctx = build_context(settings, create=True)
    user = ctx.users.create("family", "family-password")
    photos: dict[str, str] = {}
    for rel in sorted(oracle):
        path = CORPUS / rel
        if not path.exists():
            continue
        photo = ctx.uploads.ingest_file(
            user, path, filename=path.name, content_type=_TYPES[path.suffix.lower()], meta=PhotoMeta(title=rel)
        )
        photos[rel] = photo["id"]
    ctx.runner.run_until_idle(timeout=900)
    yield ctx, photos
    ctx.close()


def _files(kind: str) -> list[str]:
    import json

    path = CORPUS / "oracle.json"
    if not path.exists():
        return []
    files = json.loads(path.read_text())["files"]
    return sorted(
        rel for rel, v in files.items() if (CORPUS / rel).exists() and v["pillow"]["decodes"] == (kind == "good")
    )


def test_queue_drained(ingested: tuple[AppContext, dict]) -> None:
    ctx, photos = ingested
    assert ctx.jobs.pending() == 0
    statuses = ctx.photo_repo.status_counts()
    assert statuses.get("processing", 0) == 0 and statuses.get("pending", 0) == 0
    assert sum(statuses.values()) == len(photos)


@pytest.mark.parametrize("rel", _files("broken"))
def test_broken_file_fails_with_reason(ingested: tuple[AppContext, dict], rel: str) -> None:
    ctx, photos = ingested
    row = ctx.photo_repo.get(photos[rel])
    assert row["processing_status"] == "failed", rel
    reason = row["failure_reason"] or ""
    assert len(reason) > 10, reason
    assert str(CORPUS) not in reason and str(ctx.settings.data_path) not in reason  # no server paths leak
    # Dead-lettered at once: a corrupt file is not retried again and again.
    job = ctx.db.one("SELECT status, attempts FROM jobs WHERE payload LIKE ?", (f"%{photos[rel]}%",))
    assert job["status"] == "dead" and job["attempts"] == 1


@pytest.mark.parametrize("rel", _files("good"))
def test_decodable_file_is_ready_and_matches_oracle(
    ingested: tuple[AppContext, dict], oracle: dict[str, Any], rel: str
) -> None:
    ctx, photos = ingested
    expected = oracle[rel]
    row = ctx.photo_repo.get(photos[rel])
    assert row["processing_status"] == "ready", (rel, row["failure_reason"])
    # Upright dimensions: the decoded pixels after orientation (EXIF, or HEIF irot/imir).
    assert [row["width"], row["height"]] == expected["pillow"]["size_after_exif_transpose"], rel

    variants = {(v["name"], v["format"]): v for v in ctx.photo_repo.variants([row["id"]])[row["id"]]}
    longest = max(row["width"], row["height"])
    for name, size in (("large", 2048), ("medium", 800), ("thumb", 200)):
        v = variants[(name, "jpeg")]
        assert max(v["width"], v["height"]) == min(size, longest), (rel, name)
        # Same orientation as the upright original (portrait stays portrait).
        if abs(row["width"] - row["height"]) > max(row["width"], row["height"]) * 0.05:
            assert (v["width"] > v["height"]) == (row["width"] > row["height"]), (rel, name)
        assert ctx.store.exists(v["object_key"])
        assert (name, "webp") in variants
    assert row["placeholder"].startswith("data:image/jpeg;base64,") and len(row["placeholder"]) < 2000

    exif = ctx.photo_repo.exif(row["id"])
    # What was stored is exactly what the extractor reads from the original.
    assert exif == read_exif(CORPUS / rel).to_dict(), rel
    checks = {
        "camera_make": expected.get("Make"),
        "camera_model": expected.get("Model"),
        "gps_lat": expected.get("GPSLatitude"),
        "gps_lng": expected.get("GPSLongitude"),
        "iso": expected.get("ISO"),
        "aperture": expected.get("FNumber"),
        "focal_length_mm": expected.get("FocalLength"),
    }
    for field, want in checks.items():
        if (rel, field) in KNOWN_EXCEPTIONS:
            continue
        got = exif[field]
        if want is None or (isinstance(want, str) and not want.strip()):
            continue
        if field == "iso" and want == 0:
            want = None  # ISO 0 is "unknown"; the extractor reports it as None, like Orientation 0
            assert got is None, (rel, field, got)
            continue
        if isinstance(want, float) or isinstance(got, float):
            assert got is not None and math.isclose(float(got), float(want), rel_tol=1e-3, abs_tol=1e-5), (
                rel,
                field,
                got,
                want,
            )
        else:
            assert str(got).strip() == str(want).strip(), (rel, field, got, want)
    original = expected.get("DateTimeOriginal")
    if original and (rel, "taken_at") not in KNOWN_EXCEPTIONS and original[:4].isdigit() and original[:4] != "0000":
        want = original.replace(":", "-", 2).replace(" ", "T")[:19]
        assert (row["taken_at"] or "")[:19] == want, (rel, row["taken_at"], want)
        assert row["taken_at_source"] == "exif"


def test_every_original_kept_byte_for_byte(ingested: tuple[AppContext, dict]) -> None:
    import hashlib

    ctx, photos = ingested
    for rel, photo_id in photos.items():
        row = ctx.photo_repo.get(photo_id)
        data = ctx.store.read(row["original_key"])
        assert (
            hashlib.sha256(data).hexdigest()
            == row["sha256"]
            == hashlib.sha256(Path(CORPUS / rel).read_bytes()).hexdigest()
        )
