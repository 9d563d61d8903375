"""The ML stage and what it serves: per-photo analysis, similar photos, people, hybrid search lists."""

from __future__ import annotations

import logging
import re
import time
from typing import TYPE_CHECKING, Any

import numpy as np

from photoshare.errors import InvalidInput, NotFound
from photoshare.ml.images import BadImage, decode_rgb
from photoshare.ml.labels import EMBEDDING_MODEL
from photoshare.ml.models import Embedder, Models, ModelUnavailable
from photoshare.ml.repo import MLRepo
from photoshare.ml.vectors import VectorStore
from photoshare.pagination import decode_offset, encode_cursor, parse_limit
from photoshare.sharing.access import OWNER

if TYPE_CHECKING:
    from photoshare.db import Database
    from photoshare.photos.repo import PhotoRepo
    from photoshare.photos.service import PhotoService
    from photoshare.settings import MLSettings
    from photoshare.sharing.access import Access
    from photoshare.storage.base import BlobStore
    from photoshare.users.models import User

__all__ = ["MLService"]

log = logging.getLogger("photoshare.ml")

_WORD = re.compile(r"\w+", re.UNICODE)
_ANALYSIS_VARIANTS = ("large", "medium")


def _iou(a: list[float] | tuple[float, ...], b: list[float] | tuple[float, ...]) -> float:
    ax2, ay2, bx2, by2 = a[0] + a[2], a[1] + a[3], b[0] + b[2], b[1] + b[3]
    w = max(0.0, min(ax2, bx2) - max(a[0], b[0]))
    h = max(0.0, min(ay2, by2) - max(a[1], b[1]))
    inter = w * h
    union = a[2] * a[3] + b[2] * b[3] - inter
    return inter / union if union > 0 else 0.0


