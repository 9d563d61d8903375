"""The admin operations of the `photoshare` CLI: import, backup, restore, verify, stats, doctor.

Registered on photoshare.cli's app (imported at the end of that module); the work itself is in the
services of this package, so these commands only parse options, draw progress and print summaries.
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Annotated

import typer

from photoshare.cli import ConfigOpt, DataDirOpt, _context, _fail, _settings, app
from photoshare.errors import PhotoshareError

__all__: list[str] = []

JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]


@app.command("import")
def import_folder(
    path: Annotated[Path, typer.Argument(help="Folder to import; searched recursively.")],
    user: Annotated[str, typer.Option("--user", help="Account that will own the photos.")],
    albums_from_folders: Annotated[
        bool, typer.Option("--albums-from-folders", help="Put the photos of each folder into an album named after it.")
    ] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Count what would be imported; change nothing.")] = False,
    external: Annotated[
        bool,
        typer.Option(
            "--external",
            help="Leave the files where they are and reference them read-only (an external library) instead of"
            " copying them into the blob store.",
        ),
    ] = False,
    visibility: Annotated[str, typer.Option(help="private, followers, shared or public.")] = "private",
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Import an existing photo folder: recursive, skips non-images, deduplicates by SHA-256.

    Resumable: run the same command again after an interruption and it continues where it stopped,
    never adding a photo twice (unchanged files already seen are skipped without being read).
    Photos are processed by the normal job pool: when the appliance is running they are queued for
    its pool; otherwise this command runs the pool itself until every imported photo is processed.
    Exit status 0 when the folder was gone through (per-file failures are listed), 130 when
    interrupted.
    """
    from photoshare.admin.console import ProgressBar
    from photoshare.admin.importer import Importer, summary_lines
    from photoshare.admin.pool import job_pool, run_jobs_until

    settings = _settings(config, data_dir)
    ctx = _context(settings)
    interrupted = False
    try:
        try:
            owner = ctx.users.by_username(user)
        except PhotoshareError as exc:
            raise _fail(exc) from None
        importer = Importer(ctx)
        pool = contextlib.nullcontext(False) if dry_run else job_pool(ctx)
        with pool as owned, ProgressBar() as bar:
            try:
                report = importer.run(
                    owner,
                    path,
                    albums_from_folders=albums_from_folders,
                    dry_run=dry_run,
                    external=external,
                    visibility=visibility,
                    progress=bar,
                )
            except PhotoshareError as exc:
                raise _fail(exc) from None
            interrupted = report.interrupted
            if owned and not interrupted:
                try:
                    run_jobs_until(ctx, lambda: importer.unprocessed(owner, path), progress=bar)
                except KeyboardInterrupt:
                    interrupted = True  # the pool hands unfinished jobs back; the next run finishes them
        waiting = 0 if dry_run else importer.unprocessed(owner, path)
        failures = [] if dry_run else importer.processing_failures(owner, path)
        if as_json:
            out = {**report.as_dict(), "interrupted": interrupted, "processing_pending": waiting}
            out["processing_failed"] = [{"path": p, "reason": r} for p, r in failures]
            typer.echo(json.dumps(out, indent=2))
        else:
            for line in summary_lines(report, owner.username):
                typer.echo(line)
            if not dry_run:
                typer.echo(f"  processing: {len(failures)} photo(s) of this folder failed, {waiting} still queued")
                for rel, reason in failures[:20]:
                    typer.echo(f"  failed processing: {rel}: {reason}")
                if waiting and not owned:
                    typer.echo("  The appliance is running: its job pool is processing the queued photos.")
            if interrupted:
                typer.echo("Interrupted: run the same command again to continue.")
    finally:
        ctx.close()
    if interrupted:
        raise typer.Exit(130)


