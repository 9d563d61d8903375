"""Rendering the variant set of a photo: thumb 200 / medium 800 / large 2048 px, each as JPEG and
WebP (AVIF when enabled), metadata stripped, plus a tiny blurred placeholder for instant grids."""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from pathlib import Path

import pyvips

from photoshare.imaging.decode import decode

__all__ = ["RECIPE", "SIZES", "RenderedVariant", "Rendering", "encode_variant", "render_variants"]

SIZES: dict[str, int] = {"large": 2048, "medium": 800, "thumb": 200}
"""Longest edge per variant name, largest first: each smaller one is derived from the previous."""

RECIPE = "r1"
"""Bumped whenever the rendering changes, so new variants get new keys and new URLs."""

CONTENT_TYPES = {"jpeg": "image/jpeg", "webp": "image/webp", "avif": "image/avif"}


@dataclass(slots=True)
class RenderedVariant:
    name: str
    fmt: str
    data: bytes
    width: int
    height: int

    @property
    def etag(self) -> str:
        return hashlib.sha256(self.data).hexdigest()[:32]


@dataclass(slots=True)
class Rendering:
    width: int
    height: int
    loader: str
    placeholder: str
    variants: list[RenderedVariant]


def encode_variant(image: pyvips.Image, fmt: str, quality: int) -> bytes:
    # keep="none" drops EXIF, XMP, IPTC and ICC: variants never carry the original's GPS.
    if fmt == "jpeg":
        if image.hasalpha():
            image = image.flatten(background=[255] * (image.bands - 1))
        return image.jpegsave_buffer(Q=quality, keep="none", subsample_mode="auto")
    if fmt == "webp":
        return image.webpsave_buffer(Q=quality, keep="none", effort=2, smart_subsample=False)
    if fmt == "avif":
        return image.heifsave_buffer(Q=quality, keep="none", compression="av1", effort=2)
    raise ValueError(f"unknown variant format {fmt}")


def _placeholder(image: pyvips.Image) -> str:
    small = image.thumbnail_image(20, height=20)
    if small.hasalpha():
        small = small.flatten(background=[255] * (small.bands - 1))
    data = small.jpegsave_buffer(Q=40, keep="none")
    return "data:image/jpeg;base64," + base64.b64encode(data).decode()


def render_variants(
    path: Path,
    *,
    formats: dict[str, int],
    max_pixels: int,
) -> Rendering:
    """Decode once (at the large size), then derive medium from large and thumb from medium.

    `formats` maps format name ("jpeg", "webp", "avif") to encoder quality. Never upscales: a
    small photo gets variants at its own size.
    """
    decoded = decode(path, target=SIZES["large"], max_pixels=max_pixels)
    image = decoded.image
    out: list[RenderedVariant] = []
    for name, size in SIZES.items():
        if max(image.width, image.height) > size:
            image = image.thumbnail_image(size, height=size, size="down").copy_memory()
        for fmt, quality in formats.items():
            out.append(RenderedVariant(name, fmt, encode_variant(image, fmt, quality), image.width, image.height))
    return Rendering(decoded.width, decoded.height, decoded.loader, _placeholder(image), out)
