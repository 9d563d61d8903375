"""Ordered, named schema migrations, each applied once inside its own transaction.

Append new migrations at the end; never edit one that has shipped. `migrate()` runs at every start,
so an upgraded appliance brings its database forward by itself.
"""

from __future__ import annotations

from collections.abc import Callable

import apsw

from photoshare.db.database import Database

__all__ = ["MIGRATIONS", "migrate", "pending"]

Migration = Callable[[apsw.Connection], None]
MIGRATIONS: list[tuple[str, Migration]] = []


def migration(fn: Migration) -> Migration:
    MIGRATIONS.append((fn.__name__, fn))
    return fn


@migration
def m001_core(conn: apsw.Connection) -> None:
    conn.execute(
        """
        CREATE TABLE users (
            id TEXT PRIMARY KEY,
            username TEXT NOT NULL UNIQUE COLLATE NOCASE,
            display_name TEXT NOT NULL DEFAULT '',
            password_hash TEXT NOT NULL,
            is_admin INTEGER NOT NULL DEFAULT 0,
            disabled INTEGER NOT NULL DEFAULT 0,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        ) STRICT;

        -- Login sessions and API tokens; only a SHA-256 of the secret is stored.
        CREATE TABLE auth_tokens (
            id TEXT PRIMARY KEY,
            user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            token_hash TEXT NOT NULL UNIQUE,
            kind TEXT NOT NULL CHECK (kind IN ('session', 'api')),
            name TEXT NOT NULL DEFAULT '',
            created_at TEXT NOT NULL,
            expires_at TEXT,
            last_used_at TEXT
        ) STRICT;
        CREATE INDEX auth_tokens_user ON auth_tokens(user_id);

        -- An authorised, not yet confirmed upload: the signed URL's scope lives here.
        CREATE TABLE uploads (
            id TEXT PRIMARY KEY,
            user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            filename TEXT NOT NULL,
            content_type TEXT NOT NULL,
            max_bytes INTEGER NOT NULL,
            object_key TEXT NOT NULL,
            status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'received', 'confirmed')),
            size_bytes INTEGER,
            sha256 TEXT,
            photo_id TEXT,
            created_at TEXT NOT NULL,
            expires_at TEXT NOT NULL
        ) STRICT;
        CREATE INDEX uploads_user ON uploads(user_id, created_at);

        CREATE TABLE photos (
            id TEXT PRIMARY KEY,
            user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            title TEXT NOT NULL DEFAULT '',
            description TEXT NOT NULL DEFAULT '',
            visibility TEXT NOT NULL DEFAULT 'private'
                CHECK (visibility IN ('private', 'followers', 'shared', 'public')),
            media_type TEXT NOT NULL DEFAULT 'photo',
            filename TEXT NOT NULL DEFAULT '',
            content_type TEXT NOT NULL,
            original_key TEXT NOT NULL,
            sha256 TEXT NOT NULL,
            file_size_bytes INTEGER NOT NULL,
            width INTEGER,
            height INTEGER,
            taken_at TEXT,
            taken_at_source TEXT,
            uploaded_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            processing_status TEXT NOT NULL DEFAULT 'pending'
                CHECK (processing_status IN ('pending', 'processing', 'ready', 'failed')),
            failure_reason TEXT,
            placeholder TEXT,
            variant_version TEXT,
            location TEXT,
            deleted_at TEXT
        ) STRICT;
        CREATE INDEX photos_user_timeline ON photos(user_id, deleted_at, id);
        CREATE INDEX photos_sha ON photos(sha256);

        CREATE TABLE photo_variants (
            photo_id TEXT NOT NULL REFERENCES photos(id) ON DELETE CASCADE,
            user_id TEXT NOT NULL,
            name TEXT NOT NULL,
            format TEXT NOT NULL,
            object_key TEXT NOT NULL,
            width INTEGER NOT NULL,
            height INTEGER NOT NULL,
            size_bytes INTEGER NOT NULL,
            etag TEXT NOT NULL,
            PRIMARY KEY (photo_id, name, format)
        ) STRICT;

        CREATE TABLE photo_exif (
            photo_id TEXT PRIMARY KEY REFERENCES photos(id) ON DELETE CASCADE,
            user_id TEXT NOT NULL,
            camera_make TEXT,
            camera_model TEXT,
            lens TEXT,
            focal_length_mm REAL,
            aperture REAL,
            shutter_speed TEXT,
            exposure_time_s REAL,
            iso INTEGER,
            gps_lat REAL,
            gps_lng REAL,
            gps_alt REAL,
            orientation INTEGER,
            taken_at TEXT,
            taken_at_offset TEXT
        ) STRICT;

        CREATE TABLE photo_tags (
            photo_id TEXT NOT NULL REFERENCES photos(id) ON DELETE CASCADE,
            user_id TEXT NOT NULL,
            tag TEXT NOT NULL,
            source TEXT NOT NULL CHECK (source IN ('user', 'ml')),
            confidence REAL,
            created_at TEXT NOT NULL,
            PRIMARY KEY (photo_id, tag, source)
        ) STRICT;
        CREATE INDEX photo_tags_tag ON photo_tags(user_id, tag);

        -- The durable job queue. A job row is written in the same transaction as the change needing it.
        CREATE TABLE jobs (
            id TEXT PRIMARY KEY,
            queue TEXT NOT NULL,
            name TEXT NOT NULL,
            payload TEXT NOT NULL,
            user_id TEXT,
            dedupe_key TEXT,
            status TEXT NOT NULL DEFAULT 'queued'
                CHECK (status IN ('queued', 'running', 'done', 'dead')),
            attempts INTEGER NOT NULL DEFAULT 0,
            max_attempts INTEGER NOT NULL,
            run_after REAL NOT NULL,
            lease_until REAL,
            last_error TEXT,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        ) STRICT;
        CREATE INDEX jobs_claim ON jobs(queue, status, run_after);
        CREATE UNIQUE INDEX jobs_dedupe ON jobs(dedupe_key)
            WHERE dedupe_key IS NOT NULL AND status IN ('queued', 'running');
        """
    )


