"""`photoshare verify`: is every blob the library needs there, with the bytes it should have?

Originals (external-library files included) are re-hashed against their recorded SHA-256 and
variants against their etag (a SHA-256 prefix); other blobs are checked for presence. Blobs no
row refers to are orphans.
Repairs, with `repair`:
  - missing or damaged variants are rendered again from the original (the normal photo.process
    job, so a running appliance's pool does it, or ours when none runs);
  - a missing or damaged original is copied back from a backup folder (`from_backup`) when the
    copy there has the recorded SHA-256; files of external libraries are never written;
  - orphans under originals/ and variants/ are deleted, only when no appliance is running (an
    upload in flight stores its blob just before its row, and would look like an orphan).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from photoshare.admin.blobrefs import BlobRef, blob_refs, is_external
from photoshare.admin.progress import NO_PROGRESS, Progress
from photoshare.context import AppContext
from photoshare.storage.base import BlobNotFound
from photoshare.storage.hashing import sha256_file

__all__ = ["Problem", "Verifier", "VerifyReport", "iter_lines"]

_HASH_THREADS = 2  # hashlib releases the GIL; more threads only fight over the disk
_OWN_PREFIXES = ("originals/", "variants/")


@dataclass
class Problem:
    key: str
    kind: str
    """"original", "variant" or the table that refers to the blob."""
    issue: str
    """"missing" or "corrupt" (its size or hash is not what was recorded)."""
    photo_id: str | None = None
    repaired: bool = False
    note: str = ""


@dataclass
class VerifyReport:
    originals: int = 0
    variants: int = 0
    other: int = 0
    bytes_hashed: int = 0
    problems: list[Problem] = field(default_factory=list)
    orphans: list[str] = field(default_factory=list)
    orphans_removed: int = 0
    rerender_queued: int = 0
    """Re-renders left to the running appliance's job pool."""
    seconds: float = 0.0

    @property
    def unresolved(self) -> list[Problem]:
        return [p for p in self.problems if not p.repaired]

    def count(self, issue: str) -> int:
        return sum(1 for p in self.problems if p.issue == issue)

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["unresolved"] = len(self.unresolved)
        return out


def _sha256_blob(ctx: AppContext, key: str) -> tuple[str, int]:
    local = ctx.store.local_path(key)
    if local is not None:
        if not local.is_file():
            raise BlobNotFound(key)
        return sha256_file(local), local.stat().st_size
    h, n = hashlib.sha256(), 0
    for chunk in ctx.store.iter_range(key):
        h.update(chunk)
        n += len(chunk)
    return h.hexdigest(), n


