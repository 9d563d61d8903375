"""The `photoshare` admin CLI: init, serve, users and the job queue."""

from __future__ import annotations

import json
import logging
import secrets
import sys
from pathlib import Path
from typing import Annotated, Any

import msgspec
import typer

from photoshare.errors import PhotoshareError
from photoshare.settings import Settings, load_settings

__all__ = ["app", "main"]

app = typer.Typer(
    help="photoshare: a self-hosted photo-sharing appliance.", no_args_is_help=True, pretty_exceptions_enable=False
)
user_app = typer.Typer(help="Manage accounts.", no_args_is_help=True)
jobs_app = typer.Typer(help="Inspect and retry background jobs.", no_args_is_help=True)
app.add_typer(user_app, name="user")
app.add_typer(jobs_app, name="jobs")
storage_app = typer.Typer(help="Blob storage operations.", no_args_is_help=True)
app.add_typer(storage_app, name="storage")

ConfigOpt = Annotated[Path | None, typer.Option("--config", envvar="PHOTOSHARE_CONFIG", help="TOML config file.")]
DataDirOpt = Annotated[Path | None, typer.Option("--data-dir", help="Data folder (PHOTOSHARE_DATA_DIR).")]


def _settings(config: Path | None, data_dir: Path | None, **overrides: Any) -> Settings:
    try:
        return load_settings(config, data_dir=str(data_dir) if data_dir else None, **overrides)
    except PhotoshareError as exc:
        typer.secho(f"error: {exc.message}", fg="red", err=True)
        raise typer.Exit(2) from None


def _context(settings: Settings, *, create: bool = False) -> Any:
    from photoshare.context import build_context

    try:
        return build_context(settings, create=create)
    except PhotoshareError as exc:
        typer.secho(f"error: {exc.message}", fg="red", err=True)
        raise typer.Exit(2) from None


def _fail(exc: PhotoshareError | OSError) -> typer.Exit:
    # An OSError (a full disk, a folder that cannot be written) is reported like a domain error.
    message = exc.message if isinstance(exc, PhotoshareError) else str(exc)
    typer.secho(f"error: {message}", fg="red", err=True)
    return typer.Exit(1)


@app.command()
def init(
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
    admin_user: Annotated[str, typer.Option(help="Name of the first administrator.")] = "admin",
    admin_password: Annotated[str | None, typer.Option(help="Password (generated and printed when omitted).")] = None,
) -> None:
    """Create the data folder and the first administrator. Safe to run again."""
    settings = _settings(config, data_dir)
    ctx = _context(settings, create=True)
    try:
        if ctx.users.repo.count() == 0:
            password = admin_password or secrets.token_urlsafe(12)
            try:
                ctx.users.create(admin_user, password, is_admin=True)
            except PhotoshareError as exc:
                raise _fail(exc) from None
            typer.echo(f"Created administrator {admin_user!r} in {settings.data_path}")
            if admin_password is None:
                typer.echo(f"Generated password: {password}")
        else:
            typer.echo(f"{settings.data_path} is already initialised; nothing changed.")
    finally:
        ctx.close()


