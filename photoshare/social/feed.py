"""Home timelines with hybrid fan-out, profile grids and explore.

Fan-out on write: when a post becomes visible, its id is copied into the materialised timeline of
each active follower (one INSERT … SELECT). Accounts with more than `celebrity_followers` followers
are skipped at write time and pulled at read time instead, then merged by id (ids are time-ordered,
so "newest first" is "largest id first" and a cursor is simply the last id seen). Readers who were
away longer than `inactive_days` are skipped by fan-out and rebuilt when they return.
"""

from __future__ import annotations

import heapq
import itertools
import time
from typing import Any

from photoshare.db import Database
from photoshare.errors import InvalidInput, NotFound
from photoshare.pagination import decode_cursor, encode_cursor, parse_limit
from photoshare.photos.repo import LIST_COLUMNS
from photoshare.photos.service import PhotoService
from photoshare.settings import SocialSettings
from photoshare.sharing.access import OWNER, VIEW, Access
from photoshare.social.service import FollowService
from photoshare.users.models import User

__all__ = ["NEWEST_POSTS_SQL", "POST_WHERE", "REBUILD_SQL", "FeedService"]

POST_WHERE = "visibility IN ('followers', 'public') AND processing_status = 'ready' AND deleted_at IS NULL"
"""What makes a photo a post (the partial index photos_posts covers exactly this)."""

_SEEN_EVERY_S = 300.0
_CELEBRITIES_TTL_S = 60.0
_RECENT_TTL_S = 30.0
_RECENT_KEEP = 300
_RECENT_MAX_AUTHORS = 10_000

NEWEST_POSTS_SQL = (
    f"SELECT id, user_id FROM photos INDEXED BY photos_posts WHERE user_id = ?1 AND {POST_WHERE} AND id < ?2"
    " ORDER BY id DESC LIMIT ?3"
)
"""One author's newest posts below ?2, straight off the index in order: ?3 entries read, none sorted.
(One `user_id IN (...)` for several authors would read every post they ever made and sort them.)"""
_ABOVE_ALL_IDS = "g"  # ids are lowercase hex: every one sorts below this

REBUILD_SQL = (
    "INSERT OR IGNORE INTO timelines (user_id, photo_id, author_id)"
    " SELECT ?1, id, user_id FROM ("
    "  SELECT id, user_id, ROW_NUMBER() OVER (PARTITION BY user_id ORDER BY id DESC) AS rn"
    "  FROM photos INDEXED BY photos_posts"
    "  WHERE user_id IN (SELECT ?1 UNION ALL SELECT f.followee_id FROM follows f JOIN users a ON a.id = f.followee_id"
    "                    WHERE f.follower_id = ?1 AND f.status = 'accepted' AND a.followers_count <= ?2)"
    f"   AND {POST_WHERE}"
    " ) WHERE rn <= ?3 ORDER BY id DESC LIMIT ?4"
)
"""A whole timeline in one statement: ?1 reader, ?2 celebrity threshold, ?3 posts per author, ?4 length.
Posts are read from the covering partial index photos_posts alone (left to itself, the planner picks
photos_user_timeline and reads one table row per post)."""


