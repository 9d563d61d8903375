"""Loading models once per process, and the plugin interface for drop-in embedding models.

Models are loaded lazily on first use by whichever ML worker needs them first, then shared by every
worker thread (onnxruntime sessions and dlib models are safe to call concurrently). A model that
cannot be loaded (files not installed, package missing) is remembered as unavailable with the reason,
so the ML stage skips that part instead of failing every photo.
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, runtime_checkable

import numpy as np

if TYPE_CHECKING:
    from photoshare.settings import MLSettings

__all__ = [
    "Embedder",
    "ModelUnavailable",
    "Models",
    "TextEmbedder",
    "default_models_dir",
    "load_plugin",
    "models_dir",
    "ort_session",
]

T = TypeVar("T")


class ModelUnavailable(Exception):
    """A model's files or packages are not installed; the message says how to get them."""


@runtime_checkable
class Embedder(Protocol):
    """Turns an image into a vector; its vectors get a nearest-neighbour index of their own."""

    name: str
    """Stable key: the `model` column of photo_embeddings and the vector index's file name."""
    dim: int

    def embed_image(self, rgb: np.ndarray) -> np.ndarray:
        """An upright RGB uint8 array (H, W, 3) → an L2-normalised float32 vector of length `dim`."""
        ...


@runtime_checkable
class TextEmbedder(Embedder, Protocol):
    """An image embedder that also embeds text into the same space (CLIP-like): text-to-image search."""

    def embed_text(self, text: str) -> np.ndarray: ...


def default_models_dir() -> Path:
    # Models belong to the installation (the environment holding onnxruntime and the model packages),
    # not to one data folder: every data folder and the test suite find the same files.
    return Path(sys.prefix) / "share" / "photoshare" / "models"


def models_dir(settings: MLSettings) -> Path:
    return Path(settings.models_dir).expanduser().resolve() if settings.models_dir else default_models_dir()


def ort_session(path: Path, threads: int) -> Any:
    """An onnxruntime CPU session with a fixed thread budget (the job pool provides the parallelism)."""
    try:
        import onnxruntime as ort
    except ImportError:
        raise ModelUnavailable("onnxruntime is not installed (pip install -e '.[ml]')") from None
    if not path.is_file():
        raise ModelUnavailable(f"{path} is missing: run `photoshare models install`")
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def l2_normalise(v: np.ndarray) -> np.ndarray:
    v = np.asarray(v, dtype=np.float32).reshape(-1)
    norm = float(np.linalg.norm(v))
    return v / norm if norm > 0 else v


def load_plugin(spec: str, directory: Path, threads: int) -> Embedder:
    """Load a plugin: "package.module:attribute" or "path/to/file.py[:attribute]" (attribute defaults to
    `create`). The attribute is called as `create(models_dir, threads)` and returns an Embedder, or
    raises ModelUnavailable when its model files are not in the models folder."""
    target, _, attr = spec.partition(":")
    attr = attr or "create"
    if target.endswith(".py"):
        path = Path(target).expanduser()
        name = f"photoshare_plugin_{path.stem}"
        module_spec = importlib.util.spec_from_file_location(name, path)
        if module_spec is None or module_spec.loader is None or not path.is_file():
            raise ModelUnavailable(f"plugin file {path} not found")
        module = importlib.util.module_from_spec(module_spec)
        module_spec.loader.exec_module(module)
    else:
        module = importlib.import_module(target)
    embedder = getattr(module, attr)(directory, threads)
    if not isinstance(embedder, Embedder):
        raise ModelUnavailable(f"plugin {spec} did not return an embedder (name, dim, embed_image)")
    return embedder


_LOCK = threading.Lock()
_LOADED: dict[tuple[str, ...], Any] = {}
_FAILED: dict[tuple[str, ...], str] = {}


class Models:
    """The models of this process, each loaded at most once (thread-safe). The cache is process-wide,
    keyed by folder, model and thread budget, so every context in one process shares the same sessions."""

    def __init__(self, settings: MLSettings) -> None:
        self.settings = settings
        self.directory = models_dir(settings)
        self._lock = _LOCK
        self._loaded = _LOADED
        self._failed = _FAILED

    def _key(self, name: str) -> tuple[str, ...]:
        return (str(self.directory), name, str(self.threads), str(self.settings.ocr_max_side))

    def get(self, name: str, loader: Callable[[], T]) -> T:
        """The model `name`, loading it with `loader` on first use; raises ModelUnavailable."""
        key = self._key(name)
        model = self._loaded.get(key)
        if model is not None:
            return model  # type: ignore[no-any-return]
        with self._lock:  # one load per model even when several workers start at once
            if key in self._loaded:
                return self._loaded[key]  # type: ignore[no-any-return]
            if key in self._failed:
                raise ModelUnavailable(self._failed[key])
            try:
                model = loader()
            except ModelUnavailable as exc:
                self._failed[key] = str(exc)
                raise
            except Exception as exc:  # a damaged file: say which, and keep serving without it
                self._failed[key] = f"{name} could not be loaded: {type(exc).__name__}: {exc}"
                raise ModelUnavailable(self._failed[key]) from exc
            self._loaded[key] = model
            return model

    @property
    def threads(self) -> int:
        return self.settings.threads_per_model

    def labels(self) -> Any:
        from photoshare.ml.labels import LabelModel

        return self.get("labels", lambda: LabelModel.load(self.directory, self.threads))

    def faces(self) -> Any:
        from photoshare.ml.faces import FaceModel

        return self.get("faces", lambda: FaceModel.load(self.threads))

    def ocr(self) -> Any:
        from photoshare.ml.ocr import OcrModel

        return self.get("ocr", lambda: OcrModel.load(self.threads, self.settings.ocr_max_side))

    def plugins(self) -> list[Embedder]:
        """The configured plugin embedders that could be loaded (the others are logged once)."""
        out = []
        for spec in self.settings.plugins:
            try:
                loader = functools.partial(load_plugin, spec, self.directory, self.threads)
                out.append(self.get(f"plugin:{spec}", loader))
            except ModelUnavailable:
                continue
        return out

    def text_embedders(self) -> list[TextEmbedder]:
        return [p for p in self.plugins() if isinstance(p, TextEmbedder)]

    def status(self) -> dict[str, str]:
        """Which models are loaded and which are unavailable, and why (for the CLI and /v1/ml/status)."""
        mine = str(self.directory)
        with self._lock:
            loaded = {k[1]: "loaded" for k in self._loaded if k[0] == mine}
            return {**loaded, **{k[1]: v for k, v in self._failed.items() if k[0] == mine}}
