"""Cursor pagination shared by every list endpoint: `?cursor=<opaque>&limit=N` (1-200, default 50)."""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from photoshare.db import Database
from photoshare.errors import InvalidInput

__all__ = ["Page", "decode_cursor", "decode_offset", "encode_cursor", "newest_first", "parse_limit"]

_ID = re.compile(r"^[0-9a-f]{32}$")
_OFFSET = re.compile(r"^\d{1,6}$")


def encode_cursor(value: str) -> str:
    return base64.urlsafe_b64encode(value.encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None, pattern: re.Pattern[str] = _ID) -> str | None:
    """The position a cursor stands for; 400 for anything this server did not hand out."""
    if not cursor:
        return None
    try:
        value = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise InvalidInput("malformed cursor", code="bad_cursor") from None
    if not pattern.fullmatch(value):
        raise InvalidInput("malformed cursor", code="bad_cursor")
    return value


def decode_offset(cursor: str | None) -> int:
    """For ranked lists (search hits, people by size) that have no stable key: the cursor is a position."""
    return int(decode_cursor(cursor, _OFFSET) or 0)


def parse_limit(limit: int | None, default: int = 50) -> int:
    if limit is None:
        return default
    if not 1 <= limit <= 200:
        raise InvalidInput("limit must be between 1 and 200", code="bad_limit")
    return limit


@dataclass(slots=True)
class Page:
    rows: list[dict[str, Any]]
    next_cursor: str | None


def newest_first(
    db: Database, sql: str, params: Sequence[Any], *, cursor: str | None, limit: int | None, column: str = "id"
) -> Page:
    """Run `sql` (a SELECT ending in a WHERE clause) as one keyset page, newest id first.

    Ids are time-ordered, so "id < cursor" is a stable position even while new rows arrive.
    """
    n = parse_limit(limit)
    before = decode_cursor(cursor)
    if before:
        sql += f" AND {column} < ?"
        params = [*params, before]
    rows = db.query(f"{sql} ORDER BY {column} DESC LIMIT ?", (*params, n + 1))
    key = column.rsplit(".", 1)[-1]
    return Page(rows[:n], encode_cursor(rows[n - 1][key]) if len(rows) > n else None)
