"""JSON API for signing in and out and for API tokens."""

from __future__ import annotations

import threading
import time
from collections import deque
from typing import Any

import msgspec
from litestar import Controller, Request, Response, delete, get, post
from litestar.datastructures import Cookie
from litestar.params import FromPath, JSONBody

from photoshare.errors import PermissionDenied, PhotoshareError, RateLimited
from photoshare.http.auth import SESSION_COOKIE, CurrentUser, csrf_token, get_ctx
from photoshare.users.models import User

__all__ = ["AuthController", "LoginLimiter", "session_cookie"]


class LoginBody(msgspec.Struct):
    username: str
    password: str


class TokenBody(msgspec.Struct):
    name: str = "token"


class PasswordBody(msgspec.Struct):
    current_password: str
    new_password: str


class LoginLimiter:
    """Sliding one-minute window of failed logins per client address and per username."""

    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def check(self, *keys: str) -> None:
        now = time.monotonic()
        with self._lock:
            for key in keys:
                hits = self._hits.get(key)
                while hits and now - hits[0] > 60:
                    hits.popleft()
                if hits and len(hits) >= self.per_minute:
                    raise RateLimited("too many failed sign-in attempts; wait a minute")

    def failed(self, *keys: str) -> None:
        with self._lock:
            for key in keys:
                self._hits.setdefault(key, deque()).append(time.monotonic())


def session_cookie(request: Request[Any, Any, Any], token: str, *, max_age: int) -> Cookie:
    ctx = get_ctx(request)
    return Cookie(
        key=SESSION_COOKIE,
        value=token,
        httponly=True,
        samesite="lax",
        path="/",
        secure=ctx.settings.server.cookie_secure,
        max_age=max_age,
    )


def login(request: Request[Any, Any, Any], username: str, password: str) -> tuple[User, str]:
    """Shared by the JSON login and the HTML form: rate-limited, returns the user and session token."""
    ctx = get_ctx(request)
    limiter: LoginLimiter = request.app.state.login_limiter
    keys = (f"ip:{request.client.host if request.client else '-'}", f"user:{username.strip().lower()}")
    limiter.check(*keys)
    try:
        user = ctx.users.authenticate(username, password)
    except PhotoshareError:
        limiter.failed(*keys)
        raise
    return user, ctx.users.start_session(user)


class AuthController(Controller):
    path = "/v1"
    tags = ["auth"]

    @post("/auth/login", sync_to_thread=True, status_code=200)
    def login(self, request: Request[Any, Any, Any], data: JSONBody[LoginBody]) -> Response[dict[str, Any]]:
        user, token = login(request, data.username, data.password)
        ctx = get_ctx(request)
        body = {"token": token, "user_id": user.id, "user": user.public(), "csrf_token": csrf_token(ctx, token)}
        max_age = ctx.settings.server.session_days * 86400
        return Response(body, cookies=[session_cookie(request, token, max_age=max_age)])

    @post("/auth/logout", sync_to_thread=True, status_code=200)
    def logout(self, request: Request[Any, Any, Any]) -> Response[dict[str, Any]]:
        ctx = get_ctx(request)
        auth = request.headers.get("authorization", "")
        token = auth[7:].strip() if auth[:7].lower() == "bearer " else request.cookies.get(SESSION_COOKIE, "")
        if token.startswith("s_"):  # API tokens are revoked explicitly, not by "log out"
            ctx.users.end_session(token)
        return Response({"ok": True}, cookies=[Cookie(key=SESSION_COOKIE, value="", max_age=0, path="/")])

    @get("/me", sync_to_thread=True)
    def me(self, user: CurrentUser) -> dict[str, Any]:
        return user.public()

    @post("/tokens", sync_to_thread=True, status_code=201)
    def create_token(
        self, request: Request[Any, Any, Any], user: CurrentUser, data: JSONBody[TokenBody]
    ) -> dict[str, Any]:
        token_id, token = get_ctx(request).users.create_api_token(user, data.name)
        return {"token_id": token_id, "token": token, "name": data.name}

    @get("/tokens", sync_to_thread=True)
    def list_tokens(self, request: Request[Any, Any, Any], user: CurrentUser) -> dict[str, Any]:
        return {"items": get_ctx(request).users.repo.tokens(user.id), "next_cursor": None}

    @delete("/tokens/{token_id:str}", sync_to_thread=True, status_code=200)
    def revoke_token(
        self, request: Request[Any, Any, Any], user: CurrentUser, token_id: FromPath[str]
    ) -> dict[str, Any]:
        get_ctx(request).users.revoke_api_token(user, token_id)
        return {"token_id": token_id, "revoked": True}

    @post("/users/me/password", sync_to_thread=True, status_code=200)
    def change_password(
        self, request: Request[Any, Any, Any], user: CurrentUser, data: JSONBody[PasswordBody]
    ) -> dict[str, Any]:
        """Change your own password; your other sessions are signed out, this one stays."""
        limiter: LoginLimiter = request.app.state.login_limiter
        key = f"user:{user.username}"
        limiter.check(key)
        try:
            get_ctx(request).users.change_password(
                user, data.current_password, data.new_password, keep_session=request.cookies.get(SESSION_COOKIE)
            )
        except PermissionDenied:  # only wrong guesses count towards the limit, not a too-short new password
            limiter.failed(key)
            raise
        return {"ok": True}