class Verifier:
    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx

    def check(self, *, progress: Progress = NO_PROGRESS) -> VerifyReport:
        """Find every problem; changes nothing."""
        started = time.monotonic()
        report = VerifyReport()
        # Keys are listed before the rows are read: a blob stored just before its row commits is
        # then usually referenced by the time we look, instead of passing for an orphan.
        stored = [k for k in self.ctx.store.iter_keys() if not k.startswith("uploads/")]
        refs: dict[str, BlobRef] = {}
        for ref in blob_refs(self.ctx.db):
            refs.setdefault(ref.key, ref)
        report.orphans = sorted(set(stored) - set(refs))
        progress.start("Verifying", len(refs))
        with ThreadPoolExecutor(_HASH_THREADS) as pool:
            for problem, hashed in pool.map(self._check_one, refs.values()):
                if problem is not None:
                    report.problems.append(problem)
                report.bytes_hashed += hashed
                progress.advance()
        report.originals = sum(1 for r in refs.values() if r.kind == "original")
        report.variants = sum(1 for r in refs.values() if r.kind == "variant")
        report.other = len(refs) - report.originals - report.variants
        report.seconds = time.monotonic() - started
        return report

    def _check_one(self, ref: BlobRef) -> tuple[Problem | None, int]:
        def problem(issue: str) -> Problem:
            return Problem(ref.key, ref.kind, issue, ref.photo_id)

        try:
            size = self.ctx.store.size(ref.key)
            if ref.size is not None and size != ref.size:
                return problem("corrupt"), 0  # truncated or replaced: no need to read it
            if not ref.sha256:
                return None, 0
            digest, size = _sha256_blob(self.ctx, ref.key)
        except (BlobNotFound, FileNotFoundError):
            return problem("missing"), 0
        # Originals record the whole SHA-256, variants its first 32 hex digits (their etag).
        return (None if digest[: len(ref.sha256)] == ref.sha256 else problem("corrupt")), size

    # -- repairs --------------------------------------------------------------------------------
    def repair(self, report: VerifyReport, *, own_pool: bool, from_backup: Path | None = None) -> None:
        """Fix what can be fixed (see the module docstring); marks each fixed problem `repaired`."""
        broken_originals = {p.photo_id for p in report.problems if p.kind == "original"}
        if from_backup is not None:
            for p in report.problems:
                if p.kind == "original":
                    self._restore_original(p, from_backup)
            broken_originals = {p.photo_id for p in report.problems if p.kind == "original" and not p.repaired}
        rerender = sorted(
            {p.photo_id for p in report.problems if p.kind == "variant" and p.photo_id}
            - {pid for pid in broken_originals if pid}
        )
        for photo_id in rerender:
            self.ctx.jobs.enqueue("photo.process", {"photo_id": photo_id}, dedupe_key=f"rerender:{photo_id}")
        for p in report.problems:
            if p.kind == "variant" and p.photo_id in broken_originals:
                p.note = "cannot be rendered again: its original is damaged or missing"
            elif p.kind == "original" and not p.repaired:
                p.note = (
                    "the file in the external library changed or is gone"
                    if is_external(p.key)
                    else "copy it back with --from-backup DIR (a `photoshare backup` folder)"
                )
            elif p.kind not in ("original", "variant"):
                p.note = f"referenced by {p.kind}; only a backup has it"
        if own_pool:
            for key in report.orphans:
                if key.startswith(_OWN_PREFIXES):
                    self.ctx.store.delete(key)
                    report.orphans_removed += 1
        report.rerender_queued = len(rerender)

    def pending_rerenders(self) -> int:
        return int(
            self.ctx.db.value(
                "SELECT COUNT(*) FROM jobs WHERE dedupe_key LIKE 'rerender:%' AND status IN ('queued', 'running')"
            )
        )

    def confirm_rerenders(self, report: VerifyReport) -> None:
        """After the re-render jobs ran: mark the variant problems whose blobs are now right."""
        report.rerender_queued = 0
        current = {(r.photo_id, r.key): r for r in blob_refs(self.ctx.db) if r.kind == "variant"}
        by_photo: dict[str, list[BlobRef]] = {}
        for ref in current.values():
            by_photo.setdefault(ref.photo_id or "", []).append(ref)
        for p in report.problems:
            if p.kind != "variant" or p.note:
                continue
            refs = by_photo.get(p.photo_id or "", [])
            ok = bool(refs) and all(self._check_one(r)[0] is None for r in refs)
            p.repaired = ok
            if not ok:
                p.note = "rendering it again failed: see `photoshare jobs list --status dead`"

    def _restore_original(self, p: Problem, backup: Path) -> None:
        if is_external(p.key):
            return
        candidate = backup / "blobs" / p.key
        photo = self.ctx.photo_repo.get(p.photo_id) if p.photo_id else None
        if photo is None or not candidate.is_file() or sha256_file(candidate) != photo["sha256"]:
            p.note = f"no intact copy in {backup}"
            return
        self.ctx.store.put_file(p.key, candidate, photo["content_type"])
        p.repaired = True
        p.note = f"copied back from {backup}"


def iter_lines(report: VerifyReport, *, limit: int = 50) -> Iterator[str]:
    """The verify report as the CLI prints it."""
    yield (
        f"Checked {report.originals} originals, {report.variants} variants and {report.other} other blobs"
        f" ({report.bytes_hashed / 1e6:.1f} MB re-hashed) in {report.seconds:.1f} s: {report.count('missing')} missing,"
        f" {report.count('corrupt')} corrupt, {len(report.orphans)} orphans"
    )
    for p in report.problems[:limit]:
        state = "repaired" if p.repaired else "NOT repaired" if p.note else "found"
        yield f"  {p.issue:<8} {p.kind:<9} {p.key}  photo {p.photo_id or '-'}  [{state}] {p.note}".rstrip()
    if len(report.problems) > limit:
        yield f"  ... and {len(report.problems) - limit} more (--json lists all)"
    for key in report.orphans[:limit]:
        yield f"  orphan   {key}"
    if report.orphans_removed:
        yield f"Removed {report.orphans_removed} orphan blob(s)"
    if report.rerender_queued:
        yield f"Queued {report.rerender_queued} photo(s) for re-rendering by the running appliance"
