"""The composition root: builds the database, store, services and job runner once.

HTTP handlers, job handlers and the CLI all receive this same object graph.
"""

from __future__ import annotations

import fcntl
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from photoshare.admin.libraries import library_root
from photoshare.albums.repo import AlbumRepo
from photoshare.albums.service import AlbumService
from photoshare.db import Database
from photoshare.db.migrations import migrate
from photoshare.delivery.cache import MediaCache
from photoshare.delivery.urls import MediaUrls
from photoshare.errors import SettingsError
from photoshare.events import EventBus
from photoshare.jobs.queue import JobQueue
from photoshare.jobs.runner import JobRunner
from photoshare.ml.models import Models
from photoshare.ml.service import MLService
from photoshare.ml.vectors import VectorStore
from photoshare.photos.repo import PhotoRepo
from photoshare.photos.service import PhotoService
from photoshare.search.hybrid import HybridSearch
from photoshare.search.index import TextIndex
from photoshare.search.service import SearchService
from photoshare.settings import Settings
from photoshare.sharing.access import Access
from photoshare.sharing.service import ShareService
from photoshare.signing import Signer
from photoshare.social.engagement import EngagementService
from photoshare.social.feed import FeedService
from photoshare.social.service import FollowService, ProfileService
from photoshare.storage.base import BlobStore
from photoshare.storage.external import ExternalFiles
from photoshare.storage.local import LocalBlobStore
from photoshare.uploads.service import UploadService
from photoshare.users.repo import UserRepo
from photoshare.users.service import UserService

__all__ = ["AppContext", "DataDirLock", "build_context", "load_secret"]


def _register_handlers() -> None:
    # Importing the job modules registers their handlers with the job registry.
    import photoshare.ml.jobs
    import photoshare.photos.jobs
    import photoshare.search.jobs
    import photoshare.social.jobs  # noqa: F401


