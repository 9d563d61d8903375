"""The HTTP application: Litestar for the API and pages, raw ASGI fast paths for bytes.

`create_asgi(ctx)` is what the server runs: `/media/…` and `/upload/…` go straight to their
handlers; everything else goes to Litestar.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from litestar import Litestar, MediaType, Request, get
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.static_files import create_static_files_router
from litestar.template import TemplateConfig

from photoshare import __version__
from photoshare.albums.api import AlbumController
from photoshare.context import AppContext
from photoshare.delivery.server import MediaServer
from photoshare.delivery.urls import MEDIA_PREFIX
from photoshare.http.admin_api import AdminController
from photoshare.http.auth import get_ctx, require_admin, require_user, viewer
from photoshare.http.errors import EXCEPTION_HANDLERS
from photoshare.http.paging import page_params
from photoshare.http.raw import Receive, Scope, Send
from photoshare.metrics import render_metrics
from photoshare.ml.api import MLController
from photoshare.photos.api import PhotoController
from photoshare.search.api import SearchController
from photoshare.sharing.api import ShareController
from photoshare.sharing.pages import SharePageController
from photoshare.social.api import EventsController, FeedController, PeopleController
from photoshare.uploads.receiver import UploadReceiver
from photoshare.uploads.service import UPLOAD_PATH
from photoshare.users.api import AuthController, LoginLimiter
from photoshare.web import PAGE_CONTROLLERS

__all__ = ["WEB_DIR", "create_app", "create_asgi"]

WEB_DIR = Path(__file__).resolve().parent.parent / "web"


@get("/healthz", sync_to_thread=True, include_in_schema=False)
def healthz(request: Request[Any, Any, Any]) -> dict[str, Any]:
    ctx = get_ctx(request)
    ctx.db.value("SELECT 1")
    return {"status": "ok", "version": __version__, "jobs_pending": ctx.jobs.pending()}


@get("/metrics", sync_to_thread=True, media_type=MediaType.TEXT, include_in_schema=False)
def metrics(request: Request[Any, Any, Any]) -> str:
    return render_metrics(get_ctx(request))


def create_app(ctx: AppContext) -> Litestar:
    app = Litestar(
        route_handlers=[
            AuthController,
            PhotoController,
            AlbumController,
            ShareController,
            PeopleController,
            FeedController,
            EventsController,
            SearchController,
            MLController,
            AdminController,
            SharePageController,
            *PAGE_CONTROLLERS,
            healthz,
            metrics,
            create_static_files_router(path="/static", directories=[WEB_DIR / "static"], include_in_schema=False),
        ],
        dependencies={
            "user": Provide(require_user, sync_to_thread=True),
            "viewer": Provide(viewer, sync_to_thread=True),
            "admin": Provide(require_admin, sync_to_thread=True),
            "paging": Provide(page_params, sync_to_thread=False),
        },
        exception_handlers=EXCEPTION_HANDLERS,
        template_config=TemplateConfig(directory=WEB_DIR / "templates", engine=JinjaTemplateEngine),
        openapi_config=OpenAPIConfig(title="photoshare", version=__version__, path="/schema"),
        # The multipart one-shot upload carries a whole photo; everything else is small JSON.
        request_max_body_size=(ctx.settings.limits.max_upload_mb + 1) * 1024 * 1024,
        debug=False,
    )
    app.state.ctx = ctx
    app.state.login_limiter = LoginLimiter(ctx.settings.limits.login_attempts_per_minute)
    return app


def create_asgi(ctx: AppContext, app: Litestar | None = None) -> Any:
    app = app or create_app(ctx)
    s3 = ctx.settings.storage
    presign = getattr(ctx.store, "presign_get", None) if s3.backend == "s3" and s3.s3.presigned_reads else None
    media = MediaServer(ctx.media_cache, ctx.media_urls, ctx.access, presign)
    receiver = UploadReceiver(ctx.uploads)

    async def asgi(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path = scope["path"]
            if path.startswith(MEDIA_PREFIX):
                await media(scope, receive, send)
                return
            if path.startswith(UPLOAD_PATH):
                await receiver(scope, receive, send)
                return
        await app(scope, receive, send)

    asgi.litestar = app  # type: ignore[attr-defined]
    asgi.media = media  # type: ignore[attr-defined]
    return asgi
