"""The signed-in user's own pages: library, upload, one photo, shared with me, search."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from litestar import Controller, Request, get
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from photoshare.errors import NotFound
from photoshare.http.auth import Viewer, get_ctx
from photoshare.search.geocode import place_for
from photoshare.web.render import grid_page, page, sign_in_first

__all__ = ["LibraryPages"]

_SEARCH_PARAMS = ("q", "date_from", "date_to", "location", "camera", "near")


class LibraryPages(Controller):
    include_in_schema = False

    @get("/", sync_to_thread=True)
    def library(
        self, request: Request[Any, Any, Any], viewer: Viewer, cursor: FromQuery[str | None] = None
    ) -> Template | Redirect:
        if viewer is None:
            return Redirect("/login")
        result = get_ctx(request).photos.list_own(viewer, cursor=cursor, limit=100, order="taken")
        return grid_page(request, viewer, "library.html", result, grouped=True, total=result["total"])

    @get("/upload", sync_to_thread=True)
    def upload(self, request: Request[Any, Any, Any], viewer: Viewer) -> Template | Redirect:
        if viewer is None:
            return sign_in_first(request)
        ctx = get_ctx(request)
        albums = ctx.albums.list_own(viewer, cursor=None, limit=200)["items"]
        return page(request, viewer, "upload.html", albums=albums)

    @get("/trash", sync_to_thread=True)
    def trash(
        self, request: Request[Any, Any, Any], viewer: Viewer, cursor: FromQuery[str | None] = None
    ) -> Template | Redirect:
        if viewer is None:
            return sign_in_first(request)
        ctx = get_ctx(request)
        result = ctx.photos.trash(viewer, cursor=cursor, limit=100)
        return grid_page(
            request, viewer, "trash.html", result, restore=True, retention_days=ctx.settings.trash.retention_days
        )

    @get("/photos/{photo_id:str}", sync_to_thread=True)
    def photo(self, request: Request[Any, Any, Any], viewer: Viewer, photo_id: FromPath[str]) -> Template | Redirect:
        ctx = get_ctx(request)
        try:
            photo = ctx.photos.get(viewer, photo_id)
        except NotFound:
            if viewer is None:
                return sign_in_first(request)
            raise
        photo.update(ctx.engagement.state(viewer, [photo_id])[photo_id])
        mine = viewer if viewer is not None and viewer.id == photo["user_id"] else None
        # The place name is shown to everyone who sees the photo (search finds it by place too); the exact
        # coordinates only reach those allowed to download, as in the JSON API.
        exif = ctx.photo_repo.exif(photo_id) or {}
        place = place_for(exif.get("gps_lat"), exif.get("gps_lng"))
        comments = ctx.engagement.comments(viewer, photo_id, cursor=None, limit=100)["items"]
        ml = ctx.ml if ctx.ml.enabled else None
        similar = ml.similar(viewer, photo_id, 12)["results"] if ml else []
        return page(
            request,
            viewer,
            "photo.html",
            photo=photo,
            owner=mine is not None,
            author=ctx.profiles.get(viewer, photo["user_id"]),
            place=place.label if place else None,
            comments=comments[::-1],  # oldest first, as a conversation reads
            albums=ctx.albums.list_own(mine, cursor=None, limit=200)["items"] if mine else [],
            shares=ctx.shares.for_target(mine, "photo", photo_id) if mine else [],
            analysis=ml.photo_ml(viewer, photo_id) if ml and viewer else None,
            similar={"photos": similar, "groups": None, "next_cursor": None},
        )

    @get("/shared", sync_to_thread=True)
    def shared(self, request: Request[Any, Any, Any], viewer: Viewer) -> Template | Redirect:
        if viewer is None:
            return sign_in_first(request)
        ctx = get_ctx(request)
        return page(
            request,
            viewer,
            "shared.html",
            received=ctx.shares.shared_with_me(viewer, cursor=None, limit=200)["items"],
            mine=ctx.shares.list_mine(viewer, cursor=None, limit=200)["items"],
        )

    @get("/search", sync_to_thread=True)
    def search(
        self, request: Request[Any, Any, Any], viewer: Viewer, cursor: FromQuery[str | None] = None
    ) -> Template | Redirect:
        if viewer is None:
            return sign_in_first(request)
        params: dict[str, Any] = {k: request.query_params.get(k) or None for k in _SEARCH_PARAMS}
        asked = any(params.values())
        result = get_ctx(request).search.search(viewer, {**params, "cursor": cursor, "limit": 60}) if asked else {}
        return grid_page(
            request,
            viewer,
            "search.html",
            result,
            params=params,
            asked=asked,
            total=result.get("total", 0),
            refinements=_refinements(params, result.get("facets", {})),
        )


def _year_range(value: Any) -> dict[str, str]:
    year = int(float(value))
    return {"date_from": f"{year}-01-01", "date_to": f"{year}-12-31"}


_FACETS = (
    ("years", "Years", "Year", _year_range),
    ("locations", "Places", "Place", lambda v: {"location": str(v)}),
    ("cameras", "Cameras", "Camera", lambda v: {"camera": str(v)}),
)


def _refinements(params: dict[str, Any], facets: dict[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """Each facet bucket as a link to the same search narrowed by it."""
    groups = []
    for key, title, noun, narrow in _FACETS:
        links = []
        for bucket in facets.get(key, []):
            value = bucket["value"]
            label = str(int(float(value))) if key == "years" else str(value)
            query = {k: v for k, v in {**params, **narrow(value)}.items() if v}
            links.append(
                {"label": label, "count": bucket["count"], "href": "/search?" + urlencode(query), "noun": noun}
            )
        if links:
            groups.append({"title": title, "links": links})
    return groups
