"""Offline reverse geocoding: GPS → "city, region, country" from the GeoNames cities data set that
the reverse-geocode package ships (nothing is downloaded)."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

__all__ = ["Place", "place_for"]


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
    if lat is None or lon is None or not (-90 <= lat <= 90 and -180 <= lon <= 180) or (lat == 0 and lon == 0):
        return None
    hit = _geocoder().get((lat, lon))
    return Place(hit.get("city") or "", hit.get("state") or "", hit.get("country") or "", hit.get("country_code") or "")
