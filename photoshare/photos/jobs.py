"""Background handlers for photos: EXIF + variants in one pass over the original."""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from photoshare.imaging.decode import DecodeError
from photoshare.imaging.exif import read_exif
from photoshare.imaging.variants import CONTENT_TYPES, RECIPE, render_variants
from photoshare.jobs.registry import PermanentJobError, job
from photoshare.storage.hashing import sha256_file
from photoshare.storage.keys import original_key, variant_key

if TYPE_CHECKING:
    from photoshare.context import AppContext

__all__ = ["process_photo"]

_LOADER_TYPES = {
    "jpegload": "image/jpeg",
    "pngload": "image/png",
    "webpload": "image/webp",
    "gifload": "image/gif",
    "tiffload": "image/tiff",
    "heifload": "image/avif",
    "pillow:heif": "image/heic",
    "pillow:jpeg": "image/jpeg",
    "pillow:mpo": "image/jpeg",
    "pillow:png": "image/png",
    "pillow:tiff": "image/tiff",
}


@contextlib.contextmanager
def _original_on_disk(ctx: AppContext, key: str) -> Iterator[Path]:
    """A local file path of the original: the blob itself on local disk, else a temp copy."""
    local = ctx.store.local_path(key)
    if local is not None:
        if not local.is_file():
            raise FileNotFoundError(f"original blob {key} is missing")
        yield local
        return
    fd, name = tempfile.mkstemp(prefix="orig-", dir=ctx.settings.data_path / "tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            for chunk in ctx.store.iter_range(key):
                f.write(chunk)
        yield Path(name)
    finally:
        Path(name).unlink(missing_ok=True)


def _formats(ctx: AppContext) -> dict[str, int]:
    img = ctx.settings.imaging
    formats = {"jpeg": img.jpeg_quality}
    if img.webp:
        formats["webp"] = img.webp_quality
    if img.avif:
        formats["avif"] = img.avif_quality
    return formats


def _recipe(formats: dict[str, int]) -> str:
    # The keys depend on everything that changes the bytes, so a settings change never reuses a URL.
    spec = RECIPE + ";" + ",".join(f"{k}{v}" for k, v in sorted(formats.items()))
    return RECIPE + "-" + hashlib.sha256(spec.encode()).hexdigest()[:8]


def _mark_failed(ctx: AppContext, payload: dict[str, Any], reason: str) -> None:
    photo_id = payload["photo_id"]
    ctx.photo_repo.update(photo_id, processing_status="failed", failure_reason=reason[:500])
    ctx.photos.invalidate(photo_id)
    photo = ctx.photo_repo.get(photo_id)
    if photo is not None:
        ctx.events.publish(photo["user_id"], "photo.failed", photo_id=photo_id, reason=reason[:500])


def _finalise_original(ctx: AppContext, photo: dict[str, Any], path: Path) -> dict[str, Any]:
    """A direct upload to an object store arrives under its staging key with no hash yet: hash it,
    move it to its content address (deduplicated) and record both. Safe to repeat after a crash."""
    sha = sha256_file(path)
    key = original_key(sha, photo["content_type"])
    if not ctx.store.exists(key):
        ctx.store.put_file(key, path, photo["content_type"])
    ctx.photo_repo.update(photo["id"], original_key=key, sha256=sha)
    ctx.store.delete(photo["original_key"])  # only after the row points at the durable copy
    updated = ctx.photo_repo.get(photo["id"])
    assert updated is not None
    return updated


@job("photo.process", queue="media", on_dead=_mark_failed)
def process_photo(ctx: AppContext, payload: dict[str, Any]) -> None:
    """Extract EXIF, render every variant, store them, then flip the photo to ready.

    Idempotent: variant keys are deterministic, so a re-run overwrites the same blobs.
    """
    photo_id = payload["photo_id"]
    photo = ctx.photo_repo.get(photo_id)
    if photo is None:
        return  # deleted before it was processed: nothing to do
    formats = _formats(ctx)
    recipe = _recipe(formats)
    with _original_on_disk(ctx, photo["original_key"]) as path:
        if not photo["sha256"]:
            photo = _finalise_original(ctx, photo, path)
        exif = read_exif(path)
        try:
            rendering = render_variants(path, formats=formats, max_pixels=ctx.settings.limits.max_pixels)
        except DecodeError as exc:
            raise PermanentJobError(str(exc)) from None
    rows = []
    for v in rendering.variants:
        key = variant_key(photo["sha256"], recipe, v.name, v.fmt)
        ctx.store.put_bytes(key, v.data, CONTENT_TYPES[v.fmt])
        rows.append(
            {
                "name": v.name,
                "format": v.fmt,
                "object_key": key,
                "width": v.width,
                "height": v.height,
                "size_bytes": len(v.data),
                "etag": v.etag,
            }
        )
    version = hashlib.sha256("".join(r["etag"] for r in rows).encode()).hexdigest()[:16]
    taken_at, source = photo["taken_at"], photo["taken_at_source"]
    if source != "user":
        if exif.taken_at:
            taken_at, source = exif.taken_at + (exif.taken_at_offset or ""), "exif"
        else:
            taken_at, source = photo["uploaded_at"], "upload"
    with ctx.db.transaction():
        ctx.photo_repo.upsert_exif(photo_id, photo["user_id"], exif.to_dict())
        ctx.photo_repo.replace_variants(photo_id, photo["user_id"], rows)
        ctx.photo_repo.update(
            photo_id,
            width=rendering.width,
            height=rendering.height,
            placeholder=rendering.placeholder,
            variant_version=version,
            taken_at=taken_at,
            taken_at_source=source,
            content_type=_LOADER_TYPES.get(rendering.loader, photo["content_type"]),
            processing_status="ready",
            failure_reason=None,
        )
    ctx.photos.invalidate(photo_id)
    ctx.events.publish(photo["user_id"], "photo.ready", photo_id=photo_id)


@job("photo.purge", queue="media")
def purge_photo(ctx: AppContext, payload: dict[str, Any]) -> None:
    """Remove a trashed photo for good: its rows, its shares, and blobs no other photo still uses.

    Blobs are content-addressed, so the same original (and its variants) may belong to another
    photo; those stay. Idempotent: a re-run after a crash finds less to do.
    """
    photo_id = payload["photo_id"]
    photo = ctx.photo_repo.get(photo_id)
    if photo is None or not photo["deleted_at"]:
        return  # restored in the meantime, or already gone
    keys = [v["object_key"] for v in ctx.photo_repo.variants([photo_id])[photo_id]]
    with ctx.db.transaction():
        ctx.db.execute("DELETE FROM shares WHERE target_type = 'photo' AND target_id = ?", (photo_id,))
        ctx.db.execute("UPDATE albums SET cover_photo_id = NULL WHERE cover_photo_id = ?", (photo_id,))
        ctx.photo_repo.delete(photo_id)
        shared_blobs = ctx.photo_repo.others_with_sha(photo_id, photo["sha256"]) > 0
    ctx.photos.invalidate(photo_id)
    if not shared_blobs:
        # Rows first, blobs second: a crash in between leaves an orphan blob (found by verify), never
        # a row pointing at nothing.
        for key in [*keys, photo["original_key"]]:
            ctx.store.delete(key)


@job("trash.sweep", queue="media")
def sweep_trash(ctx: AppContext, payload: dict[str, Any]) -> None:
    """Purge every photo that has been in the trash longer than the retention period."""
    from photoshare.clock import to_iso

    cutoff = to_iso(time.time() - ctx.settings.trash.retention_days * 86400)
    with ctx.db.transaction():
        for photo_id in ctx.photo_repo.trashed_ids(before=cutoff):
            ctx.jobs.enqueue("photo.purge", {"photo_id": photo_id}, dedupe_key=f"purge:{photo_id}")
