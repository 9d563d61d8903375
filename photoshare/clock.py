"""Time helpers: every stored timestamp is UTC ISO 8601 with a Z, so it sorts as text."""

from __future__ import annotations

import time
from datetime import UTC, datetime

__all__ = ["now", "now_iso", "parse_iso", "parse_user_datetime", "to_iso"]


def now() -> float:
    return time.time()


def to_iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def now_iso() -> str:
    return to_iso(time.time())


def parse_iso(value: str) -> float:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def parse_user_datetime(value: object, name: str) -> datetime | None:
    """An ISO 8601 date-time from a client (None stays None); naive values are taken as UTC."""
    from photoshare.errors import InvalidInput

    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidInput(f"{name} must be an ISO 8601 date-time")
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(f"{name} must be an ISO 8601 date-time") from None
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)
