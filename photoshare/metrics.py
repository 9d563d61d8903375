"""Prometheus text exposition for /metrics: queue depth, photo states, delivery and job counters."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from photoshare.context import AppContext

__all__ = ["render_metrics"]


def _line(name: str, value: float, labels: dict[str, str] | None = None) -> str:
    if labels:
        inner = ",".join(f'{k}="{v}"' for k, v in labels.items())
        return f"{name}{{{inner}}} {value}"
    return f"{name} {value}"


def render_metrics(ctx: AppContext) -> str:
    out: list[str] = []

    def family(name: str, kind: str, help_text: str) -> None:
        out.append(f"# HELP {name} {help_text}")
        out.append(f"# TYPE {name} {kind}")

    family("photoshare_photos", "gauge", "Photos by processing status.")
    counts = ctx.photo_repo.status_counts()
    for status in ("pending", "processing", "ready", "failed"):
        out.append(_line("photoshare_photos", counts.get(status, 0), {"status": status}))
    family("photoshare_jobs", "gauge", "Jobs by state.")
    jobs = ctx.jobs.counts()
    for status in ("queued", "running", "done", "dead"):
        out.append(_line("photoshare_jobs", jobs.get(status, 0), {"status": status}))
    family("photoshare_jobs_processed_total", "counter", "Jobs completed by this process.")
    out.append(_line("photoshare_jobs_processed_total", ctx.runner.processed))
    family("photoshare_jobs_dead_total", "counter", "Jobs dead-lettered by this process.")
    out.append(_line("photoshare_jobs_dead_total", ctx.runner.failed))
    family("photoshare_media_cache_bytes", "gauge", "Bytes of variants held in memory.")
    out.append(_line("photoshare_media_cache_bytes", ctx.media_cache.stats()["blob_bytes"]))
    family("photoshare_users", "gauge", "Accounts.")
    out.append(_line("photoshare_users", ctx.users.repo.count()))
    free = ctx.store.free_bytes()
    if free is not None:
        family("photoshare_storage_free_bytes", "gauge", "Free space where new blobs go.")
        out.append(_line("photoshare_storage_free_bytes", free))
    return "\n".join(out) + "\n"
