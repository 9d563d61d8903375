"""Album rules: who may see or change an album, its ordered photos, cover and audience."""

from __future__ import annotations

import re
from typing import Any

from photoshare.albums.repo import AlbumRepo
from photoshare.db import Database
from photoshare.errors import Conflict, InvalidInput
from photoshare.pagination import decode_cursor, encode_cursor, parse_limit
from photoshare.photos.repo import PhotoRepo
from photoshare.photos.service import VISIBILITIES, PhotoService
from photoshare.sharing.access import OWNER, Access, Grant, LinkContext
from photoshare.users.models import User

__all__ = ["AlbumService"]

_POSITION = re.compile(r"^\d{1,12}$")


def _text(value: Any, name: str, limit: int, *, required: bool = False) -> str:
    if not isinstance(value, str):
        raise InvalidInput(f"{name} must be a string")
    value = value.strip()
    if required and not value:
        raise InvalidInput(f"{name} must not be empty")
    if len(value) > limit:
        raise InvalidInput(f"{name} must be at most {limit} characters")
    return value


def _ids(value: Any) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value) or len(value) > 10_000:
        raise InvalidInput("photo_ids must be a list of photo ids")
    return list(dict.fromkeys(value))


class AlbumService:
    def __init__(
        self, db: Database, repo: AlbumRepo, photo_repo: PhotoRepo, photos: PhotoService, access: Access
    ) -> None:
        self.db = db
        self.repo = repo
        self.photo_repo = photo_repo
        self.photos = photos
        self.access = access

    # -- albums ------------------------------------------------------------------------------
    def create(self, viewer: User, data: dict[str, Any]) -> dict[str, Any]:
        title = _text(data.get("title", ""), "title", 200, required=True)
        description = _text(data.get("description", ""), "description", 10_000)
        visibility = data.get("visibility", "private")
        if visibility not in VISIBILITIES:
            raise InvalidInput(f"visibility must be one of {', '.join(VISIBILITIES)}")
        album = self.repo.insert(viewer.id, title, description, visibility)
        if data.get("photo_ids"):
            self._add(viewer, album, _ids(data["photo_ids"]))
        return self.get(viewer, album["id"])

    def get(self, viewer: User | None, album_id: str, link: LinkContext | None = None) -> dict[str, Any]:
        album = self.repo.get(album_id)
        grant = self.access.require_album_view(viewer, album, link)
        assert album is not None
        return self.to_api(viewer, [album], grant, link)[0]

    def list_own(self, viewer: User, *, cursor: str | None, limit: int | None) -> dict[str, Any]:
        page = self.repo.list_for_owner(viewer.id, cursor=cursor, limit=limit)
        return {"items": self.to_api(viewer, page.rows, OWNER), "next_cursor": page.next_cursor}

    def update(self, viewer: User, album_id: str, changes: dict[str, Any]) -> dict[str, Any]:
        album = self.access.require_album_edit(viewer, self.repo.get(album_id))
        allowed = {"title", "description", "visibility", "cover_photo_id", "photo_ids", "version"}
        unknown = set(changes) - allowed
        if unknown:
            raise InvalidInput(f"cannot change {', '.join(sorted(unknown))}")
        if "version" in changes and changes["version"] != album["version"]:
            raise Conflict("the album changed since you loaded it; reload and try again", code="stale_version")
        fields: dict[str, Any] = {}
        if "title" in changes:
            fields["title"] = _text(changes["title"], "title", 200, required=True)
        if "description" in changes:
            fields["description"] = _text(changes["description"], "description", 10_000)
        if "visibility" in changes:
            if changes["visibility"] not in VISIBILITIES:
                raise InvalidInput(f"visibility must be one of {', '.join(VISIBILITIES)}")
            fields["visibility"] = changes["visibility"]
        in_album = self.repo.photo_ids(album_id, include_trashed=False)
        if "cover_photo_id" in changes:
            cover = changes["cover_photo_id"]
            if cover is not None and cover not in in_album:
                raise InvalidInput("the cover must be a photo in this album")
            fields["cover_photo_id"] = cover
        order = None
        if "photo_ids" in changes:
            order = _ids(changes["photo_ids"])
            if sorted(order) != sorted(in_album):
                raise InvalidInput("photo_ids must list every photo of the album exactly once, in the new order")
            # Photos in the trash are not listed to clients; they keep their relative order at the end.
            shown = set(order)
            order += [p for p in self.repo.photo_ids(album_id) if p not in shown]
        with self.db.transaction():
            if order is not None:
                self.repo.set_order(album_id, order)
            self.repo.update(album_id, **fields)
            if fields.get("visibility", album["visibility"]) != album["visibility"]:
                self.photos.reindex(self.repo.photo_ids(album_id))  # the album's audience is in their documents
        self.access.changed()
        return self.get(viewer, album_id)

    def delete(self, viewer: User, album_id: str) -> None:
        """Delete the album (its photos stay in their owners' libraries) and every share of it."""
        self.access.require_album_edit(viewer, self.repo.get(album_id))
        with self.db.transaction():
            self.photos.reindex(self.repo.photo_ids(album_id))
            self.db.execute("DELETE FROM shares WHERE target_type = 'album' AND target_id = ?", (album_id,))
            self.repo.delete(album_id)
        self.access.changed()

    # -- photos ------------------------------------------------------------------------------
    def _add(self, viewer: User, album: dict[str, Any], photo_ids: list[str]) -> dict[str, Any]:
        own, skipped = [], []
        for photo_id in photo_ids:
            photo = self.photo_repo.get(photo_id)
            if photo is not None and photo["user_id"] == viewer.id and not photo["deleted_at"]:
                own.append(photo_id)
            else:
                skipped.append(photo_id)  # only your own photos can be added
        with self.db.transaction():
            added = self.repo.add_photos(album["id"], album["user_id"], viewer.id, own)
            if added:
                self.repo.update(album["id"])
                if album["cover_photo_id"] is None:
                    self.repo.update(album["id"], bump=False, cover_photo_id=added[0])
                self.photos.reindex(added)
        self.access.changed()
        return {"added": added, "skipped": skipped}

    def add_photos(self, viewer: User, album_id: str, photo_ids: Any) -> dict[str, Any]:
        album = self.access.require_album_edit(viewer, self.repo.get(album_id))
        result = self._add(viewer, album, _ids(photo_ids))
        return {**result, "album": self.get(viewer, album_id)}

    def remove_photos(self, viewer: User, album_id: str, photo_ids: Any) -> dict[str, Any]:
        self.access.require_album_edit(viewer, self.repo.get(album_id))
        ids = _ids(photo_ids)
        with self.db.transaction():
            removed = self.repo.remove_photos(album_id, ids)
            if removed:
                self.repo.update(album_id)
                self.photos.reindex(ids)
        self.access.changed()
        return {"removed": removed, "album": self.get(viewer, album_id)}

    def photos_page(
        self,
        viewer: User | None,
        album_id: str,
        *,
        cursor: str | None,
        limit: int | None,
        link: LinkContext | None = None,
    ) -> dict[str, Any]:
        album = self.repo.get(album_id)
        grant = self.access.require_album_view(viewer, album, link)
        n = parse_limit(limit)
        after = decode_cursor(cursor, _POSITION)
        rows = self.repo.photos(album_id, after_position=int(after) if after else None, limit=n + 1)
        more = len(rows) > n
        rows = rows[:n]
        if not grant.owner:
            rows = [r for r in rows if r["processing_status"] == "ready"]
        grants: dict[str, Grant] = {
            r["id"]: OWNER if viewer is not None and r["user_id"] == viewer.id else grant for r in rows
        }
        return {
            "photos": self.photos.to_api(viewer, rows, grants=grants, link=link),
            "next_cursor": encode_cursor(f"{rows[-1]['position']:012d}") if more and rows else None,
            "total": self.repo.photo_counts([album_id])[album_id],
        }

    # -- shaping -----------------------------------------------------------------------------
    def to_api(
        self, viewer: User | None, albums: list[dict[str, Any]], grant: Grant, link: LinkContext | None = None
    ) -> list[dict[str, Any]]:
        counts = self.repo.photo_counts([a["id"] for a in albums])
        out = []
        for a in albums:
            cover = None
            if a["cover_photo_id"]:
                photo = self.photo_repo.get(a["cover_photo_id"])
                if photo is not None and not photo["deleted_at"]:
                    own = viewer is not None and photo["user_id"] == viewer.id
                    cover = self.photos.to_api(
                        viewer, [photo], grants={photo["id"]: OWNER if own else grant}, link=link
                    )[0]["urls"]["thumb"]
            out.append(
                {
                    "album_id": a["id"],
                    "user_id": a["user_id"],
                    "title": a["title"],
                    "description": a["description"],
                    "visibility": a["visibility"],
                    "cover_photo_id": a["cover_photo_id"],
                    "cover_url": cover,
                    "photo_count": counts.get(a["id"], 0),
                    "version": a["version"],
                    "created_at": a["created_at"],
                    "updated_at": a["updated_at"],
                    "permissions": {"edit": grant.owner, "download": grant.download},
                }
            )
        return out
