"""Time helpers: every stored timestamp is UTC ISO 8601 with a Z, so it sorts as text."""

from __future__ import annotations

import time
from datetime import UTC, datetime

__all__ = ["now", "now_iso", "parse_iso", "to_iso"]


def now() -> float:
    return time.time()


def to_iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def now_iso() -> str:
    return to_iso(time.time())


def parse_iso(value: str) -> float:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
