"""A drop-in embedding plugin used by the tests: it embeds images as the built-in classifier's class
probabilities and text as the classes whose names contain its words, so text finds images through
the plugin interface (own vector index, hybrid fusion) without CLIP weights."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from photoshare.ml.labels import LabelModel


class LabelSpace:
    name = "label-space"
    dim = 1000

    def __init__(self, model: LabelModel) -> None:
        self.model = model

    def embed_image(self, rgb: np.ndarray) -> np.ndarray:
        probs, _ = self.model.run(rgb)
        return probs / np.linalg.norm(probs)

    def embed_text(self, text: str) -> np.ndarray:
        words = set(re.findall(r"\w+", text.lower()))
        hits = np.array([bool(words & set(re.findall(r"\w+", n.lower()))) for n in self.model.names], np.float32)
        norm = np.linalg.norm(hits)
        return hits / norm if norm else hits


def create(models_dir: Path, threads: int) -> LabelSpace:
    return LabelSpace(LabelModel.load(models_dir, threads))