class FeedService:
    def __init__(
        self, db: Database, access: Access, follows: FollowService, photos: PhotoService, settings: SocialSettings
    ) -> None:
        self.db = db
        self.access = access
        self.follows = follows
        self.photos = photos
        self.settings = settings
        self._celebrity_ids: frozenset[str] = frozenset()
        self._celebrities_at = float("-inf")
        self._celebrities_generation = -1
        # Celebrity id -> (monotonic time read, its newest posts as (id, author) rows, newest first).
        self._recent: dict[str, tuple[float, list[tuple[Any, ...]]]] = {}

    # -- writes (run as jobs) -------------------------------------------------------------------
    def fan_out(self, photo_id: str) -> int:
        """Copy a post into its followers' timelines; returns how many timelines got it."""
        post = self.db.one(f"SELECT id, user_id FROM photos WHERE id = ? AND {POST_WHERE}", (photo_id,))
        if post is None:
            return 0  # not (or no longer) a post: reads filter it out anyway
        author = post["user_id"]
        with self.db.transaction():
            self.db.execute(
                "INSERT OR IGNORE INTO timelines (user_id, photo_id, author_id) VALUES (?, ?, ?)",
                (author, photo_id, author),
            )
            if not self._is_celebrity(author):
                active_since = time.time() - self.settings.inactive_days * 86400
                return 1 + self.db.execute(
                    "INSERT OR IGNORE INTO timelines (user_id, photo_id, author_id)"
                    " SELECT f.follower_id, ?, ? FROM follows f JOIN users u ON u.id = f.follower_id"
                    " WHERE f.followee_id = ? AND f.status = 'accepted' AND u.last_seen_at >= ?",
                    (photo_id, author, author, active_since),
                )
        # Readers pull it: from the index, not from the list kept before it was a post. Dropped after the
        # commit; a read racing the commit may keep the old list, for _RECENT_TTL_S at most.
        self._recent.pop(author, None)
        return 1

    def backfill(self, follower_id: str, followee_id: str) -> int:
        """A new follow: the followee's recent posts enter the follower's timeline."""
        if self._is_celebrity(followee_id):
            return 0  # pulled at read time
        return self.db.execute(
            "INSERT OR IGNORE INTO timelines (user_id, photo_id, author_id)"
            f" SELECT ?, id, user_id FROM photos INDEXED BY photos_posts WHERE user_id = ? AND {POST_WHERE}"
            " ORDER BY id DESC LIMIT ?",
            (follower_id, followee_id, self.settings.backfill_posts),
        )

    def forget(self, follower_id: str, followee_id: str) -> int:
        """An unfollow: drop the followee's posts from the timeline (reads already skip them)."""
        if self.follows.status(follower_id, followee_id) == "accepted":
            return 0  # followed again in the meantime
        return self.db.execute("DELETE FROM timelines WHERE user_id = ? AND author_id = ?", (follower_id, followee_id))

    def rebuild(self, user_id: str) -> int:
        """Build a timeline from scratch in one statement: the reader's own recent posts and those of
        everyone they follow (celebrities excepted: they are pulled at read time)."""
        with self.db.transaction():
            self.db.execute("DELETE FROM timelines WHERE user_id = ?", (user_id,))
            n = self.db.execute(
                REBUILD_SQL,
                (
                    user_id,
                    self.settings.celebrity_followers,
                    self.settings.backfill_posts,
                    self.settings.timeline_length,
                ),
            )
            self.db.execute("UPDATE users SET timeline_built_at = ? WHERE id = ?", (time.time(), user_id))
        return n

    def trim(self, user_id: str | None = None, batch: int = 500) -> int:
        """Keep the newest `timeline_length` entries per timeline, a few hundred timelines per short
        transaction so other writers never wait long."""
        users = (
            [user_id] if user_id else [r["user_id"] for r in self.db.query("SELECT DISTINCT user_id FROM timelines")]
        )
        removed = 0
        for i in range(0, len(users), batch):
            with self.db.transaction():
                for uid in users[i : i + batch]:
                    removed += self.db.execute(
                        "DELETE FROM timelines WHERE user_id = ?1 AND photo_id < (SELECT photo_id FROM timelines"
                        " WHERE user_id = ?1 ORDER BY photo_id DESC LIMIT 1 OFFSET ?2)",
                        (uid, self.settings.timeline_length - 1),
                    )
        return removed

    def _is_celebrity(self, user_id: str) -> bool:
        count = self.db.value("SELECT followers_count FROM users WHERE id = ?", (user_id,)) or 0
        return int(count) > self.settings.celebrity_followers

    # -- reads --------------------------------------------------------------------------------
    def _touch(self, viewer: User) -> None:
        """Note the reader as active; rebuild the timeline of one returning after a long absence."""
        row = self.db.one("SELECT last_seen_at, timeline_built_at FROM users WHERE id = ?", (viewer.id,))
        now = time.time()
        if row is None or now - row["last_seen_at"] < _SEEN_EVERY_S:
            return
        away = now - row["last_seen_at"] > self.settings.inactive_days * 86400
        with self.db.transaction():  # one commit for both writes
            self.db.execute("UPDATE users SET last_seen_at = ? WHERE id = ?", (now, viewer.id))
            if away or not row["timeline_built_at"]:
                self.rebuild(viewer.id)

    def home(self, viewer: User, *, cursor: str | None, limit: int | None) -> dict[str, Any]:
        """One page of the home feed: the materialised timeline merged with celebrities' posts."""
        n = parse_limit(limit)
        before = decode_cursor(cursor)
        self._touch(viewer)
        followees = self.follows.followees(viewer.id)
        celebrities = self._celebrities(followees)
        window = n + 20
        page: list[dict[str, Any]] = []
        exhausted = False
        # Both sources are read newest-first in windows. When a window is full, ids below its last one
        # are not known yet, so only ids at or above the highest such boundary are used this round.
        readable = followees | {viewer.id}
        for _ in range(10):
            entries = self._timeline_entries(viewer.id, before, window)
            pulled = self._posts_of(celebrities, before, window) if celebrities else []
            full = [source[-1][0] for source in (entries, pulled) if len(source) == window]
            # Entries of authors no longer followed are skipped before any photo row is read.
            ids = sorted({i for i, author in entries if author in readable} | {i for i, _ in pulled}, reverse=True)
            if full:
                boundary = max(full)
                ids = [i for i in ids if i >= boundary]
            start = 0
            while start < len(ids) and len(page) <= n:
                # Rows for the rest of the page and one more (it tells whether another page follows),
                # with a couple to spare for posts that drop out here: no row is loaded in vain.
                take = n + 3 - len(page)
                page += [
                    r
                    for r in self.photos.repo.get_many(ids[start : start + take], LIST_COLUMNS)
                    if self._in_feed(viewer.id, r, followees)
                ]
                start += take
            if not full:
                exhausted = True
                break
            before = min(full + ids) if ids else max(full)
            if len(page) > n:
                break
        items = page[:n]
        if len(page) > n:
            next_cursor: str | None = encode_cursor(items[-1]["id"])
        elif exhausted or before is None:
            next_cursor = None
        else:
            next_cursor = encode_cursor(before)  # scanned this far without filling the page; more may follow
        # Every item passed _in_feed (the access module's post rule), so its grant is known: no per-photo
        # access queries while shaping the page.
        grants = {r["id"]: OWNER if r["user_id"] == viewer.id else VIEW for r in items}
        return {"items": self.photos.to_api(viewer, items, grants=grants), "next_cursor": next_cursor}

    def _in_feed(self, viewer_id: str, photo: dict[str, Any], followees: set[str]) -> bool:
        """Still a post (ready, shown to followers or public), by someone followed (or the reader), and
        visible to the reader: timeline rows of unfollowed authors or changed posts drop out here."""
        return (
            photo["visibility"] in ("followers", "public")
            and photo["processing_status"] == "ready"
            and not photo["deleted_at"]
            and (photo["user_id"] == viewer_id or photo["user_id"] in followees)
            and self.access.post_visible(viewer_id, photo, followees)
        )

    def _timeline_entries(self, user_id: str, before: str | None, limit: int) -> list[tuple[Any, ...]]:
        return self.db.tuples(
            f"SELECT photo_id, author_id FROM timelines WHERE user_id = ? {'AND photo_id < ?' if before else ''}"
            " ORDER BY photo_id DESC LIMIT ?",
            (user_id, *([before] if before else []), limit),
        )

    def _posts_of(self, authors: list[str], before: str | None, limit: int) -> list[tuple[Any, ...]]:
        """The newest posts of these (celebrity) authors below `before`, newest first."""
        newest = (self._newest_of(author, before, limit) for author in authors)
        return list(itertools.islice(heapq.merge(*newest, reverse=True), limit))

    def _newest_of(self, author: str, before: str | None, limit: int) -> list[tuple[Any, ...]]:
        """One author's newest posts below `before`. A celebrity's are read by every follower's home page,
        so their newest few hundred are kept for a short while; fan_out drops them when a new post
        appears, and reads re-check every row, so a post deleted meanwhile never shows."""
        now = time.monotonic()
        kept = self._recent.get(author)
        if kept is None or now - kept[0] > _RECENT_TTL_S:
            if len(self._recent) > _RECENT_MAX_AUTHORS:
                self._recent.clear()
            kept = self._recent[author] = (now, self._query_newest(author, None, _RECENT_KEEP))
        rows = kept[1]
        start = 0 if before is None else next((i for i, r in enumerate(rows) if r[0] < before), len(rows))
        part = rows[start : start + limit]
        if len(part) == limit or len(rows) < _RECENT_KEEP:
            return part  # enough, or the author has no more posts than those kept
        return self._query_newest(author, before, limit)  # deeper than kept: a late page

    def _query_newest(self, author: str, before: str | None, limit: int) -> list[tuple[Any, ...]]:
        return self.db.tuples(NEWEST_POSTS_SQL, (author, before or _ABOVE_ALL_IDS, limit))

    def spread(self, author_id: str) -> int:
        """An account fell back below the celebrity threshold: its recent posts, never fanned out,
        enter its active followers' timelines now (reads stop pulling it)."""
        active_since = time.time() - self.settings.inactive_days * 86400
        return self.db.execute(
            "INSERT OR IGNORE INTO timelines (user_id, photo_id, author_id)"
            " SELECT f.follower_id, p.id, p.user_id FROM follows f JOIN users u ON u.id = f.follower_id"
            " JOIN (SELECT id, user_id FROM photos INDEXED BY photos_posts"
            f" WHERE user_id = ? AND {POST_WHERE} ORDER BY id DESC LIMIT ?) p"
            " WHERE f.followee_id = ? AND f.status = 'accepted' AND u.last_seen_at >= ?",
            (author_id, self.settings.backfill_posts, author_id, active_since),
        )

    def _celebrities(self, followees: set[str]) -> list[str]:
        """The followed accounts whose posts are pulled at read time. The set is cached until a follow
        changes (they bump the access generation) or a minute passes."""
        now = time.monotonic()
        generation = self.access.generation
        if now - self._celebrities_at > _CELEBRITIES_TTL_S or generation != self._celebrities_generation:
            rows = self.db.query("SELECT id FROM users WHERE followers_count > ?", (self.settings.celebrity_followers,))
            self._celebrity_ids = frozenset(r["id"] for r in rows)
            self._celebrities_at = now
            self._celebrities_generation = generation
        return sorted(self._celebrity_ids & followees)

    def profile_posts(
        self, viewer: User | None, user_id: str, *, cursor: str | None, limit: int | None
    ) -> dict[str, Any]:
        owner = self.db.one("SELECT id, private FROM users WHERE id = ? AND disabled = 0", (user_id,))
        if owner is None:
            raise NotFound("no such user")
        n = parse_limit(limit)
        before = decode_cursor(cursor)
        is_owner = viewer is not None and viewer.id == user_id
        following = viewer is not None and self.access.follows(viewer.id, user_id)
        if is_owner or following:
            where = POST_WHERE
        elif owner["private"]:
            return {"items": [], "next_cursor": None, "private": True}
        else:
            where = "visibility = 'public' AND processing_status = 'ready' AND deleted_at IS NULL"
        rows = self.db.query(
            f"SELECT * FROM photos WHERE user_id = ? AND {where} {'AND id < ?' if before else ''}"
            " ORDER BY id DESC LIMIT ?",
            (user_id, *([before] if before else []), n + 1),
        )
        page = rows[:n]
        return {
            "items": self.photos.to_api(viewer, page),
            "next_cursor": encode_cursor(page[-1]["id"]) if len(rows) > n else None,
            "private": bool(owner["private"]),
        }

    def explore(self, viewer: User | None, *, sort: str, cursor: str | None, limit: int | None) -> dict[str, Any]:
        """Public posts of public accounts: the newest, or the most engaging of the last week."""
        n = parse_limit(limit)
        base = (
            "SELECT p.* FROM photos p JOIN users u ON u.id = p.user_id WHERE p.visibility = 'public'"
            " AND p.processing_status = 'ready' AND p.deleted_at IS NULL AND u.private = 0 AND u.disabled = 0"
        )
        if sort == "recent":
            before = decode_cursor(cursor)
            rows = self.db.query(
                f"{base} {'AND p.id < ?' if before else ''} ORDER BY p.id DESC LIMIT ?",
                (*([before] if before else []), n + 1),
            )
            page = rows[:n]
            next_cursor = encode_cursor(page[-1]["id"]) if len(rows) > n else None
        elif sort == "popular":
            import re

            offset = int(decode_cursor(cursor, re.compile(r"\d{1,6}")) or 0)
            week_ago = _id_floor(time.time() - 7 * 86400)
            candidates = self.db.query(f"{base} AND p.id >= ? ORDER BY p.id DESC LIMIT 2000", (week_ago,))
            now_ms = time.time() * 1000
            # Engagement decays with age (hours), so a fresh post with a few likes beats last week's.
            ranked = sorted(
                candidates,
                key=lambda r: (
                    -(r["like_count"] + 2 * r["comment_count"] + 1)
                    / ((now_ms - int(r["id"][:12], 16)) / 3_600_000 + 2) ** 1.5
                ),
            )
            page = ranked[offset : offset + n]
            next_cursor = encode_cursor(str(offset + n)) if len(ranked) > offset + n else None
        else:
            raise InvalidInput("sort must be recent or popular")
        return {"items": self.photos.to_api(viewer, page), "next_cursor": next_cursor}


def _id_floor(ts: float) -> str:
    """The smallest id created at or after `ts` (ids start with their creation time in ms)."""
    return f"{int(ts * 1000):012x}" + "0" * 20
