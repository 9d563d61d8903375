"""Shares of photos and albums: links (optional password, expiry, view limit), chosen users, public.

Creating and revoking shares lives here; deciding what a share allows lives in access.py.
"""

from __future__ import annotations

import secrets
import time
from typing import Any

from photoshare.albums.repo import AlbumRepo
from photoshare.clock import now_iso, parse_user_datetime, to_iso
from photoshare.db import Database
from photoshare.errors import Gone, InvalidInput, NotAuthenticated, NotFound, PermissionDenied
from photoshare.ids import new_id
from photoshare.pagination import newest_first
from photoshare.photos.repo import PhotoRepo
from photoshare.photos.service import PhotoService
from photoshare.sharing.access import Access, LinkContext
from photoshare.signing import Signer
from photoshare.users.models import User

__all__ = ["ShareService"]

LINK_PATH = "/s/"


class ShareService:
    def __init__(
        self,
        db: Database,
        access: Access,
        photo_repo: PhotoRepo,
        album_repo: AlbumRepo,
        photos: PhotoService,
        signer: Signer,
        base_url: str,
    ) -> None:
        self.db = db
        self.access = access
        self.photo_repo = photo_repo
        self.album_repo = album_repo
        self.photos = photos
        self.signer = signer
        self.base_url = base_url.rstrip("/")

    # -- helpers -------------------------------------------------------------------------------
    def _target(self, viewer: User, target_type: str, target_id: str) -> dict[str, Any]:
        if target_type == "photo":
            photo = self.access.require_edit(viewer, self.photo_repo.get(target_id))
            if photo["deleted_at"]:
                raise InvalidInput("restore the photo from the trash before sharing it")
            return photo
        return self.access.require_album_edit(viewer, self.album_repo.get(target_id))

    def _set_visibility(self, target_type: str, target_id: str, visibility: str) -> None:
        table = "photos" if target_type == "photo" else "albums"
        self.db.execute(
            f"UPDATE {table} SET visibility = ?, updated_at = ? WHERE id = ?", (visibility, now_iso(), target_id)
        )
        if target_type == "photo":
            self.photos.invalidate(target_id)
        else:
            self.photos.reindex(self.album_repo.photo_ids(target_id))  # the album's audience is in their documents

    def _page_url(self, target_type: str, target_id: str) -> str:
        return f"{self.base_url}/{'photos' if target_type == 'photo' else 'albums'}/{target_id}"

    @staticmethod
    def _hasher() -> Any:
        from photoshare.users import service as users_service

        return users_service.PASSWORD_HASHER

    # -- create and revoke --------------------------------------------------------------------
    def create(self, viewer: User, target_type: str, target_id: str, data: dict[str, Any]) -> dict[str, Any]:
        target = self._target(viewer, target_type, target_id)
        kind = data.get("type", "link")
        permissions = data.get("permissions", "view")
        if kind not in ("link", "users", "public"):
            raise InvalidInput("type must be link, users or public")
        if permissions not in ("view", "download"):
            raise InvalidInput("permissions must be view or download")
        expires_at = _future_iso(data.get("expires_at"))
        password = data.get("password")
        if password is not None and (not isinstance(password, str) or not 4 <= len(password) <= 200):
            raise InvalidInput("password must be 4-200 characters")
        max_views = data.get("max_views")
        if max_views is not None and (not isinstance(max_views, int) or isinstance(max_views, bool) or max_views < 1):
            raise InvalidInput("max_views must be a positive integer")
        if kind != "link" and (password is not None or max_views is not None):
            raise InvalidInput("password and max_views apply to link shares only")
        recipients: list[str] = []
        if kind == "users":
            recipients = self._recipients(viewer, data.get("user_ids"))
        share_id = new_id()
        token = secrets.token_urlsafe(18) if kind == "link" else None
        with self.db.transaction():
            self.db.execute(
                "INSERT INTO shares (id, user_id, target_type, target_id, type, permissions, token, password_hash,"
                " expires_at, max_views, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    share_id,
                    viewer.id,
                    target_type,
                    target_id,
                    kind,
                    permissions,
                    token,
                    self._hasher().hash(password) if password else None,
                    expires_at,
                    max_views,
                    now_iso(),
                ),
            )
            for user_id in recipients:
                self.db.execute(
                    "INSERT INTO share_recipients (share_id, user_id, owner_id) VALUES (?, ?, ?)",
                    (share_id, user_id, viewer.id),
                )
            if kind == "public":
                self._set_visibility(target_type, target_id, "public")
            elif kind == "users" and target["visibility"] == "private":
                self._set_visibility(target_type, target_id, "shared")
        self.access.changed()
        url = f"{self.base_url}{LINK_PATH}{token}" if token else self._page_url(target_type, target_id)
        return {
            "share_id": share_id,
            "share_url": url,
            "type": kind,
            "permissions": permissions,
            "expires_at": expires_at,
            "max_views": max_views,
            "user_ids": recipients,
        }

    def _recipients(self, viewer: User, user_ids: Any) -> list[str]:
        if not isinstance(user_ids, list) or not user_ids or not all(isinstance(u, str) for u in user_ids):
            raise InvalidInput("user_ids must list the users to share with")
        ids = list(dict.fromkeys(user_ids))
        for user_id in ids:
            if user_id == viewer.id:
                raise InvalidInput("you cannot share with yourself")
            if not self.db.value("SELECT 1 FROM users WHERE id = ? AND disabled = 0", (user_id,)):
                raise InvalidInput(f"no such user {user_id}")
        return ids

    def revoke(self, viewer: User, share_id: str) -> None:
        share = self.db.one("SELECT * FROM shares WHERE id = ?", (share_id,))
        if share is None or share["user_id"] != viewer.id or share["revoked_at"]:
            raise NotFound("no such share")
        table = "photos" if share["target_type"] == "photo" else "albums"
        with self.db.transaction():
            self.db.execute("UPDATE shares SET revoked_at = ? WHERE id = ?", (now_iso(), share_id))
            others = self.db.value(
                "SELECT COUNT(*) FROM shares WHERE target_type = ? AND target_id = ? AND type = ?"
                " AND revoked_at IS NULL",
                (share["target_type"], share["target_id"], share["type"]),
            )
            current = self.db.value(f"SELECT visibility FROM {table} WHERE id = ?", (share["target_id"],))
            # Undo what the share itself changed, unless another share of the same kind still needs it.
            if not others and (share["type"], current) in (("public", "public"), ("users", "shared")):
                self._set_visibility(share["target_type"], share["target_id"], "private")
        if share["target_type"] == "photo":
            self.photos.invalidate(share["target_id"])
        self.access.changed()

    def list_mine(self, viewer: User, *, cursor: str | None, limit: int | None) -> dict[str, Any]:
        page = newest_first(
            self.db,
            "SELECT * FROM shares WHERE user_id = ? AND revoked_at IS NULL",
            [viewer.id],
            cursor=cursor,
            limit=limit,
        )
        return {"items": self._shape(page.rows), "next_cursor": page.next_cursor}

    def for_target(self, viewer: User, target_type: str, target_id: str) -> list[dict[str, Any]]:
        """The viewer's active shares of one photo or album, newest first (the share dialog lists them)."""
        rows = self.db.query(
            "SELECT * FROM shares WHERE user_id = ? AND target_type = ? AND target_id = ? AND revoked_at IS NULL"
            " ORDER BY id DESC",
            (viewer.id, target_type, target_id),
        )
        return self._shape(rows)

    def _shape(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        items = []
        for r in rows:
            recipients = self.db.query(
                "SELECT r.user_id, u.username FROM share_recipients r JOIN users u ON u.id = r.user_id"
                " WHERE r.share_id = ? ORDER BY u.username",
                (r["id"],),
            )
            items.append(
                {
                    "share_id": r["id"],
                    "type": r["type"],
                    "permissions": r["permissions"],
                    "target_type": r["target_type"],
                    "target_id": r["target_id"],
                    "share_url": f"{self.base_url}{LINK_PATH}{r['token']}"
                    if r["token"]
                    else self._page_url(r["target_type"], r["target_id"]),
                    "has_password": r["password_hash"] is not None,
                    "expires_at": r["expires_at"],
                    "max_views": r["max_views"],
                    "view_count": r["view_count"],
                    "user_ids": [x["user_id"] for x in recipients],
                    "usernames": [x["username"] for x in recipients],
                    "created_at": r["created_at"],
                }
            )
        return items

    def shared_with_me(self, viewer: User, *, cursor: str | None, limit: int | None) -> dict[str, Any]:
        sql = (
            "SELECT s.*, u.username AS shared_by FROM share_recipients r JOIN shares s ON s.id = r.share_id"
            " JOIN users u ON u.id = s.user_id WHERE r.user_id = ? AND s.revoked_at IS NULL"
            " AND (s.expires_at IS NULL OR s.expires_at > ?)"
        )
        page = newest_first(self.db, sql, [viewer.id, now_iso()], cursor=cursor, limit=limit, column="s.id")
        items = []
        for r in page.rows:
            item: dict[str, Any] = {
                "share_id": r["id"],
                "type": r["target_type"],
                "permissions": r["permissions"],
                "shared_by": r["shared_by"],
                "shared_at": r["created_at"],
            }
            if r["target_type"] == "photo":
                photo = self.photo_repo.get(r["target_id"])
                if photo is None or not self.access.can_view(viewer, photo):
                    continue
                item["photo"] = self.photos.to_api(viewer, [photo])[0]
            else:
                album = self.album_repo.get(r["target_id"])
                if album is None:
                    continue
                item["album"] = {"album_id": album["id"], "title": album["title"], "description": album["description"]}
            items.append(item)
        return {"items": items, "next_cursor": page.next_cursor}

    # -- links ---------------------------------------------------------------------------------
    def unlock_value(self, share: dict[str, Any]) -> str:
        """Cookie value proving the link's password was given (changes if the password does)."""
        return self.signer.mac("link-unlock", f"{share['id']}:{share['password_hash']}", 32)

    def find_link(self, token: str) -> dict[str, Any]:
        share = self.db.one("SELECT * FROM shares WHERE token = ? AND type = 'link'", (token,)) if token else None
        if share is None or share["revoked_at"]:
            raise NotFound("this link does not exist or has been revoked", code="link_not_found")
        if share["expires_at"] and share["expires_at"] <= now_iso():
            raise Gone("this link has expired", code="link_expired")
        return share

    def view_pass(self, share_id: str) -> str:
        """Proof of a counted view, so its holder can page through the link for an hour without
        spending more views (and nobody can read an exhausted link without one)."""
        return self.signer.dumps("link-pass", {"s": share_id, "exp": int(time.time()) + 3600})

    def _has_pass(self, share_id: str, view_pass: str | None) -> bool:
        if not view_pass:
            return False
        try:
            return self.signer.loads("link-pass", view_pass).get("s") == share_id
        except PermissionDenied:
            return False

    def open_link(
        self,
        token: str,
        *,
        password: str | None = None,
        unlock: str | None = None,
        count_view: bool = True,
        view_pass: str | None = None,
    ) -> tuple[dict[str, Any], LinkContext]:
        """Check a link (and its password), count a view (or check the view pass), return what it grants."""
        share = self.find_link(token)
        if share["password_hash"]:
            unlocked = unlock is not None and secrets.compare_digest(unlock, self.unlock_value(share))
            if not unlocked:
                if not password:
                    raise NotAuthenticated("this link is protected by a password", code="password_required")
                try:
                    self._hasher().verify(share["password_hash"], password)
                except Exception:
                    raise PermissionDenied("wrong password for this link", code="bad_password") from None
        exhausted = Gone("this link has been viewed the maximum number of times", code="link_exhausted")
        if count_view:
            counted = self.db.execute(
                "UPDATE shares SET view_count = view_count + 1 WHERE id = ?"
                " AND (max_views IS NULL OR view_count < max_views)",
                (share["id"],),
            )
            if not counted:
                raise exhausted
        elif (
            share["max_views"] is not None
            and share["view_count"] >= share["max_views"]
            and not self._has_pass(share["id"], view_pass)
        ):
            raise exhausted
        link = self.access.active_link(share["id"])
        if link is None:
            raise NotFound("this link does not exist or has been revoked", code="link_not_found")
        return share, link


def _future_iso(value: Any) -> str | None:
    when = parse_user_datetime(value, "expires_at")
    if when is None:
        return None
    stamp = to_iso(when.timestamp())
    if stamp <= now_iso():
        raise InvalidInput("expires_at must be in the future")
    return stamp
