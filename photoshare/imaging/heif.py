"""pillow-heif registration (HEVC HEIC decoding), done once and only when needed."""

from __future__ import annotations

import functools

__all__ = ["register_heif"]


@functools.cache
def register_heif() -> None:
    import pillow_heif

    pillow_heif.register_heif_opener()
