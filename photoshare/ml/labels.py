"""Image labels and the "similar photos" embedding from one classifier pass (EfficientNet-Lite0).

The model folder holds NAME.onnx, NAME.labels.txt (one class name per line, in output order) and
NAME.json (input size, normalisation, output names), written by `photoshare models install`. Any
classifier exported the same way can replace it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from photoshare.ml.images import center_crop
from photoshare.ml.models import ModelUnavailable, l2_normalise, ort_session

__all__ = ["EMBEDDING_MODEL", "MODEL_FILE", "Label", "LabelModel"]

MODEL_FILE = "efficientnet-lite0"
"""Base name of the classifier files in the models folder."""

EMBEDDING_MODEL = "effnet-lite0"
"""Name of the built-in embedding behind "similar photos" (photo_embeddings.model)."""


@dataclass(frozen=True, slots=True)
class Label:
    name: str
    confidence: float


class LabelModel:
    """An ONNX image classifier with a pooled-feature output; also the built-in Embedder."""

    def __init__(self, session: Any, manifest: dict[str, Any], names: list[str]) -> None:
        self.session = session
        self.manifest = manifest
        self.names = names
        self.name = str(manifest["name"])
        self.dim = int(manifest["embedding_dim"])
        self.size = int(manifest["size"])
        self._mean = np.asarray(manifest["mean"], dtype=np.float32)
        self._std = np.asarray(manifest["std"], dtype=np.float32)

    @classmethod
    def load(cls, directory: Path, threads: int, base: str = MODEL_FILE) -> LabelModel:
        manifest_path = directory / f"{base}.json"
        if not manifest_path.is_file():
            raise ModelUnavailable(f"no labels model in {directory}: run `photoshare models install`")
        manifest = json.loads(manifest_path.read_text())
        names = (directory / manifest["labels_file"]).read_text().splitlines()
        session = ort_session(directory / manifest["model_file"], threads)
        if len(names) != manifest["classes"]:
            raise ModelUnavailable(f"{manifest['labels_file']} lists {len(names)} names, not {manifest['classes']}")
        return cls(session, manifest, names)

    def _tensor(self, rgb: np.ndarray) -> np.ndarray:
        crop = center_crop(rgb, self.size).astype(np.float32)
        return ((crop - self._mean) / self._std).transpose(2, 0, 1)[None]

    def run(self, rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(class probabilities, L2-normalised embedding) of one upright RGB image."""
        logits, embedding = self.session.run(
            [self.manifest["logits_output"], self.manifest["embedding_output"]],
            {self.manifest["input"]: self._tensor(rgb)},
        )
        z = logits[0].astype(np.float64)
        probs = np.exp(z - z.max())
        return (probs / probs.sum()).astype(np.float32), l2_normalise(embedding[0])

    def labels(self, probs: np.ndarray, threshold: float, limit: int) -> list[Label]:
        top = np.argsort(probs)[::-1][:limit]
        return [Label(self.names[i].lower(), round(float(probs[i]), 4)) for i in top if probs[i] >= threshold]

    def embed_image(self, rgb: np.ndarray) -> np.ndarray:
        return self.run(rgb)[1]
