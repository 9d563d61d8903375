"""JSON API of the social layer: people, follows, feeds, likes, comments, saves and live events."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from litestar import Controller, Request, delete, get, patch, post
from litestar.params import FromPath, FromQuery, JSONBody
from litestar.response import ServerSentEvent, ServerSentEventMessage

from photoshare.http.auth import CurrentUser, Viewer, get_ctx
from photoshare.http.paging import Paging

__all__ = ["EventsController", "FeedController", "PeopleController"]

_KEEPALIVE_S = 15.0


class PeopleController(Controller):
    path = "/v1"
    tags = ["social"]

    @get("/users/me", sync_to_thread=True)
    def my_profile(self, request: Request[Any, Any, Any], user: CurrentUser) -> dict[str, Any]:
        return get_ctx(request).profiles.get(user, user.id)

    @get("/users/{user_id:str}", sync_to_thread=True)
    def profile(self, request: Request[Any, Any, Any], viewer: Viewer, user_id: FromPath[str]) -> dict[str, Any]:
        return get_ctx(request).profiles.get(viewer, user_id)

    @patch("/users/me", sync_to_thread=True)
    def update_me(
        self, request: Request[Any, Any, Any], user: CurrentUser, data: JSONBody[dict[str, Any]]
    ) -> dict[str, Any]:
        return get_ctx(request).profiles.update_me(user, data)

    @get("/search/users", sync_to_thread=True)
    def search_users(
        self, request: Request[Any, Any, Any], q: FromQuery[str] = "", limit: FromQuery[int | None] = None
    ) -> dict[str, Any]:
        return get_ctx(request).profiles.search(q, limit=limit)

    @post("/users/{user_id:str}/follow", sync_to_thread=True, status_code=200)
    def follow(self, request: Request[Any, Any, Any], user: CurrentUser, user_id: FromPath[str]) -> dict[str, Any]:
        return get_ctx(request).follows.follow(user, user_id)

    @delete("/users/{user_id:str}/follow", sync_to_thread=True, status_code=200)
    def unfollow(self, request: Request[Any, Any, Any], user: CurrentUser, user_id: FromPath[str]) -> dict[str, Any]:
        return get_ctx(request).follows.unfollow(user, user_id)

    @get("/users/{user_id:str}/followers", sync_to_thread=True)
    def followers(
        self,
        request: Request[Any, Any, Any],
        viewer: Viewer,
        paging: Paging,
        user_id: FromPath[str],
    ) -> dict[str, Any]:
        return get_ctx(request).follows.connections(
            viewer, user_id, followers=True, cursor=paging.cursor, limit=paging.limit
        )

    @get("/users/{user_id:str}/following", sync_to_thread=True)
    def following(
        self,
        request: Request[Any, Any, Any],
        viewer: Viewer,
        paging: Paging,
        user_id: FromPath[str],
    ) -> dict[str, Any]:
        return get_ctx(request).follows.connections(
            viewer, user_id, followers=False, cursor=paging.cursor, limit=paging.limit
        )

    @get("/follow-requests", sync_to_thread=True)
    def follow_requests(
        self,
        request: Request[Any, Any, Any],
        user: CurrentUser,
        paging: Paging,
    ) -> dict[str, Any]:
        return get_ctx(request).follows.requests(user, cursor=paging.cursor, limit=paging.limit)

    @post("/follow-requests/{user_id:str}/approve", sync_to_thread=True, status_code=200)
    def approve(self, request: Request[Any, Any, Any], user: CurrentUser, user_id: FromPath[str]) -> dict[str, Any]:
        return get_ctx(request).follows.decide(user, user_id, approve=True)

    @delete("/follow-requests/{user_id:str}", sync_to_thread=True, status_code=200)
    def reject(self, request: Request[Any, Any, Any], user: CurrentUser, user_id: FromPath[str]) -> dict[str, Any]:
        return get_ctx(request).follows.decide(user, user_id, approve=False)


class FeedController(Controller):
    path = "/v1"
    tags = ["social"]

    @get("/feed", sync_to_thread=True)
    def feed(
        self,
        request: Request[Any, Any, Any],
        user: CurrentUser,
        paging: Paging,
    ) -> dict[str, Any]:
        return get_ctx(request).feed.home(user, cursor=paging.cursor, limit=paging.limit)

    @get("/users/{user_id:str}/posts", sync_to_thread=True)
    def posts(
        self,
        request: Request[Any, Any, Any],
        viewer: Viewer,
        paging: Paging,
        user_id: FromPath[str],
    ) -> dict[str, Any]:
        return get_ctx(request).feed.profile_posts(viewer, user_id, cursor=paging.cursor, limit=paging.limit)

    @get("/explore", sync_to_thread=True)
    def explore(
        self,
        request: Request[Any, Any, Any],
        viewer: Viewer,
        paging: Paging,
        sort: FromQuery[str] = "recent",
    ) -> dict[str, Any]:
        return get_ctx(request).feed.explore(viewer, sort=sort, cursor=paging.cursor, limit=paging.limit)

    @post("/photos/{photo_id:str}/like", sync_to_thread=True, status_code=200)
    def like(self, request: Request[Any, Any, Any], user: CurrentUser, photo_id: FromPath[str]) -> dict[str, Any]:
        return get_ctx(request).engagement.like(user, photo_id, on=True)

    @delete("/photos/{photo_id:str}/like", sync_to_thread=True, status_code=200)
    def unlike(self, request: Request[Any, Any, Any], user: CurrentUser, photo_id: FromPath[str]) -> dict[str, Any]:
        return get_ctx(request).engagement.like(user, photo_id, on=False)

    @get("/photos/{photo_id:str}/comments", sync_to_thread=True)
    def comments(
        self,
        request: Request[Any, Any, Any],
        viewer: Viewer,
        paging: Paging,
        photo_id: FromPath[str],
    ) -> dict[str, Any]:
        return get_ctx(request).engagement.comments(viewer, photo_id, cursor=paging.cursor, limit=paging.limit)

    @post("/photos/{photo_id:str}/comments", sync_to_thread=True, status_code=201)
    def comment(
        self,
        request: Request[Any, Any, Any],
        user: CurrentUser,
        photo_id: FromPath[str],
        data: JSONBody[dict[str, Any]],
    ) -> dict[str, Any]:
        return get_ctx(request).engagement.comment(user, photo_id, data.get("body"))

    @delete("/comments/{comment_id:str}", sync_to_thread=True, status_code=200)
    def delete_comment(
        self, request: Request[Any, Any, Any], user: CurrentUser, comment_id: FromPath[str]
    ) -> dict[str, Any]:
        get_ctx(request).engagement.delete_comment(user, comment_id)
        return {"comment_id": comment_id, "deleted": True}

    @post("/photos/{photo_id:str}/save", sync_to_thread=True, status_code=200)
    def save(self, request: Request[Any, Any, Any], user: CurrentUser, photo_id: FromPath[str]) -> dict[str, Any]:
        return get_ctx(request).engagement.save(user, photo_id, on=True)

    @delete("/photos/{photo_id:str}/save", sync_to_thread=True, status_code=200)
    def unsave(self, request: Request[Any, Any, Any], user: CurrentUser, photo_id: FromPath[str]) -> dict[str, Any]:
        return get_ctx(request).engagement.save(user, photo_id, on=False)

    @get("/saved", sync_to_thread=True)
    def saved(
        self,
        request: Request[Any, Any, Any],
        user: CurrentUser,
        paging: Paging,
    ) -> dict[str, Any]:
        return get_ctx(request).engagement.saved(user, cursor=paging.cursor, limit=paging.limit)


class EventsController(Controller):
    path = "/v1"
    tags = ["events"]

    @get("/events")
    async def events(self, request: Request[Any, Any, Any], user: CurrentUser) -> ServerSentEvent:
        """Server-sent events for the signed-in user: photo.ready, photo.failed, follower.new, comment.new, …"""
        bus = get_ctx(request).events
        queue = bus.subscribe(user.id)

        async def stream() -> AsyncIterator[ServerSentEventMessage]:
            try:
                yield ServerSentEventMessage(comment="connected", data=None)
                while True:
                    try:
                        event = await asyncio.wait_for(queue.get(), _KEEPALIVE_S)
                    except TimeoutError:
                        yield ServerSentEventMessage(comment="keepalive", data=None)  # keeps proxies from closing it
                        continue
                    yield ServerSentEventMessage(data=event.encode(), event=event.type)
            finally:
                bus.unsubscribe(user.id, queue)

        return ServerSentEvent(stream())
