"""One map from domain errors (and framework errors) to HTTP responses: `{"error": {code, message}}`."""

from __future__ import annotations

import logging
from typing import Any

from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException

from photoshare import errors

__all__ = ["EXCEPTION_HANDLERS", "STATUS"]

log = logging.getLogger("photoshare.http")

STATUS: dict[type[errors.PhotoshareError], int] = {
    errors.InvalidInput: 400,
    errors.NotAuthenticated: 401,
    errors.PermissionDenied: 403,
    errors.NotFound: 404,
    errors.Conflict: 409,
    errors.Gone: 410,
    errors.TooLarge: 413,
    errors.UnsupportedMedia: 415,
    errors.RateLimited: 429,
    errors.InsufficientStorage: 507,
    errors.SettingsError: 400,
}


def _body(code: str, message: str, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, **(extra or {})}}


def domain_error(request: Request[Any, Any, Any], exc: errors.PhotoshareError) -> Response[Any]:
    status = next((s for cls, s in STATUS.items() if isinstance(exc, cls)), 400)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else {"Retry-After": "60"} if status == 429 else None
    return Response(_body(exc.code, exc.message), status_code=status, headers=headers)


def http_error(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    status = exc.status_code
    if isinstance(exc, ValidationException):
        extra = {"details": exc.extra} if exc.extra else None
        return Response(_body("invalid_input", "the request is not valid", extra), status_code=400)
    codes = {404: "not_found", 405: "method_not_allowed", 413: "too_large", 429: "rate_limited"}
    code = codes.get(status, "http_error")
    if status >= 500:
        log.error("HTTP %s on %s: %s", status, request.url.path, exc.detail)
    return Response(_body(code, str(exc.detail)), status_code=status, headers=exc.headers)


def internal_error(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return Response(_body("internal", "internal error"), status_code=500)


EXCEPTION_HANDLERS: dict[type[Exception], Any] = {
    errors.PhotoshareError: domain_error,
    HTTPException: http_error,
    Exception: internal_error,
}
