"""JSON API for albums. Each handler is one call into AlbumService."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, delete, get, patch, post
from litestar.params import FromPath, JSONBody

from photoshare.http.auth import CurrentUser, Viewer, get_ctx
from photoshare.http.paging import Paging

__all__ = ["AlbumController"]


def _photo_ids(data: dict[str, Any]) -> Any:
    return data.get("photo_ids")


class AlbumController(Controller):
    path = "/v1/albums"
    tags = ["albums"]

    @get("/", sync_to_thread=True)
    def list_albums(
        self,
        request: Request[Any, Any, Any],
        user: CurrentUser,
        paging: Paging,
    ) -> dict[str, Any]:
        return get_ctx(request).albums.list_own(user, cursor=paging.cursor, limit=paging.limit)

    @post("/", sync_to_thread=True, status_code=201)
    def create_album(
        self, request: Request[Any, Any, Any], user: CurrentUser, data: JSONBody[dict[str, Any]]
    ) -> dict[str, Any]:
        return get_ctx(request).albums.create(user, data)

    @get("/{album_id:str}", sync_to_thread=True)
    def get_album(self, request: Request[Any, Any, Any], viewer: Viewer, album_id: FromPath[str]) -> dict[str, Any]:
        return get_ctx(request).albums.get(viewer, album_id)

    @patch("/{album_id:str}", sync_to_thread=True)
    def update_album(
        self,
        request: Request[Any, Any, Any],
        user: CurrentUser,
        album_id: FromPath[str],
        data: JSONBody[dict[str, Any]],
    ) -> dict[str, Any]:
        return get_ctx(request).albums.update(user, album_id, data)

    @delete("/{album_id:str}", sync_to_thread=True, status_code=200)
    def delete_album(
        self, request: Request[Any, Any, Any], user: CurrentUser, album_id: FromPath[str]
    ) -> dict[str, Any]:
        get_ctx(request).albums.delete(user, album_id)
        return {"album_id": album_id, "deleted": True}

    @get("/{album_id:str}/photos", sync_to_thread=True)
    def album_photos(
        self,
        request: Request[Any, Any, Any],
        viewer: Viewer,
        paging: Paging,
        album_id: FromPath[str],
    ) -> dict[str, Any]:
        return get_ctx(request).albums.photos_page(viewer, album_id, cursor=paging.cursor, limit=paging.limit)

    @post("/{album_id:str}/photos", sync_to_thread=True, status_code=200)
    def add_photos(
        self,
        request: Request[Any, Any, Any],
        user: CurrentUser,
        album_id: FromPath[str],
        data: JSONBody[dict[str, Any]],
    ) -> dict[str, Any]:
        return get_ctx(request).albums.add_photos(user, album_id, _photo_ids(data))

    @delete("/{album_id:str}/photos", sync_to_thread=True, status_code=200)
    def remove_photos(
        self,
        request: Request[Any, Any, Any],
        user: CurrentUser,
        album_id: FromPath[str],
        data: JSONBody[dict[str, Any]],
    ) -> dict[str, Any]:
        return get_ctx(request).albums.remove_photos(user, album_id, _photo_ids(data))

    @post("/{album_id:str}/share", sync_to_thread=True, status_code=201)
    def share_album(
        self,
        request: Request[Any, Any, Any],
        user: CurrentUser,
        album_id: FromPath[str],
        data: JSONBody[dict[str, Any]],
    ) -> dict[str, Any]:
        return get_ctx(request).shares.create(user, "album", album_id, data)
