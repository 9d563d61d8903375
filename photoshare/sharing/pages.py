"""The page of a share link, `/s/{token}`, with its password prompt. User and public shares point at the
ordinary `/albums/{id}` and `/photos/{id}` pages, which ask the access module like every other page."""

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
