"""Upgrades: a database left at any earlier schema, from the first released one on, comes forward
with its data intact, ends with the same schema as a new one, and the appliance works on it."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest

import photoshare.users.service as users_service
from photoshare.context import build_context
from photoshare.db import Database
from photoshare.db.migrations import MIGRATIONS, migrate, pending
from photoshare.photos.service import PhotoMeta
from photoshare.settings import load_settings
from tests.conftest import NO_ML, drain, make_jpeg

NAMES = [name for name, _ in MIGRATIONS]
STAMP = "2024-05-01T10:00:00Z"
ALICE, BOB = "0" * 31 + "a", "0" * 31 + "b"
PHOTO, ALBUM, SHARE = "0" * 31 + "1", "0" * 31 + "2", "0" * 31 + "3"
SHA = hashlib.sha256(b"an original").hexdigest()


def database_at(path: Path, applied: int) -> Database:
    """A database that an appliance of an older release left behind: only the first `applied` migrations."""
    db = Database(path)
    db.execute("CREATE TABLE schema_migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)")
    for name, fn in MIGRATIONS[:applied]:
        with db.transaction() as conn:
            fn(conn)
            conn.execute("INSERT INTO schema_migrations (name, applied_at) VALUES (?, ?)", (name, STAMP))
    return db


def insert_release_one_rows(db: Database) -> None:
    """Rows as the first release (m001_core) wrote them."""
    pw = users_service.PASSWORD_HASHER.hash("alice-password")
    for uid, name in ((ALICE, "alice"), (BOB, "bob")):
        db.execute(
            "INSERT INTO users (id, username, password_hash, is_admin, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (uid, name, pw, int(uid == ALICE), STAMP, STAMP),
        )
    db.execute(
        "INSERT INTO auth_tokens (id, user_id, token_hash, kind, name, created_at) VALUES (?, ?, ?, 'api', 'cli', ?)",
        ("0" * 31 + "9", ALICE, hashlib.sha256(b"old-token").hexdigest(), STAMP),
    )
    db.execute(
        "INSERT INTO photos (id, user_id, title, description, visibility, filename, content_type, original_key,"
        " sha256, file_size_bytes, width, height, taken_at, taken_at_source, uploaded_at, updated_at,"
        " processing_status, variant_version) VALUES (?, ?, 'Harbour at dawn', 'old boats', 'public', 'h.jpg',"
        " 'image/jpeg', ?, ?, 11, 640, 480, '2019-07-01T06:00:00', 'exif', ?, ?, 'ready', 'v1')",
        (PHOTO, ALICE, f"originals/{SHA[:2]}/{SHA[2:4]}/{SHA}.jpg", SHA, STAMP, STAMP),
    )
    db.execute(
        "INSERT INTO photo_variants VALUES (?, ?, 'thumb', 'jpeg', ?, 200, 150, 1234, 'etag1')",
        (PHOTO, ALICE, f"variants/{SHA[:2]}/{SHA}/r1/thumb.jpeg"),
    )
    db.execute(
        "INSERT INTO photo_exif (photo_id, user_id, camera_make, camera_model, gps_lat, gps_lng)"
        " VALUES (?, ?, 'NIKON', 'D70', 52.37, 4.89)",
        (PHOTO, ALICE),
    )
    db.execute(
        "INSERT INTO photo_tags (photo_id, user_id, tag, source, created_at) VALUES (?, ?, 'boats', 'user', ?)",
        (PHOTO, ALICE, STAMP),
    )
    db.execute(
        "INSERT INTO jobs (id, queue, name, payload, status, max_attempts, run_after, created_at, updated_at)"
        " VALUES (?, 'media', 'photo.process', ?, 'done', 5, 0, ?, ?)",
        ("0" * 31 + "7", f'{{"photo_id": "{PHOTO}"}}', STAMP, STAMP),
    )


def insert_release_two_rows(db: Database) -> None:
    """Albums, shares and follows as m002_albums_sharing introduced them."""
    db.execute(
        "INSERT INTO albums (id, user_id, title, cover_photo_id, created_at, updated_at)"
        " VALUES (?, ?, 'Summer', ?, ?, ?)",
        (ALBUM, ALICE, PHOTO, STAMP, STAMP),
    )
    db.execute(
        "INSERT INTO album_photos VALUES (?, ?, ?, ?, 1, ?)",
        (ALBUM, PHOTO, ALICE, ALICE, STAMP),
    )
    db.execute(
        "INSERT INTO shares (id, user_id, target_type, target_id, type, permissions, created_at)"
        " VALUES (?, ?, 'album', ?, 'users', 'view', ?)",
        (SHARE, ALICE, ALBUM, STAMP),
    )
    db.execute("INSERT INTO share_recipients VALUES (?, ?, ?)", (SHARE, BOB, ALICE))
    db.execute("INSERT INTO follows VALUES (?, ?, 'accepted', ?)", (BOB, ALICE, STAMP))


def snapshot(db: Database) -> dict[str, list[dict[str, Any]]]:
    tables = ["users", "photos", "photo_variants", "photo_exif", "photo_tags", "jobs", "auth_tokens"]
    if db.value("SELECT 1 FROM sqlite_master WHERE name = 'albums'"):
        tables += ["albums", "album_photos", "shares", "share_recipients", "follows"]
    return {t: db.query(f"SELECT * FROM {t} ORDER BY rowid") for t in tables}


def schema(db: Database) -> dict[str, list[tuple[Any, ...]]]:
    tables = [r["name"] for r in db.query("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
    out: dict[str, list[tuple[Any, ...]]] = {
        t: [tuple(c.values()) for c in db.query(f"SELECT * FROM pragma_table_info('{t}')")] for t in tables
    }
    out["indexes"] = [
        (r["name"], r["sql"])
        for r in db.query("SELECT name, sql FROM sqlite_master WHERE type = 'index' ORDER BY name")
    ]
    return out


@pytest.fixture(scope="module")
def fresh_schema(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[tuple[Any, ...]]]:
    db = Database(tmp_path_factory.mktemp("fresh") / "photoshare.db")
    migrate(db)
    try:
        return schema(db)
    finally:
        db.close()


@pytest.mark.parametrize("applied", range(1, len(MIGRATIONS)), ids=NAMES[:-1])
def test_upgrade_from_every_earlier_schema_keeps_the_data(
    applied: int, tmp_path: Path, fresh_schema: dict[str, list[tuple[Any, ...]]]
) -> None:
    db = database_at(tmp_path / "photoshare.db", applied)
    insert_release_one_rows(db)
    if "m002_albums_sharing" in NAMES[:applied]:
        insert_release_two_rows(db)
    before = snapshot(db)

    assert migrate(db) == NAMES[applied:]
    assert pending(db) == [] and migrate(db) == []
    after = snapshot(db)
    for table, rows in before.items():
        # Every old row is still there with every old value; new columns only add to it.
        assert [{k: r[k] for k in old} for r, old in zip(after[table], rows, strict=True)] == rows, table
    assert schema(db) == fresh_schema
    if "m002_albums_sharing" in NAMES[:applied] and "m003_social" not in NAMES[:applied]:
        # m003 counts the follows that existed before it.
        assert db.value("SELECT followers_count FROM users WHERE id = ?", (ALICE,)) == 1
    db.close()


def test_the_appliance_runs_on_a_database_from_the_first_release(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    db = database_at(data / "photoshare.db", 1)
    insert_release_one_rows(db)
    db.close()
    (data / "secret.key").write_text("ab" * 32)

    ctx = build_context(load_settings(None, NO_ML, data_dir=str(data), jobs={"backoff_s": 0.01, "poll_s": 0.05}))
    try:
        assert ctx.db.value("SELECT COUNT(*) FROM schema_migrations") == len(MIGRATIONS)
        alice = ctx.users.authenticate("alice", "alice-password")
        assert ctx.users.resolve("old-token") is not None
        photo = ctx.photos.get(alice, PHOTO)
        assert (photo["title"], photo["tags"], photo["status"]) == ("Harbour at dawn", ["boats"], "ready")
        assert photo["exif"]["camera_model"] == "D70"
        # New work on the upgraded schema: an album, an upload processed end to end, search over both photos.
        album = ctx.albums.create(alice, {"title": "Upgraded", "photo_ids": [PHOTO]})
        assert album["photo_count"] == 1
        src = tmp_path / "new.jpg"
        src.write_bytes(make_jpeg(320, 240, seed=5))
        new = ctx.uploads.ingest_file(alice, src, filename="new.jpg", content_type="image/jpeg", meta=PhotoMeta())
        drain(ctx)
        assert ctx.photo_repo.get(new["id"])["processing_status"] == "ready"
        ctx.search.rebuild()
        found = ctx.search.search(alice, {"q": "harbour"})
        assert [r["photo_id"] for r in found["results"]] == [PHOTO]
    finally:
        ctx.close()
