"""JSON API behind the admin page: accounts, the job queue and storage use (administrators only)."""

from __future__ import annotations

import shutil
from typing import Any

import msgspec
from litestar import Controller, Request, get, patch, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody

from photoshare.errors import InvalidInput
from photoshare.http.auth import get_ctx
from photoshare.users.models import User

__all__ = ["AdminController"]

AdminUser = NamedDependency[User]
"""Handler parameter `admin: AdminUser` — the signed-in administrator; 403 for everyone else."""

_JOB_STATUSES = ("queued", "running", "done", "dead")


class NewUserBody(msgspec.Struct):
    username: str
    password: str
    is_admin: bool = False
    display_name: str = ""


class UserChangeBody(msgspec.Struct):
    disabled: bool


class RetryBody(msgspec.Struct):
    job_id: str | None = None


def _user_row(user: User, usage: dict[str, Any]) -> dict[str, Any]:
    return {**user.public(), "disabled": user.disabled, "created_at": user.created_at, **usage}


class AdminController(Controller):
    path = "/v1/admin"
    tags = ["admin"]

    @get("/users", sync_to_thread=True)
    def users(self, request: Request[Any, Any, Any], admin: AdminUser) -> dict[str, Any]:
        ctx = get_ctx(request)
        usage = ctx.photo_repo.usage_by_user()
        empty = {"photos": 0, "bytes": 0}
        return {"items": [_user_row(u, usage.get(u.id, empty)) for u in ctx.users.list()], "next_cursor": None}

    @post("/users", sync_to_thread=True, status_code=201)
    def add_user(
        self, request: Request[Any, Any, Any], admin: AdminUser, data: JSONBody[NewUserBody]
    ) -> dict[str, Any]:
        user = get_ctx(request).users.create(
            data.username, data.password, is_admin=data.is_admin, display_name=data.display_name
        )
        return _user_row(user, {"photos": 0, "bytes": 0})

    @patch("/users/{user_id:str}", sync_to_thread=True)
    def change_user(
        self, request: Request[Any, Any, Any], admin: AdminUser, user_id: FromPath[str], data: JSONBody[UserChangeBody]
    ) -> dict[str, Any]:
        users = get_ctx(request).users
        target = users.get(user_id)
        if target.id == admin.id and data.disabled:
            raise InvalidInput("you cannot disable your own account", code="self_disable")
        user = users.set_disabled(target.username, data.disabled)
        return _user_row(user, get_ctx(request).photo_repo.usage_by_user().get(user.id, {"photos": 0, "bytes": 0}))

    @get("/jobs", sync_to_thread=True)
    def jobs(
        self,
        request: Request[Any, Any, Any],
        admin: AdminUser,
        status: FromQuery[str | None] = None,
        limit: FromQuery[int] = 50,
    ) -> dict[str, Any]:
        if status is not None and status not in _JOB_STATUSES:
            raise InvalidInput(f"status must be one of {', '.join(_JOB_STATUSES)}")
        if not 1 <= limit <= 200:
            raise InvalidInput("limit must be between 1 and 200", code="bad_limit")
        jobs = get_ctx(request).jobs
        return {"counts": jobs.counts(), "items": jobs.list(status, limit), "next_cursor": None}

    @post("/jobs/retry", sync_to_thread=True, status_code=200)
    def retry(self, request: Request[Any, Any, Any], admin: AdminUser, data: JSONBody[RetryBody]) -> dict[str, Any]:
        return {"requeued": get_ctx(request).jobs.retry(data.job_id)}

    @get("/storage", sync_to_thread=True)
    def storage(self, request: Request[Any, Any, Any], admin: AdminUser) -> dict[str, Any]:
        ctx = get_ctx(request)
        usage = ctx.photo_repo.usage_by_user()
        disk = shutil.disk_usage(ctx.settings.data_path)
        return {
            "backend": ctx.settings.storage.backend,
            "photos": sum(u["photos"] for u in usage.values()),
            "bytes": sum(u["bytes"] for u in usage.values()),
            "disk_total_bytes": disk.total,
            "disk_free_bytes": disk.free,
        }
