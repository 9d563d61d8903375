"""The one answer to "may this viewer do X to this photo or album?".

Every read path (API, pages, media URLs, share links, and later search and feeds) asks here; no
other module decides visibility on its own. A viewer reaches a photo through exactly these doors:
owning it; its audience (public, or followers when the viewer follows the owner); a share to chosen
users naming the viewer, of the photo or of an album holding it; an album's own audience; or an
unlocked share link. Shares and link grants carry `view` or `download`; only `download` (or
ownership) reaches the original bytes.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from photoshare.clock import now_iso, parse_iso
from photoshare.db import Database
from photoshare.errors import NotFound, PermissionDenied
from photoshare.users.models import User

__all__ = ["Access", "Grant", "LinkContext"]


@dataclass(frozen=True, slots=True)
class Grant:
    download: bool = False
    owner: bool = False


VIEW = Grant()
DOWNLOAD = Grant(download=True)
OWNER = Grant(download=True, owner=True)


@dataclass(frozen=True, slots=True)
class LinkContext:
    """An unlocked share link: its holder sees the link's target and nothing else."""

    share_id: str
    owner_id: str
    target_type: str
    target_id: str
    download: bool


def _best(a: Grant | None, b: Grant | None) -> Grant | None:
    if a is None:
        return b
    if b is None:
        return a
    return a if (a.owner, a.download) >= (b.owner, b.download) else b


