"""SQL for photos, their variants, EXIF and tags."""

from __future__ import annotations

import re
from typing import Any

from photoshare.clock import now_iso
from photoshare.db import Database
from photoshare.pagination import Page, decode_cursor, encode_cursor, newest_first, parse_limit

__all__ = ["LIST_COLUMNS", "PhotoRepo"]

# A timeline cursor is "<when>|<id>": the sort key of the last photo shown and its id as tie-break.
_TIMELINE_CURSOR = re.compile(r"^[0-9T:.+\-Z ]{1,40}\|[0-9a-f]{32}$")

_EXIF_COLUMNS = (
    "camera_make",
    "camera_model",
    "lens",
    "focal_length_mm",
    "aperture",
    "shutter_speed",
    "exposure_time_s",
    "iso",
    "gps_lat",
    "gps_lng",
    "gps_alt",
    "orientation",
    "taken_at",
    "taken_at_offset",
)


LIST_COLUMNS = (
    "id, user_id, title, description, visibility, media_type, processing_status, failure_reason, width, height,"
    " taken_at, uploaded_at, placeholder, variant_version, sha256, location, deleted_at, like_count, comment_count"
)
"""What PhotoService.to_api needs for a list item (not `full`): a feed page reads fifty rows, and the
storage columns it leaves out are a quarter of each row's decoding."""


