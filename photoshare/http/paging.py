"""The `?cursor=&limit=` pair every list endpoint takes, as one dependency (`paging: Paging`)."""

from __future__ import annotations

from dataclasses import dataclass

from litestar.di import NamedDependency
from litestar.params import FromQuery

__all__ = ["PageParams", "Paging", "page_params"]


@dataclass(frozen=True, slots=True)
class PageParams:
    cursor: str | None
    limit: int | None


def page_params(cursor: FromQuery[str | None] = None, limit: FromQuery[int | None] = None) -> PageParams:
    """Parsed here, checked by the services (pagination.py): a bad cursor or limit is a 400 either way."""
    return PageParams(cursor, limit)


Paging = NamedDependency[PageParams]
"""Handler parameter `paging: Paging`: the request's cursor and limit."""
