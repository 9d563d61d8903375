"""An appliance with ML on, shared by a test module so the models load once (they are process-wide)."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from photoshare.context import AppContext, build_context
from photoshare.settings import load_settings
from tests.conftest import CORPUS


def ml_settings(data: Path, **ml: Any) -> Any:
    return load_settings(
        None,
        {},
        data_dir=str(data),
        jobs={"backoff_s": 0.01, "media_workers": 1, "poll_s": 0.05},
        ml={"enabled": True, **ml},
    )


def require_models(ctx: AppContext) -> None:
    """Fail loudly (not skip) when the models are missing: CI installs them with ./install.sh --test."""
    from photoshare.ml.models import ModelUnavailable

    for name in ("labels", "ocr", "faces"):
        try:
            getattr(ctx.ml.models, name)()
        except ModelUnavailable as exc:
            pytest.fail(f"ML model {name} unavailable ({exc}); run ./install.sh or `photoshare models install`")


@pytest.fixture(scope="module")
def ml_ctx(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppContext]:
    context = build_context(ml_settings(tmp_path_factory.mktemp("ml") / "data"), create=True)
    require_models(context)
    yield context
    context.close()


def ingest(ctx: AppContext, user: Any, data: bytes, name: str, *, visibility: str = "private", **meta: Any) -> str:
    """Upload bytes as `user` (not yet processed: call drain)."""
    from photoshare.photos.service import PhotoMeta

    path = ctx.settings.data_path / "tmp" / name
    path.write_bytes(data)
    content_type = "image/png" if name.endswith(".png") else "image/jpeg"
    photo = ctx.uploads.ingest_file(
        user, path, filename=name, content_type=content_type, meta=PhotoMeta(visibility=visibility, **meta)
    )
    path.unlink(missing_ok=True)
    return str(photo["id"])


def corpus(rel: str) -> bytes:
    path = CORPUS / rel
    if not path.exists():
        pytest.skip(f"corpus not found at {CORPUS}")
    return path.read_bytes()


def resized_jpeg(data: bytes, factor: float) -> bytes:
    from PIL import Image

    with Image.open(io.BytesIO(data)) as im:
        small = im.convert("RGB").resize((int(im.width * factor), int(im.height * factor)), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    small.save(out, "JPEG", quality=80)
    return out.getvalue()


def screenshot_png(lines: list[str]) -> bytes:
    """A screenshot-like image: dark text on a light window with a title bar, rendered with Pillow's font."""
    from PIL import Image, ImageDraw, ImageFont

    im = Image.new("RGB", (1280, 720), (246, 246, 246))
    draw = ImageDraw.Draw(im)
    draw.rectangle((0, 0, 1280, 48), fill=(52, 58, 64))
    font = ImageFont.load_default(size=34)
    for i, line in enumerate(lines):
        draw.text((48, 110 + i * 70), line, fill=(20, 20, 20), font=font)
    out = io.BytesIO()
    im.save(out, "PNG")
    return out.getvalue()
