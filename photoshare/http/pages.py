"""HTML pages of the bundled web UI (sign in, library grid with upload)."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.params import FromQuery, URLEncodedBody
from litestar.response import Redirect, Template

from photoshare.errors import PhotoshareError
from photoshare.http.auth import SESSION_COOKIE, Viewer, csrf_token, get_ctx
from photoshare.users.api import login, session_cookie

__all__ = ["PageController"]


class PageController(Controller):
    include_in_schema = False

    @get("/", sync_to_thread=True)
    def library(self, request: Request[Any, Any, Any], viewer: Viewer) -> Template | Redirect:
        if viewer is None:
            return Redirect("/login")
        ctx = get_ctx(request)
        page = ctx.photos.list_own(viewer, cursor=None, limit=100)
        session = request.cookies.get(SESSION_COOKIE, "")
        return Template(
            "library.html",
            context={
                "user": viewer,
                "photos": page["photos"],
                "next_cursor": page["next_cursor"],
                "total": page["total"],
                "csrf": csrf_token(ctx, session) if session else "",
                "max_upload_mb": ctx.settings.limits.max_upload_mb,
            },
        )

    @get("/login", sync_to_thread=False)
    def login_form(self, error: FromQuery[str | None] = None) -> Template:
        return Template("login.html", context={"error": error})

    @post("/login", sync_to_thread=True)
    def login_submit(
        self,
        request: Request[Any, Any, Any],
        data: URLEncodedBody[dict[str, str]],
    ) -> Response[Any]:
        try:
            _, token = login(request, data.get("username", ""), data.get("password", ""))
        except PhotoshareError as exc:
            return Template("login.html", context={"error": exc.message}, status_code=401)
        max_age = get_ctx(request).settings.server.session_days * 86400
        return Redirect("/", cookies=[session_cookie(request, token, max_age=max_age)])

    @post("/logout", sync_to_thread=True)
    def logout_submit(self, request: Request[Any, Any, Any]) -> Redirect:
        token = request.cookies.get(SESSION_COOKIE)
        if token:
            get_ctx(request).users.end_session(token)
        return Redirect("/login", cookies=[session_cookie(request, "", max_age=0)])
