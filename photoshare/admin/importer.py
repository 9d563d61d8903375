"""`photoshare import`: bring an existing photo folder into a user's library.

Each image goes through the same steps as an upload (content hash, durable original, photo row and
its `photo.process` job in one transaction), so processing, failures and retries behave exactly as
for uploads. What happened to every file is recorded (admin.libraries.ImportRepo): a re-run skips
unchanged files without reading them, and because photos are deduplicated by SHA-256 per user an
interrupted import simply continues, never duplicating anything.

With `external`, originals stay where they are and are referenced read-only (storage.external);
otherwise they are copied into the blob store.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from photoshare.admin.libraries import ImportRepo
from photoshare.admin.progress import NO_PROGRESS, Progress
from photoshare.context import AppContext
from photoshare.errors import InsufficientStorage, InvalidInput, PhotoshareError, UnsupportedMedia
from photoshare.photos.service import PhotoMeta
from photoshare.storage.hashing import sha256_file
from photoshare.storage.keys import external_key, original_key
from photoshare.users.models import User

__all__ = ["IMAGE_TYPES", "ImportReport", "Importer", "summary_lines"]

# By file name: what the decoder then finds in the bytes decides the rest (a broken or mislabelled
# file fails its processing job with a reason, like an upload would).
IMAGE_TYPES = {
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".jpe": "image/jpeg",
    ".png": "image/png",
    ".webp": "image/webp",
    ".gif": "image/gif",
    ".tif": "image/tiff",
    ".tiff": "image/tiff",
    ".heic": "image/heic",
    ".heif": "image/heif",
    ".hif": "image/heif",
    ".avif": "image/avif",
    ".mpo": "image/mpo",
}
# Thumbnail caches of NAS boxes and desktop tools: never the admin's photos.
_SKIP_DIRS = {"@eaDir", "#recycle", "$RECYCLE.BIN", "lost+found"}


@dataclass
class ImportReport:
    root: str
    files: int = 0
    added: int = 0
    duplicate: int = 0
    skipped: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)
    """Files that could not be imported: (path relative to the folder, reason)."""
    skipped_types: dict[str, int] = field(default_factory=dict)
    albums_created: int = 0
    bytes_added: int = 0
    seconds: float = 0.0
    interrupted: bool = False
    dry_run: bool = False
    external: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "root": self.root,
            "files": self.files,
            "added": self.added,
            "duplicate": self.duplicate,
            "skipped": self.skipped,
            "failed": len(self.failed),
            "failures": [{"path": p, "reason": r} for p, r in self.failed],
            "skipped_types": self.skipped_types,
            "albums_created": self.albums_created,
            "bytes_added": self.bytes_added,
            "seconds": round(self.seconds, 3),
            "interrupted": self.interrupted,
            "dry_run": self.dry_run,
            "external": self.external,
        }


@dataclass
class _Run:
    """The state of one import run."""

    user: User
    root: Path
    visibility: str
    report: ImportReport
    library_id: str | None
    albums: bool
    album_ids: dict[str, str] = field(default_factory=dict)
    pending_album_adds: dict[str, list[str]] = field(default_factory=dict)
    dry_run_seen: set[str] = field(default_factory=set)


def _mb(n: int) -> str:
    return f"{n / 1e6:.1f} MB"


def summary_lines(report: ImportReport, user: str, *, limit: int = 20) -> list[str]:
    """The import summary as the CLI prints it."""
    verb = "Would import" if report.dry_run else "Imported"
    skipped = ", ".join(f"{ext} {n}" for ext, n in sorted(report.skipped_types.items()))
    rate = report.files / report.seconds if report.seconds else 0.0
    lines = [
        f"{verb} {report.root} for {user}{' (external library, files left in place)' if report.external else ''}:",
        f"  {report.added} added, {report.duplicate} duplicate, {report.skipped} skipped"
        f"{f' (not images: {skipped})' if skipped else ''}, {len(report.failed)} failed",
        f"  {report.files} files, {_mb(report.bytes_added)} new, in {report.seconds:.1f} s ({rate:.1f} files/s)",
    ]
    if report.albums_created:
        lines.append(f"  {report.albums_created} album(s) created from folders")
    lines += [f"  failed: {path}: {reason}" for path, reason in report.failed[:limit]]
    if len(report.failed) > limit:
        lines.append(f"  ... and {len(report.failed) - limit} more (--json lists all)")
    return lines


def _walk(root: Path) -> list[Path]:
    """Every regular file under `root`, in a stable order, skipping hidden folders and NAS caches."""
    out: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and d not in _SKIP_DIRS)
        for name in sorted(filenames):
            if not name.startswith("."):
                out.append(Path(dirpath) / name)
    return out


class Importer:
    _ALBUM_BATCH = 500

    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx
        self.repo = ImportRepo(ctx.db)

    def run(
        self,
        user: User,
        root: Path,
        *,
        albums_from_folders: bool = False,
        dry_run: bool = False,
        external: bool = False,
        visibility: str = "private",
        progress: Progress = NO_PROGRESS,
    ) -> ImportReport:
        """Import every image under `root` for `user`. Ctrl-C stops between files: the report says
        so, and everything done until then is kept."""
        root = root.expanduser().resolve()
        if not root.is_dir():
            raise InvalidInput(f"{root} is not a folder")
        visibility = PhotoMeta(visibility=visibility).validate().visibility
        self._check_root(external, root)
        run = _Run(
            user=user,
            root=root,
            visibility=visibility,
            report=ImportReport(root=str(root), dry_run=dry_run, external=external),
            library_id=self.repo.library(user.id, str(root)) if external and not dry_run else None,
            albums=albums_from_folders and not dry_run,
        )
        started = time.monotonic()
        files = _walk(root)
        run.report.files = len(files)
        progress.start("Importing", len(files))
        try:
            for path in files:
                try:
                    self._one(run, path)
                except InsufficientStorage:
                    raise  # every further file would fail the same way: stop and say why
                except (PhotoshareError, OSError) as exc:
                    reason = exc.message if isinstance(exc, PhotoshareError) else f"{type(exc).__name__}: {exc}"
                    self._failed(run, path, reason)
                except UnicodeError:
                    # Old folders carry names in legacy encodings; SQLite text must be UTF-8.
                    run.report.failed.append((repr(path.relative_to(root).as_posix()), "the file name is not UTF-8"))
                if sum(map(len, run.pending_album_adds.values())) >= self._ALBUM_BATCH:
                    self._flush_albums(run)
                progress.advance()
        except KeyboardInterrupt:
            run.report.interrupted = True
        finally:
            self._flush_albums(run)
        run.report.seconds = time.monotonic() - started
        return run.report

    def _check_root(self, external: bool, root: Path) -> None:
        data, blobs = self.ctx.settings.data_path, self.ctx.settings.blob_root
        if any(a.is_relative_to(b) for a, b in ((root, data), (data, root), (root, blobs), (blobs, root))):
            # Its variants would come back as photos, and an external library would point into the store.
            raise InvalidInput(f"{root} overlaps the appliance's own data folder; choose the photo folder itself")
        s = self.ctx.settings.storage
        if external and s.backend == "s3" and s.s3.presigned_reads:
            raise InvalidInput(
                "external libraries cannot be used with [storage.s3] presigned_reads: their originals are not in"
                " the bucket"
            )

    def _one(self, run: _Run, path: Path) -> None:
        report = run.report
        suffix = path.suffix.lower()
        content_type = IMAGE_TYPES.get(suffix)
        if content_type is not None:
            try:
                content_type = self.ctx.uploads.check_content_type(content_type)
            except UnsupportedMedia:
                content_type = None  # the admin turned this type off in [uploads] allowed_types
        if content_type is None:
            report.skipped += 1
            report.skipped_types[suffix or "(none)"] = report.skipped_types.get(suffix or "(none)", 0) + 1
            return
        st = path.stat()
        done = None if report.dry_run else self.repo.seen(run.user.id, str(path))
        if (
            done
            and done["outcome"] != "failed"
            and (done["size_bytes"], done["mtime_ns"]) == (st.st_size, st.st_mtime_ns)
        ):
            report.duplicate += 1  # imported (or found to be a duplicate) by an earlier run, unchanged since
            self._album_add(run, path, done["photo_id"])
            return
        if st.st_size == 0:
            raise InvalidInput("the file is empty")
        if st.st_size > self.ctx.uploads.max_bytes:
            raise InvalidInput(f"larger than [limits] max_upload_mb ({self.ctx.settings.limits.max_upload_mb} MB)")
        sha = sha256_file(path)
        existing = self.repo.photo_with_sha(run.user.id, sha)
        if report.dry_run:
            if existing or sha in run.dry_run_seen:
                report.duplicate += 1
            else:
                run.dry_run_seen.add(sha)
                report.added += 1
                report.bytes_added += st.st_size
            return
        if existing:
            self.repo.record(
                run.user.id,
                str(path),
                size=st.st_size,
                mtime_ns=st.st_mtime_ns,
                outcome="duplicate",
                sha256=sha,
                photo_id=existing,
            )
            report.duplicate += 1
            self._album_add(run, path, existing)
            return
        if run.library_id is not None:
            key = external_key(run.library_id, path.relative_to(run.root).as_posix())
        else:
            self.ctx.uploads.check_disk(st.st_size)
            key = original_key(sha, content_type)
            if not self.ctx.store.exists(key):
                self.ctx.store.put_file(key, path, content_type)
        # The photo, its processing job and the record of this file commit together: a crash leaves
        # either all three or none (then only a content-addressed blob a re-run reuses).
        with self.ctx.db.transaction():
            photo = self.ctx.photos.create(
                run.user,
                original_key=key,
                sha256=sha,
                size=st.st_size,
                content_type=content_type,
                filename=path.name,
                meta=PhotoMeta(visibility=run.visibility),
            )
            self.repo.record(
                run.user.id,
                str(path),
                size=st.st_size,
                mtime_ns=st.st_mtime_ns,
                outcome="added",
                sha256=sha,
                photo_id=photo["id"],
            )
        report.added += 1
        report.bytes_added += st.st_size
        self._album_add(run, path, photo["id"])

    def _failed(self, run: _Run, path: Path, reason: str) -> None:
        run.report.failed.append((path.relative_to(run.root).as_posix(), reason))
        if run.report.dry_run:
            return
        try:
            st = path.stat()
        except OSError:
            return  # vanished or unreadable: nothing to remember, the next run tries again
        self.repo.record(
            run.user.id, str(path), size=st.st_size, mtime_ns=st.st_mtime_ns, outcome="failed", reason=reason[:500]
        )

    # -- albums from folders ---------------------------------------------------------------------
    def _album_add(self, run: _Run, path: Path, photo_id: str | None) -> None:
        """Queue the photo for its folder's album. Every run re-queues every file (adding is
        idempotent), so albums are complete even after an interruption between batches."""
        if run.albums and photo_id:
            folder = path.parent.relative_to(run.root).as_posix()
            title = (run.root.name or "Imported") if folder == "." else folder
            run.pending_album_adds.setdefault(title[:200], []).append(photo_id)

    def _flush_albums(self, run: _Run) -> None:
        for title, photo_ids in run.pending_album_adds.items():
            album_id = run.album_ids.get(title) or self.repo.album_titled(run.user.id, title)
            if album_id is None:
                album_id = str(self.ctx.albums.create(run.user, {"title": title})["album_id"])
                run.report.albums_created += 1
            run.album_ids[title] = album_id
            self.ctx.albums.add_photos(run.user, album_id, photo_ids)
        run.pending_album_adds.clear()

    # -- after the files: how their processing went ----------------------------------------------
    def unprocessed(self, user: User, root: Path) -> int:
        """Photos of this folder's import still waiting for (or in) processing."""
        return int(
            self.ctx.db.value(
                "SELECT COUNT(*) FROM import_files f JOIN photos p ON p.id = f.photo_id"
                " WHERE f.user_id = ? AND substr(f.path, 1, ?) = ? AND f.outcome = 'added'"
                " AND p.processing_status IN ('pending', 'processing')",
                self._under(user, root),
            )
        )

    def processing_failures(self, user: User, root: Path) -> list[tuple[str, str]]:
        """(path relative to the folder, reason) of this folder's photos whose processing failed."""
        prefix = self._under(user, root)
        rows = self.ctx.db.query(
            "SELECT f.path, p.failure_reason FROM import_files f JOIN photos p ON p.id = f.photo_id"
            " WHERE f.user_id = ? AND substr(f.path, 1, ?) = ? AND f.outcome = 'added'"
            " AND p.processing_status = 'failed' ORDER BY f.path",
            prefix,
        )
        return [(r["path"][len(prefix[2]) :], r["failure_reason"] or "processing failed") for r in rows]

    @staticmethod
    def _under(user: User, root: Path) -> tuple[str, int, str]:
        prefix = str(root.expanduser().resolve()).rstrip("/") + "/"
        return (user.id, len(prefix), prefix)
