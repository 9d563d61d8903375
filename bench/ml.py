"""ML stage: per-photo latency of each stage on real corpus photos, and recall@10 of the hnswlib index
against exact search over the stored embeddings (goal >= 0.95), both measured in the same run.

Latency: --photos real corpus photos (JPEG/PNG/TIFF/HEIC the appliance decodes, plus a rendered
screenshot) go through a real appliance (build_context, ML on, one ML worker, --threads onnxruntime
threads): photo.process, then ml.analyze. Each stage's time is the stage's own measurement stored in
ml_results.stages (labels+embedding, OCR, faces), per photo; "total" is the whole ml.analyze job
(reading the variant, all stages, storing results, index insert).

Recall: the embeddings stored by that run, plus --vectors more real embeddings of the same model
(random crops, flips, scales and colour changes of the corpus photos, embedded by the real model),
stored in the same photo_embeddings table; the project's VectorIndex (hnswlib, the configured M /
ef_construction / ef) is opened over it, and for --queries stored vectors the top 10 of the index is
compared with exact search (numpy dot product over every stored vector, also timed). recall_at_10 counts
an index result as right when it is at least as similar as the exact 10th (ties between identical
vectors are interchangeable); id_recall_at_10 compares the id sets.

    .venv/bin/python -m bench.ml [--photos 30] [--vectors 3000] [--queries 300] [--threads 1]
"""

from __future__ import annotations

import argparse
import io
import json
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from bench.common import summary, timed
from photoshare.context import build_context
from photoshare.ml.labels import EMBEDDING_MODEL
from photoshare.ml.vectors import VectorIndex, exact_knn, to_blob
from photoshare.settings import load_settings

CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus"


def corpus_photos(limit: int) -> list[Path]:
    oracle = json.loads((CORPUS / "oracle.json").read_text())["files"]
    good = [rel for rel, entry in sorted(oracle.items()) if (entry.get("pillow") or {}).get("decodes")]
    rnd = random.Random(7)
    rnd.shuffle(good)
    return [CORPUS / rel for rel in good[:limit]]


def screenshot() -> bytes:
    from PIL import Image, ImageDraw, ImageFont

    im = Image.new("RGB", (1280, 720), (246, 246, 246))
    draw = ImageDraw.Draw(im)
    font = ImageFont.load_default(size=30)
    for i in range(8):
        draw.text((40, 60 + i * 70), f"Line {i + 1}: the quarterly report lists {i * 17} open items", font=font, fill=0)
    out = io.BytesIO()
    im.save(out, "PNG")
    return out.getvalue()


