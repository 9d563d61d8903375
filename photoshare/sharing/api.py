"""JSON API for shares: create (photo shares; album shares live with albums), revoke, list, open links."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, delete, get, post
from litestar.params import FromPath, JSONBody

from photoshare.errors import PermissionDenied
from photoshare.http.auth import CurrentUser, Viewer, get_ctx
from photoshare.http.paging import Paging

__all__ = ["LINK_COOKIE_PREFIX", "ShareController", "open_link"]

LINK_COOKIE_PREFIX = "photoshare_link_"


def open_link(request: Request[Any, Any, Any], token: str, password: str | None, *, count_view: bool) -> Any:
    """Open a share link with a password (header or form) or the unlock cookie set by the link page."""
    ctx = get_ctx(request)
    share = ctx.shares.find_link(token)
    unlock = request.cookies.get(LINK_COOKIE_PREFIX + share["id"])
    if password:
        limiter = request.app.state.login_limiter
        keys = (f"link:{share['id']}", f"ip:{request.client.host if request.client else '-'}")
        limiter.check(*keys)
        try:
            return ctx.shares.open_link(token, password=password, unlock=unlock, count_view=count_view)
        except PermissionDenied:
            limiter.failed(*keys)
            raise
    return ctx.shares.open_link(token, unlock=unlock, count_view=count_view)


class ShareController(Controller):
    path = "/v1"
    tags = ["sharing"]

    @post("/photos/{photo_id:str}/share", sync_to_thread=True, status_code=201)
    def share_photo(
        self,
        request: Request[Any, Any, Any],
        user: CurrentUser,
        photo_id: FromPath[str],
        data: JSONBody[dict[str, Any]],
    ) -> dict[str, Any]:
        return get_ctx(request).shares.create(user, "photo", photo_id, data)

    @delete("/shares/{share_id:str}", sync_to_thread=True, status_code=200)
    def revoke(self, request: Request[Any, Any, Any], user: CurrentUser, share_id: FromPath[str]) -> dict[str, Any]:
        get_ctx(request).shares.revoke(user, share_id)
        return {"share_id": share_id, "revoked": True}

    @get("/shares", sync_to_thread=True)
    def my_shares(
        self,
        request: Request[Any, Any, Any],
        user: CurrentUser,
        paging: Paging,
    ) -> dict[str, Any]:
        return get_ctx(request).shares.list_mine(user, cursor=paging.cursor, limit=paging.limit)

    @get("/shared", sync_to_thread=True)
    def shared_with_me(
        self,
        request: Request[Any, Any, Any],
        user: CurrentUser,
        paging: Paging,
    ) -> dict[str, Any]:
        return get_ctx(request).shares.shared_with_me(user, cursor=paging.cursor, limit=paging.limit)

    @get("/links/{token:str}", sync_to_thread=True)
    def link(
        self,
        request: Request[Any, Any, Any],
        viewer: Viewer,
        paging: Paging,
        token: FromPath[str],
    ) -> dict[str, Any]:
        """What a share link shows: its album (one page of photos) or its photo."""
        ctx = get_ctx(request)
        share, link = open_link(
            request, token, request.headers.get("x-share-password"), count_view=paging.cursor is None
        )
        out: dict[str, Any] = {
            # Send it back as X-Share-Pass for further pages: they do not spend views of a limited link.
            "view_pass": ctx.shares.view_pass(share["id"]),
            "share": {
                "share_id": share["id"],
                "permissions": share["permissions"],
                "expires_at": share["expires_at"],
                "target_type": share["target_type"],
            },
        }
        if link.target_type == "album":
            out["album"] = ctx.albums.get(None, link.target_id, link)
            out.update(
                ctx.albums.photos_page(None, link.target_id, cursor=paging.cursor, limit=paging.limit, link=link)
            )
        else:
            out["photo"] = ctx.photos.get(None, link.target_id, link)
        return out

    @get("/links/{token:str}/photos/{photo_id:str}", sync_to_thread=True)
    def link_photo(
        self, request: Request[Any, Any, Any], token: FromPath[str], photo_id: FromPath[str]
    ) -> dict[str, Any]:
        _, link = open_link(request, token, request.headers.get("x-share-password"), count_view=False)
        return get_ctx(request).photos.get(None, photo_id, link)
