"""Follow relationships and profiles. Following opens a person's "followers" posts to you; private
accounts approve each follower first."""

from __future__ import annotations

from typing import Any

from photoshare.clock import now_iso
from photoshare.db import Database
from photoshare.errors import InvalidInput, NotFound
from photoshare.events import EventBus
from photoshare.jobs.queue import JobQueue
from photoshare.pagination import newest_first
from photoshare.photos.service import PhotoService
from photoshare.sharing.access import Access
from photoshare.users.models import User

__all__ = ["FollowService", "ProfileService"]


class FollowService:
    def __init__(
        self, db: Database, access: Access, jobs: JobQueue, events: EventBus, celebrity_followers: int
    ) -> None:
        self.celebrity_followers = celebrity_followers
        self.db = db
        self.access = access
        self.jobs = jobs
        self.events = events

    def _target(self, user_id: str) -> dict[str, Any]:
        row = self.db.one("SELECT id, username, private FROM users WHERE id = ? AND disabled = 0", (user_id,))
        if row is None:
            raise NotFound("no such user")
        return row

    def status(self, follower_id: str, followee_id: str) -> str | None:
        return self.db.value(  # type: ignore[no-any-return]
            "SELECT status FROM follows WHERE follower_id = ? AND followee_id = ?", (follower_id, followee_id)
        )

    def follow(self, viewer: User, user_id: str) -> dict[str, Any]:
        target = self._target(user_id)
        if target["id"] == viewer.id:
            raise InvalidInput("you cannot follow yourself")
        status = "pending" if target["private"] else "accepted"
        with self.db.transaction():
            self.db.execute(
                "INSERT OR IGNORE INTO follows (follower_id, followee_id, status, created_at) VALUES (?, ?, ?, ?)",
                (viewer.id, target["id"], status, now_iso()),
            )
            inserted = self.db.connection().changes() > 0
            if inserted and status == "accepted":
                self._accepted(viewer.id, target["id"])
        current = self.status(viewer.id, target["id"])
        if inserted:
            kind = "follow.requested" if status == "pending" else "follower.new"
            self.events.publish(target["id"], kind, user_id=viewer.id, username=viewer.username)
        return {"user_id": target["id"], "following": current == "accepted", "status": current}

    def _accepted(self, follower_id: str, followee_id: str) -> None:
        """Counters and the timeline backfill of a follow that just became effective (inside a transaction)."""
        self.db.execute("UPDATE users SET followers_count = followers_count + 1 WHERE id = ?", (followee_id,))
        self.db.execute("UPDATE users SET following_count = following_count + 1 WHERE id = ?", (follower_id,))
        self.jobs.enqueue(
            "feed.backfill", {"follower_id": follower_id, "followee_id": followee_id}, user_id=follower_id
        )
        self.access.changed()

    def unfollow(self, viewer: User, user_id: str) -> dict[str, Any]:
        target = self._target(user_id)
        with self.db.transaction():
            status = self.status(viewer.id, target["id"])
            self.db.execute("DELETE FROM follows WHERE follower_id = ? AND followee_id = ?", (viewer.id, target["id"]))
            if status == "accepted":
                self.db.execute("UPDATE users SET followers_count = followers_count - 1 WHERE id = ?", (target["id"],))
                left = self.db.value("SELECT followers_count FROM users WHERE id = ?", (target["id"],))
                if left == self.celebrity_followers:  # just dropped out of pull-at-read: fan its posts out
                    self.jobs.enqueue("feed.spread", {"user_id": target["id"]}, user_id=target["id"])
                self.db.execute("UPDATE users SET following_count = following_count - 1 WHERE id = ?", (viewer.id,))
                # Timeline entries go lazily: reads skip them, this job removes them.
                self.jobs.enqueue(
                    "feed.unfollow", {"follower_id": viewer.id, "followee_id": target["id"]}, user_id=viewer.id
                )
        self.access.changed()  # their followers-only media stops working for this viewer at once
        return {"user_id": target["id"], "following": False, "status": None}

    def requests(self, viewer: User, *, cursor: str | None, limit: int | None) -> dict[str, Any]:
        page = newest_first(
            self.db,
            "SELECT u.id, u.username, u.display_name, f.created_at FROM follows f JOIN users u ON u.id = f.follower_id"
            " WHERE f.followee_id = ? AND f.status = 'pending'",
            [viewer.id],
            cursor=cursor,
            limit=limit,
            column="u.id",
        )
        items = [
            {
                "user_id": r["id"],
                "username": r["username"],
                "display_name": r["display_name"] or r["username"],
                "requested_at": r["created_at"],
            }
            for r in page.rows
        ]
        return {"items": items, "next_cursor": page.next_cursor}

    def decide(self, viewer: User, follower_id: str, *, approve: bool) -> dict[str, Any]:
        with self.db.transaction():
            if self.status(follower_id, viewer.id) != "pending":
                raise NotFound("no such follow request")
            if approve:
                self.db.execute(
                    "UPDATE follows SET status = 'accepted' WHERE follower_id = ? AND followee_id = ?",
                    (follower_id, viewer.id),
                )
                self._accepted(follower_id, viewer.id)
            else:
                self.db.execute(
                    "DELETE FROM follows WHERE follower_id = ? AND followee_id = ?", (follower_id, viewer.id)
                )
        if approve:
            self.events.publish(follower_id, "follow.accepted", user_id=viewer.id, username=viewer.username)
        return {"user_id": follower_id, "status": "accepted" if approve else None}

    def followees(self, user_id: str) -> set[str]:
        # Read on every feed page and search (a few hundred rows): tuples, not a dict per row.
        rows = self.db.tuples(
            "SELECT followee_id FROM follows WHERE follower_id = ? AND status = 'accepted'", (user_id,)
        )
        return {r[0] for r in rows}

    def connections(
        self, viewer: User | None, user_id: str, *, followers: bool, cursor: str | None, limit: int | None
    ) -> dict[str, Any]:
        self._target(user_id)
        mine, theirs = ("followee_id", "follower_id") if followers else ("follower_id", "followee_id")
        page = newest_first(
            self.db,
            f"SELECT u.id, u.username, u.display_name FROM follows f JOIN users u ON u.id = f.{theirs}"
            f" WHERE f.{mine} = ? AND f.status = 'accepted' AND u.disabled = 0",
            [user_id],
            cursor=cursor,
            limit=limit,
            column="u.id",
        )
        items = [
            {"user_id": r["id"], "username": r["username"], "display_name": r["display_name"] or r["username"]}
            for r in page.rows
        ]
        return {"items": items, "next_cursor": page.next_cursor}


