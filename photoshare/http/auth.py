"""Who is asking: a session cookie (web UI) or `Authorization: Bearer <token>` (scripts).

Cookie-authenticated requests that change state must carry `X-CSRF-Token` (the web UI reads it from
the page), so another site cannot ride the cookie; bearer tokens are not sent by browsers on their
own and need no such check.
"""

from __future__ import annotations

import hmac
from typing import TYPE_CHECKING, Any

from litestar import Request
from litestar.di import NamedDependency

from photoshare.errors import NotAuthenticated, PermissionDenied
from photoshare.users.models import User

if TYPE_CHECKING:
    from photoshare.context import AppContext

__all__ = [
    "SESSION_COOKIE",
    "CurrentUser",
    "Viewer",
    "csrf_token",
    "get_ctx",
    "require_admin",
    "require_user",
    "viewer",
]

SESSION_COOKIE = "photoshare_session"
_SAFE = frozenset({"GET", "HEAD", "OPTIONS"})

CurrentUser = NamedDependency[User]
"""Handler parameter `user: CurrentUser` — the signed-in user; 401 for anonymous requests."""
Viewer = NamedDependency[User | None]
"""Handler parameter `viewer: Viewer` — the signed-in user or None."""


def get_ctx(request: Request[Any, Any, Any]) -> AppContext:
    return request.app.state.ctx  # type: ignore[no-any-return]


def csrf_token(ctx: AppContext, session_token: str) -> str:
    return ctx.signer.mac("csrf", session_token, 32)


def _resolve(request: Request[Any, Any, Any]) -> User | None:
    ctx = get_ctx(request)
    auth = request.headers.get("authorization", "")
    if auth[:7].lower() == "bearer ":
        user = ctx.users.resolve(auth[7:].strip())
        if user is None:
            raise NotAuthenticated("invalid or expired token", code="bad_token")
        return user
    session = request.cookies.get(SESSION_COOKIE)
    if not session:
        return None
    user = ctx.users.resolve(session)
    if user is None:
        return None
    sent = request.headers.get("x-csrf-token", "")
    if request.method not in _SAFE and not hmac.compare_digest(sent.encode(), csrf_token(ctx, session).encode()):
        raise PermissionDenied("missing or wrong X-CSRF-Token header", code="csrf")
    return user


def viewer(request: Request[Any, Any, Any]) -> User | None:
    """The signed-in user, or None for anonymous visitors."""
    return _resolve(request)


def require_user(request: Request[Any, Any, Any]) -> User:
    user = _resolve(request)
    if user is None:
        raise NotAuthenticated("sign in first")
    return user


def require_admin(request: Request[Any, Any, Any]) -> User:
    user = require_user(request)
    if not user.is_admin:
        raise PermissionDenied("administrators only")
    return user
