"""Decoding any supported photo into one upright sRGB libvips image.

libvips does the work (fast, streaming, GIL-free). Pillow with pillow-heif is the fallback for what
this libvips build cannot read: HEVC-coded HEIC (iPhone photos) and a few damaged-but-readable
JPEGs that libjpeg rejects in strict mode. Strict first, so truncated files fail loudly instead of
producing grey half-images.
"""

from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass
from pathlib import Path

import pyvips

__all__ = ["DecodeError", "Decoded", "decode"]

_HEIF_LOADERS = ("heifload",)


class DecodeError(Exception):
    """The file is not an image we can decode; the message is shown to the user."""


@dataclass(slots=True)
class Decoded:
    image: pyvips.Image  # upright, sRGB (or B/W), 8-bit, possibly with alpha, at most `target` px
    width: int  # full-resolution size as displayed (orientation applied)
    height: int
    loader: str


def _first_line(exc: Exception) -> str:
    lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip() and not ln.startswith("unable to call")]
    return lines[0] if lines else type(exc).__name__


def _check_pixels(width: int, height: int, max_pixels: int) -> None:
    if width <= 0 or height <= 0:
        raise DecodeError("image has no pixels")
    if width * height > max_pixels:
        raise DecodeError(f"image is {width}x{height} pixels, over the limit of {max_pixels}")


def _verify_png(path: Path) -> None:
    """libvips accepts PNGs with bad chunk CRCs, truncated chunks and text bombs; Pillow's verify()
    checks the container without decoding pixels, so it is a cheap integrity gate."""
    from PIL import Image

    try:
        with Image.open(path) as im:
            im.verify()
    except Exception as exc:
        raise DecodeError(f"damaged PNG: {exc}") from None


def _normalise(image: pyvips.Image) -> pyvips.Image:
    """To 8-bit sRGB (or greyscale), keeping alpha; ICC profiles are applied, not just dropped."""
    if image.get_typeof("icc-profile-data"):
        # A broken embedded profile falls through to the plain colourspace conversion below.
        with contextlib.suppress(pyvips.Error):
            image = image.icc_transform("srgb", embedded=True, intent="perceptual")
    if image.interpretation not in ("srgb", "b-w"):
        with contextlib.suppress(pyvips.Error):
            image = image.colourspace("srgb")
    if image.interpretation in ("rgb16", "grey16"):
        image = image.colourspace("srgb" if image.interpretation == "rgb16" else "b-w")
    if image.format != "uchar":
        image = image.cast("uchar")  # float/HDR data: clip rather than fail
    return image


def _vips_decode(path: Path, target: int, max_pixels: int) -> Decoded:
    header = pyvips.Image.new_from_file(str(path), fail_on="warning")
    loader = header.get("vips-loader")
    upright = header.autorot()
    _check_pixels(header.width, header.height, max_pixels)
    if loader.startswith("png"):
        _verify_png(path)
    shrink = 1
    if loader.startswith("jpeg"):
        # JPEG shrink-on-load: the decoder skips DCT detail we would throw away anyway.
        longest = max(header.width, header.height)
        shrink = min(8, 2 ** int(math.log2(max(1, longest // target)))) if longest > target else 1
    image = pyvips.Image.new_from_file(
        str(path), fail_on="warning", access="sequential", **({"shrink": shrink} if shrink > 1 else {})
    )
    image = image.autorot()
    if max(image.width, image.height) > target:
        image = image.thumbnail_image(target, height=target, size="down")
    image = _normalise(image).copy_memory()  # decode now, once; every smaller size derives from this
    return Decoded(image, upright.width, upright.height, loader)


def _pillow_decode(path: Path, target: int, max_pixels: int) -> Decoded:
    from PIL import Image, ImageOps

    from photoshare.imaging.heif import register_heif

    register_heif()
    try:
        with Image.open(path) as im:
            _check_pixels(im.width, im.height, max_pixels)
            fmt = (im.format or "unknown").lower()
            im = ImageOps.exif_transpose(im)  # pillow-heif has already applied irot/imir and reset Orientation
            width, height = im.size
            if im.mode not in ("RGB", "RGBA", "L", "LA"):
                im = im.convert("RGBA" if "A" in im.mode or im.info.get("transparency") is not None else "RGB")
            im.thumbnail((target, target))
            bands = len(im.getbands())
            image = pyvips.Image.new_from_memory(im.tobytes(), im.width, im.height, bands, "uchar")
            image = image.copy(interpretation="b-w" if bands <= 2 else "srgb").copy_memory()
    except DecodeError:
        raise
    except Exception as exc:
        raise DecodeError(_first_line(exc)) from None
    return Decoded(image, width, height, f"pillow:{fmt}")


def decode(path: Path, *, target: int, max_pixels: int) -> Decoded:
    """Decode `path` upright to at most `target` px on the longest edge; raises DecodeError."""
    try:
        return _vips_decode(path, target, max_pixels)
    except DecodeError:
        raise
    except pyvips.Error as vips_exc:
        try:
            return _pillow_decode(path, target, max_pixels)
        except DecodeError as pil_exc:
            # Library messages quote the blob's path on the server; users need the reason, not the path.
            reason = f"cannot decode image: {_first_line(vips_exc)}; {pil_exc}"
            raise DecodeError(reason.replace(f"b'{path}'", "file").replace(str(path), "file")) from None