@migration
def m002_albums_sharing(conn: apsw.Connection) -> None:
    conn.execute(
        """
        CREATE TABLE albums (
            id TEXT PRIMARY KEY,
            user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            title TEXT NOT NULL,
            description TEXT NOT NULL DEFAULT '',
            cover_photo_id TEXT REFERENCES photos(id) ON DELETE SET NULL,
            visibility TEXT NOT NULL DEFAULT 'private'
                CHECK (visibility IN ('private', 'followers', 'shared', 'public')),
            version INTEGER NOT NULL DEFAULT 1,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        ) STRICT;
        CREATE INDEX albums_user ON albums(user_id, id);

        CREATE TABLE album_photos (
            album_id TEXT NOT NULL REFERENCES albums(id) ON DELETE CASCADE,
            photo_id TEXT NOT NULL REFERENCES photos(id) ON DELETE CASCADE,
            user_id TEXT NOT NULL,
            added_by TEXT NOT NULL,
            position INTEGER NOT NULL,
            added_at TEXT NOT NULL,
            PRIMARY KEY (album_id, photo_id)
        ) STRICT;
        CREATE INDEX album_photos_photo ON album_photos(photo_id);
        CREATE INDEX album_photos_order ON album_photos(album_id, position);

        -- A share of one photo or album: a link (token, optional password/expiry/max views), a grant to
        -- chosen users (rows in share_recipients), or "public".
        CREATE TABLE shares (
            id TEXT PRIMARY KEY,
            user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            target_type TEXT NOT NULL CHECK (target_type IN ('photo', 'album')),
            target_id TEXT NOT NULL,
            type TEXT NOT NULL CHECK (type IN ('link', 'users', 'public')),
            permissions TEXT NOT NULL CHECK (permissions IN ('view', 'download')),
            token TEXT UNIQUE,
            password_hash TEXT,
            expires_at TEXT,
            max_views INTEGER,
            view_count INTEGER NOT NULL DEFAULT 0,
            revoked_at TEXT,
            created_at TEXT NOT NULL
        ) STRICT;
        CREATE INDEX shares_target ON shares(target_type, target_id);
        CREATE INDEX shares_user ON shares(user_id, id);

        CREATE TABLE share_recipients (
            share_id TEXT NOT NULL REFERENCES shares(id) ON DELETE CASCADE,
            user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            owner_id TEXT NOT NULL,
            PRIMARY KEY (share_id, user_id)
        ) STRICT;
        CREATE INDEX share_recipients_user ON share_recipients(user_id);

        CREATE TABLE follows (
            follower_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            followee_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            status TEXT NOT NULL DEFAULT 'accepted' CHECK (status IN ('accepted', 'pending')),
            created_at TEXT NOT NULL,
            PRIMARY KEY (follower_id, followee_id)
        ) STRICT;
        CREATE INDEX follows_followee ON follows(followee_id, follower_id);

        CREATE INDEX photos_trash ON photos(user_id, deleted_at) WHERE deleted_at IS NOT NULL;
        """
    )


