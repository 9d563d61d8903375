"""The feed's post scans read the covering partial index photos_posts alone: a timeline rebuild, a
backfill and a celebrity pull cost index pages, not one table row per post (issue: feed at 1M posts)."""

from __future__ import annotations

from photoshare.context import AppContext
from photoshare.social.feed import NEWEST_POSTS_SQL, REBUILD_SQL


def plan(ctx: AppContext, sql: str, params: tuple[object, ...]) -> list[str]:
    return [r["detail"] for r in ctx.db.query(f"EXPLAIN QUERY PLAN {sql}", params)]


def test_post_scans_use_the_covering_posts_index(ctx: AppContext) -> None:
    rebuild = plan(ctx, REBUILD_SQL, ("u", 5000, 50, 800))
    assert any("COVERING INDEX photos_posts" in step for step in rebuild), rebuild
    # A celebrity's newest posts come off the index in order: only `limit` entries are read, none sorted.
    pull = plan(ctx, NEWEST_POSTS_SQL, ("a", "z", 70))
    assert any("COVERING INDEX photos_posts" in step for step in pull), pull
    assert not any("TEMP B-TREE" in step for step in pull), pull
