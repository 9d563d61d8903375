"""Text in images with PP-OCR (det + rec ONNX models shipped inside the rapidocr package)."""

from __future__ import annotations

import importlib.resources
import logging
import re
import threading
from pathlib import Path
from typing import Any

import numpy as np

from photoshare.ml.models import ModelUnavailable

__all__ = ["OcrModel"]

_WORDY = re.compile(r"\w", re.UNICODE)


class OcrModel:
    def __init__(self, engine: Any) -> None:
        self.engine = engine
        # The rapidocr wrapper keeps per-call settings on the instance: one call at a time.
        self._lock = threading.Lock()

    @classmethod
    def load(cls, threads: int, max_side: int) -> OcrModel:
        try:
            from rapidocr import RapidOCR
        except ImportError:
            raise ModelUnavailable("rapidocr is not installed (pip install -e '.[ml]')") from None
        models = Path(str(importlib.resources.files("rapidocr").joinpath("models")))
        det, rec = sorted(models.glob("*det*.onnx")), sorted(models.glob("*rec*.onnx"))
        if not det or not rec:
            raise ModelUnavailable(f"the rapidocr package has no bundled det/rec models in {models}")
        # Explicit model paths: rapidocr downloads nothing when it is given files that exist.
        engine = RapidOCR(
            params={
                "Global.log_level": "error",
                "Global.use_cls": False,
                "Det.model_path": str(det[-1]),
                "Rec.model_path": str(rec[-1]),
                "Det.limit_type": "max",
                "Det.limit_side_len": max_side,
                "EngineConfig.onnxruntime.intra_op_num_threads": threads,
                "EngineConfig.onnxruntime.inter_op_num_threads": 1,
            }
        )
        logging.getLogger("RapidOCR").setLevel(logging.ERROR)
        return cls(engine)

    def read(self, rgb: np.ndarray, *, min_confidence: float) -> list[tuple[str, float]]:
        """Lines of text, top to bottom, with their confidence; symbol-only noise is dropped."""
        with self._lock:
            # rapidocr expects OpenCV's BGR order for arrays.
            result = self.engine(np.ascontiguousarray(rgb[:, :, ::-1]))
        texts = result.txts or ()
        scores = result.scores or ()
        return [
            (t.strip(), round(float(s), 4))
            for t, s in zip(texts, scores, strict=False)
            if s >= min_confidence and _WORDY.search(t)
        ]