@app.command("backup")
def backup_cmd(
    dest: Annotated[Path, typer.Argument(help="Backup folder (created; a previous backup there is updated).")],
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Back up database, blobs, secret key and config into DEST, while the appliance keeps running.

    The database is copied with SQLite's online backup API (a consistent snapshot), then every blob
    it refers to. Incremental: blobs already in DEST are skipped, ones no longer used are pruned.
    Files of external libraries are not copied. Restore with `photoshare restore DEST`.
    """
    from photoshare.admin.backup import backup
    from photoshare.admin.console import ProgressBar

    settings = _settings(config, data_dir)
    ctx = _context(settings)
    try:
        with ProgressBar() as bar:
            report = backup(ctx, dest, config_file=config, progress=bar)
    except (PhotoshareError, OSError) as exc:
        raise _fail(exc) from None
    finally:
        ctx.close()
    if as_json:
        typer.echo(json.dumps(report.as_dict(), indent=2))
    else:
        typer.echo(
            f"Backed up {report.photos} photos to {report.dest} in {report.seconds:.1f} s: {report.copied} blobs"
            f" copied ({report.bytes_copied / 1e6:.1f} MB), {report.skipped} already there, {report.pruned} pruned"
        )
        if report.external:
            typer.echo(f"  {report.external} originals of external libraries are not included: back up those folders")
    if report.missing:
        typer.secho(
            f"warning: {len(report.missing)} blob(s) the database refers to were missing (deleted during the backup,"
            " or lost: run `photoshare verify`)",
            fg="yellow",
            err=True,
        )
        for key in report.missing[:20]:
            typer.echo(f"  missing: {key}", err=True)
        raise typer.Exit(1)


@app.command("restore")
def restore_cmd(
    src: Annotated[Path, typer.Argument(help="A folder written by `photoshare backup`.")],
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Restore a backup into an empty (or new) data folder; the appliance must not be running there.

    Blobs go to the configured store (local folder or S3 bucket), the schema is brought up to date
    and the search index is rebuilt at the first start.
    """
    from photoshare.admin.backup import restore
    from photoshare.admin.console import ProgressBar

    settings = _settings(config, data_dir)
    try:
        with ProgressBar() as bar:
            report = restore(settings, src, progress=bar)
    except (PhotoshareError, OSError) as exc:
        raise _fail(exc) from None
    if as_json:
        typer.echo(json.dumps(report.as_dict(), indent=2))
    else:
        typer.echo(
            f"Restored {report.photos} photos and {report.blobs} blobs ({report.bytes_copied / 1e6:.1f} MB)"
            f" into {report.data_dir} in {report.seconds:.1f} s"
        )
        if report.migrations_applied:
            typer.echo(f"  schema upgraded: {', '.join(report.migrations_applied)}")
        if report.config_restored:
            typer.echo(f"  the backed-up config is in {report.config_restored}: start with --config pointing at it")
        typer.echo(f"Start it with: photoshare serve --data-dir {report.data_dir}")
    if report.missing:
        typer.secho(f"warning: {len(report.missing)} blob(s) were not in the backup", fg="yellow", err=True)
        raise typer.Exit(1)


@app.command("verify")
def verify_cmd(
    repair: Annotated[bool, typer.Option("--repair", help="Fix what can be fixed (see above).")] = False,
    from_backup: Annotated[
        Path | None,
        typer.Option(
            "--from-backup", help="With --repair: a `photoshare backup` folder to copy damaged originals from."
        ),
    ] = None,
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Re-hash every original and variant against its recorded SHA-256; list missing, corrupt and
    orphan blobs.

    --repair renders missing or damaged variants again from their originals, copies damaged
    originals back from --from-backup, and deletes orphans (only while the appliance is not
    running). Exit status 1 while any missing or corrupt blob remains.
    """
    from photoshare.admin.console import ProgressBar
    from photoshare.admin.pool import job_pool, run_jobs_until
    from photoshare.admin.verify import Verifier, iter_lines

    if from_backup is not None and not (from_backup / "blobs").is_dir():
        typer.secho(f"error: {from_backup} is not a photoshare backup folder", fg="red", err=True)
        raise typer.Exit(2)
    ctx = _context(_settings(config, data_dir))
    try:
        verifier = Verifier(ctx)
        pool = job_pool(ctx) if repair else contextlib.nullcontext(False)
        with pool as owned, ProgressBar() as bar:
            report = verifier.check(progress=bar)
            if repair:
                verifier.repair(report, own_pool=owned, from_backup=from_backup)
                if owned and report.rerender_queued:
                    run_jobs_until(ctx, verifier.pending_rerenders, progress=bar, label="Re-rendering")
                    verifier.confirm_rerenders(report)
    finally:
        ctx.close()
    if as_json:
        typer.echo(json.dumps(report.as_dict(), indent=2))
    else:
        for line in iter_lines(report):
            typer.echo(line)
        if repair and report.orphans and not owned:
            typer.echo("Orphans are kept while the appliance is running; stop it and run verify --repair again.")
    if report.unresolved:
        raise typer.Exit(1)


@app.command("stats")
def stats_cmd(as_json: JsonOpt = False, config: ConfigOpt = None, data_dir: DataDirOpt = None) -> None:
    """Users, photos, albums, shares, storage use and job queue of the appliance."""
    from photoshare.admin.stats import collect_stats, stats_lines

    ctx = _context(_settings(config, data_dir))
    try:
        stats = collect_stats(ctx)
    finally:
        ctx.close()
    if as_json:
        typer.echo(json.dumps(stats, indent=2))
        return
    for line in stats_lines(stats):
        typer.echo(line)


@app.command("doctor")
def doctor_cmd(as_json: JsonOpt = False, config: ConfigOpt = None, data_dir: DataDirOpt = None) -> None:
    """Check the installation: config, permissions, disk space, database, blob store, libvips/HEIC,
    ML and video support, job queue. Exit status 1 when a check fails."""
    from photoshare.admin.doctor import run_checks

    ctx = _context(_settings(config, data_dir))
    try:
        checks = run_checks(ctx, config)
    finally:
        ctx.close()
    if as_json:
        typer.echo(json.dumps([{"name": c.name, "status": c.status, "detail": c.detail} for c in checks], indent=2))
    else:
        colours = {"ok": "green", "warn": "yellow", "fail": "red"}
        for c in checks:
            typer.echo(typer.style(f"{c.status.upper():<5}", fg=colours[c.status]) + f" {c.name:<12} {c.detail}")
    if any(c.status == "fail" for c in checks):
        raise typer.Exit(1)
