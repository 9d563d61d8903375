"""Photo rules: ingesting an original, reading and editing photos, shaping them for clients."""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from typing import Any

from photoshare.clock import now_iso
from photoshare.db import Database
from photoshare.delivery.urls import MediaUrls
from photoshare.errors import InvalidInput, NotFound
from photoshare.ids import new_id
from photoshare.jobs.queue import JobQueue
from photoshare.photos.repo import PhotoRepo
from photoshare.sharing.access import Access
from photoshare.users.models import User

__all__ = ["PhotoMeta", "PhotoService", "decode_cursor", "encode_cursor", "parse_limit"]

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


def encode_cursor(last_id: str) -> str:
    return base64.urlsafe_b64encode(last_id.encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> str | None:
    if not cursor:
        return None
    try:
        value = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise InvalidInput("malformed cursor", code="bad_cursor") from None
    if not re.fullmatch(r"[0-9a-f]{32}", value):
        raise InvalidInput("malformed cursor", code="bad_cursor")
    return value


def parse_limit(limit: int | None, default: int = 50) -> int:
    if limit is None:
        return default
    if not 1 <= limit <= 200:
        raise InvalidInput("limit must be between 1 and 200", code="bad_limit")
    return limit


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
    def get(self, viewer: User | None, photo_id: str) -> dict[str, Any]:
        photo = self.access.require_view(viewer, self.repo.get(photo_id))
        return self.to_api(viewer, [photo], full=True)[0]

    def list_own(
        self, viewer: User, *, cursor: str | None, limit: int | None, album_id: str | None = None
    ) -> dict[str, Any]:
        if album_id:
            raise NotFound("no such album")
        n = parse_limit(limit)
        rows = self.repo.list_for_owner(viewer.id, before_id=decode_cursor(cursor), limit=n + 1)
        more = len(rows) > n
        rows = rows[:n]
        return {
            "photos": self.to_api(viewer, rows),
            "next_cursor": encode_cursor(rows[-1]["id"]) if more else None,
            "total": self.repo.count_for_owner(viewer.id),
        }

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
        self.invalidate(photo_id)
        return self.get(viewer, photo_id)

    def invalidate(self, photo_id: str) -> None:
        """Drop cached delivery decisions, so visibility changes apply to media URLs at once."""
        if self.media_cache is not None:
            self.media_cache.invalidate(photo_id)

    # -- shaping -----------------------------------------------------------------------------
    def to_api(self, viewer: User | None, rows: list[dict[str, Any]], *, full: bool = False) -> list[dict[str, Any]]:
        ids = [r["id"] for r in rows]
        tags = self.repo.tags(ids)
        out = []
        for r in rows:
            public = r["visibility"] == "public"
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
                "urls": self.urls.for_photo(r, public=public, download=self.access.can_download(viewer, r)),
                "tags": [t["tag"] for t in tags[r["id"]]["user"]],
                "ml_labels": [t["tag"] for t in tags[r["id"]]["ml"]],
                "location": r["location"],
            }
            if full:
                item.update(
                    filename=r["filename"],
                    content_type=r["content_type"],
                    file_size_bytes=r["file_size_bytes"],
                    sha256=r["sha256"],
                    exif=self.repo.exif(r["id"]),
                    labels=[{"label": t["tag"], "confidence": t["confidence"]} for t in tags[r["id"]]["ml"]],
                    sharing={"visibility": r["visibility"]},
                    updated_at=r["updated_at"],
                )
            out.append(item)
        return out


def _parse_taken_at(value: Any) -> str | None:
    from datetime import datetime

    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidInput("taken_at must be an ISO 8601 date-time")
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput("taken_at must be an ISO 8601 date-time") from None
    return value
