"""Photo rules: ingesting an original, reading and editing photos, shaping them for clients."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from photoshare.clock import now_iso, parse_user_datetime
from photoshare.db import Database
from photoshare.delivery.urls import MediaUrls
from photoshare.errors import Conflict, InvalidInput, NotFound
from photoshare.ids import new_id
from photoshare.jobs.queue import JobQueue
from photoshare.photos.repo import PhotoRepo
from photoshare.sharing.access import OWNER, Access, Grant, LinkContext
from photoshare.users.models import User

__all__ = ["PhotoMeta", "PhotoService", "normalise_tags"]

VISIBILITIES = ("private", "followers", "shared", "public")
_TAG = re.compile(r"^[\w][\w .:'-]{0,49}$", re.UNICODE)


@dataclass(slots=True)
class PhotoMeta:
    """What the uploader says about a photo when confirming it."""

    title: str = ""
    description: str = ""
    visibility: str = "private"
    tags: list[str] | None = None
    location: str | None = None

    def validate(self) -> PhotoMeta:
        if len(self.title) > 200:
            raise InvalidInput("title must be at most 200 characters")
        if len(self.description) > 10_000:
            raise InvalidInput("description must be at most 10000 characters")
        if self.visibility not in VISIBILITIES:
            raise InvalidInput(f"visibility must be one of {', '.join(VISIBILITIES)}")
        self.tags = normalise_tags(self.tags or [])
        if self.location is not None and len(self.location) > 200:
            raise InvalidInput("location must be at most 200 characters")
        return self


def normalise_tags(tags: list[str]) -> list[str]:
    out: list[str] = []
    for tag in tags:
        if not isinstance(tag, str):
            raise InvalidInput("tags must be strings")
        tag = tag.strip().lstrip("#").lower()
        if not _TAG.match(tag):
            raise InvalidInput(f"invalid tag {tag!r}: 1-50 letters, digits, spaces or .:'-")
        if tag not in out:
            out.append(tag)
    if len(out) > 50:
        raise InvalidInput("at most 50 tags per photo")
    return out


class PhotoService:
    def __init__(
        self, db: Database, repo: PhotoRepo, jobs: JobQueue, access: Access, urls: MediaUrls, media_cache: Any = None
    ) -> None:
        self.db = db
        self.repo = repo
        self.jobs = jobs
        self.access = access
        self.urls = urls
        self.media_cache = media_cache

    # -- ingest ------------------------------------------------------------------------------
    def create(
        self,
        owner: User,
        *,
        original_key: str,
        sha256: str,
        size: int,
        content_type: str,
        filename: str,
        meta: PhotoMeta,
    ) -> dict[str, Any]:
        """Insert the photo row and its processing job in one transaction (the original is already
        durable under `original_key`); returns the new row."""
        photo_id = new_id()
        stamp = now_iso()
        with self.db.transaction():
            self.repo.insert(
                id=photo_id,
                user_id=owner.id,
                title=meta.title,
                description=meta.description,
                visibility=meta.visibility,
                filename=filename[:255],
                content_type=content_type,
                original_key=original_key,
                sha256=sha256,
                file_size_bytes=size,
                uploaded_at=stamp,
                updated_at=stamp,
                processing_status="processing",
                location=meta.location,
            )
            if meta.tags:
                self.repo.set_user_tags(photo_id, owner.id, meta.tags)
            self.jobs.enqueue("photo.process", {"photo_id": photo_id}, user_id=owner.id)
        row = self.repo.get(photo_id)
        assert row is not None
        return row

    # -- reads -------------------------------------------------------------------------------
    def get(self, viewer: User | None, photo_id: str, link: LinkContext | None = None) -> dict[str, Any]:
        photo = self.repo.get(photo_id)
        grant = None if photo is None else self.access.photo_grant(viewer, photo, link)
        if photo is None or grant is None:
            raise NotFound("no such photo")
        return self.to_api(viewer, [photo], grants={photo_id: grant}, link=link, full=True)[0]

    def list_own(
        self,
        viewer: User,
        *,
        cursor: str | None,
        limit: int | None,
        tag: str | None = None,
        order: str = "uploaded",
    ) -> dict[str, Any]:
        """The viewer's own photos: newest upload first, or (`order="taken"`) by when they were taken."""
        tag = normalise_tags([tag])[0] if tag else None
        if order == "taken" and not tag:
            page = self.repo.timeline_for_owner(viewer.id, cursor=cursor, limit=limit)
        elif order in ("uploaded", "taken"):
            page = self.repo.list_for_owner(viewer.id, cursor=cursor, limit=limit, tag=tag)
        else:
            raise InvalidInput("order must be uploaded or taken")
        return {
            "photos": self.to_api(viewer, page.rows, grants=dict.fromkeys((r["id"] for r in page.rows), OWNER)),
            "next_cursor": page.next_cursor,
            "total": self.repo.count_for_owner(viewer.id, tag=tag),
        }

    def tags(self, viewer: User) -> dict[str, Any]:
        return {"items": self.repo.tag_counts(viewer.id), "next_cursor": None}

    # -- edits -------------------------------------------------------------------------------
    def update(self, viewer: User, photo_id: str, changes: dict[str, Any]) -> dict[str, Any]:
        photo = self.access.require_edit(viewer, self.repo.get(photo_id))
        allowed = {"title", "description", "visibility", "tags", "location", "taken_at"}
        unknown = set(changes) - allowed
        if unknown:
            raise InvalidInput(f"cannot change {', '.join(sorted(unknown))}")
        meta = PhotoMeta(
            title=changes.get("title", photo["title"]) or "",
            description=changes.get("description", photo["description"]) or "",
            visibility=changes.get("visibility", photo["visibility"]),
            tags=changes.get("tags"),
            location=changes.get("location", photo["location"]),
        ).validate()
        fields: dict[str, Any] = {
            "title": meta.title,
            "description": meta.description,
            "visibility": meta.visibility,
            "location": meta.location,
        }
        if "taken_at" in changes:
            fields["taken_at"] = _parse_taken_at(changes["taken_at"])
            fields["taken_at_source"] = "user"
        with self.db.transaction():
            self.repo.update(photo_id, **fields)
            if "tags" in changes:
                self.repo.set_user_tags(photo_id, viewer.id, meta.tags or [])
            if meta.visibility in ("followers", "public") and photo["visibility"] not in ("followers", "public"):
                # Newly a post: into the followers' timelines (a post made private drops out at read time).
                self.jobs.enqueue("feed.fanout", {"photo_id": photo_id}, user_id=viewer.id)
        self.invalidate(photo_id)
        return self.get(viewer, photo_id)

    def add_tags(self, viewer: User, photo_id: str, tags: list[str]) -> dict[str, Any]:
        self.access.require_edit(viewer, self.repo.get(photo_id))
        self.repo.add_user_tags(photo_id, viewer.id, normalise_tags(tags))
        self.invalidate(photo_id)
        return self.get(viewer, photo_id)

    def remove_tag(self, viewer: User, photo_id: str, tag: str) -> dict[str, Any]:
        self.access.require_edit(viewer, self.repo.get(photo_id))
        self.repo.remove_user_tag(photo_id, normalise_tags([tag])[0])
        self.invalidate(photo_id)
        return self.get(viewer, photo_id)

    # -- trash -------------------------------------------------------------------------------
    def delete(self, viewer: User, photo_id: str, *, purge: bool = False) -> dict[str, Any]:
        """Move to the trash (restorable until the retention period ends); `purge` frees the space now."""
        photo = self.access.require_edit(viewer, self.repo.get(photo_id))
        with self.db.transaction():
            if not photo["deleted_at"]:
                self.repo.update(photo_id, deleted_at=now_iso())
            if purge:
                self.jobs.enqueue(
                    "photo.purge", {"photo_id": photo_id}, user_id=viewer.id, dedupe_key=f"purge:{photo_id}"
                )
        self.invalidate(photo_id)
        return {"photo_id": photo_id, "status": "purging" if purge else "trashed"}

    def restore(self, viewer: User, photo_id: str) -> dict[str, Any]:
        photo = self.access.require_edit(viewer, self.repo.get(photo_id))
        if not photo["deleted_at"]:
            raise Conflict("this photo is not in the trash", code="not_trashed")
        self.repo.update(photo_id, deleted_at=None)
        self.invalidate(photo_id)
        return self.get(viewer, photo_id)

    def trash(self, viewer: User, *, cursor: str | None, limit: int | None) -> dict[str, Any]:
        page = self.repo.list_trash(viewer.id, cursor=cursor, limit=limit)
        items = self.to_api(viewer, page.rows, grants=dict.fromkeys((r["id"] for r in page.rows), OWNER))
        for item, row in zip(items, page.rows, strict=True):
            item["deleted_at"] = row["deleted_at"]
        return {"photos": items, "next_cursor": page.next_cursor}

    def empty_trash(self, viewer: User) -> dict[str, Any]:
        ids = self.repo.trashed_ids(viewer.id)
        with self.db.transaction():
            for photo_id in ids:
                self.jobs.enqueue(
                    "photo.purge", {"photo_id": photo_id}, user_id=viewer.id, dedupe_key=f"purge:{photo_id}"
                )
        return {"purging": len(ids)}

    def invalidate_all(self, owner_id: str) -> None:
        """After an account-wide change (going private): forget every cached delivery decision."""
        self.access.changed()
        self.jobs.enqueue("search.index_owner", {"user_id": owner_id}, user_id=owner_id)
        if self.media_cache is not None:
            self.media_cache.clear()

    def invalidate(self, photo_id: str) -> None:
        """Drop cached delivery decisions, so changes apply to media URLs at once, and re-index it."""
        self.access.changed()
        self.jobs.enqueue("search.index_photo", {"photo_id": photo_id}, dedupe_key=f"index:{photo_id}")
        if self.media_cache is not None:
            self.media_cache.invalidate(photo_id)

    def reindex(self, photo_ids: list[str]) -> None:
        """Re-index photos whose audience changed through an album (membership, visibility, deletion);
        joins the caller's transaction. Search confirms every hit with the access module meanwhile."""
        if photo_ids:
            self.jobs.enqueue("search.index_photos", {"photo_ids": list(dict.fromkeys(photo_ids))})

    # -- shaping -----------------------------------------------------------------------------
    def to_api(
        self,
        viewer: User | None,
        rows: list[dict[str, Any]],
        *,
        grants: dict[str, Grant] | None = None,
        link: LinkContext | None = None,
        full: bool = False,
    ) -> list[dict[str, Any]]:
        """Photos as clients see them, with media URLs signed for this viewer (or link)."""
        ids = [r["id"] for r in rows]
        tags = self.repo.tags(ids)
        scope = f"s.{link.share_id}" if link else f"u.{viewer.id}" if viewer else "p"
        grants = grants or {}
        unknown = [r for r in rows if r["id"] not in grants]
        if unknown:  # one batch of access queries for the page, not a few per photo
            grants = {**self.access.photo_grants(viewer, unknown, link), **grants}
        out = []
        exp = self.urls.expiry()
        for r in rows:
            grant = grants.get(r["id"])
            item: dict[str, Any] = {
                "photo_id": r["id"],
                "user_id": r["user_id"],
                "title": r["title"],
                "description": r["description"],
                "visibility": r["visibility"],
                "media_type": r["media_type"],
                "status": r["processing_status"],
                "processing_status": r["processing_status"],
                "failure_reason": r["failure_reason"],
                "width": r["width"],
                "height": r["height"],
                "taken_at": r["taken_at"],
                "uploaded_at": r["uploaded_at"],
                "placeholder": r["placeholder"],
                "urls": self.urls.for_photo(
                    r, scope=scope, public=self.access.is_public(r), download=bool(grant and grant.download), exp=exp
                ),
                "tags": [t["tag"] for t in tags[r["id"]]["user"]],
                "ml_labels": [t["tag"] for t in tags[r["id"]]["ml"]],
                "location": r["location"],
                "can_download": bool(grant and grant.download),
                "like_count": r["like_count"],
                "comment_count": r["comment_count"],
            }
            if full:
                owner = bool(grant and grant.owner)
                item.update(
                    filename=r["filename"] if owner else None,
                    content_type=r["content_type"],
                    file_size_bytes=r["file_size_bytes"],
                    sha256=r["sha256"] if owner else None,
                    exif=self.repo.exif(r["id"]),
                    labels=[{"label": t["tag"], "confidence": t["confidence"]} for t in tags[r["id"]]["ml"]],
                    sharing=self.sharing_info(r) if owner else {"visibility": r["visibility"]},
                    updated_at=r["updated_at"],
                    deleted_at=r["deleted_at"],
                )
                if not (grant and grant.download) and item["exif"]:
                    # GPS is personal data: only the owner (and share holders via the original) get it.
                    for key in ("gps_lat", "gps_lng", "gps_alt"):
                        item["exif"][key] = None
            out.append(item)
        return out

    def sharing_info(self, photo: dict[str, Any]) -> dict[str, Any]:
        shares = self.db.query(
            "SELECT id AS share_id, type, permissions, expires_at, max_views, view_count, created_at"
            " FROM shares WHERE target_type = 'photo' AND target_id = ? AND revoked_at IS NULL ORDER BY id",
            (photo["id"],),
        )
        return {"visibility": photo["visibility"], "shares": shares}


def _parse_taken_at(value: Any) -> str | None:
    # Kept as written (a local time with or without offset is the user's statement, not an instant).
    return None if parse_user_datetime(value, "taken_at") is None else str(value)
