"""Sign in and out, the settings page and the admin page."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.params import FromQuery, URLEncodedBody
from litestar.response import Redirect, Template

from photoshare.errors import PhotoshareError
from photoshare.http.auth import SESSION_COOKIE, Viewer, get_ctx
from photoshare.users.api import login, session_cookie
from photoshare.web.render import page, sign_in_first

__all__ = ["AccountPages"]


def _safe_next(target: str | None) -> str:
    # Only same-site paths: "//evil.example" or "https://…" would make the login form an open redirect.
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


class AccountPages(Controller):
    include_in_schema = False

    @get("/login", sync_to_thread=True)
    def login_form(
        self,
        request: Request[Any, Any, Any],
        viewer: Viewer,
        error: FromQuery[str | None] = None,
        next: FromQuery[str | None] = None,
    ) -> Template | Redirect:
        if viewer is not None:
            return Redirect(_safe_next(next))
        return page(request, None, "login.html", error=error, next=_safe_next(next))

    @post("/login", sync_to_thread=True)
    def login_submit(self, request: Request[Any, Any, Any], data: URLEncodedBody[dict[str, str]]) -> Response[Any]:
        target = _safe_next(data.get("next"))
        try:
            _, token = login(request, data.get("username", ""), data.get("password", ""))
        except PhotoshareError as exc:
            return page(request, None, "login.html", status=401, error=exc.message, next=target)
        max_age = get_ctx(request).settings.server.session_days * 86400
        return Redirect(target, cookies=[session_cookie(request, token, max_age=max_age)])

    @post("/logout", sync_to_thread=True)
    def logout_submit(self, request: Request[Any, Any, Any]) -> Redirect:
        token = request.cookies.get(SESSION_COOKIE)
        if token:
            get_ctx(request).users.end_session(token)
        return Redirect("/login", cookies=[session_cookie(request, "", max_age=0)])

    @get("/settings", sync_to_thread=True)
    def settings(self, request: Request[Any, Any, Any], viewer: Viewer) -> Template | Redirect:
        if viewer is None:
            return sign_in_first(request)
        ctx = get_ctx(request)
        return page(
            request,
            viewer,
            "settings.html",
            profile=ctx.profiles.get(viewer, viewer.id),
            tokens=ctx.users.repo.tokens(viewer.id),
            follow_requests=ctx.follows.requests(viewer, cursor=None, limit=200)["items"],
        )

    @get("/admin", sync_to_thread=True)
    def admin(self, request: Request[Any, Any, Any], viewer: Viewer) -> Template | Redirect:
        if viewer is None:
            return sign_in_first(request)
        if not viewer.is_admin:
            return page(
                request,
                viewer,
                "message.html",
                status=403,
                title="Administrators only",
                message="This page is for the appliance's administrators.",
            )
        return page(request, viewer, "admin.html")
