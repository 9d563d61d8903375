"""`photoshare stats`: what the appliance holds, counted from SQLite (no blob store walk)."""

from __future__ import annotations

from typing import Any

from photoshare.context import AppContext

__all__ = ["collect_stats", "stats_lines"]


def _count(ctx: AppContext, sql: str) -> int:
    return int(ctx.db.value(sql) or 0)


def collect_stats(ctx: AppContext) -> dict[str, Any]:
    db = ctx.db
    db_path = ctx.settings.db_path
    db_bytes = sum(p.stat().st_size for p in (db_path, db_path.with_name(db_path.name + "-wal")) if p.exists())
    photos = (
        db.one(
            "SELECT COUNT(*) AS total, COALESCE(SUM(deleted_at IS NOT NULL), 0) AS trashed,"
            " COALESCE(SUM(media_type = 'video'), 0) AS videos FROM photos"
        )
        or {}
    )
    # Content-addressed: identical bytes are stored once however many photos share them.
    stored = (
        db.one(
            "SELECT COUNT(*) AS n, COALESCE(SUM(size), 0) AS bytes FROM (SELECT MAX(file_size_bytes) AS size"
            " FROM photos WHERE original_key NOT LIKE 'external/%' GROUP BY original_key)"
        )
        or {}
    )
    variants = db.one("SELECT COUNT(*) AS n, COALESCE(SUM(size_bytes), 0) AS bytes FROM photo_variants") or {}
    return {
        "data_dir": str(ctx.settings.data_path),
        "users": {
            "total": _count(ctx, "SELECT COUNT(*) FROM users"),
            "admins": _count(ctx, "SELECT COUNT(*) FROM users WHERE is_admin = 1"),
            "disabled": _count(ctx, "SELECT COUNT(*) FROM users WHERE disabled = 1"),
        },
        "photos": {
            "total": photos.get("total", 0),
            "trashed": photos.get("trashed", 0),
            "videos": photos.get("videos", 0),
            "by_status": ctx.photo_repo.status_counts(),
            "external": _count(ctx, "SELECT COUNT(*) FROM photos WHERE original_key LIKE 'external/%'"),
        },
        "albums": _count(ctx, "SELECT COUNT(*) FROM albums"),
        "shares": _count(ctx, "SELECT COUNT(*) FROM shares WHERE revoked_at IS NULL"),
        "follows": _count(ctx, "SELECT COUNT(*) FROM follows WHERE status = 'accepted'"),
        "likes": _count(ctx, "SELECT COUNT(*) FROM likes"),
        "comments": _count(ctx, "SELECT COUNT(*) FROM comments"),
        "external_libraries": [r["root"] for r in db.query("SELECT DISTINCT root FROM libraries ORDER BY root")],
        "storage": {
            "backend": ctx.settings.storage.backend,
            "originals": stored.get("n", 0),
            "originals_bytes": stored.get("bytes", 0),
            "variants": variants.get("n", 0),
            "variants_bytes": variants.get("bytes", 0),
            "database_bytes": db_bytes,
            "free_bytes": ctx.store.free_bytes(),
        },
        "jobs": ctx.jobs.counts(),
    }


def _size(n: int | None) -> str:
    if n is None:
        return "unknown"
    size = float(n)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if size < 1000 or unit == "TB":
            return f"{size:.1f} {unit}" if unit != "B" else f"{int(size)} B"
        size /= 1000
    return f"{n} B"


def stats_lines(s: dict[str, Any]) -> list[str]:
    p, st, u = s["photos"], s["storage"], s["users"]
    status = ", ".join(f"{k} {v}" for k, v in sorted(p["by_status"].items())) or "none"
    jobs = ", ".join(f"{k} {v}" for k, v in sorted(s["jobs"].items())) or "none"
    lines = [
        f"Data folder   {s['data_dir']}",
        f"Users         {u['total']} ({u['admins']} admin, {u['disabled']} disabled)",
        f"Photos        {p['total']} ({status}; {p['trashed']} in trash, {p['videos']} videos,"
        f" {p['external']} in external libraries)",
        f"Albums        {s['albums']}, shares {s['shares']}, follows {s['follows']}, likes {s['likes']},"
        f" comments {s['comments']}",
        f"Storage       {st['backend']}: {st['originals']} originals {_size(st['originals_bytes'])},"
        f" {st['variants']} variants {_size(st['variants_bytes'])}, database {_size(st['database_bytes'])},"
        f" free {_size(st['free_bytes'])}",
        f"Jobs          {jobs}",
    ]
    lines += [f"External      {root}" for root in s["external_libraries"]]
    return lines
