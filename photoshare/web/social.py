"""The social pages: home feed, explore and a person's profile grid."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from photoshare.http.auth import Viewer, get_ctx
from photoshare.web.render import grid_page, sign_in_first

__all__ = ["SocialPages"]


class SocialPages(Controller):
    include_in_schema = False

    @get("/feed", sync_to_thread=True)
    def feed(
        self, request: Request[Any, Any, Any], viewer: Viewer, cursor: FromQuery[str | None] = None
    ) -> Template | Redirect:
        if viewer is None:
            return sign_in_first(request)
        ctx = get_ctx(request)
        result = ctx.feed.home(viewer, cursor=cursor, limit=30)
        _with_authors(ctx, viewer, result["items"])
        return grid_page(request, viewer, "feed.html", result, layout="cards")

    @get("/explore", sync_to_thread=True)
    def explore(
        self,
        request: Request[Any, Any, Any],
        viewer: Viewer,
        sort: FromQuery[str] = "recent",
        cursor: FromQuery[str | None] = None,
    ) -> Template:
        result = get_ctx(request).feed.explore(viewer, sort=sort, cursor=cursor, limit=60)
        return grid_page(request, viewer, "explore.html", result, sort=sort)

    @get("/u/{username:str}", sync_to_thread=True)
    def profile(
        self,
        request: Request[Any, Any, Any],
        viewer: Viewer,
        username: FromPath[str],
        cursor: FromQuery[str | None] = None,
    ) -> Template:
        ctx = get_ctx(request)
        profile = ctx.profiles.by_username(viewer, username)
        result = ctx.feed.profile_posts(viewer, profile["user_id"], cursor=cursor, limit=60)
        me = viewer is not None and viewer.id == profile["user_id"]
        return grid_page(
            request, viewer, "profile.html", result, profile=profile, me=me, private=bool(result.get("private"))
        )


def _with_authors(ctx: Any, viewer: Any, photos: list[dict[str, Any]]) -> None:
    """Feed cards name their author; one lookup per distinct author on the page."""
    names = {uid: ctx.profiles.get(viewer, uid) for uid in {p["user_id"] for p in photos}}
    for p in photos:
        p["author"] = names[p["user_id"]]
    state = ctx.engagement.state(viewer, [p["photo_id"] for p in photos])
    for p in photos:
        p.update(state[p["photo_id"]])
