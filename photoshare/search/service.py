"""Photo search: BM25 over titles, descriptions, tags, labels, cameras and places, with filters,
facets and cursor pagination, narrowed to what the searcher may see.

The index pre-filters by audience: each document carries one token per door through which it can be
seen (see audience_tokens), so a searcher's filter is one small term set (public, their own, followers
of the people they follow, the albums shared with them) plus the few photos shared with them directly.
Album doors are baked into the documents of the album's photos, which are re-indexed when an album's
membership or visibility changes. The index only pre-filters: every hit is confirmed by
sharing/access.py, which stays the only place that decides, so a stale index never shows a photo.
"""

from __future__ import annotations

import math
import os
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

import tantivy

from photoshare.clock import now_iso
from photoshare.db import Database
from photoshare.errors import InvalidInput
from photoshare.ml.repo import ocr_texts
from photoshare.pagination import decode_offset, encode_cursor, parse_limit
from photoshare.photos.repo import PhotoRepo
from photoshare.photos.service import PhotoService
from photoshare.search.geocode import Place, places_for
from photoshare.search.hybrid import HybridSearch
from photoshare.search.index import TEXT_FIELDS, TextIndex
from photoshare.sharing.access import Access
from photoshare.social.service import FollowService
from photoshare.users.models import User

__all__ = ["FACETS", "SearchService", "audience_query", "audience_tokens"]

_BOOSTS = {"title": 3.0, "tags": 2.5, "labels": 2.0, "place_text": 2.0, "camera_text": 1.5, "body": 1.0}
FACETS = {
    "years": {"terms": {"field": "year", "size": 50, "order": {"_key": "desc"}}},
    "locations": {"terms": {"field": "place", "size": 20}},
    "cameras": {"terms": {"field": "camera", "size": 20}},
}
"""The facet aggregations of every search (searcher.aggregate over the same query)."""

_FACET_POOL = ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1), thread_name_prefix="search-facets")
"""tantivy releases the GIL while it searches and aggregates, so a search's facet pass runs here while
the request thread fetches the top hits and confirms and shapes them: the facets cost no extra latency
on a machine with a spare core."""


