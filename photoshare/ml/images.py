"""The image the ML stage looks at: the photo's own large JPEG variant, upright and without metadata.

Reading the variant instead of the original means every format the imaging pipeline decodes (HEIC,
RAW-ish TIFFs, video posters) reaches the models the same way, already oriented and at most 2048 px.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

__all__ = ["BadImage", "center_crop", "decode_rgb", "fit_within"]

Image.MAX_IMAGE_PIXELS = 64_000_000  # variants are at most 2048x2048; anything bigger is not ours


class BadImage(Exception):
    """The analysis image cannot be read; recorded as the photo's ML failure reason."""


def decode_rgb(data: bytes) -> np.ndarray:
    try:
        with Image.open(io.BytesIO(data)) as im:
            im.load()
            rgb = im.convert("RGB")
    except Exception as exc:
        raise BadImage(f"cannot decode the analysis image: {type(exc).__name__}: {exc}") from None
    if rgb.width < 8 or rgb.height < 8:
        raise BadImage(f"image is too small to analyse ({rgb.width}x{rgb.height})")
    return np.asarray(rgb, dtype=np.uint8)


def fit_within(rgb: np.ndarray, side: int) -> tuple[np.ndarray, float]:
    """Scale down so the longest edge is at most `side`; returns the image and the scale applied."""
    h, w = rgb.shape[:2]
    scale = min(1.0, side / max(h, w))
    if scale >= 1.0:
        return rgb, 1.0
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return np.asarray(Image.fromarray(rgb).resize(size, Image.Resampling.BILINEAR, reducing_gap=2.0)), scale


def center_crop(rgb: np.ndarray, size: int, crop_fraction: float = 0.875) -> np.ndarray:
    """Shorter edge to size/crop_fraction, then the central size x size square (ImageNet evaluation)."""
    h, w = rgb.shape[:2]
    short = round(size / crop_fraction)
    scale = short / min(h, w)
    nw, nh = max(size, round(w * scale)), max(size, round(h * scale))
    im = Image.fromarray(rgb).resize((nw, nh), Image.Resampling.BILINEAR, reducing_gap=2.0)
    left, top = (nw - size) // 2, (nh - size) // 2
    return np.asarray(im.crop((left, top, left + size, top + size)))
