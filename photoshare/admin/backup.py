"""Online, incremental backups of a whole appliance, and restoring one into an empty data folder.

A backup folder holds:
    photoshare.db   a consistent snapshot taken with SQLite's online backup API while the server runs
    blobs/<key>     every blob that snapshot refers to, laid out like the local store
    secret.key      the signing key (signed links and sessions depend on it)
    config.toml     the config file in use, when there is one
    manifest.json   what the backup holds; written last, so its presence means the backup is complete

Order makes it consistent under load: the snapshot comes first, and every blob it refers to was
durable before its row committed, so copying the snapshot's blobs afterwards always finds them
(unless a purge removed one in between: reported as missing). Blob keys are content-addressed, so a
blob already in the backup with the same size is skipped: repeated backups copy only what is new,
and blobs the library no longer refers to are pruned, so the folder mirrors the library.
The search index is derived data and is rebuilt on restore; external-library files stay in their
folders and are not copied (back those folders up on their own).
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import apsw

from photoshare.admin.blobrefs import BlobRef, blob_refs, is_external
from photoshare.admin.progress import NO_PROGRESS, Progress
from photoshare.clock import now_iso
from photoshare.context import AppContext, DataDirLock, build_context, make_store
from photoshare.db import Database
from photoshare.db.migrations import MIGRATIONS
from photoshare.errors import InvalidInput
from photoshare.settings import Settings
from photoshare.storage.base import BlobNotFound, BlobStore
from photoshare.storage.local import LocalBlobStore
from photoshare.storage.migrate import copy_blob

__all__ = ["BackupReport", "RestoreReport", "backup", "restore"]

MANIFEST = "manifest.json"
FORMAT = 1
# What a restore cut short leaves in the data folder (it may be run again over it).
_RESTORE_LEAVES = {"lost+found", "serve.lock", "blobs", "tmp", "secret.key", "config.toml", "photoshare.db.partial"}
_COPY_THREADS = 4  # overlaps the per-blob fsyncs; the disks, not the CPU, set the pace


@dataclass
class BackupReport:
    dest: str
    photos: int = 0
    blobs: int = 0
    copied: int = 0
    skipped: int = 0
    bytes_copied: int = 0
    pruned: int = 0
    external: int = 0
    """Originals of external libraries: referenced, not copied."""
    missing: list[str] = field(default_factory=list)
    """Blobs the snapshot refers to that the store no longer had (purged during the backup)."""
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class RestoreReport:
    data_dir: str
    photos: int = 0
    blobs: int = 0
    bytes_copied: int = 0
    missing: list[str] = field(default_factory=list)
    config_restored: str | None = None
    migrations_applied: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _fsync_file(path: Path) -> None:
    with open(path, "rb+") as f:
        os.fsync(f.fileno())


def _write_atomic(path: Path, data: bytes, mode: int = 0o644) -> None:
    tmp = path.with_name(path.name + ".partial")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def snapshot_database(source: apsw.Connection, dest: Path) -> None:
    """Copy a live database with the online backup API in one step (one read transaction, so the
    copy is a consistent point in time even while other processes write)."""
    dest.unlink(missing_ok=True)
    target = apsw.Connection(str(dest))
    try:
        with target.backup("main", source, "main") as b:
            b.step(-1)
        check = target.execute("PRAGMA quick_check").fetchall()
        if check != [("ok",)]:
            raise InvalidInput(f"the database snapshot failed its integrity check: {check[:3]}")
        target.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        target.close()
    _fsync_file(dest)
    os.chmod(dest, 0o600)  # password hashes and session token hashes


def _unique(refs: Iterable[BlobRef]) -> dict[str, BlobRef]:
    out: dict[str, BlobRef] = {}
    for ref in refs:
        out.setdefault(ref.key, ref)
    return out


def _check_dest(dest: Path, settings: Settings) -> None:
    if dest.is_relative_to(settings.data_path) or settings.data_path.is_relative_to(dest):
        raise InvalidInput(f"{dest} overlaps the data folder {settings.data_path}: back up to another place")
    if dest.exists() and not dest.is_dir():
        raise InvalidInput(f"{dest} is not a folder")
    if dest.exists() and any(dest.iterdir()) and not (dest / MANIFEST).exists() and not (dest / "blobs").is_dir():
        raise InvalidInput(f"{dest} is not empty and is not a photoshare backup")


def backup(
    ctx: AppContext, dest: Path, *, config_file: Path | None = None, progress: Progress = NO_PROGRESS
) -> BackupReport:
    """Back up the running (or stopped) appliance of `ctx` into `dest`; safe to repeat into the same folder."""
    started = time.monotonic()
    dest = dest.expanduser().resolve()
    _check_dest(dest, ctx.settings)
    dest.mkdir(parents=True, exist_ok=True)
    report = BackupReport(dest=str(dest))

    partial = dest / "photoshare.db.partial"
    progress.start("Database", 1)
    snapshot_database(ctx.db.connection(), partial)
    progress.advance()
    snap = Database(partial)
    try:
        refs = _unique(blob_refs(snap))
        report.photos = int(snap.value("SELECT COUNT(*) FROM photos"))
        applied = [r["name"] for r in snap.query("SELECT name FROM schema_migrations ORDER BY name")]
    finally:
        snap.close()
    report.external = sum(1 for k in refs if is_external(k))
    keys = {k: r for k, r in refs.items() if not is_external(k)}
    report.blobs = len(keys)

    target = LocalBlobStore(dest / "blobs")
    progress.start("Blobs", len(keys))

    def one(ref: BlobRef) -> tuple[str, int]:
        size = ref.size if ref.size is not None else ctx.store.size(ref.key)
        if target.exists(ref.key) and target.size(ref.key) == size:
            return "skipped", 0
        copy_blob(ctx.store, target, ref.key)
        return "copied", size

    with ThreadPoolExecutor(_COPY_THREADS) as pool:
        futures = {pool.submit(one, ref): key for key, ref in keys.items()}
        for future, key in futures.items():
            try:
                outcome, size = future.result()
            except (BlobNotFound, FileNotFoundError):
                report.missing.append(key)
            else:
                report.copied += outcome == "copied"
                report.skipped += outcome == "skipped"
                report.bytes_copied += size
            progress.advance()

    _write_atomic(dest / "secret.key", (ctx.settings.data_path / "secret.key").read_bytes(), 0o600)
    if config_file is not None:
        _write_atomic(dest / "config.toml", config_file.read_bytes(), 0o600)
    else:
        (dest / "config.toml").unlink(missing_ok=True)
    # Commit: the new snapshot replaces the old one only now that its blobs are all in place.
    os.replace(partial, dest / "photoshare.db")
    manifest = {
        "format": FORMAT,
        "created_at": now_iso(),
        "source": str(ctx.settings.data_path),
        "migrations": applied,
        "photos": report.photos,
        "blobs": report.blobs,
        "external_originals": report.external,
        "config": config_file is not None,
    }
    _write_atomic(dest / MANIFEST, json.dumps(manifest, indent=2).encode())
    report.pruned = _prune(target, set(keys))
    report.seconds = time.monotonic() - started
    return report


def _prune(target: LocalBlobStore, keep: set[str]) -> int:
    """Drop blobs the library no longer refers to, so the backup stays a mirror of it."""
    pruned = 0
    for key in list(target.iter_keys()):
        if key not in keep:
            target.delete(key)
            pruned += 1
    return pruned


def _backup_keys(blobs: Path) -> Iterable[tuple[str, Path]]:
    for dirpath, dirnames, filenames in os.walk(blobs):
        dirnames[:] = [d for d in dirnames if d != ".tmp"]
        for name in filenames:
            path = Path(dirpath) / name
            yield path.relative_to(blobs).as_posix(), path


def restore(settings: Settings, src: Path, *, progress: Progress = NO_PROGRESS) -> RestoreReport:
    """Restore the backup in `src` into the (empty or new) data folder of `settings`."""
    started = time.monotonic()
    src = src.expanduser().resolve()
    if not (src / MANIFEST).is_file() or not (src / "photoshare.db").is_file():
        raise InvalidInput(f"{src} is not a complete photoshare backup (no {MANIFEST} or photoshare.db)")
    manifest = json.loads((src / MANIFEST).read_text())
    if manifest.get("format") != FORMAT:
        raise InvalidInput(f"{src} has backup format {manifest.get('format')!r}; this version reads format {FORMAT}")
    data = settings.data_path
    if (data / "photoshare.db").exists() or (
        data.exists() and any(p.name not in _RESTORE_LEAVES for p in data.iterdir())
    ):
        raise InvalidInput(f"{data} is not empty: restore into an empty or new data folder")
    known = {name for name, _ in MIGRATIONS}
    newer = [m for m in manifest.get("migrations", []) if m not in known]
    if newer:
        raise InvalidInput(f"the backup comes from a newer photoshare (schema {', '.join(newer)}): upgrade first")
    data.mkdir(parents=True, exist_ok=True)
    lock = DataDirLock(data)
    lock.acquire()
    try:
        report = RestoreReport(data_dir=str(data))
        # Blobs first, database last: a restore cut short leaves no database, so the folder is
        # never mistaken for a working library and the restore can simply be run again.
        store: BlobStore = make_store(settings)
        files = list(_backup_keys(src / "blobs"))
        progress.start("Blobs", len(files))

        def one(item: tuple[str, Path]) -> int:
            key, path = item
            size = path.stat().st_size
            if not (store.exists(key) and store.size(key) == size):
                store.put_file(key, path, "")
            return size

        with ThreadPoolExecutor(_COPY_THREADS) as pool:
            for size in pool.map(one, files):
                report.blobs += 1
                report.bytes_copied += size
                progress.advance()
        _write_atomic(data / "secret.key", (src / "secret.key").read_bytes(), 0o600)
        if (src / "config.toml").is_file():
            _write_atomic(data / "config.toml", (src / "config.toml").read_bytes(), 0o600)
            report.config_restored = str(data / "config.toml")
        progress.start("Database", 1)
        source = apsw.Connection(str(src / "photoshare.db"), flags=apsw.SQLITE_OPEN_READONLY)
        try:
            snapshot_database(source, data / "photoshare.db.partial")
        finally:
            source.close()
        os.replace(data / "photoshare.db.partial", data / "photoshare.db")
        progress.advance()
    finally:
        lock.release()

    # Opening it brings an older backup's schema forward and queues the search index rebuild
    # (derived data, not in the backup) for the appliance's first start.
    ctx = build_context(settings)
    try:
        report.migrations_applied = [m for m, _ in MIGRATIONS if m not in manifest.get("migrations", [])]
        report.photos = int(ctx.db.value("SELECT COUNT(*) FROM photos"))
        report.missing = sorted(k for k in _unique(blob_refs(ctx.db)) if not is_external(k) and not ctx.store.exists(k))
    finally:
        ctx.close()
    shutil.rmtree(data / "tmp", ignore_errors=True)
    (data / "tmp").mkdir(exist_ok=True)
    report.seconds = time.monotonic() - started
    return report
