"""`photoshare import`: a folder made from real corpus files goes into a library once, resumably."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from photoshare.admin.importer import Importer
from photoshare.context import AppContext, build_context
from photoshare.db import Database
from photoshare.settings import load_settings
from tests.cli.test_cli import ok, run_cli
from tests.conftest import CORPUS, NO_ML, LiveServer, _cli_env, drain, local_path, make_jpeg

# name in the import folder -> corpus file (None: made by the fixture)
LAYOUT: dict[str, str | None] = {
    "Nikon_D70.jpg": "exif-samples/jpg/Nikon_D70.jpg",
    "Pentax_K10D.jpg": "exif-samples/jpg/Pentax_K10D.jpg",
    "hopper.webp": "pillow/hopper.webp",
    "notes.txt": None,
    "clip.mp4": "video/mp4/sample_mpeg4.mp4",
    "trip/sample.heif": "exif-samples/heic/samplefilehub.heif",
    "trip/Portrait_6.jpg": "exif-orientation-examples/Portrait_6.jpg",
    "trip/day 2/copy of Nikon.jpg": "exif-samples/jpg/Nikon_D70.jpg",
    "trip/day 2/truncated_jpeg.jpg": "pillow/truncated_jpeg.jpg",
    "trip/day 2/empty.jpg": None,
    ".thumbnails/Kodak.jpg": "exif-samples/jpg/Kodak_CX7530.jpg",
}
IMAGES = 6  # distinct image contents that become photos (the copy is a duplicate, empty.jpg fails)
DECODABLE = {"Nikon_D70.jpg", "Pentax_K10D.jpg", "hopper.webp", "trip/sample.heif", "trip/Portrait_6.jpg"}


@pytest.fixture
def photo_folder(tmp_path: Path) -> Path:
    if not (CORPUS / "oracle.json").exists():
        pytest.skip(f"corpus not found at {CORPUS}")
    root = tmp_path / "Photos"
    for name, source in LAYOUT.items():
        dest = root / name
        dest.parent.mkdir(parents=True, exist_ok=True)
        if source is None:
            dest.write_bytes(b"shopping list\n" if name.endswith(".txt") else b"")
        else:
            shutil.copyfile(CORPUS / source, dest)
    return root


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    d = tmp_path / "data"
    ok(run_cli("init", "--data-dir", str(d), "--admin-user", "root", "--admin-password", "root-password"))
    return d


def import_json(data_dir: Path, folder: Path, *extra: str) -> dict[str, Any]:
    out = ok(run_cli("import", str(folder), "--user", "root", "--data-dir", str(data_dir), "--json", *extra))
    return json.loads(out)


def open_ctx(data_dir: Path) -> AppContext:
    return build_context(load_settings(None, NO_ML, data_dir=str(data_dir)))


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_import_twice_second_run_adds_nothing(data_dir: Path, photo_folder: Path, oracle: dict[str, Any]) -> None:
    first = import_json(data_dir, photo_folder, "--albums-from-folders")
    assert (first["added"], first["duplicate"], first["skipped"], first["failed"]) == (IMAGES, 1, 2, 1)
    assert first["skipped_types"] == {".txt": 1, ".mp4": 1}
    assert first["failures"] == [{"path": "trip/day 2/empty.jpg", "reason": "the file is empty"}]
    assert [f["path"] for f in first["processing_failed"]] == ["trip/day 2/truncated_jpeg.jpg"]
    assert "truncated" in first["processing_failed"][0]["reason"]
    assert first["processing_pending"] == 0 and first["albums_created"] == 3

    ctx = open_ctx(data_dir)
    try:
        photos = ctx.db.query("SELECT * FROM photos")
        by_sha = {p["sha256"]: p for p in photos}
        assert len(photos) == len(by_sha) == IMAGES
        for name in DECODABLE:
            photo = by_sha[sha(photo_folder / name)]
            assert photo["processing_status"] == "ready", photo["failure_reason"]
            assert ctx.store.read(photo["original_key"]) == (photo_folder / name).read_bytes()
            assert photo["original_key"].startswith("originals/")
        nikon = by_sha[sha(photo_folder / "Nikon_D70.jpg")]
        assert ctx.photo_repo.exif(nikon["id"])["camera_model"] == oracle["exif-samples/jpg/Nikon_D70.jpg"]["Model"]
        albums = {a["title"]: a["id"] for a in ctx.db.query("SELECT id, title FROM albums")}
        assert set(albums) == {"Photos", "trip", "trip/day 2"}
        in_album = {t: {by_id["filename"] for by_id in _album_photos(ctx, a)} for t, a in albums.items()}
        assert in_album["Photos"] == {"Nikon_D70.jpg", "Pentax_K10D.jpg", "hopper.webp"}
        assert in_album["trip"] == {"sample.heif", "Portrait_6.jpg"}
        # The copy is the Nikon photo already imported: the folder's album shows it, nothing is stored twice.
        assert in_album["trip/day 2"] == {"Nikon_D70.jpg", "truncated_jpeg.jpg"}
    finally:
        ctx.close()

    second = import_json(data_dir, photo_folder, "--albums-from-folders")
    assert (second["added"], second["duplicate"], second["skipped"], second["failed"]) == (0, IMAGES + 1, 2, 1)
    assert second["albums_created"] == 0
    db = Database(data_dir / "photoshare.db")
    assert db.value("SELECT COUNT(*) FROM photos") == IMAGES
    assert db.value("SELECT COUNT(*) FROM albums") == 3
    assert db.value("SELECT COUNT(*) FROM album_photos") == IMAGES + 1
    db.close()


def _album_photos(ctx: AppContext, album_id: str) -> list[dict[str, Any]]:
    return ctx.photo_repo.get_many(ctx.album_repo.photo_ids(album_id))


def test_dry_run_counts_and_changes_nothing(data_dir: Path, photo_folder: Path) -> None:
    report = import_json(data_dir, photo_folder, "--dry-run")
    assert (report["added"], report["duplicate"], report["skipped"], report["failed"]) == (IMAGES, 1, 2, 1)
    db = Database(data_dir / "photoshare.db")
    assert db.value("SELECT COUNT(*) FROM photos") == 0
    assert db.value("SELECT COUNT(*) FROM import_files") == 0
    assert not list((data_dir / "blobs").glob("originals/**/*.*"))
    db.close()


class _CtrlCAfter:
    """A progress watcher that presses Ctrl-C after `n` files, as an admin would mid-import."""

    def __init__(self, n: int) -> None:
        self.n = n

    def start(self, label: str, total: int | None) -> None:
        pass

    def advance(self, steps: int = 1) -> None:
        self.n -= steps
        if self.n == 0:
            raise KeyboardInterrupt

    def update(self, completed: int, total: int | None = None) -> None:
        pass


def test_interrupted_import_resumes_without_duplicates(ctx: AppContext, alice: Any, photo_folder: Path) -> None:
    importer = Importer(ctx)
    partial = importer.run(alice, photo_folder, albums_from_folders=True, progress=_CtrlCAfter(4))
    assert partial.interrupted
    assert 0 < partial.added < IMAGES
    rest = importer.run(alice, photo_folder, albums_from_folders=True)
    assert not rest.interrupted
    assert partial.added + rest.added == IMAGES
    drain(ctx)
    photos = ctx.db.query("SELECT sha256, processing_status FROM photos")
    assert len({p["sha256"] for p in photos}) == len(photos) == IMAGES
    assert sorted(p["processing_status"] for p in photos).count("ready") == len(DECODABLE)
    assert ctx.db.value("SELECT COUNT(*) FROM album_photos") == IMAGES + 1
    assert importer.unprocessed(alice, photo_folder) == 0


def test_killed_import_is_resumed_by_running_it_again(data_dir: Path, photo_folder: Path, tmp_path: Path) -> None:
    # Larger photos make processing take long enough to be killed in the middle of it.
    for i in range(6):
        (photo_folder / "big" / f"{i}.jpg").parent.mkdir(exist_ok=True)
        (photo_folder / "big" / f"{i}.jpg").write_bytes(make_jpeg(1600, 1200, seed=100 + i))
    cmd = [sys.executable, "-m", "photoshare", "import", str(photo_folder), "--user", "root"]
    proc = subprocess.Popen([*cmd, "--data-dir", str(data_dir)], env=_cli_env(), stdout=subprocess.DEVNULL)
    db = Database(data_dir / "photoshare.db")
    deadline = time.monotonic() + 60
    while db.value("SELECT COUNT(*) FROM photos WHERE processing_status = 'ready'") < 2:
        assert time.monotonic() < deadline and proc.poll() is None, "the import finished before it could be killed"
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert db.value("SELECT COUNT(*) FROM photos WHERE processing_status = 'processing'") > 0

    again = import_json(data_dir, photo_folder)
    assert again["failed"] == 1 and again["processing_pending"] == 0
    photos = db.query("SELECT sha256, processing_status FROM photos")
    assert len({p["sha256"] for p in photos}) == len(photos) == IMAGES + 6
    assert [p["processing_status"] for p in photos].count("ready") == len(DECODABLE) + 6
    assert db.value("SELECT COUNT(*) FROM jobs WHERE status IN ('queued', 'running')") == 0
    db.close()


def test_import_while_the_appliance_runs_is_processed_by_its_pool(live_server: LiveServer, photo_folder: Path) -> None:
    report = json.loads(
        ok(run_cli("import", str(photo_folder), "--user", "admin", "--data-dir", str(live_server.data_dir), "--json"))
    )
    assert report["added"] == IMAGES
    headers = live_server.login()
    deadline = time.monotonic() + 90
    while True:
        photos = httpx.get(f"{live_server.url}/v1/photos?limit=50", headers=headers).json()["photos"]
        if len(photos) == IMAGES and all(p["status"] in ("ready", "failed") for p in photos):
            break
        assert time.monotonic() < deadline, [p["status"] for p in photos]
        time.sleep(0.3)
    assert sorted(p["status"] for p in photos).count("ready") == len(DECODABLE)
    text = ok(run_cli("import", str(photo_folder), "--user", "admin", "--data-dir", str(live_server.data_dir)))
    assert "0 added, 7 duplicate, 2 skipped (not images: .mp4 1, .txt 1), 1 failed" in text


def test_external_library_is_referenced_in_place_and_never_deleted(
    ctx: AppContext, alice: Any, photo_folder: Path, client: Any
) -> None:
    from tests.conftest import bearer

    before = {p: p.read_bytes() for p in photo_folder.rglob("*") if p.is_file()}
    report = Importer(ctx).run(alice, photo_folder, external=True)
    assert (report.added, report.duplicate) == (IMAGES, 1)
    drain(ctx)
    assert not list(ctx.settings.blob_root.glob("originals/**/*.*")), "external originals must not be copied"
    nikon_sha = sha(photo_folder / "Nikon_D70.jpg")
    photo = ctx.db.one("SELECT * FROM photos WHERE sha256 = ?", (nikon_sha,))
    assert photo["original_key"].startswith("external/") and photo["processing_status"] == "ready"
    # Delivery of the original streams the file from its folder.
    headers = bearer(ctx, alice)
    url = client.get(f"/v1/photos/{photo['id']}", headers=headers).json()["urls"]["original"]
    original = client.get(local_path(url))
    assert original.status_code == 200 and original.content == before[photo_folder / "Nikon_D70.jpg"]
    # Purging every photo removes variants but leaves the admin's files exactly as they were.
    variant_keys = [v["object_key"] for v in ctx.photo_repo.variants([photo["id"]])[photo["id"]]]
    assert variant_keys and all(ctx.store.exists(k) for k in variant_keys)
    for row in ctx.db.query("SELECT id FROM photos"):
        ctx.photos.delete(alice, row["id"], purge=True)
    drain(ctx)
    assert ctx.db.value("SELECT COUNT(*) FROM photos") == 0
    assert not any(ctx.store.exists(k) for k in variant_keys)
    assert {p: p.read_bytes() for p in photo_folder.rglob("*") if p.is_file()} == before
    with pytest.raises(PermissionError):
        ctx.store.put_bytes(photo["original_key"], b"overwrite", "image/jpeg")


def test_bad_input_is_a_clear_error(data_dir: Path, photo_folder: Path, tmp_path: Path) -> None:
    missing = run_cli("import", str(tmp_path / "nope"), "--user", "root", "--data-dir", str(data_dir))
    assert missing.returncode == 1 and "is not a folder" in missing.stderr and "Traceback" not in missing.stderr
    nobody = run_cli("import", str(photo_folder), "--user", "nobody", "--data-dir", str(data_dir))
    assert nobody.returncode == 1 and "nobody" in nobody.stderr and "Traceback" not in nobody.stderr
    inside = run_cli("import", str(data_dir.parent), "--user", "root", "--data-dir", str(data_dir))
    assert inside.returncode == 1 and "overlaps" in inside.stderr
    assert os.listdir(data_dir / "blobs") == [".tmp"]
