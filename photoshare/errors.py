"""Domain errors. Services raise these; photoshare.http.errors maps each to one HTTP status."""

from __future__ import annotations

__all__ = [
    "Conflict",
    "Gone",
    "InsufficientStorage",
    "InvalidInput",
    "NotAuthenticated",
    "NotFound",
    "PermissionDenied",
    "PhotoshareError",
    "RateLimited",
    "SettingsError",
    "TooLarge",
    "UnsupportedMedia",
]


class PhotoshareError(Exception):
    """Base class; `code` is the stable machine-readable name clients see."""

    code = "error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code:
            self.code = code


class InvalidInput(PhotoshareError):
    code = "invalid_input"


class NotAuthenticated(PhotoshareError):
    code = "not_authenticated"


class PermissionDenied(PhotoshareError):
    code = "forbidden"


class NotFound(PhotoshareError):
    code = "not_found"


class Conflict(PhotoshareError):
    code = "conflict"


class Gone(PhotoshareError):
    code = "gone"


class TooLarge(PhotoshareError):
    code = "too_large"


class UnsupportedMedia(PhotoshareError):
    code = "unsupported_media_type"


class RateLimited(PhotoshareError):
    code = "rate_limited"


class InsufficientStorage(PhotoshareError):
    code = "insufficient_storage"


class SettingsError(PhotoshareError):
    code = "invalid_settings"
