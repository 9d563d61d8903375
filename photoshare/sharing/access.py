"""The one answer to "may this viewer do X to this photo?".

Every read path (API, pages, media URLs, and later search, feeds and share links) asks here; no
other module decides visibility on its own.
"""

from __future__ import annotations

from typing import Any

from photoshare.errors import NotFound, PermissionDenied
from photoshare.users.models import User

__all__ = ["Access"]


class Access:
    def can_view(self, viewer: User | None, photo: dict[str, Any]) -> bool:
        if photo.get("deleted_at"):
            return viewer is not None and viewer.id == photo["user_id"]
        if viewer is not None and viewer.id == photo["user_id"]:
            return True
        return photo["visibility"] == "public" and photo["processing_status"] == "ready"

    def can_download(self, viewer: User | None, photo: dict[str, Any]) -> bool:
        """The original bytes: only the owner until sharing grants say otherwise."""
        return viewer is not None and viewer.id == photo["user_id"]

    def can_edit(self, viewer: User | None, photo: dict[str, Any]) -> bool:
        return viewer is not None and viewer.id == photo["user_id"]

    def require_view(self, viewer: User | None, photo: dict[str, Any] | None) -> dict[str, Any]:
        # Hidden photos are reported as missing, so ids of private photos cannot be probed.
        if photo is None or not self.can_view(viewer, photo):
            raise NotFound("no such photo")
        return photo

    def require_edit(self, viewer: User | None, photo: dict[str, Any] | None) -> dict[str, Any]:
        photo = self.require_view(viewer, photo)
        if not self.can_edit(viewer, photo):
            raise PermissionDenied("only the owner can change this photo")
        return photo
