"""People pages: the faces found in a user's own photos, grouped per person, to name and browse."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from photoshare.http.auth import Viewer, get_ctx
from photoshare.web.render import grid_page, page, sign_in_first

__all__ = ["PeoplePages"]


class PeoplePages(Controller):
    include_in_schema = False

    @get("/people", sync_to_thread=True)
    def people(self, request: Request[Any, Any, Any], viewer: Viewer) -> Template | Redirect:
        if viewer is None:
            return sign_in_first(request)
        ml = get_ctx(request).ml
        people = ml.people(viewer, cursor=None, limit=200)["items"]
        return page(request, viewer, "people.html", people=people, ml_enabled=ml.enabled)

    @get("/people/{person_id:str}", sync_to_thread=True)
    def person(
        self,
        request: Request[Any, Any, Any],
        viewer: Viewer,
        person_id: FromPath[str],
        cursor: FromQuery[str | None] = None,
    ) -> Template | Redirect:
        if viewer is None:
            return sign_in_first(request)
        ml = get_ctx(request).ml
        person = ml.person(viewer, person_id)
        result = ml.person_photos(viewer, person_id, cursor=cursor, limit=100)
        return grid_page(request, viewer, "person.html", result, person=person)
