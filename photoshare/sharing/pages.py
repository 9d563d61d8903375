"""HTML pages for shared things: `/s/{token}` (a share link, with its password prompt), and the pages
that user and public shares point at: `/albums/{id}` and `/photos/{id}`."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import Cookie
from litestar.params import FromPath, URLEncodedBody
from litestar.response import Redirect, Template

from photoshare.errors import Gone, NotAuthenticated, NotFound, PermissionDenied, PhotoshareError
from photoshare.http.auth import Viewer, get_ctx
from photoshare.sharing.api import LINK_COOKIE_PREFIX, open_link

__all__ = ["SharePageController"]


def _message(title: str, message: str, status: int) -> Template:
    return Template("share.html", context={"title": title, "message": message, "user": None}, status_code=status)


class SharePageController(Controller):
    include_in_schema = False

    @get("/s/{token:str}", sync_to_thread=True)
    def link_page(self, request: Request[Any, Any, Any], viewer: Viewer, token: FromPath[str]) -> Template:
        ctx = get_ctx(request)
        try:
            _, link = open_link(request, token, None, count_view=True)
        except NotAuthenticated:
            return Template(
                "share.html",
                context={"needs_password": True, "token": token, "title": "Shared", "user": viewer},
                status_code=401,
            )
        except Gone as exc:
            return _message("Link unavailable", exc.message, 410)
        except NotFound as exc:
            return _message("Link not found", exc.message, 404)
        context: dict[str, Any] = {"user": viewer, "token": token}
        if link.target_type == "album":
            album = ctx.albums.get(None, link.target_id, link)
            page = ctx.albums.photos_page(None, link.target_id, cursor=None, limit=200, link=link)
            context.update(title=album["title"], description=album["description"], album=album, photos=page["photos"])
        else:
            photo = ctx.photos.get(None, link.target_id, link)
            context.update(title=photo["title"] or "Shared photo", description=photo["description"], photos=[photo])
        return Template("share.html", context=context)

    @post("/s/{token:str}", sync_to_thread=True)
    def unlock(
        self, request: Request[Any, Any, Any], token: FromPath[str], data: URLEncodedBody[dict[str, str]]
    ) -> Response[Any]:
        ctx = get_ctx(request)
        try:
            share, _ = open_link(request, token, data.get("password") or "", count_view=False)
        except (PermissionDenied, NotAuthenticated) as exc:
            return Template(
                "share.html",
                context={"needs_password": True, "token": token, "title": "Shared", "error": exc.message, "user": None},
                status_code=403,
            )
        except PhotoshareError as exc:
            return _message("Link unavailable", exc.message, 410 if isinstance(exc, Gone) else 404)
        cookie = Cookie(
            key=LINK_COOKIE_PREFIX + share["id"],
            value=ctx.shares.unlock_value(share),
            httponly=True,
            samesite="lax",
            path=f"/s/{token}",
            secure=ctx.settings.server.cookie_secure,
        )
        # The JSON link API lives under /v1/links; a second cookie scoped there serves it too.
        api_cookie = Cookie(
            key=cookie.key,
            value=cookie.value,
            httponly=True,
            samesite="lax",
            path=f"/v1/links/{token}",
            secure=cookie.secure,
        )
        return Redirect(f"/s/{token}", cookies=[cookie, api_cookie])

    @get("/albums/{album_id:str}", sync_to_thread=True)
    def album_page(
        self, request: Request[Any, Any, Any], viewer: Viewer, album_id: FromPath[str]
    ) -> Template | Redirect:
        ctx = get_ctx(request)
        try:
            album = ctx.albums.get(viewer, album_id)
        except NotFound:
            if viewer is None:
                return Redirect(f"/login?next=/albums/{album_id}")
            raise
        page = ctx.albums.photos_page(viewer, album_id, cursor=None, limit=200)
        return Template(
            "share.html",
            context={
                "user": viewer,
                "title": album["title"],
                "album": album,
                "description": album["description"],
                "photos": page["photos"],
            },
        )

    @get("/photos/{photo_id:str}", sync_to_thread=True)
    def photo_page(
        self, request: Request[Any, Any, Any], viewer: Viewer, photo_id: FromPath[str]
    ) -> Template | Redirect:
        ctx = get_ctx(request)
        try:
            photo = ctx.photos.get(viewer, photo_id)
        except NotFound:
            if viewer is None:
                return Redirect(f"/login?next=/photos/{photo_id}")
            raise
        return Template(
            "share.html",
            context={
                "user": viewer,
                "title": photo["title"] or "Photo",
                "description": photo["description"],
                "photos": [photo],
            },
        )