@migration
def m003_social(conn: apsw.Connection) -> None:
    conn.execute(
        """
        ALTER TABLE users ADD COLUMN bio TEXT NOT NULL DEFAULT '';
        ALTER TABLE users ADD COLUMN private INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE users ADD COLUMN followers_count INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE users ADD COLUMN following_count INTEGER NOT NULL DEFAULT 0;
        -- Fan-out skips readers who have not been seen for a while; their timeline is rebuilt on return.
        ALTER TABLE users ADD COLUMN last_seen_at REAL NOT NULL DEFAULT 0;
        ALTER TABLE users ADD COLUMN timeline_built_at REAL NOT NULL DEFAULT 0;

        ALTER TABLE photos ADD COLUMN like_count INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE photos ADD COLUMN comment_count INTEGER NOT NULL DEFAULT 0;

        -- Materialised home timelines (fan-out on write): post ids only, newest first by id.
        CREATE TABLE timelines (
            user_id TEXT NOT NULL,
            photo_id TEXT NOT NULL,
            author_id TEXT NOT NULL,
            PRIMARY KEY (user_id, photo_id)
        ) STRICT, WITHOUT ROWID;

        CREATE TABLE likes (
            photo_id TEXT NOT NULL REFERENCES photos(id) ON DELETE CASCADE,
            user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            created_at TEXT NOT NULL,
            PRIMARY KEY (photo_id, user_id)
        ) STRICT, WITHOUT ROWID;
        CREATE INDEX likes_user ON likes(user_id);

        CREATE TABLE comments (
            id TEXT PRIMARY KEY,
            photo_id TEXT NOT NULL REFERENCES photos(id) ON DELETE CASCADE,
            user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            body TEXT NOT NULL,
            created_at TEXT NOT NULL
        ) STRICT;
        CREATE INDEX comments_photo ON comments(photo_id, id);

        CREATE TABLE saves (
            id TEXT PRIMARY KEY,
            user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            photo_id TEXT NOT NULL REFERENCES photos(id) ON DELETE CASCADE,
            created_at TEXT NOT NULL,
            UNIQUE (user_id, photo_id)
        ) STRICT;

        -- A post is a ready, undeleted photo shown to followers or the public.
        CREATE INDEX photos_posts ON photos(user_id, id)
            WHERE visibility IN ('followers', 'public') AND processing_status = 'ready' AND deleted_at IS NULL;
        CREATE INDEX photos_public_posts ON photos(id)
            WHERE visibility = 'public' AND processing_status = 'ready' AND deleted_at IS NULL;
        """
    )
    # Counters for follows made before this migration.
    conn.execute(
        """
        UPDATE users SET
            followers_count = (SELECT COUNT(*) FROM follows WHERE followee_id = users.id AND status = 'accepted'),
            following_count = (SELECT COUNT(*) FROM follows WHERE follower_id = users.id AND status = 'accepted');
        """
    )


@migration
def m004_feed_indexes(conn: apsw.Connection) -> None:
    conn.execute(
        """
        -- Covering indexes: followee lists and fan-out follower scans never touch table rows.
        CREATE INDEX follows_follower_status ON follows(follower_id, status, followee_id);
        DROP INDEX follows_followee;
        CREATE INDEX follows_followee_status ON follows(followee_id, status, follower_id);
        CREATE INDEX users_last_seen ON users(id, last_seen_at);
        CREATE INDEX users_followers ON users(followers_count);
        """
    )


@migration
def m005_covering_posts(conn: apsw.Connection) -> None:
    conn.execute(
        """
        -- SQLite only treats a partial index as covering when it holds the columns of its own WHERE
        -- clause too: with them, timeline rebuilds, backfills and celebrity pulls read the index
        -- alone instead of one table row per post.
        DROP INDEX photos_posts;
        CREATE INDEX photos_posts ON photos(user_id, id, visibility, processing_status, deleted_at)
            WHERE visibility IN ('followers', 'public') AND processing_status = 'ready' AND deleted_at IS NULL;
        """
    )


