"""`photoshare doctor`: is this installation healthy? Config, folders, disk, database, codecs, ML.

Each check says ok, warn (works, but look at it) or fail (something will not work); the command
exits non-zero when anything fails. Checks never change data.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import stat
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from photoshare.admin.pool import server_running
from photoshare.context import AppContext
from photoshare.db.migrations import pending

__all__ = ["Check", "run_checks"]


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    status: str  # "ok" | "warn" | "fail"
    detail: str


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def _config(ctx: AppContext, config_file: Path | None) -> Check:
    source = f"{config_file}" if config_file else "built-in defaults"
    env = sorted(k for k in os.environ if k.startswith("PHOTOSHARE_") and k != "PHOTOSHARE_CONFIG")
    detail = f"valid; from {source}" + (f" and {', '.join(env)}" if env else "")
    if config_file is not None:
        mode = config_file.stat().st_mode
        if mode & (stat.S_IROTH | stat.S_IWOTH) and (ctx.settings.storage.s3.secret_key or ""):
            return Check("config", "warn", detail + "; readable by every user and holds the S3 secret key")
    return Check("config", "ok", detail)


def _data_dir(ctx: AppContext) -> Check:
    data = ctx.settings.data_path
    problems = [p for p in (data, data / "tmp", ctx.settings.blob_root) if p.exists() and not os.access(p, os.W_OK)]
    if problems:
        return Check("permissions", "fail", f"not writable by this user: {', '.join(map(str, problems))}")
    secret = data / "secret.key"
    if secret.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        return Check("permissions", "warn", f"{secret} is readable by others: chmod 600 it")
    owner = data.stat().st_uid
    if hasattr(os, "getuid") and owner != os.getuid():
        return Check("permissions", "warn", f"{data} belongs to uid {owner}, this process runs as {os.getuid()}")
    return Check("permissions", "ok", f"{data} writable, secret.key private")


def _disk(ctx: AppContext) -> Check:
    floor = ctx.settings.limits.min_free_disk_mb * 1024 * 1024
    places = {"data": shutil.disk_usage(ctx.settings.data_path).free}
    blobs = ctx.store.free_bytes()
    if blobs is not None:
        places["blobs"] = blobs
    worst = min(places.values())
    detail = ", ".join(f"{k} {v / 1e9:.1f} GB free" for k, v in places.items())
    if worst < floor:
        return Check("disk space", "fail", f"{detail}: below [limits] min_free_disk_mb, uploads are refused")
    if worst < 2 * floor + 1024**3:
        return Check("disk space", "warn", f"{detail}: getting close to [limits] min_free_disk_mb")
    return Check("disk space", "ok", detail)


def _database(ctx: AppContext) -> Check:
    check = ctx.db.query("PRAGMA quick_check")
    if [next(iter(r.values())) for r in check] != ["ok"]:
        return Check("database", "fail", f"integrity check failed: {check[:3]}; restore from a backup")
    mode = ctx.db.value("PRAGMA journal_mode")
    waiting = pending(ctx.db)
    if waiting:
        return Check("database", "warn", f"migrations not applied yet: {', '.join(waiting)}")
    size = ctx.settings.db_path.stat().st_size
    return Check("database", "ok", f"integrity ok, journal {mode}, schema up to date, {size / 1e6:.1f} MB")


def _storage(ctx: AppContext) -> Check:
    backend = ctx.settings.storage.backend
    try:
        next(iter(ctx.store.iter_keys("originals/")), None)
    except Exception as exc:  # an unreachable bucket or unreadable folder is what this check is for
        return Check("blob store", "fail", f"{backend}: cannot list blobs: {exc}")
    where = ctx.settings.storage.s3.bucket if backend == "s3" else str(ctx.settings.blob_root)
    return Check("blob store", "ok", f"{backend}: {where} reachable")


def _libvips(ctx: AppContext) -> Check:
    import pyvips

    version = f"{pyvips.version(0)}.{pyvips.version(1)}.{pyvips.version(2)}"
    loaders = {
        name: bool(pyvips.type_find("VipsForeignLoad", f"{name}load"))
        for name in ("jpeg", "png", "webp", "tiff", "gif", "heif")
    }
    missing = [n for n, ok in loaders.items() if not ok]
    if "jpeg" in missing or "png" in missing:
        return Check("libvips", "fail", f"libvips {version} cannot read {', '.join(missing)}")
    if ctx.settings.imaging.avif and not pyvips.type_find("VipsForeignSave", "heifsave"):
        return Check("libvips", "fail", "[imaging] avif is on but this libvips cannot write AVIF")
    detail = f"libvips {version}; reads {', '.join(n for n, ok in loaders.items() if ok)}"
    return Check("libvips", "warn" if missing else "ok", detail + (f"; no {', '.join(missing)}" if missing else ""))


def _heic(ctx: AppContext) -> Check:
    version = _version("pillow-heif") or _version("pillow_heif")
    if version is None:
        return Check("HEIC", "warn", "pillow-heif is not installed: iPhone HEIC photos will fail to process")
    return Check("HEIC", "ok", f"pillow-heif {version}")


def _ml(ctx: AppContext) -> Check:
    ort = _version("onnxruntime")
    if ort is None:
        return Check("ML", "warn", "onnxruntime is not installed: no labels, faces, OCR or similar-photo search")
    detail = f"onnxruntime {ort}"
    try:
        from photoshare.ml.models import models_dir

        folder = models_dir(ctx.settings.ml)
        count = len(list(folder.glob("**/*.onnx"))) if folder.is_dir() else 0
        detail += f"; {count} model file(s) in {folder}"
        if count == 0:
            return Check("ML", "warn", detail + " (install them with `photoshare models install`)")
    except (ImportError, AttributeError):
        pass  # an installation without the ML stage: onnxruntime alone is all there is to report
    return Check("ML", "ok", detail)


def _video(ctx: AppContext) -> Check:
    if importlib.util.find_spec("av") is None:
        return Check("video", "warn", "PyAV is not installed: videos cannot be processed")
    return Check("video", "ok", f"PyAV {_version('av')}")


def _jobs(ctx: AppContext) -> Check:
    counts = ctx.jobs.counts()
    running = "the appliance is running" if server_running(ctx) else "the appliance is not running"
    dead = counts.get("dead", 0)
    detail = f"{running}; {counts.get('queued', 0)} queued, {counts.get('running', 0)} running, {dead} dead"
    if dead:
        return Check("jobs", "warn", detail + " (see `photoshare jobs list --status dead`, retry with `jobs retry`)")
    return Check("jobs", "ok", detail)


def run_checks(ctx: AppContext, config_file: Path | None = None) -> list[Check]:
    checks: list[Callable[[AppContext], Check]] = [
        _data_dir,
        _disk,
        _database,
        _storage,
        _libvips,
        _heic,
        _ml,
        _video,
        _jobs,
    ]
    out = [_config(ctx, config_file)]
    for check in checks:
        try:
            out.append(check(ctx))
        except Exception as exc:  # a check that cannot run is itself a finding, not a crash
            out.append(Check(check.__name__.strip("_").replace("_", " "), "fail", f"{type(exc).__name__}: {exc}"))
    return out
