"""`photoshare storage migrate`: a local library moves to S3 and keeps working from there."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from photoshare.context import build_context
from photoshare.photos.service import PhotoMeta
from photoshare.settings import load_settings
from tests.conftest import NO_ML, make_jpeg


def test_migrate_library_to_s3_then_serve_from_it(tmp_path: Path, s3_server: Any) -> None:
    data_dir = tmp_path / "data"
    bucket = f"mig-{os.urandom(4).hex()}"
    local = load_settings(None, NO_ML, data_dir=str(data_dir))
    ctx = build_context(local, create=True)
    user = ctx.users.create("mia", "mia-password")
    ids = []
    for i in range(3):
        src = tmp_path / f"{i}.jpg"
        src.write_bytes(make_jpeg(400, 300, seed=i))
        ids.append(
            ctx.uploads.ingest_file(user, src, filename=src.name, content_type="image/jpeg", meta=PhotoMeta())["id"]
        )
    ctx.runner.run_until_idle()
    originals = {pid: ctx.store.read(ctx.photo_repo.get(pid)["original_key"]) for pid in ids}
    ctx.close()

    env = {k: v for k, v in os.environ.items() if not k.startswith("PHOTOSHARE_")}
    env.update(
        PHOTOSHARE_DATA_DIR=str(data_dir),
        PHOTOSHARE_STORAGE_S3_ENDPOINT=s3_server.endpoint,
        PHOTOSHARE_STORAGE_S3_BUCKET=bucket,
        PHOTOSHARE_STORAGE_S3_ACCESS_KEY=s3_server.access_key,
        PHOTOSHARE_STORAGE_S3_SECRET_KEY=s3_server.secret_key,
    )
    cmd = [sys.executable, "-m", "photoshare", "storage", "migrate", "--to", "s3"]
    first = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert first.returncode == 0, first.stderr
    assert "copied 21 blobs" in first.stdout  # 3 originals + 3 x 3 sizes x 2 formats
    again = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0 and "copied 0 blobs" in again.stdout and "21 already there" in again.stdout

    s3_settings = load_settings(None, NO_ML, data_dir=str(data_dir), storage=s3_server.settings(bucket))
    ctx = build_context(s3_settings)
    try:
        assert ctx.store.name == "s3"
        for pid, data in originals.items():
            row = ctx.photo_repo.get(pid)
            assert ctx.store.read(row["original_key"]) == data
            for v in ctx.photo_repo.variants([pid])[pid]:
                assert ctx.store.size(v["object_key"]) == v["size_bytes"]
    finally:
        ctx.close()


def test_migrate_refuses_the_current_backend(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PHOTOSHARE_")}
    result = subprocess.run(
        [sys.executable, "-m", "photoshare", "storage", "migrate", "--to", "local", "--data-dir", str(tmp_path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2 and "other back end" in result.stderr
