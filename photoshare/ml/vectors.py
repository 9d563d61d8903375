"""Nearest-neighbour indexes (hnswlib, cosine) over the image embeddings stored in SQLite.

SQLite's photo_embeddings table is the source of truth; each index file is derived data. On open an
index is reconciled with the table (missing vectors added, vanished ones marked deleted), so a lost,
stale or corrupt file only costs a rebuild. Files are saved every few hundred changes and on close.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from pathlib import Path
from typing import Any

import numpy as np

from photoshare.db import Database

__all__ = ["VectorIndex", "VectorStore", "exact_knn", "from_blob", "to_blob"]

log = logging.getLogger("photoshare.ml")

_SAVE_EVERY = 256


def to_blob(vector: np.ndarray) -> bytes:
    return np.asarray(vector, dtype="<f4").tobytes()


def from_blob(blob: bytes) -> np.ndarray:
    return np.frombuffer(blob, dtype="<f4")


def exact_knn(matrix: np.ndarray, query: np.ndarray, k: int) -> np.ndarray:
    """Row indices of the k rows most similar (inner product of unit vectors) to `query`, best first."""
    scores = matrix @ query
    k = min(k, len(scores))
    top = np.argpartition(-scores, k - 1)[:k] if k < len(scores) else np.arange(len(scores))
    return top[np.argsort(-scores[top], kind="stable")]


class VectorIndex:
    """One model's embeddings in an HNSW graph; labels are photo_embeddings.id."""

    def __init__(
        self, db: Database, path: Path, model: str, dim: int, *, m: int, ef_construction: int, ef: int
    ) -> None:
        self.db = db
        self.path = path
        self.model = model
        self.dim = dim
        self.m, self.ef_construction, self.ef = m, ef_construction, ef
        self._lock = threading.Lock()
        self._index: Any = None
        self._live: set[int] = set()
        self._changes = 0

    # -- lifecycle -------------------------------------------------------------------------------
    def _new(self, capacity: int) -> Any:
        import hnswlib

        index = hnswlib.Index(space="ip", dim=self.dim)
        index.init_index(max_elements=max(1024, capacity), M=self.m, ef_construction=self.ef_construction)
        return index

    def _open(self) -> Any:
        """Load the saved graph (or start empty) and reconcile it with SQLite."""
        import hnswlib

        rows = self.db.query("SELECT id FROM photo_embeddings WHERE model = ?", (self.model,))
        wanted = {r["id"] for r in rows}
        index = None
        if self.path.is_file():
            try:
                index = hnswlib.Index(space="ip", dim=self.dim)
                index.load_index(str(self.path), max_elements=max(1024, len(wanted) * 2), allow_replace_deleted=False)
                present = set(index.get_ids_list())
            except Exception as exc:  # damaged or from another dimension: rebuild from SQLite
                log.warning("vector index %s is unreadable (%s); rebuilding it", self.path, exc)
                index = None
        if index is None:
            index, present = self._new(len(wanted) * 2), set()
        for label in present - wanted:
            with contextlib.suppress(RuntimeError):  # already marked deleted in the saved file
                index.mark_deleted(label)
        self._index = index
        self._live = present & wanted
        missing = sorted(wanted - self._live)
        for start in range(0, len(missing), 1000):
            chunk = missing[start : start + 1000]
            marks = ",".join("?" for _ in chunk)
            batch = self.db.query(f"SELECT id, vector FROM photo_embeddings WHERE id IN ({marks})", chunk)
            self._add_locked([r["id"] for r in batch], np.stack([from_blob(r["vector"]) for r in batch]))
        index.set_ef(self.ef)
        if missing or present - wanted:
            self._save_locked()
        return index

    def _ensure(self) -> Any:
        if self._index is None:
            self._open()
        return self._index

    def close(self) -> None:
        with self._lock:
            if self._index is not None and self._changes:
                self._save_locked()

    def _save_locked(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        self._index.save_index(str(tmp))
        tmp.replace(self.path)
        self._changes = 0

    # -- changes ---------------------------------------------------------------------------------
    def _add_locked(self, labels: list[int], vectors: np.ndarray) -> None:
        if not labels:
            return
        index = self._index
        needed = index.get_current_count() + len(labels)
        if needed > index.get_max_elements():
            index.resize_index(max(needed, index.get_max_elements() * 2))
        for label in labels:
            if label in self._live:
                continue
            with contextlib.suppress(RuntimeError):  # a re-analysed photo keeps its label
                index.unmark_deleted(label)
        index.add_items(vectors.astype(np.float32), np.asarray(labels, dtype=np.int64))
        self._live.update(labels)
        self._changes += len(labels)

    def add(self, label: int, vector: np.ndarray) -> None:
        with self._lock:
            self._ensure()
            self._add_locked([label], vector.reshape(1, -1))
            if self._changes >= _SAVE_EVERY:
                self._save_locked()

    def remove(self, labels: list[int]) -> None:
        with self._lock:
            self._ensure()
            for label in labels:
                if label in self._live:
                    self._index.mark_deleted(label)
                    self._live.discard(label)
                    self._changes += 1

    def rebuild(self) -> int:
        """Throw the file away and index every stored embedding again."""
        with self._lock:
            self.path.unlink(missing_ok=True)
            self._index = None
            self._open()
            return len(self._live)

    # -- queries ---------------------------------------------------------------------------------
    def __len__(self) -> int:
        with self._lock:
            self._ensure()
            return len(self._live)

    def query(self, vector: np.ndarray, k: int) -> list[tuple[int, float]]:
        """Up to k (label, cosine similarity) pairs, most similar first."""
        with self._lock:
            index = self._ensure()
            k = min(k, len(self._live))
            if k <= 0:
                return []
            index.set_ef(max(self.ef, k))
            while True:
                try:
                    labels, distances = index.knn_query(vector.reshape(1, -1).astype(np.float32), k=k)
                    break
                except RuntimeError:  # fewer reachable live nodes than k (many deletions): ask for fewer
                    if k == 1:
                        return []
                    k //= 2
        return [(int(lbl), float(1.0 - d)) for lbl, d in zip(labels[0], distances[0], strict=True)]


class VectorStore:
    """The vector index of every embedding model, created on first use under DATA_DIR/index/vectors."""

    def __init__(self, db: Database, root: Path, *, m: int, ef_construction: int, ef: int) -> None:
        self.db = db
        self.root = root
        self._params = {"m": m, "ef_construction": ef_construction, "ef": ef}
        self._lock = threading.Lock()
        self._indexes: dict[str, VectorIndex] = {}

    def index(self, model: str, dim: int) -> VectorIndex:
        with self._lock:
            index = self._indexes.get(model)
            if index is None or index.dim != dim:
                index = VectorIndex(self.db, self.root / f"{model}.hnsw", model, dim, **self._params)
                self._indexes[model] = index
            return index

    def known(self) -> list[VectorIndex]:
        with self._lock:
            return list(self._indexes.values())

    def close(self) -> None:
        for index in self.known():
            index.close()
