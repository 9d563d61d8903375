"""JSON API of the ML features: similar photos, what was found in a photo, and people (face clusters)."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Controller, Request, get, patch, post
from litestar.params import FromPath, FromQuery, JSONBody

from photoshare.http.auth import CurrentUser, Viewer, get_ctx
from photoshare.http.paging import Paging

__all__ = ["MLController"]


class NameBody(msgspec.Struct):
    name: str


class MLController(Controller):
    path = "/v1"
    tags = ["ml"]

    @get("/photos/{photo_id:str}/similar", sync_to_thread=True)
    def similar(
        self,
        request: Request[Any, Any, Any],
        viewer: Viewer,
        photo_id: FromPath[str],
        limit: FromQuery[int | None] = None,
    ) -> dict[str, Any]:
        """Photos that look most like this one, among those the viewer may see (most similar first)."""
        return get_ctx(request).ml.similar(viewer, photo_id, limit)

    @get("/photos/{photo_id:str}/ml", sync_to_thread=True)
    def photo_ml(self, request: Request[Any, Any, Any], user: CurrentUser, photo_id: FromPath[str]) -> dict[str, Any]:
        """ML status of a photo: text read in it, faces found (people and names for the owner only)."""
        return get_ctx(request).ml.photo_ml(user, photo_id)

    @get("/people", sync_to_thread=True)
    def people(
        self,
        request: Request[Any, Any, Any],
        user: CurrentUser,
        paging: Paging,
    ) -> dict[str, Any]:
        """The face clusters of the signed-in user's library: named first, then the most photographed."""
        return get_ctx(request).ml.people(user, cursor=paging.cursor, limit=paging.limit)

    @get("/people/{person_id:str}", sync_to_thread=True)
    def person(self, request: Request[Any, Any, Any], user: CurrentUser, person_id: FromPath[str]) -> dict[str, Any]:
        return get_ctx(request).ml.person(user, person_id)

    @get("/people/{person_id:str}/photos", sync_to_thread=True)
    def person_photos(
        self,
        request: Request[Any, Any, Any],
        user: CurrentUser,
        paging: Paging,
        person_id: FromPath[str],
    ) -> dict[str, Any]:
        return get_ctx(request).ml.person_photos(user, person_id, cursor=paging.cursor, limit=paging.limit)

    @post("/people/{person_id:str}", sync_to_thread=True, status_code=200)
    def name_person(
        self, request: Request[Any, Any, Any], user: CurrentUser, person_id: FromPath[str], data: JSONBody[NameBody]
    ) -> dict[str, Any]:
        """Name a person ("" removes the name). Naming two clusters alike merges them; searching the name
        then finds every photo of the person (for the owner only)."""
        return get_ctx(request).ml.name_person(user, person_id, data.name)

    @patch("/people/{person_id:str}", sync_to_thread=True)
    def rename_person(
        self, request: Request[Any, Any, Any], user: CurrentUser, person_id: FromPath[str], data: JSONBody[NameBody]
    ) -> dict[str, Any]:
        return get_ctx(request).ml.name_person(user, person_id, data.name)
