"""`photoshare models ...`: install and check the ML models, queue analysis of existing photos."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from photoshare.cli import ConfigOpt, DataDirOpt, _context, _settings, app

__all__ = ["models_app"]

models_app = typer.Typer(help="ML models: labels, similar photos, text in images, faces.", no_args_is_help=True)
app.add_typer(models_app, name="models")


@models_app.command("install")
def install(
    config: ConfigOpt = None,
    models_dir: Annotated[Path | None, typer.Option(help="Where to write models ([ml] models_dir).")] = None,
    force: Annotated[bool, typer.Option(help="Export the labels model again even if it is there.")] = False,
    verify_image: Annotated[
        list[Path] | None, typer.Option(help="Photos to compare torch and ONNX outputs on (repeatable).")
    ] = None,
    strict: Annotated[bool, typer.Option(help="Exit 1 unless every model is usable.")] = False,
) -> None:
    """Export the labels/embedding model to ONNX (verified against torch) and check every other model loads."""
    from photoshare.ml.install import install_models
    from photoshare.ml.models import models_dir as configured_dir

    settings = _settings(config, None)
    directory = models_dir.expanduser().resolve() if models_dir else configured_dir(settings.ml)
    typer.echo(f"models folder: {directory}")
    report = install_models(directory, force=force, verify_images=verify_image or [], log=typer.echo)
    if strict and any(status != "ok" for status in report.values()):
        raise typer.Exit(1)


@models_app.command("status")
def status(config: ConfigOpt = None) -> None:
    """Load every model once and say which are usable (and why not)."""
    from photoshare.ml.models import Models, ModelUnavailable

    settings = _settings(config, None)
    models = Models(settings.ml)
    typer.echo(f"ML {'enabled' if settings.ml.enabled else 'disabled'}; models folder: {models.directory}")
    for name, load in (("labels", models.labels), ("ocr", models.ocr), ("faces", models.faces)):
        try:
            load()
            typer.echo(f"{name}: ok")
        except ModelUnavailable as exc:
            typer.echo(f"{name}: unavailable: {exc}")
    for spec in settings.ml.plugins:
        loaded = {p.name for p in models.plugins()}
        typer.echo(f"plugin {spec}: {models.status().get(f'plugin:{spec}', 'unavailable')} {sorted(loaded)}")


@models_app.command("analyze")
def analyze(
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
    all_photos: Annotated[bool, typer.Option("--all", help="Analyse every photo again, not only new ones.")] = False,
) -> None:
    """Queue ML analysis of existing photos (run by the appliance's ML job pool)."""
    ctx = _context(_settings(config, data_dir))
    try:
        before = ctx.jobs.pending()
        from photoshare.ml.jobs import backfill

        backfill(ctx, {"all": all_photos})
        typer.echo(f"queued {ctx.jobs.pending() - before} photos for analysis")
    finally:
        ctx.close()


@models_app.command("reindex")
def reindex(config: ConfigOpt = None, data_dir: DataDirOpt = None) -> None:
    """Queue a rebuild of the similar-photos vector indexes from the embeddings stored in the database."""
    ctx = _context(_settings(config, data_dir))
    try:
        ctx.jobs.enqueue("ml.rebuild_vectors", {}, dedupe_key="ml.rebuild_vectors")
        typer.echo("queued a rebuild of the vector indexes")
    finally:
        ctx.close()
