"""Drop-in CLIP for text-to-image search: enable with `[ml] plugins = ["plugins/clip_onnx.py"]`.

Put an ONNX export of a CLIP model into MODELS_DIR/clip/: `visual.onnx` (input float32 [N, 3, S, S],
output [N, D]), `textual.onnx` (input int64 token ids [N, 77], output [N, D]) and the model's
`tokenizer.json` (Hugging Face tokenizers format; `pip install tokenizers`). Optional `clip.json`
overrides {"size": 224, "mean": [...], "std": [...], "context": 77}. Photos analysed afterwards get a
CLIP embedding in their own vector index (`photoshare models analyze --all` covers older ones), and
text queries are matched against them, fused with keyword hits.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from photoshare.ml.images import center_crop
from photoshare.ml.models import ModelUnavailable, l2_normalise, ort_session

_DEFAULTS = {
    "size": 224,
    "mean": [0.48145466, 0.4578275, 0.40821073],  # OpenAI CLIP's preprocessing
    "std": [0.26862954, 0.26130258, 0.27577711],
    "context": 77,
}


class ClipOnnx:
    name = "clip"

    def __init__(self, visual: Any, textual: Any, tokenizer: Any, config: dict[str, Any]) -> None:
        self.visual, self.textual, self.tokenizer = visual, textual, tokenizer
        self.size = int(config["size"])
        self.context = int(config["context"])
        self.mean = np.asarray(config["mean"], dtype=np.float32)
        self.std = np.asarray(config["std"], dtype=np.float32)
        self.dim = int(visual.get_outputs()[0].shape[-1])

    def embed_image(self, rgb: np.ndarray) -> np.ndarray:
        x = (center_crop(rgb, self.size, crop_fraction=1.0).astype(np.float32) / 255.0 - self.mean) / self.std
        (out,) = self.visual.run(None, {self.visual.get_inputs()[0].name: x.transpose(2, 0, 1)[None]})
        return l2_normalise(out[0])

    def embed_text(self, text: str) -> np.ndarray:
        ids = self.tokenizer.encode(text).ids[: self.context]
        tokens = np.zeros((1, self.context), dtype=np.int64)
        tokens[0, : len(ids)] = ids
        (out,) = self.textual.run(None, {self.textual.get_inputs()[0].name: tokens})
        return l2_normalise(out[0])


def create(models_dir: Path, threads: int) -> ClipOnnx:
    folder = models_dir / "clip"
    for name in ("visual.onnx", "textual.onnx", "tokenizer.json"):
        if not (folder / name).is_file():
            raise ModelUnavailable(f"CLIP plugin: {folder / name} is missing")
    try:
        from tokenizers import Tokenizer
    except ImportError:
        raise ModelUnavailable("CLIP plugin: pip install tokenizers") from None
    config = dict(_DEFAULTS)
    if (folder / "clip.json").is_file():
        config.update(json.loads((folder / "clip.json").read_text()))
    return ClipOnnx(
        ort_session(folder / "visual.onnx", threads),
        ort_session(folder / "textual.onnx", threads),
        Tokenizer.from_file(str(folder / "tokenizer.json")),
        config,
    )
