"""`photoshare backup` / `restore`: back up a running server under upload load, wipe, restore, compare."""

from __future__ import annotations

import hashlib
import json
import shutil
import threading
import time
from pathlib import Path
from typing import Any

import apsw
import httpx
import pytest

from photoshare.admin.backup import backup, restore
from photoshare.admin.blobrefs import blob_refs
from photoshare.admin.verify import Verifier
from photoshare.context import AppContext, build_context
from photoshare.db import Database
from photoshare.errors import InvalidInput
from photoshare.settings import load_settings
from tests.cli.test_cli import ok, run_cli
from tests.conftest import NO_ML, LiveServer, make_jpeg
from tests.e2e.test_server import upload, wait_ready

# Everything a library is made of (derived data such as the search index is rebuilt, not compared).
TABLES = {
    "users": "id",
    "photos": "id",
    "photo_variants": "photo_id, name, format",
    "photo_exif": "photo_id",
    "photo_tags": "photo_id, tag, source",
    "albums": "id",
    "album_photos": "album_id, photo_id",
    "shares": "id",
    "share_recipients": "share_id, user_id",
    "follows": "follower_id, followee_id",
    "auth_tokens": "id",
}


def dump(db_path: Path) -> dict[str, list[tuple[Any, ...]]]:
    conn = apsw.Connection(str(db_path), flags=apsw.SQLITE_OPEN_READONLY)
    try:
        return {t: conn.execute(f"SELECT * FROM {t} ORDER BY {order}").fetchall() for t, order in TABLES.items()}
    finally:
        conn.close()


def blob_hashes(data_dir: Path) -> dict[str, str]:
    """SHA-256 of every blob the library refers to, read through the appliance's own store."""
    ctx = build_context(load_settings(None, NO_ML, data_dir=str(data_dir)))
    try:
        return {ref.key: hashlib.sha256(ctx.store.read(ref.key)).hexdigest() for ref in blob_refs(ctx.db)}
    finally:
        ctx.close()


def build_library(server: LiveServer, client: httpx.Client, headers: dict[str, str]) -> dict[str, Any]:
    """Photos, an album with a link share, a photo shared with another user."""
    ctx = build_context(load_settings(None, NO_ML, data_dir=str(server.data_dir)))
    ctx.users.create("bob", "bob-password")
    ctx.close()
    bob_id = client.post("/v1/auth/login", json={"username": "bob", "password": "bob-password"}).json()["user_id"]
    photos = [upload(client, headers, make_jpeg(900, 600, seed=i), f"base{i}.jpg") for i in range(5)]
    wait_ready(client, headers, photos)
    album = client.post("/v1/albums", headers=headers, json={"title": "Holidays", "photo_ids": photos[:3]})
    assert album.status_code == 201, album.text
    album_id = album.json()["album_id"]
    link = client.post(f"/v1/albums/{album_id}/share", headers=headers, json={"type": "link", "permissions": "view"})
    assert link.status_code == 201, link.text
    grant = client.post(
        f"/v1/photos/{photos[3]}/share",
        headers=headers,
        json={"type": "users", "permissions": "download", "user_ids": [bob_id]},
    )
    assert grant.status_code == 201, grant.text
    return {"photos": photos, "share_url": link.json()["share_url"], "album_id": album_id}