class ProfileService:
    def __init__(self, db: Database, follows: FollowService, photos: PhotoService) -> None:
        self.db = db
        self.follows = follows
        self.photos = photos

    def get(self, viewer: User | None, user_id: str) -> dict[str, Any]:
        row = self.db.one("SELECT * FROM users WHERE id = ? AND disabled = 0", (user_id,))
        if row is None:
            raise NotFound("no such user")
        posts = self.db.value(
            "SELECT COUNT(*) FROM photos WHERE user_id = ? AND visibility IN ('followers', 'public')"
            " AND processing_status = 'ready' AND deleted_at IS NULL",
            (user_id,),
        )
        status = self.follows.status(viewer.id, user_id) if viewer and viewer.id != user_id else None
        return {
            "user_id": row["id"],
            "username": row["username"],
            "display_name": row["display_name"] or row["username"],
            "bio": row["bio"],
            "private": bool(row["private"]),
            "followers_count": row["followers_count"],
            "following_count": row["following_count"],
            "posts_count": posts,
            "following": status == "accepted",
            "follow_status": status,
        }

    def by_username(self, viewer: User | None, username: str) -> dict[str, Any]:
        row = self.db.one("SELECT id FROM users WHERE username = ? AND disabled = 0", (username.strip().lower(),))
        if row is None:
            raise NotFound("no such user")
        return self.get(viewer, row["id"])

    def update_me(self, viewer: User, changes: dict[str, Any]) -> dict[str, Any]:
        unknown = set(changes) - {"display_name", "bio", "private"}
        if unknown:
            raise InvalidInput(f"cannot change {', '.join(sorted(unknown))}")
        fields: dict[str, Any] = {}
        if "display_name" in changes:
            if not isinstance(changes["display_name"], str) or len(changes["display_name"]) > 100:
                raise InvalidInput("display_name must be at most 100 characters")
            fields["display_name"] = changes["display_name"].strip()
        if "bio" in changes:
            if not isinstance(changes["bio"], str) or len(changes["bio"]) > 1000:
                raise InvalidInput("bio must be at most 1000 characters")
            fields["bio"] = changes["bio"].strip()
        if "private" in changes:
            if not isinstance(changes["private"], bool):
                raise InvalidInput("private must be true or false")
            fields["private"] = int(changes["private"])
        if fields:
            cols = ", ".join(f"{k} = ?" for k in fields)
            self.db.execute(
                f"UPDATE users SET {cols}, updated_at = ? WHERE id = ?", (*fields.values(), now_iso(), viewer.id)
            )
            if "private" in fields:
                self.photos.invalidate_all(viewer.id)
        return self.get(viewer, viewer.id)

    def search(self, q: str, *, limit: int | None) -> dict[str, Any]:
        q = (q or "").strip().lower()
        if not q:
            raise InvalidInput("q is required")
        rows = self.db.query(
            "SELECT id, username, display_name, followers_count FROM users WHERE disabled = 0"
            " AND (username LIKE ? ESCAPE '!' OR lower(display_name) LIKE ? ESCAPE '!')"
            " ORDER BY followers_count DESC, username LIMIT ?",
            (_like_prefix(q), "%" + _like_escape(q) + "%", min(limit or 20, 200)),
        )
        return {
            "results": [
                {
                    "user_id": r["id"],
                    "username": r["username"],
                    "display_name": r["display_name"] or r["username"],
                    "followers_count": r["followers_count"],
                }
                for r in rows
            ]
        }


def _like_escape(text: str) -> str:
    return text.replace("!", "!!").replace("%", "!%").replace("_", "!_")


def _like_prefix(text: str) -> str:
    return _like_escape(text) + "%"
