"""Keeping the search index in step with SQLite: one job per changed photo, and a full rebuild."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from photoshare.jobs.registry import job

if TYPE_CHECKING:
    from photoshare.context import AppContext

__all__ = ["index_owner", "index_photo", "index_photos", "rebuild"]


@job("search.index_photo", queue="index")
def index_photo(ctx: AppContext, payload: dict[str, Any]) -> None:
    ctx.search.index_photo(payload["photo_id"])


@job("search.index_photos", queue="index")
def index_photos(ctx: AppContext, payload: dict[str, Any]) -> None:
    """Photos whose audience changed through an album (membership, visibility, deletion)."""
    ctx.search.index_photos(payload["photo_ids"])


@job("search.index_owner", queue="index")
def index_owner(ctx: AppContext, payload: dict[str, Any]) -> None:
    """An account-wide change (going private) changes who may find each of its photos, and the
    audience of its albums, which may hold photos of others."""
    rows = ctx.db.query(
        "SELECT id FROM photos WHERE user_id = ?1 UNION SELECT ap.photo_id FROM album_photos ap"
        " JOIN albums a ON a.id = ap.album_id WHERE a.user_id = ?1",
        (payload["user_id"],),
    )
    ctx.search.index_photos([r["id"] for r in rows])


@job("search.rebuild", queue="index")
def rebuild(ctx: AppContext, payload: dict[str, Any]) -> None:
    ctx.search.rebuild()