def test_backup_under_upload_load_then_wipe_and_restore_identically(live_server: LiveServer, tmp_path: Path) -> None:
    data = live_server.data_dir
    headers = live_server.login()
    client = httpx.Client(base_url=live_server.url, timeout=30)
    library = build_library(live_server, client, headers)

    acknowledged: list[str] = []
    stop = threading.Event()

    def uploader() -> None:
        with httpx.Client(base_url=live_server.url, timeout=30) as c:
            seed = 1000
            while not stop.is_set():
                acknowledged.append(upload(c, headers, make_jpeg(700, 500, seed=seed), f"load{seed}.jpg"))
                seed += 1

    thread = threading.Thread(target=uploader)
    thread.start()
    try:
        while len(acknowledged) < 2:
            time.sleep(0.05)
        before_backup = len(acknowledged)
        dest = tmp_path / "backup"
        first = json.loads(ok(run_cli("backup", str(dest), "--data-dir", str(data), "--json")))
        during = len(acknowledged) - before_backup
    finally:
        stop.set()
        thread.join(30)
    assert during > 0, "the uploads did not overlap the backup"
    assert first["missing"] == [] and first["copied"] == first["blobs"] > 0

    # The backup made under load restores into a consistent library: every photo acknowledged
    # before the backup is there, and every blob its rows refer to is there with the right bytes.
    under_load = tmp_path / "restored-under-load"
    ok(run_cli("restore", str(dest), "--data-dir", str(under_load)))
    restored = Database(under_load / "photoshare.db")
    ids = {r["id"] for r in restored.query("SELECT id FROM photos")}
    assert (
        set(library["photos"]) | set(acknowledged[:before_backup]) <= ids <= set(library["photos"]) | set(acknowledged)
    )
    originals = {r["original_key"]: r["sha256"] for r in restored.query("SELECT * FROM photos WHERE sha256 != ''")}
    restored.close()
    hashes = blob_hashes(under_load)
    assert all(hashes[key] == sha for key, sha in originals.items())
    ctx = build_context(load_settings(None, NO_ML, data_dir=str(under_load)))
    try:
        check = Verifier(ctx).check()
    finally:
        ctx.close()
    assert check.problems == [] and check.orphans == [] and check.originals == len(ids)

    # Quiet again: an incremental backup copies only what is new, then the data folder is wiped and
    # restored from it, and everything compares equal.
    wait_ready(client, headers, acknowledged)
    while client.get("/healthz").json()["jobs_pending"]:
        time.sleep(0.2)
    second = json.loads(ok(run_cli("backup", str(dest), "--data-dir", str(data), "--json")))
    assert second["skipped"] == first["copied"] and second["copied"] > 0 and second["pruned"] == 0
    live_server.stop()
    expected_rows, expected_blobs = dump(data / "photoshare.db"), blob_hashes(data)
    secret = (data / "secret.key").read_bytes()
    shutil.rmtree(data)
    ok(run_cli("restore", str(dest), "--data-dir", str(data)))
    assert dump(data / "photoshare.db") == expected_rows
    assert blob_hashes(data) == expected_blobs
    assert (data / "secret.key").read_bytes() == secret

    # And it serves: same accounts, same photos and bytes, same share link.
    live_server.start()
    headers = live_server.login()
    photo_id = library["photos"][0]
    photo = client.get(f"/v1/photos/{photo_id}", headers=headers).json()
    assert photo["status"] == "ready"
    assert hashlib.sha256(client.get(photo["urls"]["original"]).content).hexdigest() == photo["sha256"]
    assert httpx.get(library["share_url"]).status_code == 200  # opened by someone without an account
    bob = client.post("/v1/auth/login", json={"username": "bob", "password": "bob-password"})
    assert bob.status_code == 200
    client.close()


def test_backup_and_restore_refuse_the_wrong_folders(ctx: AppContext, alice: Any, tmp_path: Path) -> None:
    stranger = tmp_path / "documents"
    stranger.mkdir()
    (stranger / "letter.txt").write_text("dear")
    with pytest.raises(InvalidInput, match="not a photoshare backup"):
        backup(ctx, stranger)
    assert [p.name for p in stranger.iterdir()] == ["letter.txt"]
    with pytest.raises(InvalidInput, match="overlaps the data folder"):
        backup(ctx, ctx.settings.data_path / "backups")

    dest = tmp_path / "backup"
    assert backup(ctx, dest).photos == 0
    with pytest.raises(InvalidInput, match="is not empty"):
        restore(ctx.settings, dest)
    elsewhere = load_settings(None, NO_ML, data_dir=str(tmp_path / "new"))
    with pytest.raises(InvalidInput, match="not a complete photoshare backup"):
        restore(elsewhere, stranger)
    # Through the CLI: a clear message and exit status, no traceback.
    result = run_cli("restore", str(stranger), "--data-dir", str(tmp_path / "new"))
    assert result.returncode == 1 and "not a complete photoshare backup" in result.stderr
    assert "Traceback" not in result.stderr
