"""Background handlers of the ML stage, run by the "ml" pool so inference never delays photo readiness."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from photoshare.jobs.registry import job

if TYPE_CHECKING:
    from photoshare.context import AppContext

__all__ = ["analyze_photo", "backfill", "rebuild_vectors"]


@job("ml.analyze", queue="ml")
def analyze_photo(ctx: AppContext, payload: dict[str, Any]) -> None:
    """Follows photo.process (see jobs/pipeline.py). With ML disabled it only completes."""
    if ctx.ml.enabled:
        ctx.ml.analyze(payload["photo_id"])


@job("ml.backfill", queue="ml")
def backfill(ctx: AppContext, payload: dict[str, Any]) -> None:
    """Queue analysis of every ready photo that has none yet (or of all of them with `all`)."""
    sql = "SELECT p.id, p.user_id FROM photos p WHERE p.processing_status = 'ready' AND p.deleted_at IS NULL"
    if not payload.get("all"):
        sql += " AND NOT EXISTS (SELECT 1 FROM ml_results r WHERE r.photo_id = p.id)"
    with ctx.db.transaction():
        for row in ctx.db.query(sql):
            photo_id = row["id"]
            ctx.jobs.enqueue("ml.analyze", {"photo_id": photo_id}, user_id=row["user_id"], dedupe_key=f"ml:{photo_id}")


@job("ml.rebuild_vectors", queue="ml")
def rebuild_vectors(ctx: AppContext, payload: dict[str, Any]) -> None:
    ctx.ml.rebuild_vectors()
