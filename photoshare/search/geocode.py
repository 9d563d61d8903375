"""Offline reverse geocoding: GPS → "city, region, country" from the GeoNames cities data set that
the reverse-geocode package ships (nothing is downloaded)."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

__all__ = ["Place", "place_for", "places_for"]


@dataclass(frozen=True, slots=True)
class Place:
    city: str
    region: str
    country: str
    country_code: str

    @property
    def label(self) -> str:
        return ", ".join(p for p in (self.city, self.region, self.country) if p)


@functools.cache
def _geocoder() -> Any:
    import reverse_geocode  # loads a k-d tree of ~150k cities once (a fraction of a second)

    return reverse_geocode


def place_for(lat: float | None, lon: float | None) -> Place | None:
    return places_for([(lat, lon)])[0]


def places_for(points: list[tuple[float | None, float | None]]) -> list[Place | None]:
    """Places of many positions with one k-d tree query (None where a position is missing or invalid)."""
    valid = [
        i
        for i, (lat, lon) in enumerate(points)
        if lat is not None and lon is not None and -90 <= lat <= 90 and -180 <= lon <= 180 and (lat, lon) != (0, 0)
    ]
    out: list[Place | None] = [None] * len(points)
    if valid:
        hits = _geocoder().search([points[i] for i in valid])
        for i, hit in zip(valid, hits, strict=True):
            out[i] = Place(
                hit.get("city") or "", hit.get("state") or "", hit.get("country") or "", hit.get("country_code") or ""
            )
    return out


def place_coordinates() -> list[tuple[float, float]]:
    """(lat, lon) of every place in the data set: where people live, which is where land is (the world map
    on photo pages is drawn from it, so it needs no map tiles from the internet)."""
    import gzip
    import json
    from pathlib import Path

    path = Path(_geocoder().__file__).parent / "geocode.gz"
    with gzip.open(path) as fh:
        return [(loc["latitude"], loc["longitude"]) for loc in json.loads(fh.read())]
