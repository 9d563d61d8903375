"""SQL for albums and their ordered photos."""

from __future__ import annotations

from typing import Any

from photoshare.clock import now_iso
from photoshare.db import Database
from photoshare.ids import new_id
from photoshare.pagination import Page, newest_first

__all__ = ["AlbumRepo"]


class AlbumRepo:
    def __init__(self, db: Database) -> None:
        self.db = db

    def insert(self, user_id: str, title: str, description: str, visibility: str) -> dict[str, Any]:
        stamp = now_iso()
        row = self.db.one(
            "INSERT INTO albums (id, user_id, title, description, visibility, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING *",
            (new_id(), user_id, title, description, visibility, stamp, stamp),
        )
        assert row is not None
        return row

    def get(self, album_id: str) -> dict[str, Any] | None:
        return self.db.one("SELECT * FROM albums WHERE id = ?", (album_id,))

    def update(self, album_id: str, *, bump: bool = True, **fields: Any) -> None:
        """Change fields; `bump` advances the version that concurrent editors compare against."""
        cols = "".join(f"{k} = ?, " for k in fields)
        version = "version = version + 1, " if bump else ""
        self.db.execute(
            f"UPDATE albums SET {cols}{version}updated_at = ? WHERE id = ?", (*fields.values(), now_iso(), album_id)
        )

    def delete(self, album_id: str) -> None:
        self.db.execute("DELETE FROM albums WHERE id = ?", (album_id,))

    def list_for_owner(self, user_id: str, *, cursor: str | None, limit: int | None) -> Page:
        return newest_first(self.db, "SELECT * FROM albums WHERE user_id = ?", [user_id], cursor=cursor, limit=limit)

    def photo_counts(self, album_ids: list[str]) -> dict[str, int]:
        if not album_ids:
            return {}
        marks = ",".join("?" for _ in album_ids)
        rows = self.db.query(
            "SELECT ap.album_id, COUNT(*) AS n FROM album_photos ap JOIN photos p ON p.id = ap.photo_id"
            f" WHERE ap.album_id IN ({marks}) AND p.deleted_at IS NULL GROUP BY ap.album_id",
            album_ids,
        )
        counts = {r["album_id"]: r["n"] for r in rows}
        return {a: counts.get(a, 0) for a in album_ids}

    def photos(self, album_id: str, *, after_position: int | None, limit: int) -> list[dict[str, Any]]:
        """Photos of the album in order, trashed ones left out, with their `position`."""
        sql = (
            "SELECT p.*, ap.position AS position FROM album_photos ap JOIN photos p ON p.id = ap.photo_id"
            " WHERE ap.album_id = ? AND p.deleted_at IS NULL"
        )
        params: list[Any] = [album_id]
        if after_position is not None:
            sql += " AND ap.position > ?"
            params.append(after_position)
        return self.db.query(sql + " ORDER BY ap.position LIMIT ?", (*params, limit))

    def photo_ids(self, album_id: str, *, include_trashed: bool = True) -> list[str]:
        sql = "SELECT ap.photo_id FROM album_photos ap JOIN photos p ON p.id = ap.photo_id WHERE ap.album_id = ?"
        if not include_trashed:
            sql += " AND p.deleted_at IS NULL"
        return [r["photo_id"] for r in self.db.query(sql + " ORDER BY ap.position", (album_id,))]

    def add_photos(self, album_id: str, owner_id: str, added_by: str, photo_ids: list[str]) -> list[str]:
        added = []
        stamp = now_iso()
        with self.db.transaction():
            position = int(
                self.db.value("SELECT COALESCE(MAX(position), 0) FROM album_photos WHERE album_id = ?", (album_id,))
            )
            for photo_id in photo_ids:
                position += 1
                self.db.execute(
                    "INSERT OR IGNORE INTO album_photos (album_id, photo_id, user_id, added_by, position, added_at)"
                    " VALUES (?, ?, ?, ?, ?, ?)",
                    (album_id, photo_id, owner_id, added_by, position, stamp),
                )
                if self.db.connection().changes():
                    added.append(photo_id)
        return added

    def remove_photos(self, album_id: str, photo_ids: list[str]) -> int:
        removed = 0
        with self.db.transaction():
            for photo_id in photo_ids:
                removed += self.db.execute(
                    "DELETE FROM album_photos WHERE album_id = ? AND photo_id = ?", (album_id, photo_id)
                )
            self.db.execute(
                "UPDATE albums SET cover_photo_id = NULL WHERE id = ? AND cover_photo_id NOT IN"
                " (SELECT photo_id FROM album_photos WHERE album_id = ?)",
                (album_id, album_id),
            )
        return removed

    def set_order(self, album_id: str, photo_ids: list[str]) -> None:
        with self.db.transaction():
            for position, photo_id in enumerate(photo_ids, start=1):
                self.db.execute(
                    "UPDATE album_photos SET position = ? WHERE album_id = ? AND photo_id = ?",
                    (position, album_id, photo_id),
                )

    def albums_of_photo(self, photo_id: str) -> list[str]:
        return [
            r["album_id"] for r in self.db.query("SELECT album_id FROM album_photos WHERE photo_id = ?", (photo_id,))
        ]
