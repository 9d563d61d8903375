"""JSON API for following people."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, delete, post
from litestar.params import FromPath

from photoshare.http.auth import CurrentUser, get_ctx

__all__ = ["SocialController"]


class SocialController(Controller):
    path = "/v1/users"
    tags = ["social"]

    @post("/{user_id:str}/follow", sync_to_thread=True, status_code=200)
    def follow(self, request: Request[Any, Any, Any], user: CurrentUser, user_id: FromPath[str]) -> dict[str, Any]:
        return get_ctx(request).follows.follow(user, user_id)

    @delete("/{user_id:str}/follow", sync_to_thread=True, status_code=200)
    def unfollow(self, request: Request[Any, Any, Any], user: CurrentUser, user_id: FromPath[str]) -> dict[str, Any]:
        return get_ctx(request).follows.unfollow(user, user_id)
