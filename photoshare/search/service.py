"""Photo search: BM25 over titles, descriptions, tags, labels, cameras and places, with filters,
facets and cursor pagination, narrowed to what the searcher may see.

The index pre-filters by audience (own photos, public posts, followers posts of people followed,
photos shared with the searcher); every hit is then confirmed by sharing/access.py, which stays the
only place that decides.
"""

from __future__ import annotations

import math
import re
from datetime import datetime
from typing import Any

import tantivy

from photoshare.db import Database
from photoshare.errors import InvalidInput
from photoshare.pagination import decode_cursor, encode_cursor, parse_limit
from photoshare.photos.repo import PhotoRepo
from photoshare.photos.service import PhotoService
from photoshare.search.geocode import place_for
from photoshare.search.index import TEXT_FIELDS, TextIndex
from photoshare.sharing.access import Access
from photoshare.social.service import FollowService
from photoshare.users.models import User

__all__ = ["SearchService"]

_OFFSET = re.compile(r"^\d{1,6}$")
_BOOSTS = {"title": 3.0, "tags": 2.5, "labels": 2.0, "place_text": 2.0, "camera_text": 1.5, "body": 1.0}


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

    # -- indexing --------------------------------------------------------------------------------
    def document(self, photo: dict[str, Any]) -> dict[str, Any] | None:
        """The index document of a photo, or None when it should not be searchable at all."""
        if photo["deleted_at"] or photo["processing_status"] != "ready":
            return None
        exif = self.photo_repo.exif(photo["id"]) or {}
        tags = self.photo_repo.tags([photo["id"]])[photo["id"]]
        camera = " ".join(p for p in (exif.get("camera_make"), exif.get("camera_model")) if p).strip()
        if exif.get("camera_make") and exif.get("camera_model", "").startswith(exif["camera_make"]):
            camera = exif["camera_model"]  # "Canon" + "Canon EOS 40D" reads as "Canon EOS 40D"
        place = place_for(exif.get("gps_lat"), exif.get("gps_lng"))
        if self.access.owner_private(photo["user_id"]):
            audience = "followers" if photo["visibility"] in ("public", "followers") else "owner"
        else:
            audience = {"public": "public", "followers": "followers"}.get(photo["visibility"], "owner")
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
        photo = self.photo_repo.get(photo_id)
        doc = None if photo is None else self.document(photo)
        if doc is None:
            self.index.delete([photo_id])
        else:
            self.index.upsert([doc])

    def rebuild(self, batch: int = 2000) -> int:
        """Re-create the whole index from SQLite; returns how many photos are searchable."""
        self.index.clear()
        n = 0
        last = ""
        while True:
            rows = self.db.query("SELECT * FROM photos WHERE id > ? ORDER BY id LIMIT ?", (last, batch))
            if not rows:
                break
            docs = [d for d in (self.document(r) for r in rows) if d is not None]
            self.index.upsert(docs, commit=False)
            n += len(docs)
            last = rows[-1]["id"]
        self.index.commit()
        self.index.needs_rebuild = False
        return n

    # -- searching -------------------------------------------------------------------------------
    def _scope(self, viewer: User | None) -> tantivy.Query:
        schema = self.index.schema
        Q = tantivy.Query
        doors = [(tantivy.Occur.Should, Q.term_query(schema, "audience", "public"))]
        if viewer is not None:
            doors.append((tantivy.Occur.Should, Q.term_query(schema, "owner_id", viewer.id)))
            followees = sorted(self.follows.followees(viewer.id))
            if followees:
                doors.append(
                    (
                        tantivy.Occur.Should,
                        Q.boolean_query(
                            [
                                (tantivy.Occur.Must, Q.term_set_query(schema, "owner_id", followees)),
                                (tantivy.Occur.Must, Q.term_query(schema, "audience", "followers")),
                            ]
                        ),
                    )
                )
        shared = self._shared_ids(viewer)
        if shared:
            doors.append((tantivy.Occur.Should, Q.term_set_query(schema, "photo_id", shared)))
        return Q.boolean_query(doors)

    def _shared_ids(self, viewer: User | None) -> list[str]:
        """Photos reachable through shares to the viewer or albums with an audience."""
        params: list[Any] = []
        sql = (
            "SELECT ap.photo_id FROM album_photos ap JOIN albums a ON a.id = ap.album_id"
            " JOIN users u ON u.id = a.user_id WHERE (a.visibility = 'public' AND u.private = 0)"
        )
        if viewer is not None:
            sql += (
                " OR (a.visibility IN ('public', 'followers') AND a.user_id IN (SELECT followee_id FROM follows"
                " WHERE follower_id = ? AND status = 'accepted'))"
                " UNION SELECT ap.photo_id FROM album_photos ap JOIN shares s ON s.target_type = 'album'"
                " AND s.target_id = ap.album_id JOIN share_recipients r ON r.share_id = s.id"
                " WHERE r.user_id = ? AND s.revoked_at IS NULL"
                " UNION SELECT s.target_id FROM shares s JOIN share_recipients r ON r.share_id = s.id"
                " WHERE s.target_type = 'photo' AND r.user_id = ? AND s.revoked_at IS NULL"
            )
            params = [viewer.id, viewer.id, viewer.id]
        return [r["photo_id"] for r in self.db.query(sql, params)]

    def search(self, viewer: User | None, params: dict[str, Any]) -> dict[str, Any]:
        n = parse_limit(params.get("limit"))
        offset = int(decode_cursor(params.get("cursor"), _OFFSET) or 0)
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
            must.append((tantivy.Occur.Must, query))
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
            camera_q, _ = self.index.index.parse_query_lenient(str(params["camera"]), ["camera_text"])
            must.append((tantivy.Occur.Must, camera_q))
        if params.get("location"):
            place_q, _ = self.index.index.parse_query_lenient(str(params["location"]), ["place_text"])
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
        fetch = offset + n + 1
        result = (
            searcher.search(query, fetch, count=True)
            if text
            else searcher.search(query, fetch, count=True, order_by_field="taken", order=tantivy.Order.Desc)
        )
        ids = [searcher.doc(addr)["photo_id"][0] for _score, addr in result.hits]
        page_ids = ids[offset : offset + n]
        rows = self.photo_repo.get_many(page_ids)
        if near is not None:
            rows = [r for r in rows if _within(self.photo_repo.exif(r["id"]) or {}, near)]
        # The index only pre-filters; the access module decides, once per hit, and its grant is reused
        # for shaping (no second round of access queries).
        grants = {r["id"]: g for r in rows if (g := self.access.photo_grant(viewer, r)) is not None}
        visible = [r for r in rows if r["id"] in grants]
        facets = searcher.aggregate(
            query,
            {
                "years": {"terms": {"field": "year", "size": 50, "order": {"_key": "desc"}}},
                "locations": {"terms": {"field": "place", "size": 20}},
                "cameras": {"terms": {"field": "camera", "size": 20}},
            },
        )
        return {
            "results": self.photos.to_api(viewer, visible, grants=grants),
            "total": result.count,
            "facets": {
                name: [{"value": b["key"], "count": b["doc_count"]} for b in facets[name]["buckets"]]
                for name in ("years", "locations", "cameras")
            },
            "next_cursor": encode_cursor(str(offset + n)) if len(ids) > offset + n else None,
        }


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
