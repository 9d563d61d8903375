"""JSON API for search."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get
from litestar.params import FromQuery

from photoshare.http.auth import Viewer, get_ctx
from photoshare.http.paging import Paging

__all__ = ["SearchController"]


class SearchController(Controller):
    path = "/v1/search"
    tags = ["search"]

    @get("/photos", sync_to_thread=True)
    def photos(
        self,
        request: Request[Any, Any, Any],
        viewer: Viewer,
        paging: Paging,
        q: FromQuery[str | None] = None,
        date_from: FromQuery[str | None] = None,
        date_to: FromQuery[str | None] = None,
        location: FromQuery[str | None] = None,
        camera: FromQuery[str | None] = None,
        near: FromQuery[str | None] = None,
    ) -> dict[str, Any]:
        return get_ctx(request).search.search(
            viewer,
            {
                "q": q,
                "date_from": date_from,
                "date_to": date_to,
                "location": location,
                "camera": camera,
                "near": near,
                "cursor": paging.cursor,
                "limit": paging.limit,
            },
        )
