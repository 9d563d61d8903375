"""The full-text index over tantivy: one document per searchable photo, rebuildable from SQLite.

The index is derived data. If its folder is missing or unreadable, or was written in an older document
format, it is flagged `needs_rebuild` and the appliance rebuilds it from the database in the background.
"""

from __future__ import annotations

import logging
import shutil
import threading
import time
from pathlib import Path
from typing import Any

import tantivy

__all__ = ["TextIndex", "build_schema"]

log = logging.getLogger("photoshare.search")

FORMAT = "2"
"""Bumped whenever documents change meaning (2: multi-valued audience tokens); older indexes are rebuilt."""
_FORMAT_FILE = "photoshare-format"

TEXT_FIELDS = ["title", "body", "tags", "labels", "camera_text", "place_text"]
"""Fields a free-text query looks in (with per-field boosts in search/service.py)."""


def build_schema() -> tantivy.Schema:
    sb = tantivy.SchemaBuilder()
    sb.add_text_field("photo_id", stored=True, tokenizer_name="raw")
    sb.add_text_field("owner_id", tokenizer_name="raw")
    # Who may find it, one token per door (search/service.py: audience_tokens): "public", "u:<owner>",
    # "followers:<user>" (that user's accepted followers), "album:<id>" (recipients of the album's shares).
    sb.add_text_field("audience", tokenizer_name="raw")
    sb.add_text_field("title", tokenizer_name="en_stem")
    sb.add_text_field("body", tokenizer_name="en_stem")
    sb.add_text_field("tags", tokenizer_name="en_stem")
    sb.add_text_field("labels", tokenizer_name="en_stem")
    sb.add_text_field("camera_text", tokenizer_name="default")
    sb.add_text_field("place_text", tokenizer_name="default")
    sb.add_text_field("camera", tokenizer_name="raw", fast=True)  # exact filter + facet
    sb.add_text_field("place", tokenizer_name="raw", fast=True)  # "City, Region, Country" facet
    sb.add_text_field("country", tokenizer_name="raw", fast=True)
    sb.add_integer_field("year", indexed=True, fast=True)
    sb.add_integer_field("taken", indexed=True, fast=True)  # epoch seconds (local wall time)
    sb.add_float_field("lat", indexed=True, fast=True)
    sb.add_float_field("lon", indexed=True, fast=True)
    return sb.build()


class TextIndex:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.schema = build_schema()
        self.needs_rebuild = False
        self._lock = threading.Lock()
        self._writer: Any = None
        self.index = self._open()

    def _open(self) -> tantivy.Index:
        fresh = not (self.path / "meta.json").exists()
        self.path.mkdir(parents=True, exist_ok=True)
        try:
            index = tantivy.Index(self.schema, path=str(self.path))
            index.searcher()
        except Exception as exc:  # corrupt or from an incompatible version: set aside, start over
            aside = self.path.with_name(f"{self.path.name}.broken-{int(time.time())}")
            log.warning("search index at %s is unreadable (%s); rebuilding it (old copy: %s)", self.path, exc, aside)
            shutil.move(str(self.path), str(aside))
            self.path.mkdir(parents=True)
            index = tantivy.Index(self.schema, path=str(self.path))
            fresh = True
        marker = self.path / _FORMAT_FILE
        if fresh:
            marker.write_text(FORMAT)  # whatever gets indexed from now on is in the current format
            self.needs_rebuild = True
        else:
            self.needs_rebuild = not marker.exists() or marker.read_text().strip() != FORMAT
        return index

    def mark_current(self) -> None:
        """After a full rebuild: every document is in the current format."""
        (self.path / _FORMAT_FILE).write_text(FORMAT)
        self.needs_rebuild = False

    def _w(self) -> Any:
        if self._writer is None:
            self._writer = self.index.writer(heap_size=50_000_000, num_threads=1)
        return self._writer

    def upsert(self, docs: list[dict[str, Any]], *, commit: bool = True, replace: bool = True) -> None:
        """Add documents; `replace=False` skips deleting older versions (a rebuild into a cleared index)."""
        with self._lock:
            writer = self._w()
            for doc in docs:
                if replace:
                    writer.delete_documents_by_term("photo_id", doc["photo_id"])
                writer.add_document(tantivy.Document(**{k: v for k, v in doc.items() if v is not None}))
            if commit:
                self._commit()

    def delete(self, photo_ids: list[str], *, commit: bool = True) -> None:
        with self._lock:
            writer = self._w()
            for photo_id in photo_ids:
                writer.delete_documents_by_term("photo_id", photo_id)
            if commit:
                self._commit()

    def commit(self) -> None:
        with self._lock:
            self._commit()

    def _commit(self) -> None:
        self._w().commit()
        self.index.reload()

    def clear(self) -> None:
        with self._lock:
            writer = self._w()
            writer.delete_all_documents()
            self._commit()

    def searcher(self) -> Any:
        return self.index.searcher()

    def close(self) -> None:
        with self._lock:
            self._writer = None
