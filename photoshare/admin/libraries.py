"""SQL for external libraries and the per-file record `photoshare import` keeps."""

from __future__ import annotations

from typing import Any

from photoshare.clock import now_iso
from photoshare.db import Database
from photoshare.ids import new_id

__all__ = ["ImportRepo", "library_root"]


def library_root(db: Database, library_id: str) -> str | None:
    """The folder of an external library (what storage.external.ExternalFiles resolves keys against)."""
    value = db.value("SELECT root FROM libraries WHERE id = ?", (library_id,))
    return None if value is None else str(value)


class ImportRepo:
    def __init__(self, db: Database) -> None:
        self.db = db

    def library(self, user_id: str, root: str) -> str:
        """The id of the user's external library at `root`, created on first use."""
        with self.db.transaction():
            found = self.db.value("SELECT id FROM libraries WHERE user_id = ? AND root = ?", (user_id, root))
            if found:
                return str(found)
            library_id = new_id()
            self.db.execute(
                "INSERT INTO libraries (id, user_id, root, created_at) VALUES (?, ?, ?, ?)",
                (library_id, user_id, root, now_iso()),
            )
            return library_id

    def seen(self, user_id: str, path: str) -> dict[str, Any] | None:
        return self.db.one("SELECT * FROM import_files WHERE user_id = ? AND path = ?", (user_id, path))

    def record(
        self,
        user_id: str,
        path: str,
        *,
        size: int,
        mtime_ns: int,
        outcome: str,
        sha256: str | None = None,
        photo_id: str | None = None,
        reason: str | None = None,
    ) -> None:
        """Remember what happened to a file (joins the caller's transaction, e.g. the photo's own)."""
        self.db.execute(
            "INSERT INTO import_files (user_id, path, size_bytes, mtime_ns, sha256, photo_id, outcome, reason,"
            " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (user_id, path) DO UPDATE SET size_bytes = excluded.size_bytes,"
            " mtime_ns = excluded.mtime_ns, sha256 = excluded.sha256, photo_id = excluded.photo_id,"
            " outcome = excluded.outcome, reason = excluded.reason, updated_at = excluded.updated_at",
            (user_id, path, size, mtime_ns, sha256, photo_id, outcome, reason, now_iso()),
        )

    def photo_with_sha(self, user_id: str, sha256: str) -> str | None:
        """The user's photo with these bytes (trashed ones too: re-importing must not resurrect them)."""
        value = self.db.value(
            "SELECT id FROM photos WHERE user_id = ? AND sha256 = ? ORDER BY id LIMIT 1", (user_id, sha256)
        )
        return None if value is None else str(value)

    def album_titled(self, user_id: str, title: str) -> str | None:
        value = self.db.value(
            "SELECT id FROM albums WHERE user_id = ? AND title = ? ORDER BY id LIMIT 1", (user_id, title)
        )
        return None if value is None else str(value)
