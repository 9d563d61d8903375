"""SQL for ML results, embeddings, faces and people (the tables of migration m006_ml)."""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from photoshare.clock import now_iso
from photoshare.db import Database
from photoshare.ids import new_id
from photoshare.ml.vectors import from_blob, to_blob

__all__ = ["MLRepo", "ocr_texts"]


def ocr_texts(db: Database, photo_ids: list[str]) -> dict[str, str]:
    """Text read in each photo (for the search index), in one query."""
    if not photo_ids:
        return {}
    marks = ",".join("?" for _ in photo_ids)
    rows = db.query(
        f"SELECT photo_id, ocr_text FROM ml_results WHERE photo_id IN ({marks}) AND ocr_text != ''", photo_ids
    )
    return {r["photo_id"]: r["ocr_text"] for r in rows}


class MLRepo:
    def __init__(self, db: Database) -> None:
        self.db = db

    # -- results -------------------------------------------------------------------------------
    def save_result(
        self, photo_id: str, user_id: str, *, status: str, reason: str | None, stages: dict[str, Any], ocr_text: str
    ) -> None:
        self.db.execute(
            "INSERT INTO ml_results (photo_id, user_id, status, failure_reason, stages, ocr_text, analyzed_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (photo_id) DO UPDATE SET status = excluded.status,"
            " failure_reason = excluded.failure_reason, stages = excluded.stages, ocr_text = excluded.ocr_text,"
            " analyzed_at = excluded.analyzed_at",
            (photo_id, user_id, status, reason, json.dumps(stages), ocr_text, now_iso()),
        )

    def result(self, photo_id: str) -> dict[str, Any] | None:
        row = self.db.one("SELECT * FROM ml_results WHERE photo_id = ?", (photo_id,))
        if row is not None:
            row["stages"] = json.loads(row["stages"])
        return row

    def replace_labels(self, photo_id: str, user_id: str, labels: list[tuple[str, float]]) -> None:
        stamp = now_iso()
        with self.db.transaction():
            self.db.execute("DELETE FROM photo_tags WHERE photo_id = ? AND source = 'ml'", (photo_id,))
            for tag, confidence in labels:
                self.db.execute(
                    "INSERT OR IGNORE INTO photo_tags (photo_id, user_id, tag, source, confidence, created_at)"
                    " VALUES (?, ?, ?, 'ml', ?, ?)",
                    (photo_id, user_id, tag, confidence, stamp),
                )

    # -- embeddings ----------------------------------------------------------------------------
    def save_embedding(self, photo_id: str, user_id: str, model: str, vector: np.ndarray) -> int:
        """Store (or replace) a photo's embedding; returns its vector-index label (kept on replace)."""
        label = self.db.value(
            "INSERT INTO photo_embeddings (photo_id, user_id, model, vector) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (photo_id, model) DO UPDATE SET vector = excluded.vector RETURNING id",
            (photo_id, user_id, model, to_blob(vector)),
        )
        return int(label)

    def embedding(self, photo_id: str, model: str) -> np.ndarray | None:
        blob = self.db.value("SELECT vector FROM photo_embeddings WHERE photo_id = ? AND model = ?", (photo_id, model))
        return None if blob is None else from_blob(blob)

    def photos_for_labels(self, labels: list[int]) -> dict[int, str]:
        if not labels:
            return {}
        marks = ",".join("?" for _ in labels)
        rows = self.db.query(f"SELECT id, photo_id FROM photo_embeddings WHERE id IN ({marks})", labels)
        return {r["id"]: r["photo_id"] for r in rows}

    def all_embeddings(self, model: str) -> tuple[list[int], np.ndarray]:
        rows = self.db.query("SELECT id, vector FROM photo_embeddings WHERE model = ? ORDER BY id", (model,))
        if not rows:
            return [], np.empty((0, 0), dtype=np.float32)
        return [r["id"] for r in rows], np.stack([from_blob(r["vector"]) for r in rows])

    def models(self) -> list[tuple[str, int]]:
        """(model, dimension) of every embedding model with stored vectors."""
        rows = self.db.query("SELECT model, length(vector) / 4 AS dim FROM photo_embeddings GROUP BY model")
        return [(r["model"], int(r["dim"])) for r in rows]

    # -- faces and people ----------------------------------------------------------------------
    def faces_of_photo(self, photo_id: str) -> list[dict[str, Any]]:
        rows = self.db.query(
            "SELECT f.id, f.person_id, f.box, f.confidence, p.name FROM faces f"
            " LEFT JOIN people p ON p.id = f.person_id WHERE f.photo_id = ? ORDER BY f.id",
            (photo_id,),
        )
        for r in rows:
            r["box"] = json.loads(r["box"])
        return rows

    def user_faces(self, user_id: str) -> tuple[list[str | None], np.ndarray]:
        """Person and embedding of every clustered face of a user (the clustering reference set)."""
        rows = self.db.query(
            "SELECT person_id, embedding FROM faces WHERE user_id = ? AND person_id IS NOT NULL", (user_id,)
        )
        if not rows:
            return [], np.empty((0, 128), dtype=np.float32)
        return [r["person_id"] for r in rows], np.stack([from_blob(r["embedding"]) for r in rows])

    def delete_faces(self, photo_id: str) -> None:
        self.db.execute("DELETE FROM faces WHERE photo_id = ?", (photo_id,))

    def add_face(
        self, photo_id: str, user_id: str, person_id: str, box: tuple[float, ...], confidence: float, emb: np.ndarray
    ) -> str:
        face_id = new_id()
        self.db.execute(
            "INSERT INTO faces (id, photo_id, user_id, person_id, box, confidence, embedding, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (face_id, photo_id, user_id, person_id, json.dumps(list(box)), confidence, to_blob(emb), now_iso()),
        )
        return face_id

    def new_person(self, user_id: str) -> str:
        person_id = new_id()
        stamp = now_iso()
        self.db.execute(
            "INSERT INTO people (id, user_id, name, created_at, updated_at) VALUES (?, ?, '', ?, ?)",
            (person_id, user_id, stamp, stamp),
        )
        return person_id

    def person(self, person_id: str) -> dict[str, Any] | None:
        return self.db.one("SELECT * FROM people WHERE id = ?", (person_id,))

    def people(self, user_id: str, offset: int, limit: int) -> list[dict[str, Any]]:
        """A user's people with faces on photos not in the trash: named first, then the most photographed."""
        return self.db.query(
            "SELECT p.id, p.name, COUNT(f.id) AS face_count, COUNT(DISTINCT f.photo_id) AS photo_count,"
            " MAX(f.id) AS cover_face_id FROM people p JOIN faces f ON f.person_id = p.id"
            " JOIN photos ph ON ph.id = f.photo_id AND ph.deleted_at IS NULL"
            " WHERE p.user_id = ? GROUP BY p.id ORDER BY p.name = '', face_count DESC, p.id LIMIT ? OFFSET ?",
            (user_id, limit, offset),
        )

    def person_stats(self, person_id: str) -> dict[str, Any]:
        row = self.db.one(
            "SELECT COUNT(f.id) AS face_count, COUNT(DISTINCT f.photo_id) AS photo_count, MAX(f.id) AS cover_face_id"
            " FROM faces f JOIN photos ph ON ph.id = f.photo_id AND ph.deleted_at IS NULL WHERE f.person_id = ?",
            (person_id,),
        )
        assert row is not None
        return row

    def face(self, face_id: str) -> dict[str, Any] | None:
        row = self.db.one("SELECT id, photo_id, box FROM faces WHERE id = ?", (face_id,))
        if row is not None:
            row["box"] = json.loads(row["box"])
        return row

    def person_by_name(self, user_id: str, name: str, exclude: str) -> dict[str, Any] | None:
        return self.db.one(
            "SELECT * FROM people WHERE user_id = ? AND name = ? COLLATE NOCASE AND id != ?", (user_id, name, exclude)
        )

    def rename_person(self, person_id: str, name: str) -> None:
        self.db.execute("UPDATE people SET name = ?, updated_at = ? WHERE id = ?", (name, now_iso(), person_id))

    def merge_people(self, source_id: str, target_id: str) -> None:
        with self.db.transaction():
            self.db.execute("UPDATE faces SET person_id = ? WHERE person_id = ?", (target_id, source_id))
            self.db.execute("DELETE FROM people WHERE id = ?", (source_id,))

    def named_people(self, user_id: str) -> list[dict[str, Any]]:
        return self.db.query("SELECT id, name FROM people WHERE user_id = ? AND name != ''", (user_id,))

    def photos_of_people(self, person_ids: list[str]) -> list[str]:
        """Photos showing any of these people, newest first."""
        if not person_ids:
            return []
        marks = ",".join("?" for _ in person_ids)
        rows = self.db.query(
            f"SELECT DISTINCT f.photo_id FROM faces f JOIN photos p ON p.id = f.photo_id"
            f" WHERE f.person_id IN ({marks}) AND p.deleted_at IS NULL ORDER BY f.photo_id DESC LIMIT 1000",
            person_ids,
        )
        return [r["photo_id"] for r in rows]

    def prune_people(self, user_id: str) -> None:
        """Unnamed clusters left without faces (after re-analysis) disappear; named ones stay."""
        self.db.execute(
            "DELETE FROM people WHERE user_id = ? AND name = '' AND NOT EXISTS"
            " (SELECT 1 FROM faces f WHERE f.person_id = people.id)",
            (user_id,),
        )
