"""Ingest throughput: photos/s through the whole pipeline vs raw libvips on the same files, same run.

Pipeline = hash + durable store of the original + photo row + job → EXIF + decode once + thumb/medium/
large as JPEG and WebP + placeholder + variant blobs + DB update, run by the appliance's job pool.
Baselines, on the same files and the same number of threads, measured in the same run:
- raw libvips, same outputs: thumbnail(2048) with shrink-on-load, derive 800 and 200, encode each in
  every configured format with the pipeline's encoder settings. pipeline / this is the overhead ratio.
- raw libvips, decode+resize+JPEG only: the least work that yields the three sizes.
Sources are a real camera JPEG from the corpus, resized to exactly 12 MP and 24 MP, with a little
per-file noise (so dedup never kicks in), saved at quality 92.

    .venv/bin/python bench/ingest.py [--photos 16] [--workers 2]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pyvips

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
CORPUS = Path(os.environ.get("PHOTOSHARE_CORPUS", REPO.parent / "shared" / "corpus"))
SOURCE = CORPUS / "exif-samples" / "jpg" / "mobile" / "HMD_Nokia_8.3_5G.jpg"


def make_sources(folder: Path, megapixels: int, count: int) -> list[Path]:
    """Camera-like JPEGs: a real photo scaled to size, varied per file so dedup never kicks in."""
    base = pyvips.Image.new_from_file(str(SOURCE if SOURCE.exists() else next(CORPUS.glob("**/*.jpg"))))
    width, height = (4000, 3000) if megapixels == 12 else (6000, 4000)
    image = base.resize(width / base.width, vscale=height / base.height)
    out = []
    for i in range(count):
        noisy = (image + pyvips.Image.gaussnoise(width, height, sigma=1.5, mean=i % 7)).cast("uchar")
        path = folder / f"{megapixels}mp-{i}.jpg"
        noisy.jpegsave(str(path), Q=92)
        out.append(path)
    return out


def raw_libvips(paths: list[Path], workers: int, formats: dict[str, int]) -> float:
    from photoshare.imaging.variants import encode_variant

    def one(path: Path) -> None:
        image = pyvips.Image.thumbnail(str(path), 2048, height=2048, size="down").copy_memory()
        for size in (2048, 800, 200):
            if max(image.width, image.height) > size:
                image = image.thumbnail_image(size, height=size).copy_memory()
            for fmt, quality in formats.items():
                encode_variant(image, fmt, quality)

    start = time.perf_counter()
    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(one, paths))
    return len(paths) / (time.perf_counter() - start)


def pipeline(paths: list[Path], workers: int, tmp: Path) -> float:
    from photoshare.context import build_context
    from photoshare.photos.service import PhotoMeta
    from photoshare.settings import load_settings

    settings = load_settings(
        None, {}, data_dir=str(tmp / f"data-{time.monotonic_ns()}"), jobs={"media_workers": workers, "poll_s": 0.05}
    )
    ctx = build_context(settings, create=True)
    user = ctx.users.create("bench", "bench-password")
    ctx.runner.start()
    start = time.perf_counter()
    for path in paths:
        ctx.uploads.ingest_file(user, path, filename=path.name, content_type="image/jpeg", meta=PhotoMeta())
    if not ctx.runner.wait_idle(timeout=600):
        raise SystemExit("pipeline did not finish")
    elapsed = time.perf_counter() - start
    counts = ctx.photo_repo.status_counts()
    ctx.close()
    if counts.get("ready") != len(paths):
        raise SystemExit(f"not every photo was processed: {counts}")
    return len(paths) / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--photos", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    results = {}
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        for mp in (12, 24):
            paths = make_sources(tmp, mp, args.photos)
            formats = {"jpeg": 85, "webp": 80}
            raw_libvips(paths[:2], args.workers, formats)  # warm-up: page cache and libvips start-up
            raw_same = raw_libvips(paths, args.workers, formats)
            raw_jpeg = raw_libvips(paths, args.workers, {"jpeg": 85})
            ours = pipeline(paths, args.workers, tmp)
            results[f"{mp}mp"] = {
                "raw_same_outputs_photos_per_s": round(raw_same, 2),
                "raw_jpeg_only_photos_per_s": round(raw_jpeg, 2),
                "pipeline_photos_per_s": round(ours, 2),
                "ratio_vs_same_outputs": round(ours / raw_same, 3),
                "ratio_vs_jpeg_only": round(ours / raw_jpeg, 3),
            }
            print(
                f"{mp} MP: pipeline {ours:5.2f} photos/s | raw libvips same outputs {raw_same:5.2f} "
                f"(ratio {ours / raw_same:.2f}x) | raw decode+resize+JPEG {raw_jpeg:5.2f} "
                f"(ratio {ours / raw_jpeg:.2f}x)  [{args.photos} photos, {args.workers} workers]"
            )
    print(json.dumps(results))


if __name__ == "__main__":
    main()
