"""Typed settings: built-in defaults, then a TOML file, then PHOTOSHARE_* environment variables.

`PHOTOSHARE_<SECTION>_<KEY>` overrides `[section] key`; nested sections are joined with `_`
(`PHOTOSHARE_STORAGE_S3_ENDPOINT`). Because keys themselves contain underscores
(`max_upload_mb`), a variable is resolved against the settings tree rather than split blindly.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import msgspec

from photoshare.errors import SettingsError

__all__ = ["Settings", "load_settings"]


class ServerSettings(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    host: str = "127.0.0.1"
    """Interface to listen on; 0.0.0.0 to serve the whole network."""
    port: int = 8080
    public_url: str = ""
    """Base URL that media links are built from: a CDN host in front of the appliance, or the appliance
    itself. Empty means http://HOST:PORT."""
    session_days: int = 30
    """How long a login session cookie stays valid."""
    cookie_secure: bool = False
    """Set the Secure flag on the session cookie (turn on behind HTTPS)."""


class S3Settings(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    endpoint: str = "127.0.0.1:9000"
    bucket: str = "photoshare"
    access_key: str = ""
    secret_key: str = ""
    secure: bool = False
    region: str = "us-east-1"
    presigned_reads: bool = False
    """Send originals as redirects to short-lived presigned GET URLs instead of streaming them."""
    public_endpoint: str = ""
    """URL browsers use to reach the bucket for direct uploads (e.g. https://s3.example.org); empty
    means the endpoint itself."""


class StorageSettings(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    backend: str = "local"
    """"local" (files under root) or "s3"."""
    root: str = ""
    """Folder for the local back end; empty means DATA_DIR/blobs."""
    s3: S3Settings = msgspec.field(default_factory=S3Settings)


class UploadSettings(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    url_ttl_s: int = 3600
    """Lifetime of a signed upload URL when the client asks for none."""
    allowed_types: list[str] = msgspec.field(
        default_factory=lambda: [
            "image/jpeg",
            "image/png",
            "image/webp",
            "image/gif",
            "image/tiff",
            "image/heic",
            "image/heif",
            "image/avif",
            "image/x-mpo",
            "image/mpo",
        ]
    )
    """Content types an upload URL may be issued for."""


class LimitSettings(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    max_upload_mb: int = 50
    max_video_mb: int = 2048
    max_pixels: int = 200_000_000
    """Images with more pixels than this fail instead of being decoded (decompression bombs)."""
    min_free_disk_mb: int = 512
    """Uploads are refused with 507 when the data disk has less free space than this."""
    login_attempts_per_minute: int = 10


class DatabaseSettings(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    mmap_mb: int = 16384
    """How much of the SQLite file is read through memory mapping rather than read() calls: reads of
    hot pages then cost no system call or copy (a feed page touches a few hundred). Address space, not
    memory: the kernel's page cache backs it. 0 turns it off."""
    cache_mb: int = 16
    """SQLite's own page cache per connection (mainly for pages being written)."""


class JobSettings(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    media_workers: int = 2
    """Threads decoding images and rendering variants (libvips releases the GIL)."""
    social_workers: int = 1
    """Threads for feed fan-out and other social bookkeeping."""
    lease_s: int = 300
    """A running job whose worker vanished becomes claimable again after this."""
    max_attempts: int = 5
    """Attempts before a job is dead-lettered (then `photoshare jobs retry`)."""
    backoff_s: float = 2.0
    """Retry delay base: attempt n waits backoff_s * 4**(n-1)."""
    poll_s: float = 1.0


class ImagingSettings(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    avif: bool = False
    """Also render AVIF variants (smallest files, slowest to encode)."""
    webp: bool = True
    jpeg_quality: int = 85
    webp_quality: int = 80
    avif_quality: int = 55


class SocialSettings(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    celebrity_followers: int = 5000
    """Accounts with more followers than this are not fanned out on write; readers pull their posts."""
    inactive_days: int = 30
    """Readers not seen for this long are skipped by fan-out; their timeline is rebuilt when they return."""
    timeline_length: int = 800
    """Posts kept per materialised timeline; older ones are trimmed (the profile grids keep everything)."""
    backfill_posts: int = 50
    """Recent posts of a newly followed account copied into the follower's timeline."""


class TrashSettings(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    retention_days: int = 30
    """Deleted photos stay restorable this long, then a job frees their space."""


class DeliverySettings(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    signed_url_ttl_s: int = 3600
    """Lifetime of signed URLs for media that is not public."""
    cache_mb: int = 256
    """In-memory cache of small variants served by the media fast path."""


class MLSettings(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    enabled: bool = True
    """Run the ML stage (labels, similar photos, OCR, faces) after processing; off keeps everything else."""
    models_dir: str = ""
    """Where `photoshare models install` writes models and drop-in plugins look; empty means
    PREFIX/share/photoshare/models of the Python environment photoshare is installed in."""
    workers: int = 1
    """Threads of the "ml" job pool (inference never delays photo readiness)."""
    threads_per_model: int = 1
    """onnxruntime intra-op threads per inference; workers x threads should not exceed the cores."""
    labels: bool = True
    label_threshold: float = 0.15
    """Lowest classifier confidence (0-1) for a label to be kept."""
    max_labels: int = 5
    ocr: bool = True
    ocr_min_confidence: float = 0.6
    ocr_max_side: int = 960
    """Longest edge the text detector sees, in pixels (larger finds smaller text, slower)."""
    faces: bool = True
    face_min_confidence: float = 0.95
    face_min_px: int = 32
    """Faces smaller than this (in the 1024 px analysis image) are ignored."""
    face_match_distance: float = 0.55
    """Largest face-embedding distance at which two faces count as the same person."""
    hnsw_m: int = 16
    hnsw_ef_construction: int = 200
    hnsw_ef_search: int = 100
    plugins: list[str] = msgspec.field(default_factory=list)
    """Extra embedding models ("module:attribute" or a .py file), e.g. plugins/clip_onnx.py."""


class Settings(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    data_dir: str = "./photoshare-data"
    """Everything the appliance keeps: database, blobs, secret key."""
    server: ServerSettings = msgspec.field(default_factory=ServerSettings)
    storage: StorageSettings = msgspec.field(default_factory=StorageSettings)
    uploads: UploadSettings = msgspec.field(default_factory=UploadSettings)
    limits: LimitSettings = msgspec.field(default_factory=LimitSettings)
    database: DatabaseSettings = msgspec.field(default_factory=DatabaseSettings)
    jobs: JobSettings = msgspec.field(default_factory=JobSettings)
    imaging: ImagingSettings = msgspec.field(default_factory=ImagingSettings)
    delivery: DeliverySettings = msgspec.field(default_factory=DeliverySettings)
    trash: TrashSettings = msgspec.field(default_factory=TrashSettings)
    social: SocialSettings = msgspec.field(default_factory=SocialSettings)
    ml: MLSettings = msgspec.field(default_factory=MLSettings)

    @property
    def data_path(self) -> Path:
        return Path(self.data_dir).expanduser().resolve()

    @property
    def db_path(self) -> Path:
        return self.data_path / "photoshare.db"

    @property
    def blob_root(self) -> Path:
        return Path(self.storage.root).expanduser().resolve() if self.storage.root else self.data_path / "blobs"

    @property
    def base_url(self) -> str:
        if self.server.public_url:
            return self.server.public_url.rstrip("/")
        host = "127.0.0.1" if self.server.host in ("0.0.0.0", "::") else self.server.host
        return f"http://{host}:{self.server.port}"


def _env_path(struct: type[msgspec.Struct], parts: list[str]) -> list[str] | None:
    """Map the `_`-separated words of an env var name onto a path of field names, or None."""
    fields = {f.name: f.type for f in msgspec.structs.fields(struct)}
    for end in range(len(parts), 0, -1):
        name = "_".join(parts[:end])
        if name not in fields:
            continue
        rest = parts[end:]
        ftype = fields[name]
        if not rest:
            return [name]
        if isinstance(ftype, type) and issubclass(ftype, msgspec.Struct):
            sub = _env_path(ftype, rest)
            if sub is not None:
                return [name, *sub]
    return None


def load_settings(
    config: str | os.PathLike[str] | None = None,
    environ: Mapping[str, str] | None = None,
    **overrides: Any,
) -> Settings:
    """Build Settings from defaults, the TOML file (if any), the environment, then explicit overrides.

    Explicit overrides are CLI flags such as `--data-dir`; they win over everything else.
    """
    environ = os.environ if environ is None else environ
    config = config or environ.get("PHOTOSHARE_CONFIG") or None
    raw: dict[str, Any] = {}
    if config:
        path = Path(config)
        try:
            raw = tomllib.loads(path.read_text())
        except FileNotFoundError:
            raise SettingsError(f"config file {path} does not exist") from None
        except tomllib.TOMLDecodeError as exc:
            raise SettingsError(f"config file {path} is not valid TOML: {exc}") from None
    for key, value in environ.items():
        if not key.startswith("PHOTOSHARE_") or key == "PHOTOSHARE_CONFIG":
            continue
        path_parts = _env_path(Settings, key.removeprefix("PHOTOSHARE_").lower().split("_"))
        if path_parts is None:
            # Unknown variables are tolerated (other tools share the prefix) but not silently misread.
            continue
        node = raw
        for part in path_parts[:-1]:
            node = node.setdefault(part, {})
        leaf = path_parts[-1]
        node[leaf] = value.split(",") if leaf in ("allowed_types", "plugins") else value
    _merge(raw, {k: str(v) if isinstance(v, os.PathLike) else v for k, v in overrides.items() if v is not None})
    try:
        settings = msgspec.convert(raw, Settings, strict=False)
    except msgspec.ValidationError as exc:
        raise SettingsError(f"invalid setting: {exc}") from None
    _validate(settings)
    return settings


def _merge(into: dict[str, Any], changes: dict[str, Any]) -> None:
    """Apply `changes` section by section, so overriding one key keeps its siblings."""
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            _merge(into[key], value)
        else:
            into[key] = value


def _validate(s: Settings) -> None:
    problems: list[str] = []
    if s.storage.backend not in ("local", "s3"):
        problems.append(f'storage.backend must be "local" or "s3", not {s.storage.backend!r}')
    if not 0 < s.server.port < 65536:
        problems.append("server.port must be between 1 and 65535")
    if s.server.public_url and not s.server.public_url.startswith(("http://", "https://")):
        problems.append("server.public_url must start with http:// or https://")
    for name in ("max_upload_mb", "max_video_mb", "max_pixels"):
        if getattr(s.limits, name) <= 0:
            problems.append(f"limits.{name} must be positive")
    if s.limits.min_free_disk_mb < 0:
        problems.append("limits.min_free_disk_mb must not be negative")
    for name in ("celebrity_followers", "inactive_days", "timeline_length", "backfill_posts"):
        if getattr(s.social, name) < 1:
            problems.append(f"social.{name} must be at least 1")
    if s.ml.workers < 1 or s.ml.threads_per_model < 1:
        problems.append("ml.workers and ml.threads_per_model must be at least 1")
    for name in ("label_threshold", "ocr_min_confidence", "face_min_confidence"):
        if not 0 <= getattr(s.ml, name) <= 1:
            problems.append(f"ml.{name} must be between 0 and 1")
    if s.database.mmap_mb < 0 or s.database.cache_mb < 1:
        problems.append("database.mmap_mb must not be negative and database.cache_mb must be at least 1")
    if s.trash.retention_days < 0:
        problems.append("trash.retention_days must not be negative")
    if s.jobs.media_workers < 1:
        problems.append("jobs.media_workers must be at least 1")
    if s.jobs.max_attempts < 1:
        problems.append("jobs.max_attempts must be at least 1")
    if s.uploads.url_ttl_s < 1 or s.delivery.signed_url_ttl_s < 1:
        problems.append("uploads.url_ttl_s and delivery.signed_url_ttl_s must be positive")
    for name in ("jpeg_quality", "webp_quality", "avif_quality"):
        if not 1 <= getattr(s.imaging, name) <= 100:
            problems.append(f"imaging.{name} must be between 1 and 100")
    if problems:
        raise SettingsError("; ".join(problems))
