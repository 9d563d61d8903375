"""How every page is rendered: the shared template context, and photo grids that page themselves.

A grid page renders its first page of photos; the browser asks the same URL with `?fragment=1&cursor=…`
for the next ones and gets just the tiles, so one template draws a tile whether it arrives with the page
or during infinite scroll.
"""

from __future__ import annotations

import itertools
from datetime import datetime
from typing import Any

from litestar import Request
from litestar.response import Redirect, Template

from photoshare.http.auth import SESSION_COOKIE, csrf_token, get_ctx
from photoshare.users.models import User

__all__ = ["date_groups", "grid_page", "page", "sign_in_first"]


def page(
    request: Request[Any, Any, Any], viewer: User | None, template: str, *, status: int = 200, **context: Any
) -> Template:
    """A full page: the template plus who is signed in and the CSRF token its scripts send back."""
    ctx = get_ctx(request)
    session = request.cookies.get(SESSION_COOKIE, "")
    return Template(
        template,
        context={
            "user": viewer,
            "csrf": csrf_token(ctx, session) if session and viewer else "",
            "path": request.url.path,
            "max_upload_mb": ctx.settings.limits.max_upload_mb,
            **context,
        },
        status_code=status,
    )


def sign_in_first(request: Request[Any, Any, Any]) -> Redirect:
    return Redirect(f"/login?next={request.url.path}")


def _day(photo: dict[str, Any]) -> str:
    return (photo.get("taken_at") or photo.get("uploaded_at") or "")[:10]


def _day_label(day: str) -> str:
    try:
        return datetime.strptime(day, "%Y-%m-%d").strftime("%A %-d %B %Y")
    except ValueError:
        return "Undated"


def date_groups(photos: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Consecutive photos taken on the same day, as `{day, label, photos}` (the list keeps its order)."""
    return [
        {"day": day, "label": _day_label(day), "photos": list(group)}
        for day, group in itertools.groupby(photos, key=_day)
    ]


def grid_page(
    request: Request[Any, Any, Any],
    viewer: User | None,
    template: str,
    result: dict[str, Any],
    *,
    grouped: bool = False,
    layout: str = "tiles",
    **context: Any,
) -> Template:
    """A page around a photo grid, or only the grid's next tiles when the browser asks for `fragment`.

    `result` is a list answer of a service (`photos`/`items`/`results` plus `next_cursor`).
    """
    photos = result.get("photos") or result.get("items") or result.get("results") or []
    grid = {
        "photos": photos,
        "groups": date_groups(photos) if grouped else None,
        "next_cursor": result.get("next_cursor"),
    }
    if request.query_params.get("fragment"):
        # `pick` draws a checkbox on each tile: the album page's "add photos" dialog pages the library with it.
        selectable = bool(request.query_params.get("pick"))
        return Template("_tiles.html", context={"grid": grid, "layout": layout, "selectable": selectable, **context})
    return page(request, viewer, template, grid=grid, layout=layout, **context)
