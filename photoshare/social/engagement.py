"""Likes, comments and saves on photos the viewer may see.

Counters live on the photo row and change in the same transaction as the like or comment, so they
are exact and survive a crash; SQLite serialises writers, so a hot post costs one short write each.
"""

from __future__ import annotations

from typing import Any

from photoshare.clock import now_iso
from photoshare.db import Database
from photoshare.errors import InvalidInput, NotFound, PermissionDenied
from photoshare.events import EventBus
from photoshare.ids import new_id
from photoshare.pagination import newest_first
from photoshare.photos.repo import PhotoRepo
from photoshare.photos.service import PhotoService
from photoshare.sharing.access import Access
from photoshare.users.models import User

__all__ = ["EngagementService"]


class EngagementService:
    def __init__(
        self, db: Database, access: Access, photo_repo: PhotoRepo, photos: PhotoService, events: EventBus
    ) -> None:
        self.db = db
        self.access = access
        self.photo_repo = photo_repo
        self.photos = photos
        self.events = events

    def _visible(self, viewer: User, photo_id: str) -> dict[str, Any]:
        photo = self.access.require_view(viewer, self.photo_repo.get(photo_id))
        if photo["deleted_at"]:
            raise NotFound("no such photo")
        return photo

    # -- likes ---------------------------------------------------------------------------------
    def like(self, viewer: User, photo_id: str, *, on: bool) -> dict[str, Any]:
        photo = self._visible(viewer, photo_id)
        with self.db.transaction():
            if on:
                changed = self.db.execute(
                    "INSERT OR IGNORE INTO likes (photo_id, user_id, created_at) VALUES (?, ?, ?)",
                    (photo_id, viewer.id, now_iso()),
                )
            else:
                changed = self.db.execute("DELETE FROM likes WHERE photo_id = ? AND user_id = ?", (photo_id, viewer.id))
            if changed:
                self.db.execute(
                    "UPDATE photos SET like_count = like_count + ? WHERE id = ?", (1 if on else -1, photo_id)
                )
            count = self.db.value("SELECT like_count FROM photos WHERE id = ?", (photo_id,))
        if on and changed and photo["user_id"] != viewer.id:
            self.events.publish(photo["user_id"], "like.new", photo_id=photo_id, user_id=viewer.id)
        return {"photo_id": photo_id, "liked": on, "like_count": count}

    # -- comments --------------------------------------------------------------------------------
    def comments(self, viewer: User | None, photo_id: str, *, cursor: str | None, limit: int | None) -> dict[str, Any]:
        self.access.require_view(viewer, self.photo_repo.get(photo_id))
        page = newest_first(
            self.db,
            "SELECT c.id, c.photo_id, c.user_id, u.username, c.body, c.created_at FROM comments c"
            " JOIN users u ON u.id = c.user_id WHERE c.photo_id = ?",
            [photo_id],
            cursor=cursor,
            limit=limit,
            column="c.id",
        )
        items = [
            {
                "comment_id": r["id"],
                "photo_id": r["photo_id"],
                "user_id": r["user_id"],
                "username": r["username"],
                "body": r["body"],
                "created_at": r["created_at"],
            }
            for r in page.rows
        ]
        return {"items": items, "next_cursor": page.next_cursor}

    def comment(self, viewer: User, photo_id: str, body: Any) -> dict[str, Any]:
        photo = self._visible(viewer, photo_id)
        if not isinstance(body, str) or not body.strip():
            raise InvalidInput("a comment needs some text")
        body = body.strip()
        if len(body) > 2000:
            raise InvalidInput("comments are limited to 2000 characters")
        comment_id = new_id()
        stamp = now_iso()
        with self.db.transaction():
            self.db.execute(
                "INSERT INTO comments (id, photo_id, user_id, body, created_at) VALUES (?, ?, ?, ?, ?)",
                (comment_id, photo_id, viewer.id, body, stamp),
            )
            self.db.execute("UPDATE photos SET comment_count = comment_count + 1 WHERE id = ?", (photo_id,))
        if photo["user_id"] != viewer.id:
            self.events.publish(
                photo["user_id"],
                "comment.new",
                photo_id=photo_id,
                comment_id=comment_id,
                user_id=viewer.id,
                username=viewer.username,
            )
        return {
            "comment_id": comment_id,
            "photo_id": photo_id,
            "user_id": viewer.id,
            "username": viewer.username,
            "body": body,
            "created_at": stamp,
        }

    def delete_comment(self, viewer: User, comment_id: str) -> None:
        """Authors delete their comments; a photo's owner may delete any comment on it."""
        row = self.db.one(
            "SELECT c.user_id, c.photo_id, p.user_id AS owner_id FROM comments c JOIN photos p ON p.id = c.photo_id"
            " WHERE c.id = ?",
            (comment_id,),
        )
        if row is None:
            raise NotFound("no such comment")
        if viewer.id not in (row["user_id"], row["owner_id"]):
            photo = self.photo_repo.get(row["photo_id"])
            if photo is None or not self.access.can_view(viewer, photo):
                raise NotFound("no such comment")
            raise PermissionDenied("only the author or the photo's owner can delete a comment")
        with self.db.transaction():
            self.db.execute("DELETE FROM comments WHERE id = ?", (comment_id,))
            self.db.execute("UPDATE photos SET comment_count = comment_count - 1 WHERE id = ?", (row["photo_id"],))

    # -- saves -----------------------------------------------------------------------------------
    def save(self, viewer: User, photo_id: str, *, on: bool) -> dict[str, Any]:
        self._visible(viewer, photo_id)
        if on:
            self.db.execute(
                "INSERT OR IGNORE INTO saves (id, user_id, photo_id, created_at) VALUES (?, ?, ?, ?)",
                (new_id(), viewer.id, photo_id, now_iso()),
            )
        else:
            self.db.execute("DELETE FROM saves WHERE user_id = ? AND photo_id = ?", (viewer.id, photo_id))
        return {"photo_id": photo_id, "saved": on}

    def saved(self, viewer: User, *, cursor: str | None, limit: int | None) -> dict[str, Any]:
        """Saved photos the viewer may still see (a save does not outlive the access)."""
        page = newest_first(
            self.db, "SELECT id, photo_id FROM saves WHERE user_id = ?", [viewer.id], cursor=cursor, limit=limit
        )
        photos = [p for p in (self.photo_repo.get(r["photo_id"]) for r in page.rows) if p is not None]
        visible = [p for p in photos if not p["deleted_at"] and self.access.can_view(viewer, p)]
        return {"items": self.photos.to_api(viewer, visible), "next_cursor": page.next_cursor}

    def state(self, viewer: User | None, photo_ids: list[str]) -> dict[str, dict[str, bool]]:
        """liked_by_me / saved_by_me for a batch of photos."""
        out = {pid: {"liked_by_me": False, "saved_by_me": False} for pid in photo_ids}
        if viewer is None or not photo_ids:
            return out
        marks = ",".join("?" for _ in photo_ids)
        for r in self.db.query(
            f"SELECT photo_id FROM likes WHERE user_id = ? AND photo_id IN ({marks})", (viewer.id, *photo_ids)
        ):
            out[r["photo_id"]]["liked_by_me"] = True
        for r in self.db.query(
            f"SELECT photo_id FROM saves WHERE user_id = ? AND photo_id IN ({marks})", (viewer.id, *photo_ids)
        ):
            out[r["photo_id"]]["saved_by_me"] = True
        return out
