"""Album pages: the list with a create form, and one album with adding, reordering and sharing."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from photoshare.errors import NotFound
from photoshare.http.auth import Viewer, get_ctx
from photoshare.web.render import grid_page, page, sign_in_first

__all__ = ["AlbumPages"]


class AlbumPages(Controller):
    include_in_schema = False

    @get("/albums", sync_to_thread=True)
    def albums(self, request: Request[Any, Any, Any], viewer: Viewer) -> Template | Redirect:
        if viewer is None:
            return sign_in_first(request)
        items = get_ctx(request).albums.list_own(viewer, cursor=None, limit=200)["items"]
        return page(request, viewer, "albums.html", albums=items)

    @get("/albums/{album_id:str}", sync_to_thread=True)
    def album(
        self,
        request: Request[Any, Any, Any],
        viewer: Viewer,
        album_id: FromPath[str],
        cursor: FromQuery[str | None] = None,
    ) -> Template | Redirect:
        ctx = get_ctx(request)
        try:
            album = ctx.albums.get(viewer, album_id)
        except NotFound:
            if viewer is None:
                return sign_in_first(request)
            raise
        owner = viewer is not None and album["user_id"] == viewer.id
        result = ctx.albums.photos_page(viewer, album_id, cursor=cursor, limit=200)
        shares = ctx.shares.for_target(viewer, "album", album_id) if owner and viewer else []
        return grid_page(request, viewer, "album.html", result, album=album, owner=owner, shares=shares)