class MLService:
    def __init__(
        self,
        db: Database,
        settings: MLSettings,
        store: BlobStore,
        photo_repo: PhotoRepo,
        photos: PhotoService,
        access: Access,
        vectors: VectorStore,
        models: Models,
    ) -> None:
        self.db = db
        self.settings = settings
        self.store = store
        self.photo_repo = photo_repo
        self.photos = photos
        self.access = access
        self.vectors = vectors
        self.models = models
        self.repo = MLRepo(db)

    @property
    def enabled(self) -> bool:
        return self.settings.enabled

    # -- analysis ------------------------------------------------------------------------------
    def _analysis_bytes(self, photo_id: str) -> bytes:
        variants = self.photo_repo.variants([photo_id])[photo_id]
        jpegs = {v["name"]: v["object_key"] for v in variants if v["format"] == "jpeg"}
        for name in _ANALYSIS_VARIANTS:
            if name in jpegs:
                return self.store.read(jpegs[name])
        raise BadImage("the photo has no JPEG variant to analyse")

    def analyze(self, photo_id: str) -> dict[str, Any] | None:
        """Run every enabled stage on one ready photo and store the results; returns the per-stage report.

        A stage whose model is not installed is skipped (noted in the report); an image the models
        cannot read is recorded as the photo's ML failure. Either way the photo itself stays ready.
        """
        photo = self.photo_repo.get(photo_id)
        if photo is None or photo["deleted_at"] or photo["processing_status"] != "ready":
            return None
        user_id = photo["user_id"]
        stages: dict[str, Any] = {}
        try:
            rgb = decode_rgb(self._analysis_bytes(photo_id))
        except Exception as exc:  # a missing blob or an unreadable variant: recorded, never raised
            reason = str(exc) if isinstance(exc, BadImage) else f"{type(exc).__name__}: {exc}"
            self.repo.save_result(photo_id, user_id, status="failed", reason=reason[:500], stages={}, ocr_text="")
            return {"status": "failed", "reason": reason}
        s = self.settings
        labels: list[tuple[str, float]] | None = None
        embeddings: list[tuple[str, np.ndarray]] = []
        ocr_lines: list[tuple[str, float]] = []
        faces: list[Any] | None = None
        failures: list[str] = []

        def stage(name: str, run: Any) -> Any:
            started = time.perf_counter()
            try:
                out = run()
            except ModelUnavailable as exc:
                stages[name] = {"skipped": str(exc)}
                return None
            except Exception as exc:
                log.warning("ML stage %s failed on photo %s: %s", name, photo_id, exc)
                stages[name] = {"failed": f"{type(exc).__name__}: {exc}"[:300]}
                failures.append(f"{name}: {type(exc).__name__}: {exc}")
                return None
            stages[name] = {"ms": round((time.perf_counter() - started) * 1000, 1)}
            return out

        if s.labels:
            result = stage("labels", lambda: self.models.labels().run(rgb))
            if result is not None:
                probs, vector = result
                model = self.models.labels()
                labels = [(lb.name, lb.confidence) for lb in model.labels(probs, s.label_threshold, s.max_labels)]
                embeddings.append((model.name, vector))
        if s.ocr:
            ocr_lines = stage("ocr", lambda: self.models.ocr().read(rgb, min_confidence=s.ocr_min_confidence)) or []
        if s.faces:
            faces = stage(
                "faces",
                lambda: self.models.faces().analyze(rgb, min_confidence=s.face_min_confidence, min_px=s.face_min_px),
            )
        for plugin in self.models.plugins():
            vector = stage(f"plugin:{plugin.name}", lambda plugin=plugin: plugin.embed_image(rgb))
            if vector is not None:
                embeddings.append((plugin.name, np.asarray(vector, dtype=np.float32).reshape(-1)))
        ocr_text = "\n".join(t for t, _ in ocr_lines)
        labelled: list[tuple[str, int, np.ndarray]] = []
        with self.db.transaction():
            if labels is not None:
                self.repo.replace_labels(photo_id, user_id, labels)
            for model_name, vector in embeddings:
                labelled.append((model_name, self.repo.save_embedding(photo_id, user_id, model_name, vector), vector))
            if faces is not None:
                self._store_faces(photo_id, user_id, faces)
            self.repo.save_result(
                photo_id,
                user_id,
                status="failed" if failures else "done",
                reason="; ".join(failures)[:500] or None,
                stages={**stages, "labels_found": len(labels or []), "faces_found": len(faces or [])},
                ocr_text=ocr_text,
            )
        for model_name, label, vector in labelled:
            self.vectors.index(model_name, len(vector)).add(label, vector)
        # Labels and text in the image change what finds this photo: re-index it (and drop cached pages).
        self.photos.invalidate(photo_id)
        return {"status": "failed" if failures else "done", "stages": stages}

    def _store_faces(self, photo_id: str, user_id: str, faces: list[Any]) -> None:
        """Replace the photo's faces, clustering each into one of the owner's people (inside the caller's
        write transaction, so concurrent workers see each other's clusters)."""
        previous = self.repo.faces_of_photo(photo_id)
        self.repo.delete_faces(photo_id)
        person_ids, matrix = self.repo.user_faces(user_id)
        for face in faces:
            # A re-analysed face keeps its person (and so its name) when it is where it was.
            same = next((f for f in previous if f["person_id"] and _iou(f["box"], face.box) > 0.5), None)
            person_id = same["person_id"] if same else self._nearest_person(person_ids, matrix, face.embedding)
            if person_id is None:
                person_id = self.repo.new_person(user_id)
            self.repo.add_face(photo_id, user_id, person_id, face.box, face.confidence, face.embedding)
            person_ids.append(person_id)
            matrix = np.vstack([matrix, face.embedding[None]]) if len(matrix) else face.embedding[None]
        self.repo.prune_people(user_id)

    def _nearest_person(self, person_ids: list[str | None], matrix: np.ndarray, embedding: np.ndarray) -> str | None:
        if not len(matrix):
            return None
        distances = np.linalg.norm(matrix - embedding[None], axis=1)
        best = int(np.argmin(distances))
        return person_ids[best] if distances[best] <= self.settings.face_match_distance else None

    # -- similar photos ------------------------------------------------------------------------
    def similar(self, viewer: User | None, photo_id: str, limit: int | None = None) -> dict[str, Any]:
        n = parse_limit(limit, default=20)
        photo = self.access.require_view(viewer, self.photo_repo.get(photo_id))
        vector = self.repo.embedding(photo_id, EMBEDDING_MODEL)
        if vector is None:
            return {"results": [], "next_cursor": None, "status": self._status(photo_id)}
        index = self.vectors.index(EMBEDDING_MODEL, len(vector))
        visible: list[dict[str, Any]] = []
        scores: dict[str, float] = {}
        grants: dict[str, Any] = {}
        k = n * 4 + 1
        total = len(index)
        while True:
            hits = index.query(vector, k)
            by_label = self.repo.photos_for_labels([label for label, _ in hits])
            ranked = [(by_label[label], score) for label, score in hits if label in by_label]
            candidates = [pid for pid, _ in ranked if pid != photo["id"] and pid not in scores]
            rows = [
                r
                for r in self.photo_repo.get_many(candidates)
                if not r["deleted_at"] and r["processing_status"] == "ready"
            ]
            allowed = self.access.photo_grants(viewer, rows)
            grants.update(allowed)
            visible += [r for r in rows if r["id"] in allowed]
            scores.update({pid: score for pid, score in ranked})
            # Most candidates may belong to others: widen the search until enough are visible.
            if len(visible) >= n or k >= total:
                break
            k = min(total, k * 4)
        visible.sort(key=lambda r: -scores[r["id"]])
        visible = visible[:n]
        items = self.photos.to_api(viewer, visible, grants=grants)
        for item in items:
            item["similarity"] = round(scores[item["photo_id"]], 4)
        return {"results": items, "next_cursor": None}

    def _status(self, photo_id: str) -> str:
        result = self.repo.result(photo_id)
        if not self.enabled:
            return "disabled"
        return "pending" if result is None else str(result["status"])

    # -- per-photo report ------------------------------------------------------------------------
    def photo_ml(self, viewer: User, photo_id: str) -> dict[str, Any]:
        photo = self.access.require_view(viewer, self.photo_repo.get(photo_id))
        result = self.repo.result(photo_id)
        owner = viewer.id == photo["user_id"]
        faces = self.repo.faces_of_photo(photo_id)
        return {
            "photo_id": photo_id,
            "status": self._status(photo_id),
            "failure_reason": result["failure_reason"] if result else None,
            "stages": result["stages"] if result and owner else None,
            "text": result["ocr_text"] if result else "",
            "faces": [
                {
                    "face_id": f["id"],
                    "box": f["box"],
                    "confidence": f["confidence"],
                    # Names and clusters are the owner's own; others only learn where faces are.
                    "person_id": f["person_id"] if owner else None,
                    "name": (f["name"] or None) if owner else None,
                }
                for f in faces
            ],
        }

    # -- people ----------------------------------------------------------------------------------
    def _person_api(self, viewer: User, person: dict[str, Any], stats: dict[str, Any]) -> dict[str, Any]:
        cover = None
        face = self.repo.face(stats["cover_face_id"]) if stats.get("cover_face_id") else None
        if face is not None:
            rows = self.photo_repo.get_many([face["photo_id"]])
            if rows:
                urls = self.photos.to_api(viewer, rows, grants={rows[0]["id"]: OWNER})[0]["urls"]
                cover = {"photo_id": face["photo_id"], "box": face["box"], "thumb": urls.get("thumb")}
        return {
            "person_id": person["id"],
            "name": person["name"] or None,
            "face_count": stats["face_count"],
            "photo_count": stats["photo_count"],
            "cover": cover,
        }

    def _own_person(self, viewer: User, person_id: str) -> dict[str, Any]:
        person = self.repo.person(person_id)
        if person is None or person["user_id"] != viewer.id:
            raise NotFound("no such person")
        return person

    def people(self, viewer: User, *, cursor: str | None, limit: int | None) -> dict[str, Any]:
        n = parse_limit(limit)
        offset = decode_offset(cursor)
        rows = self.repo.people(viewer.id, offset, n + 1)
        items = [self._person_api(viewer, r, r) for r in rows[:n]]
        return {"items": items, "next_cursor": encode_cursor(str(offset + n)) if len(rows) > n else None}

    def person(self, viewer: User, person_id: str) -> dict[str, Any]:
        person = self._own_person(viewer, person_id)
        return self._person_api(viewer, person, self.repo.person_stats(person_id))

    def person_photos(self, viewer: User, person_id: str, *, cursor: str | None, limit: int | None) -> dict[str, Any]:
        from photoshare.pagination import newest_first

        self._own_person(viewer, person_id)
        page = newest_first(
            self.db,
            "SELECT p.* FROM photos p WHERE p.user_id = ? AND p.deleted_at IS NULL"
            " AND p.id IN (SELECT photo_id FROM faces WHERE person_id = ?)",
            [viewer.id, person_id],
            cursor=cursor,
            limit=limit,
            column="p.id",
        )
        grants = dict.fromkeys((r["id"] for r in page.rows), OWNER)
        return {"photos": self.photos.to_api(viewer, page.rows, grants=grants), "next_cursor": page.next_cursor}

    def name_person(self, viewer: User, person_id: str, name: Any) -> dict[str, Any]:
        """Name (or with "", unname) a face cluster; naming it like another of the user's people merges the two."""
        self._own_person(viewer, person_id)
        if not isinstance(name, str) or len(name.strip()) > 100:
            raise InvalidInput("name must be a string of at most 100 characters")
        name = " ".join(name.split())
        with self.db.transaction():
            twin = self.repo.person_by_name(viewer.id, name, exclude=person_id) if name else None
            if twin is not None:
                self.repo.merge_people(person_id, twin["id"])
                person_id = twin["id"]
            else:
                self.repo.rename_person(person_id, name)
        return self.person(viewer, person_id)

    # -- search ----------------------------------------------------------------------------------
    def ranked_lists(self, viewer: User | None, text: str) -> list[list[str]]:
        """Extra ranked candidate lists for a text query, fused with keyword hits by search.hybrid:
        photos of the viewer's own people named in the query, and (with a CLIP-like plugin) the photos
        whose image embedding is nearest to the query's text embedding."""
        lists: list[list[str]] = []
        if viewer is not None:
            words = {w.lower() for w in _WORD.findall(text)}
            matched = [
                p["id"]
                for p in self.repo.named_people(viewer.id)
                # A first name alone finds the person; so does the full name in a longer query.
                if words & {w.lower() for w in _WORD.findall(p["name"]) if len(w) > 1}
            ]
            if matched:
                lists.append(self.repo.photos_of_people(matched))
        if self.enabled:
            for embedder in self.models.text_embedders():
                lists.append(self._text_hits(embedder, text))
        return [lst for lst in lists if lst]

    def _text_hits(self, embedder: Embedder, text: str, k: int = 100) -> list[str]:
        try:
            query = np.asarray(embedder.embed_text(text), dtype=np.float32)  # type: ignore[attr-defined]
        except Exception as exc:
            log.warning("text embedding with %s failed: %s", embedder.name, exc)
            return []
        hits = self.vectors.index(embedder.name, embedder.dim).query(query, k)
        by_label = self.repo.photos_for_labels([label for label, _ in hits])
        return [by_label[label] for label, _ in hits if label in by_label]

    # -- maintenance -----------------------------------------------------------------------------
    def rebuild_vectors(self) -> dict[str, int]:
        return {model: self.vectors.index(model, dim).rebuild() for model, dim in self.repo.models()}

    def close(self) -> None:
        self.vectors.close()
