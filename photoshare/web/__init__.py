"""The bundled web UI: server-rendered pages over the same services as the JSON API."""

from __future__ import annotations

from photoshare.web.account import AccountPages
from photoshare.web.albums import AlbumPages
from photoshare.web.library import LibraryPages
from photoshare.web.people import PeoplePages
from photoshare.web.social import SocialPages
from photoshare.web.worldmap import world_map

__all__ = ["PAGE_CONTROLLERS"]

PAGE_CONTROLLERS = [AccountPages, LibraryPages, AlbumPages, SocialPages, PeoplePages, world_map]
