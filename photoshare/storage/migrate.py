"""Copy every blob from one back end to another, resumably, without touching the source.

Keys are identical on every back end (storage/keys.py), so the database needs no change: after a
complete copy the admin switches `[storage] backend` and restarts. Re-running skips what is already
there with the same size, so an interrupted migration simply continues.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from photoshare.storage.base import BlobNotFound, BlobStore

__all__ = ["MigrationReport", "copy_blob", "migrate_blobs"]


@dataclass
class MigrationReport:
    copied: int = 0
    skipped: int = 0
    bytes_copied: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)


def migrate_blobs(
    source: BlobStore,
    target: BlobStore,
    *,
    dry_run: bool = False,
    progress: Callable[[str], None] | None = None,
) -> MigrationReport:
    report = MigrationReport()
    for key in source.iter_keys():
        if key.startswith("uploads/"):
            continue  # unconfirmed staging uploads: never acknowledged, nothing to keep
        try:
            size = source.size(key)
            if target.exists(key) and target.size(key) == size:
                report.skipped += 1
                continue
            if not dry_run:
                copy_blob(source, target, key)
            report.copied += 1
            report.bytes_copied += size
        except (BlobNotFound, OSError) as exc:
            report.failed.append((key, str(exc)))
        except Exception as exc:  # one unreadable blob must not stop the rest; it is reported
            report.failed.append((key, f"{type(exc).__name__}: {exc}"))
        if progress is not None:
            progress(key)
    return report


def copy_blob(source: BlobStore, target: BlobStore, key: str) -> None:
    """Copy one blob between back ends (straight from its file when the source keeps one)."""
    local = source.local_path(key)
    if local is not None:
        target.put_file(key, local, "")
        return
    with tempfile.NamedTemporaryFile(prefix="migrate-") as tmp:
        for chunk in source.iter_range(key):
            tmp.write(chunk)
        tmp.flush()
        target.put_file(key, Path(tmp.name), "")
