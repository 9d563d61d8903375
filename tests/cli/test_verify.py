"""`photoshare verify [--repair]`: damage blobs on disk, see them reported, repaired where possible."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

from photoshare.admin.importer import Importer
from photoshare.admin.verify import Verifier
from photoshare.context import AppContext, build_context
from photoshare.photos.service import PhotoMeta
from photoshare.settings import load_settings
from tests.cli.test_cli import ok, run_cli
from tests.conftest import NO_ML, drain, make_jpeg


def library(data: Path, tmp_path: Path, n: int = 3) -> list[dict[str, Any]]:
    """An initialised data folder with `n` processed photos; returns their rows and variants."""
    ok(run_cli("init", "--data-dir", str(data), "--admin-user", "root", "--admin-password", "root-password"))
    ctx = build_context(load_settings(None, NO_ML, data_dir=str(data)))
    try:
        root = ctx.users.by_username("root")
        for i in range(n):
            src = tmp_path / f"src{i}.jpg"
            src.write_bytes(make_jpeg(800, 600, seed=50 + i))
            ctx.uploads.ingest_file(root, src, filename=src.name, content_type="image/jpeg", meta=PhotoMeta())
        drain(ctx)
        photos = ctx.db.query("SELECT * FROM photos ORDER BY id")
        variants = ctx.photo_repo.variants([p["id"] for p in photos])
        return [{**p, "variants": variants[p["id"]]} for p in photos]
    finally:
        ctx.close()


def flip_middle_byte(data: bytes) -> bytes:
    """Bit rot: the same size, one byte different."""
    damaged = bytearray(data)
    damaged[len(damaged) // 2] ^= 0xFF
    return bytes(damaged)


def verify(data: Path, *args: str) -> tuple[int, dict[str, Any]]:
    result = run_cli("verify", "--data-dir", str(data), "--json", *args)
    assert "Traceback" not in result.stderr, result.stderr
    return result.returncode, json.loads(result.stdout)


def issues(report: dict[str, Any]) -> set[tuple[str, str, str | None, bool]]:
    return {(p["issue"], p["kind"], p["photo_id"], p["repaired"]) for p in report["problems"]}


def test_verify_reports_damage_and_repair_fixes_what_it_can(tmp_path: Path) -> None:
    data = tmp_path / "data"
    photos = library(data, tmp_path)
    blobs = data / "blobs"
    backup = tmp_path / "backup"
    ok(run_cli("backup", str(backup), "--data-dir", str(data)))
    clean_rc, clean = verify(data)
    assert clean_rc == 0 and clean["problems"] == [] and clean["orphans"] == []
    assert clean["originals"] == 3 and clean["variants"] == sum(len(p["variants"]) for p in photos)

    # Damage: bytes flipped in an original and a variant, a variant deleted, one truncated, a stray blob.
    a, b, c = photos
    original = blobs / a["original_key"]
    original.write_bytes(flip_middle_byte(original.read_bytes()))
    (blobs / b["variants"][0]["object_key"]).unlink()
    flipped = blobs / b["variants"][1]["object_key"]
    flipped.write_bytes(flip_middle_byte(flipped.read_bytes()))
    truncated = blobs / c["variants"][1]["object_key"]
    truncated.write_bytes(truncated.read_bytes()[:100])
    orphan_key = f"originals/00/00/{'0' * 64}.jpg"
    (blobs / orphan_key).parent.mkdir(parents=True)
    (blobs / orphan_key).write_bytes(b"left behind")

    rc, found = verify(data)
    assert rc == 1
    assert issues(found) == {
        ("corrupt", "original", a["id"], False),
        ("missing", "variant", b["id"], False),
        ("corrupt", "variant", b["id"], False),
        ("corrupt", "variant", c["id"], False),
    }
    assert found["orphans"] == [orphan_key]
    text = run_cli("verify", "--data-dir", str(data))
    assert text.returncode == 1 and "1 missing, 3 corrupt, 1 orphans" in text.stdout

    # --repair: variants rendered again from their originals, the orphan removed; the damaged
    # original needs a good copy and stays reported.
    rc, repaired = verify(data, "--repair")
    assert rc == 1
    assert issues(repaired) == {
        ("corrupt", "original", a["id"], False),
        ("missing", "variant", b["id"], True),
        ("corrupt", "variant", b["id"], True),
        ("corrupt", "variant", c["id"], True),
    }
    assert repaired["orphans_removed"] == 1 and not (blobs / orphan_key).exists()
    for photo in (b, c):
        for v in photo["variants"]:
            data_now = (blobs / v["object_key"]).read_bytes()
            assert hashlib.sha256(data_now).hexdigest()[:32] == v["etag"]

    # With the backup made before the damage, the original comes back byte for byte.
    rc, restored = verify(data, "--repair", "--from-backup", str(backup))
    assert rc == 0 and issues(restored) == {("corrupt", "original", a["id"], True)}
    assert hashlib.sha256(original.read_bytes()).hexdigest() == a["sha256"]
    rc, final = verify(data)
    assert rc == 0 and final["problems"] == [] and final["orphans"] == []


def test_missing_original_cannot_be_rerendered_and_is_reported(tmp_path: Path) -> None:
    data = tmp_path / "data"
    (photo,) = library(data, tmp_path, n=1)
    (data / "blobs" / photo["original_key"]).unlink()
    (data / "blobs" / photo["variants"][0]["object_key"]).unlink()
    rc, report = verify(data, "--repair")
    assert rc == 1
    notes = {(p["kind"], p["issue"]): p["note"] for p in report["problems"]}
    assert notes[("original", "missing")].startswith("copy it back with --from-backup")
    assert notes[("variant", "missing")] == "cannot be rendered again: its original is damaged or missing"
    bad = run_cli("verify", "--repair", "--from-backup", str(tmp_path / "nowhere"), "--data-dir", str(data))
    assert bad.returncode == 2 and "not a photoshare backup folder" in bad.stderr


def test_verify_rehashes_external_library_files_and_never_writes_them(
    ctx: AppContext, alice: Any, tmp_path: Path
) -> None:
    folder = tmp_path / "camera"
    folder.mkdir()
    (folder / "a.jpg").write_bytes(make_jpeg(400, 300, seed=7))
    shutil.copyfile(folder / "a.jpg", tmp_path / "a-original.jpg")
    assert Importer(ctx).run(alice, folder, external=True).added == 1
    drain(ctx)
    verifier = Verifier(ctx)
    assert verifier.check().problems == []
    (folder / "a.jpg").write_bytes(make_jpeg(400, 300, seed=8))  # edited outside the appliance
    report = verifier.check()
    assert [(p.kind, p.issue) for p in report.problems] == [("original", "corrupt")]
    assert report.problems[0].key.startswith("external/")
    verifier.repair(report, own_pool=True, from_backup=tmp_path)
    assert not report.problems[0].repaired
    assert report.problems[0].note == "the file in the external library changed or is gone"
    assert (folder / "a.jpg").read_bytes() == make_jpeg(400, 300, seed=8)
