"""Two-phase uploads: authorise one direct upload to one key, then confirm it into a photo.

Phase 1 issues a signed URL scoped to a staging key, a content type, a maximum size and an expiry;
the store itself enforces that scope (the local store's receiver, or S3's signature checks). Phase 2
moves the bytes to their content-addressed key and creates the photo with its processing job.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from photoshare.clock import now_iso, to_iso
from photoshare.db import Database
from photoshare.errors import (
    Conflict,
    InsufficientStorage,
    InvalidInput,
    NotFound,
    TooLarge,
    UnsupportedMedia,
)
from photoshare.ids import new_id
from photoshare.photos.service import PhotoMeta, PhotoService
from photoshare.settings import Settings
from photoshare.signing import Signer
from photoshare.storage.base import BlobNotFound, BlobStore, PresignedUpload
from photoshare.storage.hashing import sha256_file
from photoshare.storage.keys import original_key, upload_key
from photoshare.users.models import User

__all__ = ["UPLOAD_PATH", "UploadClaims", "UploadService"]

UPLOAD_PATH = "/upload/"
_PURPOSE = "upload"


@dataclass(frozen=True, slots=True)
class UploadClaims:
    """What a signed upload URL allows: exactly one PUT of this type and size to this key, until exp."""

    upload_id: str
    key: str
    content_type: str
    max_bytes: int
    exp: int


class UploadService:
    def __init__(
        self, db: Database, store: BlobStore, signer: Signer, settings: Settings, photos: PhotoService
    ) -> None:
        self.db = db
        self.store = store
        self.signer = signer
        self.settings = settings
        self.photos = photos

    # -- limits ------------------------------------------------------------------------------
    @property
    def max_bytes(self) -> int:
        return self.settings.limits.max_upload_mb * 1024 * 1024

    def check_content_type(self, content_type: str) -> str:
        content_type = (content_type or "").split(";")[0].strip().lower()
        if content_type not in self.settings.uploads.allowed_types:
            raise UnsupportedMedia(f"content type {content_type or '(none)'} is not accepted for upload")
        return content_type

    def check_disk(self, incoming: int = 0) -> None:
        free = self.store.free_bytes()
        floor = self.settings.limits.min_free_disk_mb * 1024 * 1024
        if free is not None and free - incoming < floor:
            raise InsufficientStorage("the appliance is out of disk space; uploads are paused")

    # -- phase 1 -----------------------------------------------------------------------------
    def create_url(
        self, user: User, *, filename: str, content_type: str, size_bytes: int, expires_in: int | None = None
    ) -> dict[str, Any]:
        content_type = self.check_content_type(content_type)
        if not isinstance(size_bytes, int) or size_bytes <= 0:
            raise InvalidInput("size_bytes must be a positive integer")
        if size_bytes > self.max_bytes:
            raise TooLarge(f"uploads are limited to {self.settings.limits.max_upload_mb} MB")
        ttl = self.settings.uploads.url_ttl_s if expires_in is None else expires_in
        if not 1 <= ttl <= 7 * 86400:
            raise InvalidInput("expires_in must be between 1 second and 7 days")
        self.check_disk(size_bytes)
        upload_id = new_id()
        key = upload_key(upload_id)
        exp = int(time.time()) + ttl
        self.db.execute(
            "INSERT INTO uploads (id, user_id, filename, content_type, max_bytes, object_key, created_at, expires_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (upload_id, user.id, (filename or "")[:255], content_type, size_bytes, key, now_iso(), to_iso(exp)),
        )
        presigned = self.presign(UploadClaims(upload_id, key, content_type, size_bytes, exp))
        return {
            "upload_id": upload_id,
            "presigned_url": presigned.url,
            "method": presigned.method,
            "headers": presigned.headers,
            "fields": presigned.fields,
            "expires_at": to_iso(exp),
            "max_bytes": size_bytes,
        }

    def presign(self, claims: UploadClaims) -> PresignedUpload:
        presign = getattr(self.store, "presign_upload", None)
        if presign is not None:  # object stores sign their own URLs
            return presign(claims.key, claims.content_type, claims.max_bytes, claims.exp)
        token = self.signer.dumps(
            _PURPOSE,
            {
                "u": claims.upload_id,
                "k": claims.key,
                "ct": claims.content_type,
                "max": claims.max_bytes,
                "exp": claims.exp,
            },
        )
        return PresignedUpload(
            url=f"{self.settings.base_url}{UPLOAD_PATH}{claims.upload_id}?token={token}",
            method="PUT",
            headers={"Content-Type": claims.content_type},
        )

    def verify_token(self, upload_id: str, token: str) -> UploadClaims:
        """Raises PermissionDenied for a forged, expired or foreign-key token."""
        from photoshare.errors import PermissionDenied

        claims = self.signer.loads(_PURPOSE, token)
        if claims.get("u") != upload_id or claims.get("k") != upload_key(upload_id):
            raise PermissionDenied("this upload URL is for another object", code="wrong_key")
        return UploadClaims(claims["u"], claims["k"], claims["ct"], int(claims["max"]), int(claims["exp"]))

    def begin_receive(self, claims: UploadClaims) -> None:
        row = self.db.one("SELECT status FROM uploads WHERE id = ?", (claims.upload_id,))
        if row is None:
            raise NotFound("no such upload")
        if row["status"] != "pending":
            raise Conflict("this upload URL has already been used", code="already_uploaded")

    def mark_received(self, upload_id: str, size: int, sha256: str) -> None:
        self.db.execute(
            "UPDATE uploads SET status = 'received', size_bytes = ?, sha256 = ? WHERE id = ? AND status = 'pending'",
            (size, sha256, upload_id),
        )

    # -- phase 2 -----------------------------------------------------------------------------
    def confirm(self, user: User, upload_id: str, meta: PhotoMeta) -> dict[str, Any]:
        meta.validate()
        if not isinstance(upload_id, str) or not upload_id:
            raise InvalidInput("upload_id is required")
        row = self.db.one("SELECT * FROM uploads WHERE id = ? AND user_id = ?", (upload_id, user.id))
        if row is None:
            raise NotFound("no such upload")
        if row["status"] == "confirmed":
            raise Conflict("this upload has already been confirmed", code="already_confirmed")
        size, sha = row["size_bytes"], row["sha256"]
        if row["status"] == "pending":
            # Direct uploads to an object store leave no trace here until we look. The SHA-256 is
            # computed by the processing job, which then moves the bytes to their content address.
            try:
                size = self.store.size(row["object_key"])
            except BlobNotFound:
                raise Conflict("nothing has been uploaded yet", code="not_uploaded") from None
            if size > row["max_bytes"]:
                self.store.delete(row["object_key"])
                raise TooLarge("the uploaded object is larger than authorised")
            key, sha = row["object_key"], ""
        else:
            key = original_key(sha, row["content_type"])
            try:
                self.store.move(row["object_key"], key)
            except BlobNotFound:
                # A previous confirm moved it and crashed before committing: the original is in place.
                if not self.store.exists(key):
                    raise Conflict("the uploaded bytes are gone; upload again", code="not_uploaded") from None
        with self.db.transaction():
            # Re-checked under the write lock: of two concurrent confirms exactly one creates the photo.
            if self.db.value("SELECT status FROM uploads WHERE id = ?", (upload_id,)) == "confirmed":
                raise Conflict("this upload has already been confirmed", code="already_confirmed")
            photo = self.photos.create(
                user,
                original_key=key,
                sha256=sha,
                size=size,
                content_type=row["content_type"],
                filename=row["filename"],
                meta=meta,
            )
            self.db.execute(
                "UPDATE uploads SET status = 'confirmed', photo_id = ?, size_bytes = ?, sha256 = ? WHERE id = ?",
                (photo["id"], size, sha or None, upload_id),
            )
        return photo

    # -- one-shot ----------------------------------------------------------------------------
    def ingest_file(
        self, user: User, path: Path, *, filename: str, content_type: str, meta: PhotoMeta
    ) -> dict[str, Any]:
        """Store a file already on local disk (multipart upload, import) as a new photo."""
        meta.validate()
        content_type = self.check_content_type(content_type)
        size = path.stat().st_size
        if size == 0:
            raise InvalidInput("the file is empty")
        if size > self.max_bytes:
            raise TooLarge(f"uploads are limited to {self.settings.limits.max_upload_mb} MB")
        self.check_disk(size)
        sha = sha256_file(path)
        key = original_key(sha, content_type)
        if not self.store.exists(key):
            self.store.put_file(key, path, content_type)
        return self.photos.create(
            user, original_key=key, sha256=sha, size=size, content_type=content_type, filename=filename, meta=meta
        )