class SearchService:
    def __init__(
        self,
        db: Database,
        index: TextIndex,
        access: Access,
        photo_repo: PhotoRepo,
        photos: PhotoService,
        follows: FollowService,
    ) -> None:
        self.db = db
        self.index = index
        self.access = access
        self.photo_repo = photo_repo
        self.photos = photos
        self.follows = follows
        self.hybrid: HybridSearch | None = None
        """Fuses keyword hits with other ranked lists (named people, text-to-image vectors); set by the context."""

    # -- indexing --------------------------------------------------------------------------------
    def document(self, photo: dict[str, Any]) -> dict[str, Any] | None:
        """The index document of a photo, or None when it should not be searchable at all."""
        return self.documents([photo])[0]

    def documents(self, photos: list[dict[str, Any]]) -> list[dict[str, Any] | None]:
        """Index documents of many photos (None for those not searchable), with one query each for
        EXIF, tags and albums and one geocoder lookup for the whole batch."""
        live = [p["id"] for p in photos if not p["deleted_at"] and p["processing_status"] == "ready"]
        exifs = self.photo_repo.exifs(live)
        all_tags = self.photo_repo.tags(live)
        albums = self._albums_of(live)
        points = [(e.get("gps_lat"), e.get("gps_lng")) for e in (exifs.get(i, {}) for i in live)]
        places = dict(zip(live, places_for(points), strict=True))
        ocr = ocr_texts(self.db, live)
        docs = [
            self._document(p, exifs.get(p["id"]) or {}, all_tags[p["id"]], albums.get(p["id"], []), places[p["id"]])
            if p["id"] in places
            else None
            for p in photos
        ]
        # Text the ML stage read in the image is searchable like the description.
        for doc, text in ((d, ocr.get(d["photo_id"])) for d in docs if d is not None):
            if text:
                doc["body"] = f"{doc['body']} {text}".strip()
        return docs

    def _albums_of(self, photo_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
        out: dict[str, list[dict[str, Any]]] = {}
        if not photo_ids:
            return out
        marks = ",".join("?" for _ in photo_ids)
        for row in self.db.query(
            "SELECT ap.photo_id, a.id, a.user_id, a.visibility FROM album_photos ap JOIN albums a ON a.id = ap.album_id"
            f" WHERE ap.photo_id IN ({marks}) ORDER BY a.id",
            photo_ids,
        ):
            out.setdefault(row["photo_id"], []).append(row)
        return out

    def _document(
        self,
        photo: dict[str, Any],
        exif: dict[str, Any],
        tags: dict[str, list[dict[str, Any]]],
        albums: list[dict[str, Any]],
        place: Place | None,
    ) -> dict[str, Any]:
        camera = " ".join(p for p in (exif.get("camera_make"), exif.get("camera_model")) if p).strip()
        if exif.get("camera_make") and (exif.get("camera_model") or "").startswith(exif["camera_make"]):
            camera = exif["camera_model"]  # "Canon" + "Canon EOS 40D" reads as "Canon EOS 40D"
        audience = audience_tokens(
            photo["user_id"],
            photo["visibility"],
            self.access.owner_private(photo["user_id"]),
            [(a["id"], a["user_id"], a["visibility"], self.access.owner_private(a["user_id"])) for a in albums],
        )
        taken = _timestamp(photo["taken_at"] or photo["uploaded_at"])
        return {
            "photo_id": photo["id"],
            "owner_id": photo["user_id"],
            "audience": audience,
            "title": photo["title"],
            "body": " ".join(p for p in (photo["description"], photo["location"] or "") if p),
            "tags": " ".join(t["tag"] for t in tags["user"]),
            "labels": " ".join(t["tag"] for t in tags["ml"]),
            "camera_text": " ".join(p for p in (camera, exif.get("lens") or "") if p),
            "place_text": " ".join(p for p in ((place.label if place else ""), photo["location"] or "") if p),
            "camera": camera or None,
            "place": place.label if place else None,
            "country": place.country if place else None,
            "year": datetime.fromtimestamp(taken).year if taken is not None else None,
            "taken": int(taken) if taken is not None else None,
            "lat": exif.get("gps_lat"),
            "lon": exif.get("gps_lng"),
        }

    def index_photo(self, photo_id: str) -> None:
        self.index_photos([photo_id])

    def index_photos(self, photo_ids: list[str], batch: int = 500) -> None:
        """Re-index photos (dropping those gone or not searchable), with one commit."""
        for start in range(0, len(photo_ids), batch):
            ids = photo_ids[start : start + batch]
            rows = self.photo_repo.get_many(ids)
            docs = [d for d in self.documents(rows) if d is not None]
            indexed = {d["photo_id"] for d in docs}
            self.index.delete([i for i in ids if i not in indexed], commit=False)
            self.index.upsert(docs, commit=False)
        self.index.commit()

    def rebuild(self, batch: int = 2000) -> int:
        """Re-create the whole index from SQLite; returns how many photos are searchable."""
        self.index.clear()
        n = 0
        last = ""
        while True:
            rows = self.db.query("SELECT * FROM photos WHERE id > ? ORDER BY id LIMIT ?", (last, batch))
            if not rows:
                break
            docs = [d for d in self.documents(rows) if d is not None]
            self.index.upsert(docs, commit=False, replace=False)  # the index was just cleared
            n += len(docs)
            last = rows[-1]["id"]
        self.index.commit()
        self.index.mark_current()
        return n

    # -- searching -------------------------------------------------------------------------------
    def _scope(self, viewer: User | None) -> tantivy.Query:
        tokens, photo_ids = self.viewer_audience(viewer)
        return audience_query(self.index.schema, tokens, photo_ids)

    def viewer_audience(self, viewer: User | None) -> tuple[list[str], list[str]]:
        """The audience tokens a viewer may see through, and the photos shared with them one by one."""
        if viewer is None:
            return ["public"], []
        tokens = ["public", f"u:{viewer.id}", *(f"followers:{f}" for f in sorted(self.follows.followees(viewer.id)))]
        photo_ids = []
        for row in self.db.query(
            "SELECT s.target_type, s.target_id FROM share_recipients r JOIN shares s ON s.id = r.share_id"
            " WHERE r.user_id = ? AND s.type = 'users' AND s.revoked_at IS NULL"
            " AND (s.expires_at IS NULL OR s.expires_at > ?)",
            (viewer.id, now_iso()),
        ):
            if row["target_type"] == "album":
                tokens.append(f"album:{row['target_id']}")
            else:
                photo_ids.append(row["target_id"])
        return tokens, photo_ids

    def search(self, viewer: User | None, params: dict[str, Any]) -> dict[str, Any]:
        n = parse_limit(params.get("limit"))
        offset = decode_offset(params.get("cursor"))
        schema = self.index.schema
        Q = tantivy.Query
        must: list[tuple[Any, Any]] = [(tantivy.Occur.Must, self._scope(viewer))]
        text = (params.get("q") or "").strip()
        if text:
            if len(text) > 500:
                raise InvalidInput("q is too long")
            query, _errors = self.index.index.parse_query_lenient(
                text,
                TEXT_FIELDS,
                field_boosts=_BOOSTS,
                fuzzy_fields={f: (True, 1, True) for f in ("title", "tags", "labels", "place_text")},
                conjunction_by_default=True,
            )
            text_clause = (tantivy.Occur.Must, query)
            must.append(text_clause)
        lower = _date_bound(params.get("date_from"), "date_from", end=False)
        upper = _date_bound(params.get("date_to"), "date_to", end=True)
        if lower is not None or upper is not None:
            must.append(
                (
                    tantivy.Occur.Must,
                    Q.range_query(
                        schema,
                        "taken",
                        tantivy.FieldType.Integer,
                        lower if lower is not None else -(2**62),
                        upper if upper is not None else 2**62,
                    ),
                )
            )
        if params.get("camera"):
            # Every word must match: "NIKON D70" must not also find every other Nikon.
            camera_q, _ = self.index.index.parse_query_lenient(
                str(params["camera"]), ["camera_text"], conjunction_by_default=True
            )
            must.append((tantivy.Occur.Must, camera_q))
        if params.get("location"):
            place_q, _ = self.index.index.parse_query_lenient(
                str(params["location"]), ["place_text"], conjunction_by_default=True
            )
            must.append((tantivy.Occur.Must, place_q))
        near = _parse_near(params.get("near"))
        if near is not None:
            lat, lon, km = near
            dlat = km / 111.0
            dlon = km / (111.0 * max(0.01, math.cos(math.radians(lat))))
            must.append(
                (tantivy.Occur.Must, Q.range_query(schema, "lat", tantivy.FieldType.Float, lat - dlat, lat + dlat))
            )
            must.append(
                (tantivy.Occur.Must, Q.range_query(schema, "lon", tantivy.FieldType.Float, lon - dlon, lon + dlon))
            )
        query = Q.boolean_query(must)
        searcher = self.index.searcher()
        facets_future = _FACET_POOL.submit(searcher.aggregate, query, FACETS)
        fetch = offset + n + 1
        result = (
            searcher.search(query, fetch, count=True)
            if text
            else searcher.search(query, fetch, count=True, order_by_field="taken", order=tantivy.Order.Desc)
        )
        ids = [searcher.doc(addr)["photo_id"][0] for _score, addr in result.hits]
        extra_hits = 0
        if text and self.hybrid is not None:
            filters = [c for c in must if c is not text_clause]
            ids, extra_hits = self.hybrid.merge(viewer, text, ids, searcher, schema, filters)
        page_ids = ids[offset : offset + n]
        rows = self.photo_repo.get_many(page_ids)
        if near is not None:
            exifs = self.photo_repo.exifs([r["id"] for r in rows])
            rows = [r for r in rows if _within(exifs.get(r["id"], {}), near)]
        # The index only pre-filters; the access module decides for every hit of the page in one batch,
        # and its grants are reused for shaping (no second round of access queries).
        grants = self.access.photo_grants(viewer, rows)
        visible = [r for r in rows if r["id"] in grants]
        results = self.photos.to_api(viewer, visible, grants=grants)
        facets = facets_future.result()
        return {
            "results": results,
            "total": result.count + extra_hits,
            "facets": {
                name: [{"value": b["key"], "count": b["doc_count"]} for b in facets[name]["buckets"]]
                for name in ("years", "locations", "cameras")
            },
            "next_cursor": encode_cursor(str(offset + n)) if len(ids) > offset + n else None,
        }


def _door(owner_id: str, visibility: str, owner_private: bool) -> str | None:
    """The token of one photo's or album's own audience, as Access._audience grants it: the public (for
    public items of public accounts), else the owner's accepted followers (for followers items and the
    public ones of private accounts), else nobody beyond the owner."""
    if visibility == "public" and not owner_private:
        return "public"
    if visibility in ("public", "followers"):
        return f"followers:{owner_id}"
    return None


def audience_tokens(
    owner_id: str, visibility: str, owner_private: bool, albums: list[tuple[str, str, str, bool]]
) -> list[str]:
    """Every door a photo can be seen through: its owner, its own audience, and for each album holding it
    (id, owner, visibility, owner private) the album's audience and the recipients of the album's shares."""
    doors = [f"u:{owner_id}", _door(owner_id, visibility, owner_private)]
    for album_id, album_owner, album_visibility, album_owner_private in albums:
        doors += [_door(album_owner, album_visibility, album_owner_private), f"album:{album_id}"]
    return list(dict.fromkeys(d for d in doors if d))


def audience_query(schema: tantivy.Schema, tokens: list[str], photo_ids: list[str]) -> tantivy.Query:
    """Documents carrying any of the viewer's audience tokens, or among the photos shared with them."""
    Q = tantivy.Query
    tokens_q = Q.term_set_query(schema, "audience", tokens)
    if not photo_ids:
        return tokens_q
    return Q.boolean_query(
        [(tantivy.Occur.Should, tokens_q), (tantivy.Occur.Should, Q.term_set_query(schema, "photo_id", photo_ids))]
    )


def _timestamp(value: str | None) -> float | None:
    if not value:
        return None
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    # The wall-clock time where the photo was taken is what people search by ("in 2021", "in July").
    return when.replace(tzinfo=None).timestamp() if when.tzinfo else when.timestamp()


def _date_bound(value: Any, name: str, *, end: bool) -> int | None:
    if not value:
        return None
    try:
        day = datetime.fromisoformat(str(value))
    except ValueError:
        raise InvalidInput(f"{name} must be a date like 2024-01-31") from None
    if end and len(str(value)) <= 10:
        return int(day.timestamp()) + 86399
    return int(day.replace(tzinfo=None).timestamp())


def _parse_near(value: Any) -> tuple[float, float, float] | None:
    if not value:
        return None
    try:
        lat, lon, km = (float(x) for x in str(value).split(","))
    except ValueError:
        raise InvalidInput("near must be lat,lon,km") from None
    if not (-90 <= lat <= 90 and -180 <= lon <= 180 and 0 < km <= 20000):
        raise InvalidInput("near must be lat,lon,km with a valid position and a positive distance")
    return lat, lon, km


def _within(exif: dict[str, Any], near: tuple[float, float, float]) -> bool:
    lat, lon = exif.get("gps_lat"), exif.get("gps_lng")
    if lat is None or lon is None:
        return False
    p1, p2 = math.radians(near[0]), math.radians(lat)
    dp, dl = p2 - p1, math.radians(lon - near[1])
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 6371.0 * 2 * math.asin(math.sqrt(a)) <= near[2]