class PhotoRepo:
    def __init__(self, db: Database) -> None:
        self.db = db

    def insert(self, **row: Any) -> None:
        cols = ", ".join(row)
        marks = ", ".join("?" for _ in row)
        self.db.execute(f"INSERT INTO photos ({cols}) VALUES ({marks})", tuple(row.values()))

    def get(self, photo_id: str) -> dict[str, Any] | None:
        return self.db.one("SELECT * FROM photos WHERE id = ?", (photo_id,))

    def get_many(self, photo_ids: list[str], columns: str = "*") -> list[dict[str, Any]]:
        """Photo rows in the order of `photo_ids` (missing ones left out), in one query."""
        if not photo_ids:
            return []
        marks = ",".join("?" for _ in photo_ids)
        by_id = {r["id"]: r for r in self.db.query(f"SELECT {columns} FROM photos WHERE id IN ({marks})", photo_ids)}
        return [by_id[i] for i in photo_ids if i in by_id]

    def update(self, photo_id: str, **fields: Any) -> None:
        cols = ", ".join(f"{k} = ?" for k in fields)
        self.db.execute(
            f"UPDATE photos SET {cols}, updated_at = ? WHERE id = ?", (*fields.values(), now_iso(), photo_id)
        )

    def list_for_owner(self, user_id: str, *, cursor: str | None, limit: int | None, tag: str | None = None) -> Page:
        sql = "SELECT p.* FROM photos p WHERE p.user_id = ? AND p.deleted_at IS NULL"
        params: list[Any] = [user_id]
        if tag:
            sql += (
                " AND EXISTS (SELECT 1 FROM photo_tags t WHERE t.photo_id = p.id AND t.tag = ? AND t.source = 'user')"
            )
            params.append(tag)
        return newest_first(self.db, sql, params, cursor=cursor, limit=limit, column="p.id")

    def timeline_for_owner(self, user_id: str, *, cursor: str | None, limit: int | None) -> Page:
        """The owner's photos, most recently taken first (upload time stands in until EXIF is read)."""
        n = parse_limit(limit)
        sql = (
            "SELECT p.*, COALESCE(p.taken_at, p.uploaded_at) AS sort_at FROM photos p"
            " WHERE p.user_id = ? AND p.deleted_at IS NULL"
        )
        params: list[Any] = [user_id]
        after = decode_cursor(cursor, _TIMELINE_CURSOR)
        if after:
            when, photo_id = after.rsplit("|", 1)
            sql += " AND (COALESCE(p.taken_at, p.uploaded_at), p.id) < (?, ?)"
            params += [when, photo_id]
        rows = self.db.query(f"{sql} ORDER BY sort_at DESC, p.id DESC LIMIT ?", (*params, n + 1))
        last = rows[n - 1] if len(rows) > n else None
        return Page(rows[:n], encode_cursor(f"{last['sort_at']}|{last['id']}") if last else None)

    def usage_by_user(self) -> dict[str, dict[str, int]]:
        """Photos and bytes (originals plus their variants) per user, trash included: it still takes space."""
        rows = self.db.query(
            "SELECT p.user_id, COUNT(*) AS photos, SUM(p.file_size_bytes)"
            " + COALESCE(SUM((SELECT SUM(v.size_bytes) FROM photo_variants v WHERE v.photo_id = p.id)), 0) AS bytes"
            " FROM photos p GROUP BY p.user_id"
        )
        return {r["user_id"]: {"photos": r["photos"], "bytes": r["bytes"] or 0} for r in rows}

    def count_for_owner(self, user_id: str, tag: str | None = None) -> int:
        sql = "SELECT COUNT(*) FROM photos p WHERE p.user_id = ? AND p.deleted_at IS NULL"
        params: list[Any] = [user_id]
        if tag:
            sql += (
                " AND EXISTS (SELECT 1 FROM photo_tags t WHERE t.photo_id = p.id AND t.tag = ? AND t.source = 'user')"
            )
            params.append(tag)
        return int(self.db.value(sql, params))

    def list_trash(self, user_id: str, *, cursor: str | None, limit: int | None) -> Page:
        sql = "SELECT * FROM photos WHERE user_id = ? AND deleted_at IS NOT NULL"
        return newest_first(self.db, sql, [user_id], cursor=cursor, limit=limit)

    def trashed_ids(self, user_id: str | None = None, *, before: str | None = None) -> list[str]:
        """Trashed photos of one user, or of everyone trashed before the `before` timestamp."""
        sql = "SELECT id FROM photos WHERE deleted_at IS NOT NULL"
        params: list[Any] = []
        if user_id:
            sql += " AND user_id = ?"
            params.append(user_id)
        if before:
            sql += " AND deleted_at < ?"
            params.append(before)
        return [r["id"] for r in self.db.query(sql, params)]

    def others_with_sha(self, photo_id: str, sha256: str) -> int:
        return int(self.db.value("SELECT COUNT(*) FROM photos WHERE sha256 = ? AND id != ?", (sha256, photo_id)))

    def delete(self, photo_id: str) -> None:
        self.db.execute("DELETE FROM photos WHERE id = ?", (photo_id,))

    # -- variants ----------------------------------------------------------------------------
    def replace_variants(self, photo_id: str, user_id: str, variants: list[dict[str, Any]]) -> None:
        with self.db.transaction():
            self.db.execute("DELETE FROM photo_variants WHERE photo_id = ?", (photo_id,))
            for v in variants:
                self.db.execute(
                    "INSERT INTO photo_variants (photo_id, user_id, name, format, object_key, width, height,"
                    " size_bytes, etag) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        photo_id,
                        user_id,
                        v["name"],
                        v["format"],
                        v["object_key"],
                        v["width"],
                        v["height"],
                        v["size_bytes"],
                        v["etag"],
                    ),
                )

    def variants(self, photo_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
        out: dict[str, list[dict[str, Any]]] = {pid: [] for pid in photo_ids}
        if not photo_ids:
            return out
        marks = ",".join("?" for _ in photo_ids)
        for row in self.db.query(f"SELECT * FROM photo_variants WHERE photo_id IN ({marks})", photo_ids):
            out[row["photo_id"]].append(row)
        return out

    # -- exif --------------------------------------------------------------------------------
    def upsert_exif(self, photo_id: str, user_id: str, exif: dict[str, Any]) -> None:
        values = [exif.get(c) for c in _EXIF_COLUMNS]
        cols = ", ".join(_EXIF_COLUMNS)
        marks = ", ".join("?" for _ in _EXIF_COLUMNS)
        updates = ", ".join(f"{c} = excluded.{c}" for c in _EXIF_COLUMNS)
        self.db.execute(
            f"INSERT INTO photo_exif (photo_id, user_id, {cols}) VALUES (?, ?, {marks})"
            f" ON CONFLICT (photo_id) DO UPDATE SET {updates}",
            (photo_id, user_id, *values),
        )

    def exif(self, photo_id: str) -> dict[str, Any] | None:
        return self.exifs([photo_id]).get(photo_id)

    def exifs(self, photo_ids: list[str]) -> dict[str, dict[str, Any]]:
        """EXIF rows by photo id, in one query (photos without EXIF are left out)."""
        if not photo_ids:
            return {}
        marks = ",".join("?" for _ in photo_ids)
        out: dict[str, dict[str, Any]] = {}
        for row in self.db.query(f"SELECT * FROM photo_exif WHERE photo_id IN ({marks})", photo_ids):
            out[row.pop("photo_id")] = row
            row.pop("user_id")
        return out

    # -- tags --------------------------------------------------------------------------------
    def set_user_tags(self, photo_id: str, user_id: str, tags: list[str]) -> None:
        with self.db.transaction():
            self.db.execute("DELETE FROM photo_tags WHERE photo_id = ? AND source = 'user'", (photo_id,))
            self.add_user_tags(photo_id, user_id, tags)

    def add_user_tags(self, photo_id: str, user_id: str, tags: list[str]) -> None:
        stamp = now_iso()
        with self.db.transaction():
            for tag in tags:
                self.db.execute(
                    "INSERT OR IGNORE INTO photo_tags (photo_id, user_id, tag, source, created_at)"
                    " VALUES (?, ?, ?, 'user', ?)",
                    (photo_id, user_id, tag, stamp),
                )

    def remove_user_tag(self, photo_id: str, tag: str) -> None:
        self.db.execute("DELETE FROM photo_tags WHERE photo_id = ? AND tag = ? AND source = 'user'", (photo_id, tag))

    def tag_counts(self, user_id: str) -> list[dict[str, Any]]:
        return self.db.query(
            "SELECT t.tag, COUNT(*) AS count FROM photo_tags t JOIN photos p ON p.id = t.photo_id"
            " WHERE t.user_id = ? AND t.source = 'user' AND p.deleted_at IS NULL"
            " GROUP BY t.tag ORDER BY count DESC, t.tag",
            (user_id,),
        )

    def tags(self, photo_ids: list[str]) -> dict[str, dict[str, list[dict[str, Any]]]]:
        out: dict[str, dict[str, list[dict[str, Any]]]] = {pid: {"user": [], "ml": []} for pid in photo_ids}
        if not photo_ids:
            return out
        marks = ",".join("?" for _ in photo_ids)
        for row in self.db.query(
            f"SELECT photo_id, tag, source, confidence FROM photo_tags WHERE photo_id IN ({marks})"
            " ORDER BY confidence DESC, tag",
            photo_ids,
        ):
            out[row["photo_id"]][row["source"]].append(row)
        return out

    def status_counts(self) -> dict[str, int]:
        rows = self.db.query("SELECT processing_status AS s, COUNT(*) AS n FROM photos GROUP BY processing_status")
        return {r["s"]: r["n"] for r in rows}
