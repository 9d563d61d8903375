"""Keeping the search index in step with SQLite: one job per changed photo, and a full rebuild."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from photoshare.jobs.registry import job

if TYPE_CHECKING:
    from photoshare.context import AppContext

__all__ = ["index_owner", "index_photo", "rebuild"]


@job("search.index_photo", queue="index")
def index_photo(ctx: AppContext, payload: dict[str, Any]) -> None:
    ctx.search.index_photo(payload["photo_id"])


@job("search.index_owner", queue="index")
def index_owner(ctx: AppContext, payload: dict[str, Any]) -> None:
    """An account-wide change (going private) changes who may find each of its photos."""
    for row in ctx.db.query("SELECT id FROM photos WHERE user_id = ?", (payload["user_id"],)):
        ctx.search.index_photo(row["id"])


@job("search.rebuild", queue="index")
def rebuild(ctx: AppContext, payload: dict[str, Any]) -> None:
    ctx.search.rebuild()
