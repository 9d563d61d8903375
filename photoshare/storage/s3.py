"""Blobs in an S3-compatible bucket (MinIO with erasure coding, SeaweedFS, AWS) through the minio SDK.

Uploads go straight from the client to the bucket with a POST policy: it pins the exact key, the
Content-Type and a content-length-range, and expires; the object store itself rejects anything else
(a presigned PUT cannot bound the size). A put is durable once S3 acknowledges it.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from minio import Minio
from minio.commonconfig import CopySource
from minio.datatypes import PostPolicy
from minio.error import S3Error

from photoshare.settings import S3Settings
from photoshare.storage.base import BlobNotFound, PresignedUpload

__all__ = ["S3BlobStore"]

_MISSING = {"NoSuchKey", "NoSuchObject", "NotFound", "ResourceNotFound"}


class S3BlobStore:
    name = "s3"

    def __init__(self, settings: S3Settings) -> None:
        self.settings = settings
        self.bucket = settings.bucket
        self.client = Minio(
            settings.endpoint,
            access_key=settings.access_key or None,
            secret_key=settings.secret_key or None,
            secure=settings.secure,
            region=settings.region,
        )
        if not self.client.bucket_exists(self.bucket):
            self.client.make_bucket(self.bucket)

    @property
    def public_base(self) -> str:
        """Where clients reach the bucket (POST policies are not bound to a host name)."""
        if self.settings.public_endpoint:
            return self.settings.public_endpoint.rstrip("/")
        return f"{'https' if self.settings.secure else 'http'}://{self.settings.endpoint}"

    # -- writes ------------------------------------------------------------------------------
    def put_bytes(self, key: str, data: bytes, content_type: str = "application/octet-stream") -> None:
        self.client.put_object(
            self.bucket, key, io.BytesIO(data), len(data), content_type=content_type or "application/octet-stream"
        )

    def put_file(self, key: str, path: Path, content_type: str = "application/octet-stream") -> None:
        self.client.fput_object(self.bucket, key, str(path), content_type=content_type or "application/octet-stream")

    def move(self, src: str, dst: str) -> None:
        if self.exists(dst):
            self.delete(src)
            return
        try:
            self.client.copy_object(self.bucket, dst, CopySource(self.bucket, src))
        except S3Error as exc:
            if exc.code in _MISSING:
                raise BlobNotFound(src) from None
            raise
        self.delete(src)

    def delete(self, key: str) -> None:
        self.client.remove_object(self.bucket, key)  # S3 deletes are idempotent

    # -- reads -------------------------------------------------------------------------------
    def _get(self, key: str, offset: int = 0, length: int = 0) -> Any:
        try:
            return self.client.get_object(self.bucket, key, offset=offset, length=length)
        except S3Error as exc:
            if exc.code in _MISSING:
                raise BlobNotFound(key) from None
            raise

    def read(self, key: str) -> bytes:
        response = self._get(key)
        try:
            return bytes(response.read())
        finally:
            response.close()
            response.release_conn()

    def iter_range(self, key: str, start: int = 0, end: int | None = None, chunk: int = 1 << 20) -> Iterator[bytes]:
        length = 0 if end is None else max(0, end - start)
        if end is not None and length == 0:
            self.size(key)  # still raise BlobNotFound for a missing blob
            return iter(())
        response = self._get(key, start, length)
        return self._stream(response, chunk)

    @staticmethod
    def _stream(response: Any, chunk: int) -> Iterator[bytes]:
        try:
            yield from response.stream(chunk)
        finally:
            response.close()
            response.release_conn()

    def size(self, key: str) -> int:
        try:
            return int(self.client.stat_object(self.bucket, key).size or 0)
        except S3Error as exc:
            if exc.code in _MISSING:
                raise BlobNotFound(key) from None
            raise

    def exists(self, key: str) -> bool:
        try:
            self.size(key)
        except BlobNotFound:
            return False
        return True

    def local_path(self, key: str) -> Path | None:
        return None

    def iter_keys(self, prefix: str = "") -> Iterator[str]:
        for obj in self.client.list_objects(self.bucket, prefix=prefix or None, recursive=True):
            if obj.object_name and not obj.is_dir:
                yield obj.object_name

    def free_bytes(self) -> int | None:
        return None  # the object store manages its own capacity

    # -- direct uploads ------------------------------------------------------------------------
    def presign_upload(self, key: str, content_type: str, max_bytes: int, exp: int) -> PresignedUpload:
        policy = PostPolicy(self.bucket, dt.datetime.fromtimestamp(exp, dt.UTC).replace(tzinfo=None))
        policy.add_equals_condition("key", key)
        policy.add_equals_condition("Content-Type", content_type)
        policy.add_content_length_range_condition(1, max_bytes)
        fields = dict(self.client.presigned_post_policy(policy))
        fields["key"] = key
        fields["Content-Type"] = content_type
        # The file goes last in the multipart form, after these fields (S3 requires that order).
        return PresignedUpload(url=f"{self.public_base}/{self.bucket}", method="POST", fields=fields)

    def presign_get(self, key: str, ttl_s: int) -> str:
        return str(self.client.presigned_get_object(self.bucket, key, expires=dt.timedelta(seconds=ttl_s)))
