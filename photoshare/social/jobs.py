"""Background handlers of the social layer: fan-out, backfill, lazy unfollow cleanup, trimming."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from photoshare.jobs.registry import job

if TYPE_CHECKING:
    from photoshare.context import AppContext

__all__ = ["backfill", "fan_out", "forget", "spread", "trim"]


@job("feed.fanout", queue="social")
def fan_out(ctx: AppContext, payload: dict[str, Any]) -> None:
    ctx.feed.fan_out(payload["photo_id"])


@job("feed.backfill", queue="social")
def backfill(ctx: AppContext, payload: dict[str, Any]) -> None:
    ctx.feed.backfill(payload["follower_id"], payload["followee_id"])


@job("feed.unfollow", queue="social")
def forget(ctx: AppContext, payload: dict[str, Any]) -> None:
    ctx.feed.forget(payload["follower_id"], payload["followee_id"])


@job("feed.spread", queue="social")
def spread(ctx: AppContext, payload: dict[str, Any]) -> None:
    ctx.feed.spread(payload["user_id"])


@job("feed.trim", queue="social")
def trim(ctx: AppContext, payload: dict[str, Any]) -> None:
    ctx.feed.trim()