@app.command()
def serve(
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
    host: Annotated[str | None, typer.Option(help="Interface to listen on.")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on.")] = None,
) -> None:
    """Run the appliance: API, web UI, media delivery and the job pool in one process."""
    import uvicorn

    from photoshare.admin.shutdown import GracefulServer
    from photoshare.app import create_asgi
    from photoshare.context import DataDirLock

    settings = _settings(config, data_dir)
    if host or port:
        server = msgspec.structs.replace(
            settings.server, host=host or settings.server.host, port=port or settings.server.port
        )
        settings = msgspec.structs.replace(settings, server=server)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    ctx = _context(settings, create=True)
    lock = DataDirLock(settings.data_path)
    try:
        lock.acquire()
    except PhotoshareError as exc:
        ctx.db.close()
        raise _fail(exc) from None
    if ctx.users.repo.count() == 0:
        typer.secho("No accounts yet: run `photoshare init` to create the first administrator.", fg="yellow")
    if hasattr(ctx.store, "clean_tmp"):
        ctx.store.clean_tmp()  # half-written temp files of a crashed process were never acknowledged
    ctx.runner.start()
    url = f"http://{settings.server.host}:{settings.server.port}"
    typer.echo(f"photoshare is serving {settings.data_path} at {url}", err=False)
    sys.stdout.flush()
    # Stops taking jobs on SIGTERM and returns, so ctx.close() finishes or releases running jobs.
    http_server = GracefulServer(
        ctx.runner,
        uvicorn.Config(
            create_asgi(ctx),
            host=settings.server.host,
            port=settings.server.port,
            loop="uvloop",
            http="httptools",
            log_level="warning",
            access_log=False,
            lifespan="on",
            timeout_graceful_shutdown=10,
        ),
    )
    try:
        http_server.run()
    finally:
        ctx.close()
        lock.release()


# -- users ---------------------------------------------------------------------------------------
@user_app.command("add")
def user_add(
    name: str,
    password: Annotated[str | None, typer.Option(help="Password (prompted when omitted).")] = None,
    admin: Annotated[bool, typer.Option("--admin", help="Make the user an administrator.")] = False,
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Create an account."""
    if password is None:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    ctx = _context(_settings(config, data_dir))
    try:
        user = ctx.users.create(name, password, is_admin=admin)
        typer.echo(f"Created {'administrator' if admin else 'user'} {user.username} ({user.id})")
    except PhotoshareError as exc:
        raise _fail(exc) from None
    finally:
        ctx.close()


@user_app.command("list")
def user_list(
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
) -> None:
    """List accounts."""
    ctx = _context(_settings(config, data_dir))
    try:
        users = ctx.users.list()
        if as_json:
            typer.echo(json.dumps([{**u.public(), "disabled": u.disabled} for u in users], indent=2))
            return
        for u in users:
            flags = ", ".join(f for f, on in (("admin", u.is_admin), ("disabled", u.disabled)) if on)
            typer.echo(f"{u.username:<24} {u.id}  {flags}")
    finally:
        ctx.close()


@user_app.command("disable")
def user_disable(
    name: str,
    enable: Annotated[bool, typer.Option("--enable", help="Re-enable instead.")] = False,
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Disable an account (signs it out everywhere) or re-enable it with --enable."""
    ctx = _context(_settings(config, data_dir))
    try:
        user = ctx.users.set_disabled(name, not enable)
        typer.echo(f"{user.username} is now {'disabled' if user.disabled else 'enabled'}")
    except PhotoshareError as exc:
        raise _fail(exc) from None
    finally:
        ctx.close()


@user_app.command("passwd")
def user_passwd(
    name: str,
    password: Annotated[str | None, typer.Option(help="New password (prompted when omitted).")] = None,
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Set a new password (ends the user's web sessions)."""
    if password is None:
        password = typer.prompt("New password", hide_input=True, confirmation_prompt=True)
    ctx = _context(_settings(config, data_dir))
    try:
        ctx.users.set_password(name, password)
        typer.echo(f"Password of {name} changed")
    except PhotoshareError as exc:
        raise _fail(exc) from None
    finally:
        ctx.close()


# -- jobs ----------------------------------------------------------------------------------------
@jobs_app.command("list")
def jobs_list(
    status: Annotated[str | None, typer.Option(help="queued, running, done or dead.")] = None,
    limit: Annotated[int, typer.Option(help="How many, newest first.")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Show jobs and queue counts."""
    ctx = _context(_settings(config, data_dir))
    try:
        rows = ctx.jobs.list(status, limit)
        if as_json:
            typer.echo(json.dumps({"counts": ctx.jobs.counts(), "jobs": rows}, indent=2))
            return
        typer.echo("  ".join(f"{k}={v}" for k, v in sorted(ctx.jobs.counts().items())) or "no jobs")
        for r in rows:
            err = (r["last_error"] or "").splitlines()[0][:80] if r["last_error"] else ""
            typer.echo(f"{r['id']}  {r['name']:<16} {r['status']:<8} {r['attempts']}/{r['max_attempts']}  {err}")
    finally:
        ctx.close()


@jobs_app.command("retry")
def jobs_retry(
    job_id: Annotated[str | None, typer.Argument(help="One job id; all dead jobs when omitted.")] = None,
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Requeue dead-lettered jobs (a running appliance picks them up within seconds)."""
    ctx = _context(_settings(config, data_dir))
    try:
        n = ctx.jobs.retry(job_id)
        typer.echo(f"Requeued {n} job(s)")
    finally:
        ctx.close()


@app.command()
def reindex(config: ConfigOpt = None, data_dir: DataDirOpt = None) -> None:
    """Rebuild derived data from SQLite: the search index and every home timeline."""
    from photoshare.context import DataDirLock

    settings = _settings(config, data_dir)
    ctx = _context(settings)
    lock = DataDirLock(settings.data_path)
    try:
        lock.acquire()
    except PhotoshareError:
        # The appliance is running and owns the index: let its job pool do the rebuild.
        ctx.jobs.enqueue("search.rebuild", {}, dedupe_key="search.rebuild")
        ctx.close()
        typer.echo("The appliance is running: a search index rebuild is queued and runs in its job pool.")
        return
    try:
        n = ctx.search.rebuild()
        typer.echo(f"Search index: {n} photos")
        users = [r["id"] for r in ctx.db.query("SELECT id FROM users WHERE disabled = 0")]
        entries = sum(ctx.feed.rebuild(user_id) for user_id in users)
        typer.echo(f"Timelines: {len(users)} rebuilt, {entries} entries")
    finally:
        ctx.close()
        lock.release()


# -- storage -------------------------------------------------------------------------------------
@storage_app.command("migrate")
def storage_migrate(
    to: Annotated[str, typer.Option("--to", help="Target back end: s3 or local.")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Count what would be copied.")] = False,
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Copy every blob to another back end (resumable; the source is left intact).

    Configure the target first ([storage.s3] for s3, [storage] root for local), run this, then set
    `[storage] backend` to the target and restart.
    """
    from photoshare.context import make_store
    from photoshare.storage.migrate import migrate_blobs

    settings = _settings(config, data_dir)
    if to not in ("s3", "local") or to == settings.storage.backend:
        typer.secho(
            f"error: --to must be the other back end (now using {settings.storage.backend})", fg="red", err=True
        )
        raise typer.Exit(2)
    try:
        source = make_store(settings)
        target_settings = msgspec.structs.replace(
            settings, storage=msgspec.structs.replace(settings.storage, backend=to)
        )
        target = make_store(target_settings)
    except PhotoshareError as exc:
        raise _fail(exc) from None
    with typer.progressbar(length=0, label="Copying blobs", show_pos=True) as bar:
        report = migrate_blobs(source, target, dry_run=dry_run, progress=lambda _key: bar.update(1))
    verb = "would copy" if dry_run else "copied"
    typer.echo(
        f"{verb} {report.copied} blobs ({report.bytes_copied / 1e6:.1f} MB), "
        f"{report.skipped} already there, {len(report.failed)} failed"
    )
    for key, reason in report.failed[:20]:
        typer.echo(f"  failed: {key}: {reason}", err=True)
    if report.failed:
        raise typer.Exit(1)
    if not dry_run:
        typer.echo(f'Done. Set [storage] backend = "{to}" (or PHOTOSHARE_STORAGE_BACKEND={to}) and restart.')


def main() -> None:
    app()


# Admin operations (import, backup, restore, verify, stats, doctor) register themselves on `app`.
import photoshare.admin.commands  # noqa: E402, F401

# `photoshare models ...` (ML model install and status) registers itself on `app` too.
from photoshare.ml import cli as _ml_cli  # noqa: E402, F401