@migration
def m006_ml(conn: apsw.Connection) -> None:
    conn.execute(
        """
        -- One row per analysed photo: what the ML stage found or why it failed (the photo stays ready).
        CREATE TABLE ml_results (
            photo_id TEXT PRIMARY KEY REFERENCES photos(id) ON DELETE CASCADE,
            user_id TEXT NOT NULL,
            status TEXT NOT NULL CHECK (status IN ('done', 'failed')),
            failure_reason TEXT,
            stages TEXT NOT NULL DEFAULT '{}',
            ocr_text TEXT NOT NULL DEFAULT '',
            analyzed_at TEXT NOT NULL
        ) STRICT;
        CREATE INDEX ml_results_user ON ml_results(user_id);

        -- Image embeddings, the source of truth of the vector indexes (hnswlib files are derived).
        -- `id` is only the integer label inside a vector index; it never leaves the appliance.
        CREATE TABLE photo_embeddings (
            id INTEGER PRIMARY KEY,
            photo_id TEXT NOT NULL REFERENCES photos(id) ON DELETE CASCADE,
            user_id TEXT NOT NULL,
            model TEXT NOT NULL,
            vector BLOB NOT NULL,
            UNIQUE (photo_id, model)
        ) STRICT;
        CREATE INDEX photo_embeddings_model ON photo_embeddings(model, id);

        -- Face clusters of one user's library; a name makes the person searchable by its owner.
        CREATE TABLE people (
            id TEXT PRIMARY KEY,
            user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            name TEXT NOT NULL DEFAULT '',
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        ) STRICT;
        CREATE INDEX people_user ON people(user_id, name);

        CREATE TABLE faces (
            id TEXT PRIMARY KEY,
            photo_id TEXT NOT NULL REFERENCES photos(id) ON DELETE CASCADE,
            user_id TEXT NOT NULL,
            person_id TEXT REFERENCES people(id) ON DELETE SET NULL,
            box TEXT NOT NULL,
            confidence REAL NOT NULL,
            embedding BLOB NOT NULL,
            created_at TEXT NOT NULL
        ) STRICT;
        CREATE INDEX faces_photo ON faces(photo_id);
        CREATE INDEX faces_user_person ON faces(user_id, person_id);
        """
    )


@migration
def m007_admin_imports(conn: apsw.Connection) -> None:
    conn.execute(
        """
        -- Folders on the appliance's disk whose files are referenced in place, read-only
        -- ("external libraries"); their originals have keys external/<library id>/<relative path>.
        CREATE TABLE libraries (
            id TEXT PRIMARY KEY,
            user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            root TEXT NOT NULL,
            created_at TEXT NOT NULL,
            UNIQUE (user_id, root)
        ) STRICT;

        -- What `photoshare import` did with each file, so a re-run skips unchanged files without
        -- re-reading them and an interrupted import simply continues.
        CREATE TABLE import_files (
            user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            path TEXT NOT NULL,
            size_bytes INTEGER NOT NULL,
            mtime_ns INTEGER NOT NULL,
            sha256 TEXT,
            photo_id TEXT,
            outcome TEXT NOT NULL CHECK (outcome IN ('added', 'duplicate', 'failed')),
            reason TEXT,
            updated_at TEXT NOT NULL,
            PRIMARY KEY (user_id, path)
        ) STRICT;
        """
    )


@migration
def m008_library_timeline(conn: apsw.Connection) -> None:
    conn.execute(
        """
        -- The library shows photos by when they were taken (upload time until EXIF is read).
        CREATE INDEX photos_taken_timeline ON photos(user_id, COALESCE(taken_at, uploaded_at), id)
            WHERE deleted_at IS NULL;
        """
    )


@migration
def m009_tag_lookup(conn: apsw.Connection) -> None:
    conn.execute(
        """
        -- Shaping a page of photos reads their tags and labels: this index answers it without table rows.
        CREATE INDEX photo_tags_photo ON photo_tags(photo_id, source, confidence, tag);
        """
    )


def pending(db: Database) -> list[str]:
    done = _applied(db)
    return [name for name, _ in MIGRATIONS if name not in done]


def _applied(db: Database) -> set[str]:
    db.execute("CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)")
    return {row["name"] for row in db.query("SELECT name FROM schema_migrations")}


def migrate(db: Database) -> list[str]:
    """Apply every pending migration; returns the names applied."""
    from photoshare.clock import now_iso

    applied: list[str] = []
    _applied(db)
    for name, fn in MIGRATIONS:
        with db.transaction() as conn:
            # Re-checked inside the write lock so two processes starting together apply each once.
            if db.value("SELECT 1 FROM schema_migrations WHERE name = ?", (name,)):
                continue
            fn(conn)
            conn.execute("INSERT INTO schema_migrations (name, applied_at) VALUES (?, ?)", (name, now_iso()))
            applied.append(name)
    return applied