def load_secret(data_dir: Path, *, create: bool) -> bytes:
    """The appliance's signing key (upload URLs, media links), kept in DATA_DIR/secret.key (0600)."""
    path = data_dir / "secret.key"
    if path.exists() and path.stat().st_size == 0:
        path.unlink()  # the documented way to ask for a new key
        create = True
    if path.exists():
        try:
            secret = bytes.fromhex(path.read_text().strip())
        except ValueError:
            secret = b""
        if len(secret) < 32:
            raise SettingsError(f"{path} is damaged: expected 64 hex digits")
        return secret
    if not create:
        raise SettingsError(
            f"{path} is missing: restore it from a backup (signed upload and media links depend on it), "
            f"or create an empty file there to generate a new key"
        )
    secret = secrets.token_bytes(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(secret.hex())
        f.flush()
        os.fsync(f.fileno())
    return secret


class DataDirLock:
    """Only one serving process may own a data folder: job recovery relies on it."""

    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / "serve.lock"
        self._file: IO[str] | None = None

    def acquire(self) -> None:
        f = open(self.path, "a+")  # noqa: SIM115 - held for the process lifetime
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            f.close()
            raise SettingsError(f"another photoshare process is already serving {self.path.parent}") from None
        self._file = f

    def release(self) -> None:
        if self._file is not None:
            fcntl.flock(self._file, fcntl.LOCK_UN)
            self._file.close()
            self._file = None


@dataclass
class AppContext:
    settings: Settings
    db: Database
    store: BlobStore
    signer: Signer
    access: Access
    users: UserService
    photo_repo: PhotoRepo
    photos: PhotoService
    uploads: UploadService
    jobs: JobQueue
    media_cache: MediaCache
    media_urls: MediaUrls
    album_repo: AlbumRepo
    albums: AlbumService
    shares: ShareService
    follows: FollowService
    profiles: ProfileService
    feed: FeedService
    engagement: EngagementService
    search: SearchService
    events: EventBus
    runner: JobRunner = field(init=False)
    ml: MLService = field(init=False)

    def close(self) -> None:
        self.runner.stop()
        self.search.index.close()
        self.ml.close()
        self.db.close()


def make_store(settings: Settings) -> BlobStore:
    if settings.storage.backend == "local":
        return LocalBlobStore(settings.blob_root)
    from photoshare.storage.s3 import S3BlobStore

    try:
        return S3BlobStore(settings.storage.s3)
    except Exception as exc:  # unreachable endpoint, bad credentials: say so instead of a traceback
        raise SettingsError(
            f"cannot use the S3 bucket {settings.storage.s3.bucket!r} at {settings.storage.s3.endpoint}: {exc}"
        ) from None


def build_context(settings: Settings, *, create: bool = False) -> AppContext:
    """Open (or with `create`, initialise) the data folder and wire every service."""
    _register_handlers()
    data = settings.data_path
    fresh = not settings.db_path.exists()
    if create:
        data.mkdir(parents=True, exist_ok=True)
    elif fresh:
        raise SettingsError(f"{data} is not initialised: run `photoshare init --data-dir {data}`")
    (data / "tmp").mkdir(exist_ok=True)
    db = Database(settings.db_path, mmap_mb=settings.database.mmap_mb, cache_mb=settings.database.cache_mb)
    migrate(db)
    # A new key only for a new folder: silently replacing a lost key would break every signed link.
    signer = Signer(load_secret(data, create=fresh))
    # External-library originals are read in place from the admin's folders; everything else is the back end's.
    store: BlobStore = ExternalFiles(make_store(settings), lambda library_id: library_root(db, library_id))
    access = Access(db)
    jobs = JobQueue(db, settings.jobs)
    media_cache = MediaCache(db, store, settings.delivery.cache_mb * 1024 * 1024)
    media_urls = MediaUrls(settings.base_url, signer, settings.delivery.signed_url_ttl_s)
    photo_repo = PhotoRepo(db)
    photos = PhotoService(db, photo_repo, jobs, access, media_urls, media_cache)
    album_repo = AlbumRepo(db)
    events = EventBus()
    follows = FollowService(db, access, jobs, events, settings.social.celebrity_followers)
    ctx = AppContext(
        settings=settings,
        db=db,
        store=store,
        signer=signer,
        access=access,
        users=UserService(UserRepo(db), session_days=settings.server.session_days),
        photo_repo=photo_repo,
        photos=photos,
        uploads=UploadService(db, store, signer, settings, photos),
        jobs=jobs,
        media_cache=media_cache,
        media_urls=media_urls,
        album_repo=album_repo,
        albums=AlbumService(db, album_repo, photo_repo, photos, access),
        shares=ShareService(db, access, photo_repo, album_repo, photos, signer, settings.base_url),
        follows=follows,
        profiles=ProfileService(db, follows, photos),
        feed=FeedService(db, access, follows, photos, settings.social),
        engagement=EngagementService(db, access, photo_repo, photos, events),
        search=SearchService(db, TextIndex(data / "index" / "text"), access, photo_repo, photos, follows),
        events=events,
    )
    if ctx.search.index.needs_rebuild and ctx.photo_repo.status_counts():
        # A lost or corrupt index is rebuilt from SQLite in the background.
        jobs.enqueue("search.rebuild", {}, dedupe_key="search.rebuild")
    ml = settings.ml
    vectors = VectorStore(
        db, data / "index" / "vectors", m=ml.hnsw_m, ef_construction=ml.hnsw_ef_construction, ef=ml.hnsw_ef_search
    )
    ctx.ml = MLService(db, ml, store, photo_repo, photos, access, vectors, Models(ml))
    ctx.search.hybrid = HybridSearch(ctx.ml.ranked_lists)
    # With ML off the pool still completes the (then empty) ml.analyze follow-ups.
    ml_workers = ml.workers if ml.enabled else 1
    ctx.runner = JobRunner(
        jobs,
        ctx,
        {"media": settings.jobs.media_workers, "social": settings.jobs.social_workers, "index": 1, "ml": ml_workers},
        schedules={"trash.sweep": 3600.0, "feed.trim": 3600.0},
    )
    return ctx