class Access:
    def __init__(self, db: Database) -> None:
        self.db = db
        # Bumped whenever access can shrink (revocation, visibility change, deletion, unfollow):
        # the media fast path caches decisions per generation, so a revocation applies at once.
        self.generation = 0
        self._lock = threading.Lock()
        self._private: dict[str, bool] = {}

    def changed(self) -> None:
        with self._lock:
            self.generation += 1
            self._private.clear()

    def owner_private(self, owner_id: str) -> bool:
        """Private accounts show even their "public" posts to approved followers only."""
        cached = self._private.get(owner_id)
        if cached is None:
            cached = bool(self.db.value("SELECT private FROM users WHERE id = ?", (owner_id,)))
            if len(self._private) > 100_000:
                self._private.clear()
            self._private[owner_id] = cached
        return cached

    def is_public(self, photo: dict[str, Any]) -> bool:
        """Anyone may see it (so its variants may be cached publicly by a CDN)."""
        return (
            photo["visibility"] == "public"
            and photo["processing_status"] == "ready"
            and not photo.get("deleted_at")
            and not self.owner_private(photo["user_id"])
        )

    def post_visible(self, viewer_id: str, photo: dict[str, Any], followees: set[str]) -> bool:
        """Fast path for feeds, whose candidates are posts of people the viewer follows (or their own).

        Agrees with photo_grant for posts: public posts of public accounts, followers posts (and all
        posts of private accounts) for accepted followers.
        """
        if photo["user_id"] == viewer_id:
            return not photo.get("deleted_at")
        if photo.get("deleted_at") or photo["processing_status"] != "ready":
            return False
        if photo["visibility"] == "public" and not self.owner_private(photo["user_id"]):
            return True
        return photo["visibility"] in ("public", "followers") and photo["user_id"] in followees

    # -- relationships -----------------------------------------------------------------------
    def follows(self, viewer_id: str, owner_id: str) -> bool:
        return bool(
            self.db.value(
                "SELECT 1 FROM follows WHERE follower_id = ? AND followee_id = ? AND status = 'accepted'",
                (viewer_id, owner_id),
            )
        )

    def _audience(self, viewer: User | None, owner_id: str, visibility: str) -> Grant | None:
        needs = {owner_id} if self._needs_follow(owner_id, visibility) else set()
        return self._audience_of(owner_id, visibility, self._followed(viewer, needs))

    def _needs_follow(self, owner_id: str, visibility: str) -> bool:
        """Whether the audience of something with this owner and visibility depends on following the owner."""
        if visibility == "public" and not self.owner_private(owner_id):
            return False  # everyone sees it: no need to ask
        return visibility in ("followers", "public")

    def _user_share(self, viewer: User | None, target_type: str, target_ids: list[str]) -> Grant | None:
        best: Grant | None = None
        for grant in self._user_shares(viewer, target_type, target_ids).values():
            best = _best(best, grant)
        return best

    # -- albums ------------------------------------------------------------------------------
    def album_grant(self, viewer: User | None, album: dict[str, Any], link: LinkContext | None = None) -> Grant | None:
        if viewer is not None and viewer.id == album["user_id"]:
            return OWNER
        grant = self._audience(viewer, album["user_id"], album["visibility"])
        grant = _best(grant, self._user_share(viewer, "album", [album["id"]]))
        if link is not None and link.target_type == "album" and link.target_id == album["id"]:
            grant = _best(grant, DOWNLOAD if link.download else VIEW)
        return grant

    def require_album_view(
        self, viewer: User | None, album: dict[str, Any] | None, link: LinkContext | None = None
    ) -> Grant:
        grant = None if album is None else self.album_grant(viewer, album, link)
        if grant is None:
            raise NotFound("no such album")
        return grant

    def require_album_edit(self, viewer: User | None, album: dict[str, Any] | None) -> dict[str, Any]:
        grant = self.require_album_view(viewer, album)
        if not grant.owner:
            raise PermissionDenied("only the owner can change this album")
        assert album is not None
        return album

    # -- photos ------------------------------------------------------------------------------
    def photo_grant(self, viewer: User | None, photo: dict[str, Any], link: LinkContext | None = None) -> Grant | None:
        """The viewer's grant on one photo; owners also see their trash and photos still processing."""
        return self.photo_grants(viewer, [photo], link).get(photo["id"])

    def photo_grants(
        self, viewer: User | None, photos: list[dict[str, Any]], link: LinkContext | None = None
    ) -> dict[str, Grant]:
        """The grant of each photo the viewer may see, keyed by id (hidden photos are left out), for a
        whole page in a handful of queries instead of a few per photo."""
        grants: dict[str, Grant] = {}
        rest: list[dict[str, Any]] = []
        for photo in photos:
            if viewer is not None and viewer.id == photo["user_id"]:
                grants[photo["id"]] = OWNER
            elif not photo.get("deleted_at") and photo["processing_status"] == "ready":
                rest.append(photo)
        if not rest:
            return grants
        followed = self._followed(
            viewer, {p["user_id"] for p in rest if self._needs_follow(p["user_id"], p["visibility"])}
        )
        shared = self._user_shares(viewer, "photo", [p["id"] for p in rest])
        found: dict[str, Grant | None] = {}
        for photo in rest:
            grant = self._audience_of(photo["user_id"], photo["visibility"], followed)
            found[photo["id"]] = _best(grant, shared.get(photo["id"]))
        # Albums can only add a view or download grant: look them up for the photos still short of download.
        short = [pid for pid, g in found.items() if g is None or not g.download]
        if short:
            marks = ",".join("?" for _ in short)
            rows = self.db.query(
                "SELECT ap.photo_id, a.id, a.user_id, a.visibility FROM album_photos ap"
                f" JOIN albums a ON a.id = ap.album_id WHERE ap.photo_id IN ({marks})",
                short,
            )
            album_owners = {r["user_id"] for r in rows if self._needs_follow(r["user_id"], r["visibility"])}
            album_followed = self._followed(viewer, album_owners - followed.keys())
            album_shared = self._user_shares(viewer, "album", list({r["id"] for r in rows}))
            for r in rows:
                if viewer is not None and viewer.id == r["user_id"]:
                    grant: Grant | None = OWNER
                else:
                    grant = _best(
                        self._audience_of(r["user_id"], r["visibility"], {**followed, **album_followed}),
                        album_shared.get(r["id"]),
                    )
                    if link is not None and link.target_type == "album" and link.target_id == r["id"]:
                        grant = _best(grant, DOWNLOAD if link.download else VIEW)
                found[r["photo_id"]] = _best(found[r["photo_id"]], grant)
        if link is not None and link.target_type == "photo" and link.target_id in found:
            found[link.target_id] = _best(found[link.target_id], DOWNLOAD if link.download else VIEW)
        grants.update({pid: g for pid, g in found.items() if g is not None})
        return grants

    def _followed(self, viewer: User | None, owner_ids: set[str]) -> dict[str, bool]:
        if viewer is None or not owner_ids:
            return dict.fromkeys(owner_ids, False)
        ids = list(owner_ids)
        marks = ",".join("?" for _ in ids)
        rows = self.db.query(
            "SELECT followee_id FROM follows WHERE follower_id = ? AND status = 'accepted'"
            f" AND followee_id IN ({marks})",
            (viewer.id, *ids),
        )
        yes = {r["followee_id"] for r in rows}
        return {i: i in yes for i in ids}

    def _audience_of(self, owner_id: str, visibility: str, followed: dict[str, bool]) -> Grant | None:
        """The audience grant, with the viewer's follow of the owner already looked up in `followed`."""
        if visibility == "public" and not self.owner_private(owner_id):
            return VIEW
        if visibility in ("followers", "public") and followed.get(owner_id):
            return VIEW
        return None

    def _user_shares(self, viewer: User | None, target_type: str, target_ids: list[str]) -> dict[str, Grant]:
        if viewer is None or not target_ids:
            return {}
        marks = ",".join("?" for _ in target_ids)
        rows = self.db.query(
            "SELECT s.target_id, s.permissions FROM shares s JOIN share_recipients r ON r.share_id = s.id"
            f" WHERE r.user_id = ? AND s.target_type = ? AND s.target_id IN ({marks}) AND s.type = 'users'"
            " AND s.revoked_at IS NULL AND (s.expires_at IS NULL OR s.expires_at > ?)",
            (viewer.id, target_type, *target_ids, now_iso()),
        )
        out: dict[str, Grant] = {}
        for r in rows:
            if r["permissions"] == "download" or r["target_id"] not in out:
                out[r["target_id"]] = DOWNLOAD if r["permissions"] == "download" else VIEW
        return out

    def can_view(self, viewer: User | None, photo: dict[str, Any], link: LinkContext | None = None) -> bool:
        return self.photo_grant(viewer, photo, link) is not None

    def can_download(self, viewer: User | None, photo: dict[str, Any], link: LinkContext | None = None) -> bool:
        grant = self.photo_grant(viewer, photo, link)
        return grant is not None and grant.download

    def can_edit(self, viewer: User | None, photo: dict[str, Any]) -> bool:
        return viewer is not None and viewer.id == photo["user_id"]

    def require_view(
        self, viewer: User | None, photo: dict[str, Any] | None, link: LinkContext | None = None
    ) -> dict[str, Any]:
        # Hidden photos are reported as missing, so ids of private photos cannot be probed.
        if photo is None or not self.can_view(viewer, photo, link):
            raise NotFound("no such photo")
        return photo

    def require_edit(self, viewer: User | None, photo: dict[str, Any] | None) -> dict[str, Any]:
        photo = self.require_view(viewer, photo)
        if not self.can_edit(viewer, photo):
            raise PermissionDenied("only the owner can change this photo")
        return photo

    # -- media capabilities --------------------------------------------------------------------
    def media_scope_allows(self, scope: str, photo_id: str, original: bool) -> tuple[bool, float]:
        """Re-check the viewer a signed media URL was minted for ("u.<user>", "s.<share>" or "p").

        Returns the answer and until when it holds without a change (the earliest expiry of a share
        it may rest on), so a cached "yes" ends when a share expires, not when something else changes.
        """
        photo = self.db.one("SELECT * FROM photos WHERE id = ?", (photo_id,))
        if photo is None:
            return False, float("inf")
        allowed = self._scope_grant(scope, photo, original)
        return allowed, self._earliest_expiry(scope, photo_id)

    def _earliest_expiry(self, scope: str, photo_id: str) -> float:
        kind, _, ident = scope.partition(".")
        if kind == "s":
            sql, params = "SELECT MIN(expires_at) FROM shares WHERE id = ?", [ident]
        elif kind == "u":
            sql = (
                "SELECT MIN(s.expires_at) FROM shares s JOIN share_recipients r ON r.share_id = s.id"
                " WHERE r.user_id = ? AND ((s.target_type = 'photo' AND s.target_id = ?) OR (s.target_type = 'album'"
                " AND s.target_id IN (SELECT album_id FROM album_photos WHERE photo_id = ?)))"
            )
            params = [ident, photo_id, photo_id]
        else:
            return float("inf")
        earliest = self.db.value(sql, params)
        return parse_iso(earliest) if earliest else float("inf")

    def _scope_grant(self, scope: str, photo: dict[str, Any], original: bool) -> bool:
        kind, _, ident = scope.partition(".")
        if kind == "p":
            grant = self.photo_grant(None, photo)
        elif kind == "u":
            row = self.db.one("SELECT * FROM users WHERE id = ? AND disabled = 0", (ident,))
            if row is None:
                return False  # disabled accounts lose their links at once
            grant = self.photo_grant(User.from_row(row), photo)
        elif kind == "s":
            link = self.active_link(ident)
            grant = None if link is None else self.photo_grant(None, photo, link)
        else:
            return False
        return grant is not None and (grant.download or not original)

    def active_link(self, share_id: str) -> LinkContext | None:
        """The link share if it is still usable (not revoked, not expired). The view limit is enforced
        when the link is opened (ShareService.open_link); media URLs minted then stay valid until they expire."""
        row = self.db.one("SELECT * FROM shares WHERE id = ? AND type = 'link'", (share_id,))
        if row is None or row["revoked_at"]:
            return None
        if row["expires_at"] and row["expires_at"] <= now_iso():
            return None
        return LinkContext(
            row["id"], row["user_id"], row["target_type"], row["target_id"], row["permissions"] == "download"
        )
