"""Follow relationships. Following opens a person's "followers" photos and albums to you."""

from __future__ import annotations

from typing import Any

from photoshare.clock import now_iso
from photoshare.db import Database
from photoshare.errors import InvalidInput, NotFound
from photoshare.sharing.access import Access
from photoshare.users.models import User

__all__ = ["FollowService"]


class FollowService:
    def __init__(self, db: Database, access: Access) -> None:
        self.db = db
        self.access = access

    def _target(self, user_id: str) -> dict[str, Any]:
        row = self.db.one("SELECT id, username FROM users WHERE id = ? AND disabled = 0", (user_id,))
        if row is None:
            raise NotFound("no such user")
        return row

    def follow(self, viewer: User, user_id: str) -> dict[str, Any]:
        target = self._target(user_id)
        if target["id"] == viewer.id:
            raise InvalidInput("you cannot follow yourself")
        self.db.execute(
            "INSERT OR IGNORE INTO follows (follower_id, followee_id, status, created_at) VALUES (?, ?, 'accepted', ?)",
            (viewer.id, target["id"], now_iso()),
        )
        self.access.changed()
        return {"user_id": target["id"], "following": True}

    def unfollow(self, viewer: User, user_id: str) -> dict[str, Any]:
        target = self._target(user_id)
        self.db.execute("DELETE FROM follows WHERE follower_id = ? AND followee_id = ?", (viewer.id, target["id"]))
        self.access.changed()  # their followers-only media stops working for this viewer at once
        return {"user_id": target["id"], "following": False}