def augmented(rgb: np.ndarray, rnd: random.Random) -> np.ndarray:
    from PIL import Image, ImageEnhance

    im = Image.fromarray(rgb)
    w, h = im.size
    f = rnd.uniform(0.5, 1.0)
    cw, ch = min(w, max(16, int(w * f))), min(h, max(16, int(h * f)))
    x, y = rnd.randint(0, w - cw), rnd.randint(0, h - ch)
    im = im.crop((x, y, x + cw, y + ch)).resize((max(16, int(cw * rnd.uniform(0.4, 1.2))), max(16, int(ch * 0.8))))
    if rnd.random() < 0.5:
        im = im.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    im = ImageEnhance.Color(im).enhance(rnd.uniform(0.5, 1.5))
    im = ImageEnhance.Brightness(im).enhance(rnd.uniform(0.7, 1.3))
    return np.asarray(im.convert("RGB"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--photos", type=int, default=30)
    ap.add_argument("--vectors", type=int, default=3000)
    ap.add_argument("--queries", type=int, default=300)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-ml-"))
    settings = load_settings(None, {}, data_dir=str(tmp / "data"), ml={"threads_per_model": args.threads})
    ctx = build_context(settings, create=True)
    user = ctx.users.create("bench", "bench-password-1")
    from photoshare.photos.service import PhotoMeta

    paths = corpus_photos(args.photos)
    sources: list[tuple[str, bytes]] = [(p.name, p.read_bytes()) for p in paths] + [("screenshot.png", screenshot())]
    for name, data in sources:
        f = ctx.settings.data_path / "tmp" / name
        f.write_bytes(data)
        ctype = {".png": "image/png", ".tif": "image/tiff", ".tiff": "image/tiff", ".heic": "image/heic"}.get(
            f.suffix.lower(), "image/jpeg"
        )
        ctx.uploads.ingest_file(user, f, filename=name, content_type=ctype, meta=PhotoMeta())
        f.unlink(missing_ok=True)
    # Processing first (media pool), then each analysis timed on its own.
    while ctx.runner.run_one("media"):
        pass
    ctx.ml.models.labels(), ctx.ml.models.ocr(), ctx.ml.models.faces()  # loading is not per-photo latency
    totals: list[float] = []
    while True:
        ms, ran = timed(lambda: ctx.runner.run_one("ml"))
        if not ran:
            break
        totals.append(ms)
    ctx.runner.run_until_idle()
    stage_ms: dict[str, list[float]] = {"labels": [], "ocr": [], "faces": []}
    found = {"labels": 0, "text": 0, "faces": 0}
    results = ctx.db.query("SELECT stages, ocr_text, status FROM ml_results")
    for row in results:
        stages = json.loads(row["stages"])
        for name in stage_ms:
            if "ms" in stages.get(name, {}):
                stage_ms[name].append(stages[name]["ms"])
        found["labels"] += stages.get("labels_found", 0) > 0
        found["faces"] += stages.get("faces_found", 0)
        found["text"] += bool(row["ocr_text"])
    report: dict[str, Any] = {
        "photos_analysed": len(results),
        "failed": sum(r["status"] != "done" for r in results),
        "threads_per_model": args.threads,
        "found": found,
        "latency_per_photo": {**{k: summary(v) for k, v in stage_ms.items()}, "total_job": summary(totals)},
    }

    # -- recall of the vector index against exact search, on stored embeddings ------------------------
    from photoshare.ml.images import decode_rgb

    model = ctx.ml.models.labels()
    rnd = random.Random(11)
    images = []
    for p in paths:
        try:
            rgb = decode_rgb(ctx.store.read(_large_key(ctx, p.name)))
        except Exception:
            continue
        if min(rgb.shape[:2]) >= 300:  # crops of thumbnails collapse into identical vectors
            images.append(rgb)
    started = time.perf_counter()
    extra = [model.run(augmented(images[i % len(images)], rnd))[1] for i in range(args.vectors)]
    embed_s = time.perf_counter() - started
    photo_id = ctx.db.value("SELECT id FROM photos LIMIT 1")
    conn = ctx.db.connection()
    conn.execute("PRAGMA foreign_keys=OFF")  # augmented vectors borrow one photo id: bench-only rows
    with ctx.db.transaction():
        for i, vec in enumerate(extra):
            ctx.db.execute(
                "INSERT INTO photo_embeddings (photo_id, user_id, model, vector) VALUES (?, ?, ?, ?)",
                (f"{photo_id}-aug{i}", user.id, EMBEDDING_MODEL, to_blob(vec)),
            )
    conn.execute("PRAGMA foreign_keys=ON")
    labels, matrix = ctx.ml.repo.all_embeddings(EMBEDDING_MODEL)
    ml = ctx.settings.ml
    index_path = tmp / "bench.hnsw"
    index = VectorIndex(
        ctx.db,
        index_path,
        EMBEDDING_MODEL,
        matrix.shape[1],
        m=ml.hnsw_m,
        ef_construction=ml.hnsw_ef_construction,
        ef=ml.hnsw_ef_search,
    )
    build_ms, _ = timed(lambda: len(index))
    queries = rnd.sample(range(len(labels)), min(args.queries, len(labels)))
    hits = id_hits = 0
    ann_ms, exact_ms = [], []
    for q in queries:
        ms_exact, top = timed(lambda q=q: exact_knn(matrix, matrix[q], 10))
        ms_ann, approx = timed(lambda q=q: index.query(matrix[q], 10))
        exact_ms.append(ms_exact)
        ann_ms.append(ms_ann)
        id_hits += len({labels[i] for i in top} & {lbl for lbl, _ in approx})
        # Tie-aware (as ANN benchmarks count): a result is right when it is as close as the exact 10th.
        kth = float(matrix[top[-1]] @ matrix[q])
        hits += sum(1 for _, sim in approx[:10] if sim >= kth - 1e-5)
    report["vectors"] = {
        "stored_embeddings": len(labels),
        "dim": int(matrix.shape[1]),
        "augmented_embedding_ms_each": round(embed_s * 1000 / max(1, args.vectors), 2),
        "hnsw": {"M": ml.hnsw_m, "ef_construction": ml.hnsw_ef_construction, "ef_search": ml.hnsw_ef_search},
        "index_build_ms": round(build_ms, 1),
        "queries": len(queries),
        "recall_at_10": round(hits / (10 * len(queries)), 4),
        "id_recall_at_10": round(id_hits / (10 * len(queries)), 4),
        "goal_recall_at_10": 0.95,
        "query_hnsw": summary(ann_ms),
        "query_exact_numpy": summary(exact_ms),
    }
    ctx.close()
    json.dump(report, sys.stdout, indent=2)
    print()


def _large_key(ctx: Any, filename: str) -> str:
    row = ctx.db.one(
        "SELECT v.object_key FROM photo_variants v JOIN photos p ON p.id = v.photo_id"
        " WHERE p.filename = ? AND v.format = 'jpeg' ORDER BY v.width DESC LIMIT 1",
        (filename,),
    )
    if row is None:
        raise KeyError(filename)
    return str(row["object_key"])


if __name__ == "__main__":
    main()
