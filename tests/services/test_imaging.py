"""Rendering on real images: formats, colour, alpha, limits, HEIC, and the AVIF option end to end."""

from __future__ import annotations

from pathlib import Path

import pytest
import pyvips

from photoshare.context import build_context
from photoshare.imaging.decode import DecodeError, decode
from photoshare.imaging.variants import render_variants
from photoshare.photos.service import PhotoMeta
from photoshare.settings import load_settings
from tests.conftest import CORPUS, NO_ML, make_jpeg

FORMATS = {"jpeg": 85, "webp": 80}


def _write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_cmyk_jpeg_becomes_srgb(tmp_path: Path) -> None:
    src = CORPUS / "pillow" / "pil_sample_cmyk.jpg"
    if not src.exists():
        pytest.skip("corpus missing")
    rendering = render_variants(src, formats=FORMATS, max_pixels=10**8)
    for v in rendering.variants:
        image = pyvips.Image.new_from_buffer(v.data, "")
        assert image.bands == 3 and image.interpretation == "srgb", v.name


def test_transparent_png_is_flattened_on_white_for_jpeg_and_keeps_alpha_in_webp(tmp_path: Path) -> None:
    rgba = pyvips.Image.black(400, 300, bands=4).copy(interpretation="srgb")  # fully transparent black
    path = _write(tmp_path, "alpha.png", rgba.pngsave_buffer())
    rendering = render_variants(path, formats=FORMATS, max_pixels=10**8)
    thumb_jpeg = next(v for v in rendering.variants if v.name == "thumb" and v.fmt == "jpeg")
    jpeg = pyvips.Image.new_from_buffer(thumb_jpeg.data, "")
    assert jpeg.bands == 3 and jpeg.avg() > 250  # white, not black
    thumb_webp = next(v for v in rendering.variants if v.name == "thumb" and v.fmt == "webp")
    assert pyvips.Image.new_from_buffer(thumb_webp.data, "").hasalpha()


def test_sixteen_bit_tiff_renders_as_eight_bit(tmp_path: Path) -> None:
    src = CORPUS / "pillow" / "tiff_16bit_RGB.tiff"
    if not src.exists():
        pytest.skip("corpus missing")
    rendering = render_variants(src, formats=FORMATS, max_pixels=10**8)
    image = pyvips.Image.new_from_buffer(rendering.variants[0].data, "")
    assert image.format == "uchar" and image.bands == 3


def test_pixel_limit_refuses_to_decode(tmp_path: Path) -> None:
    path = _write(tmp_path, "big.jpg", make_jpeg(2000, 1500))
    with pytest.raises(DecodeError, match="over the limit"):
        decode(path, target=2048, max_pixels=2000 * 1500 - 1)
    assert decode(path, target=2048, max_pixels=2000 * 1500).width == 2000


def test_heic_from_an_iphone_is_upright(tmp_path: Path) -> None:
    # Coded 4032x3024 with a 270° container rotation (irot) and EXIF Orientation 6 that must be ignored.
    src = CORPUS / "exif-samples" / "heic" / "mobile" / "iphone_13_pro_max.HEIC"
    if not src.exists():
        pytest.skip("corpus missing")
    decoded = decode(src, target=800, max_pixels=10**8)
    assert (decoded.width, decoded.height) == (3024, 4032)
    assert decoded.image.height == 800 and decoded.image.width == 600


def test_placeholder_is_tiny(tmp_path: Path) -> None:
    path = _write(tmp_path, "p.jpg", make_jpeg(3000, 2000))
    rendering = render_variants(path, formats=FORMATS, max_pixels=10**8)
    assert rendering.placeholder.startswith("data:image/jpeg;base64,")
    assert len(rendering.placeholder) < 1400  # < 1 KB of image, inline in the page


def test_avif_variants_when_enabled_and_served_by_accept(tmp_path: Path) -> None:
    from litestar.testing import TestClient

    from photoshare.app import create_asgi

    settings = load_settings(None, NO_ML, data_dir=str(tmp_path / "data"), imaging={"avif": True})
    ctx = build_context(settings, create=True)
    try:
        user = ctx.users.create("carol", "carol-password")
        src = _write(tmp_path, "a.jpg", make_jpeg(1200, 800))
        photo = ctx.uploads.ingest_file(
            user, src, filename="a.jpg", content_type="image/jpeg", meta=PhotoMeta(visibility="public")
        )
        ctx.runner.run_until_idle()
        formats = {(v["name"], v["format"]) for v in ctx.photo_repo.variants([photo["id"]])[photo["id"]]}
        assert {("thumb", "avif"), ("medium", "avif"), ("large", "avif")} <= formats
        url = ctx.photos.get(user, photo["id"])["urls"]["thumb"]
        with TestClient(app=create_asgi(ctx), base_url=settings.base_url) as client:
            r = client.get(url, headers={"Accept": "image/avif,image/webp,image/*;q=0.8"})
            assert r.status_code == 200 and r.headers["content-type"] == "image/avif"
            assert pyvips.Image.new_from_buffer(r.content, "").width == 200
            assert client.get(url, headers={"Accept": "image/webp"}).headers["content-type"] == "image/webp"
    finally:
        ctx.close()
