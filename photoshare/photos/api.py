"""JSON API for photos: two-phase upload, one-shot upload, read, list, edit. Handlers stay thin."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

import msgspec
from litestar import Controller, Request, delete, get, patch, post
from litestar.datastructures import UploadFile
from litestar.params import FromPath, FromQuery, JSONBody, MultipartBody

from photoshare.errors import InvalidInput
from photoshare.http.auth import CurrentUser, Viewer, get_ctx
from photoshare.http.paging import Paging
from photoshare.photos.service import PhotoMeta

__all__ = ["PhotoController"]


class UploadUrlBody(msgspec.Struct):
    filename: str
    content_type: str
    size_bytes: int
    expires_in: int | None = None


class ConfirmBody(msgspec.Struct):
    upload_id: str
    title: str = ""
    description: str = ""
    album_id: FromQuery[str | None] = None
    tags: list[str] | None = None
    visibility: str = "private"
    location: str | None = None


class TagsBody(msgspec.Struct):
    tags: list[str]


class PostBody(msgspec.Struct):
    media_id: str
    caption: str = ""
    location: str | None = None
    visibility: str = "followers"


def _confirm_response(photo: dict[str, Any]) -> dict[str, Any]:
    return {
        "photo_id": photo["id"],
        "status": photo["processing_status"],
        "urls": {"original": None, "large": None, "medium": None, "thumb": None},
    }


class PhotoController(Controller):
    path = "/v1"
    tags = ["photos"]

    @post("/photos/upload-url", sync_to_thread=True, status_code=200)
    def upload_url(
        self, request: Request[Any, Any, Any], user: CurrentUser, data: JSONBody[UploadUrlBody]
    ) -> dict[str, Any]:
        return get_ctx(request).uploads.create_url(
            user,
            filename=data.filename,
            content_type=data.content_type,
            size_bytes=data.size_bytes,
            expires_in=data.expires_in,
        )

    @post("/uploads", sync_to_thread=True, status_code=200)
    def social_upload_url(
        self, request: Request[Any, Any, Any], user: CurrentUser, data: JSONBody[UploadUrlBody]
    ) -> dict[str, Any]:
        out = get_ctx(request).uploads.create_url(
            user,
            filename=data.filename,
            content_type=data.content_type,
            size_bytes=data.size_bytes,
            expires_in=data.expires_in,
        )
        return {"media_id": out["upload_id"], **out}

    @post("/photos", sync_to_thread=True, status_code=201)
    def confirm(
        self, request: Request[Any, Any, Any], user: CurrentUser, data: JSONBody[ConfirmBody]
    ) -> dict[str, Any]:
        ctx = get_ctx(request)
        meta = PhotoMeta(
            title=data.title,
            description=data.description,
            visibility=data.visibility,
            tags=data.tags,
            location=data.location,
        )
        if data.album_id:  # checked before the upload is consumed
            ctx.access.require_album_edit(user, ctx.album_repo.get(data.album_id))
        photo = ctx.uploads.confirm(user, data.upload_id, meta)
        if data.album_id:
            ctx.albums.add_photos(user, data.album_id, [photo["id"]])
        return _confirm_response(photo)

    @post("/posts", sync_to_thread=True, status_code=201)
    def create_post(
        self, request: Request[Any, Any, Any], user: CurrentUser, data: JSONBody[PostBody]
    ) -> dict[str, Any]:
        if data.visibility not in ("followers", "public"):
            raise InvalidInput("a post is shown to followers or the public")
        ctx = get_ctx(request)
        meta = PhotoMeta(description=data.caption, location=data.location, visibility=data.visibility)
        photo = ctx.uploads.confirm(user, data.media_id, meta)
        return {"post_id": photo["id"], **_confirm_response(photo)}

    @post("/photos/upload", sync_to_thread=True, status_code=201)
    def upload_multipart(
        self,
        request: Request[Any, Any, Any],
        user: CurrentUser,
        data: MultipartBody[dict[str, Any]],
    ) -> dict[str, Any]:
        ctx = get_ctx(request)
        upload = data.get("file")
        if not isinstance(upload, UploadFile):
            raise InvalidInput("send the photo as a multipart field named 'file'")
        tags = data.get("tags") or ""
        meta = PhotoMeta(
            title=str(data.get("title") or ""),
            description=str(data.get("description") or ""),
            visibility=str(data.get("visibility") or "private"),
            tags=[t for t in str(tags).split(",") if t.strip()],
            location=data.get("location") or None,
        )
        with tempfile.NamedTemporaryFile(dir=ctx.settings.data_path / "tmp", prefix="mp-") as tmp:
            upload.file.seek(0)
            shutil.copyfileobj(upload.file, tmp, 1 << 20)
            tmp.flush()
            photo = ctx.uploads.ingest_file(
                user, Path(tmp.name), filename=upload.filename or "", content_type=upload.content_type, meta=meta
            )
        return _confirm_response(photo)

    @get("/photos", sync_to_thread=True)
    def list_photos(
        self,
        request: Request[Any, Any, Any],
        user: CurrentUser,
        paging: Paging,
        album_id: FromQuery[str | None] = None,
        tag: FromQuery[str | None] = None,
        order: FromQuery[str] = "uploaded",
    ) -> dict[str, Any]:
        ctx = get_ctx(request)
        if album_id:
            return ctx.albums.photos_page(user, album_id, cursor=paging.cursor, limit=paging.limit)
        return ctx.photos.list_own(user, cursor=paging.cursor, limit=paging.limit, tag=tag, order=order)

    @get("/photos/{photo_id:str}", sync_to_thread=True)
    def get_photo(self, request: Request[Any, Any, Any], viewer: Viewer, photo_id: FromPath[str]) -> dict[str, Any]:
        ctx = get_ctx(request)
        photo = ctx.photos.get(viewer, photo_id)
        photo.update(ctx.engagement.state(viewer, [photo_id])[photo_id])
        return photo

    @patch("/photos/{photo_id:str}", sync_to_thread=True)
    def update_photo(
        self,
        request: Request[Any, Any, Any],
        user: CurrentUser,
        photo_id: FromPath[str],
        data: JSONBody[dict[str, Any]],
    ) -> dict[str, Any]:
        return get_ctx(request).photos.update(user, photo_id, data)

    @delete("/photos/{photo_id:str}", sync_to_thread=True, status_code=200)
    def delete_photo(
        self,
        request: Request[Any, Any, Any],
        user: CurrentUser,
        photo_id: FromPath[str],
        purge: FromQuery[bool] = False,
    ) -> dict[str, Any]:
        return get_ctx(request).photos.delete(user, photo_id, purge=purge)

    @post("/photos/{photo_id:str}/restore", sync_to_thread=True, status_code=200)
    def restore_photo(
        self, request: Request[Any, Any, Any], user: CurrentUser, photo_id: FromPath[str]
    ) -> dict[str, Any]:
        return get_ctx(request).photos.restore(user, photo_id)

    @get("/trash", sync_to_thread=True)
    def trash(
        self,
        request: Request[Any, Any, Any],
        user: CurrentUser,
        paging: Paging,
    ) -> dict[str, Any]:
        return get_ctx(request).photos.trash(user, cursor=paging.cursor, limit=paging.limit)

    @post("/trash/empty", sync_to_thread=True, status_code=200)
    def empty_trash(self, request: Request[Any, Any, Any], user: CurrentUser) -> dict[str, Any]:
        return get_ctx(request).photos.empty_trash(user)

    @post("/photos/{photo_id:str}/tags", sync_to_thread=True, status_code=200)
    def add_tags(
        self, request: Request[Any, Any, Any], user: CurrentUser, photo_id: FromPath[str], data: JSONBody[TagsBody]
    ) -> dict[str, Any]:
        return get_ctx(request).photos.add_tags(user, photo_id, data.tags)

    @delete("/photos/{photo_id:str}/tags/{tag:str}", sync_to_thread=True, status_code=200)
    def remove_tag(
        self, request: Request[Any, Any, Any], user: CurrentUser, photo_id: FromPath[str], tag: FromPath[str]
    ) -> dict[str, Any]:
        return get_ctx(request).photos.remove_tag(user, photo_id, tag)

    @get("/tags", sync_to_thread=True)
    def list_tags(self, request: Request[Any, Any, Any], user: CurrentUser) -> dict[str, Any]:
        return get_ctx(request).photos.tags(user)
