"""A world map drawn from the offline place data set, for the "where" panel of photo pages.

Land is approximated by the 2° cells that hold at least one known place; each row's runs of such cells
become one rectangle, which keeps the SVG small (it is generated once per process and cached by browsers).
"""

from __future__ import annotations

import functools
from typing import Any

from litestar import Response, get

from photoshare.search.geocode import place_coordinates

__all__ = ["WORLD_MAP_PATH", "world_map", "world_svg"]

WORLD_MAP_PATH = "/map/world.svg"
_CELL = 2  # degrees


@functools.cache
def world_svg() -> str:
    cells = {(int((90 - lat) // _CELL), int((lon + 180) // _CELL)) for lat, lon in place_coordinates()}
    rows: dict[int, list[int]] = {}
    for row, col in cells:
        rows.setdefault(row, []).append(col)
    parts = []
    for row, cols in sorted(rows.items()):
        cols.sort()
        start = prev = cols[0]
        for col in [*cols[1:], None]:
            if col is not None and col == prev + 1:
                prev = col
                continue
            x, y, width = start * _CELL - 180, row * _CELL - 90, (prev - start + 1) * _CELL
            parts.append(f"M{x} {y}h{width}v{_CELL}h-{width}z")
            if col is not None:
                start = prev = col
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="-180 -90 360 180">'
        '<rect x="-180" y="-90" width="360" height="180" fill="#dbe8f5"/>'
        f'<path fill="#b9cfa4" d="{"".join(parts)}"/></svg>'
    )


@get(WORLD_MAP_PATH, sync_to_thread=True, include_in_schema=False)
def world_map() -> Response[Any]:
    return Response(world_svg(), media_type="image/svg+xml", headers={"Cache-Control": "public, max-age=86400"})
