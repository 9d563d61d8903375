"""Search: indexing docs/s and query p50/p95/p99 of SearchService vs raw tantivy, same data, same run.

Issue goal: with 1M photo documents, a 2-term query with a date filter and the three facets costs
~4 ms p50 / 22 ms p99 in raw tantivy (the issue's own measurement); the service must add < 30%.
The raw baseline is re-measured here, in the same run, on the same index files.

Data set (written with bulk SQL into a real, freshly migrated appliance folder made by
build_context(create=True); the build connection runs with synchronous=OFF, foreign_keys=OFF and a
2 GB page cache; measurements then use a fresh context configured as the appliance configures it):
--users accounts (5% private), each following 10-80 others; the viewer follows --follows of them.
--docs ready photos with increasing time-ordered UUIDv7 ids (photoshare.ids layout) uploaded over
15 years, taken_at shortly before upload (4% without), owners lognormally skewed, visibility 50%
public / 25% followers / 25% private. Titles (1-4 words), descriptions (60%, 4-18 words) and user
tags (0-5) are drawn from a ~3,000-word vocabulary (~260 real photo words first, then pseudo-words)
with a Zipf(1.0) distribution; 92% have EXIF with a camera from a list of 24 (Zipf-weighted), 40% a
lens, 40% GPS scattered around 12 regions (reverse-geocoded at index time), 8% a typed location.
25 of other people's photos are shared with the viewer (share to users). --albums-per-user (default 0)
adds albums of 5-60 of the owner's photos (30% public, 20% followers, 50% private) and 2 album shares
to the viewer. Each document carries its audience tokens (search.service.audience_tokens: owner,
own audience, and each album's audience and id), so the viewer's filter stays one small term set
(public, u:<viewer>, followers:<followee>..., album:<album shared with them>...) plus the 25 directly
shared photo ids, however many album photos the viewer can reach; `--albums-per-user 2` shows that.

Indexing (docs/s, commit included):
- service: SearchService.rebuild() on a fresh context: reads photos in batches, builds each document
  (one EXIF, tags and albums query and one reverse-geocoding lookup per batch) and adds it.
  With --rebuild-docs K < --docs, the genuine rebuild() is stopped after the 2,000-row batch that
  reaches K documents (an exception raised from a wrapper around index.upsert, then a commit); the
  time for --docs is then a linear extrapolation, labelled as such.
- raw: a bare tantivy index with the same schema (search.index.build_schema), the same writer settings
  (50 MB heap, 1 indexing thread), fed pre-built dicts (built beforehand from the generated data with
  None values dropped, a sample checked equal to SearchService.document()) with one add_document each.
  If rebuild() ran on a subset, this raw index (same documents) becomes the service's index for queries.

Queries (--queries, each a different word pair and date range; all modes interleaved per query, after
--warmup queries of each; one thread; gc frozen after setup):
- q = two distinct words from vocabulary ranks 10-150, date_from/date_to a 6-month to 5-year window.
- raw: the query the service runs, built by hand: the same parse_query_lenient call (fields, boosts,
  fuzzy, conjunction), the same audience filter (search.service.audience_query over tokens and shared
  photo ids built from the generated data, checked equal to SearchService.viewer_audience), the same
  taken range, search(51, count=True), the photo_id of the top 50, and the same aggregate() call
  (search.service.FACETS) for the years/locations/cameras facets, submitted to the service's facet
  thread pool before the search as the service does (tantivy releases the GIL in both calls).
- raw, facets after search: the same with aggregate() called after the search, in the same thread.
- raw without facets: the same, minus the aggregate() call, to show what the facet pass costs.
- service: SearchService.search(viewer, {q, date_from, date_to}) end to end: followees and shares
  from SQLite, parse, search, row loads, access.photo_grants per page, facets, PhotoService.to_api.
- service without shaping: the same call with PhotoService.to_api replaced (on the instance) by a
  function returning the rows unchanged; everything else is identical.
Ratios are service / raw on p50, p95 and p99. A second pass (the first 100 queries) times the stages
inside search() through instance wrappers (scope, tantivy search, stored-doc fetch, row loads, access
checks, facets, to_api). Every query checks that the service returned the raw path's top ids and total.
--profile N runs N service queries under cProfile and prints the top functions.

    .venv/bin/python bench/search.py [--docs 1000000] [--queries 500] [--users 300] [--follows 50]
                                     [--albums-per-user 0] [--rebuild-docs 0 (= all)] [--warmup 50]
                                     [--profile 0] [--keep DIR]
    quick: .venv/bin/python bench/search.py --docs 50000
    again on a kept folder, queries only: .venv/bin/python bench/search.py --queries-only DIR
On 2 cores the default run takes ~12 minutes (data ~3, raw index ~1, rebuild() ~5, queries ~2); quick ~1.
"""

from __future__ import annotations

import argparse
import bisect
import cProfile
import gc
import io
import itertools
import json
import pstats
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import tantivy  # noqa: E402

from bench.common import pct, summary, synth_id, timed  # noqa: E402
from photoshare.clock import to_iso  # noqa: E402
from photoshare.search.geocode import Place  # noqa: E402
from photoshare.search.index import TEXT_FIELDS, TextIndex, build_schema  # noqa: E402
from photoshare.search.service import (  # noqa: E402
    _BOOSTS,
    _FACET_POOL,
    FACETS,
    _timestamp,
    audience_query,
    audience_tokens,
)

DAY = 86400.0
YEAR = 365.25 * DAY
PAGE = 50
PASSWORD_HASH = "$argon2id$v=19$m=65536,t=3,p=4$YmVuY2hzYWx0YmVuY2g$bm90IGEgcmVhbCBoYXNoLCBqdXN0IGJlbmNo"
FUZZY = {f: (True, 1, True) for f in ("title", "tags", "labels", "place_text")}  # as in search/service.py
PHOTO_COLS = (
    "id, user_id, title, description, visibility, media_type, filename, content_type, original_key, sha256,"
    " file_size_bytes, width, height, taken_at, taken_at_source, uploaded_at, updated_at, processing_status,"
    " placeholder, variant_version, location, like_count, comment_count"
)
EXIF_COLS = (
    "photo_id, user_id, camera_make, camera_model, lens, focal_length_mm, aperture, iso, gps_lat, gps_lng,"
    " gps_alt, orientation, taken_at"
)

# Roughly by how often they turn up in photo captions: the head of the Zipf distribution.
WORDS = """
photo day light sunset beach summer trip city family friends morning evening night sky mountain sea
walk old new home park garden tree trees water river lake snow winter spring autumn fall view street
house dog cat birthday party wedding holiday vacation road bridge forest hike hiking trail clouds sun
rain storm flowers flower green blue red golden hour portrait kids baby weekend coffee dinner lunch
breakfast food market church castle tower harbour boat boats island coast shore waves sand rock rocks
cliff valley hill hills field fields farm horse cows sheep birds bird wildlife zoo museum art festival
concert music band stage crowd train station airport plane car bike cycling running race game match
stadium school graduation christmas easter halloween lights fireworks candle window door wall roof
building skyline downtown bar restaurant cafe shop square fountain statue monument ruins temple
palace village town countryside lane path stairs tunnel canal harbor pier lighthouse dunes desert
canyon glacier waterfall falls meadow orchard vineyard wine beer cake picnic camping tent fire
campfire stars moon milky way aurora fog mist frost ice reflection shadow silhouette black white
colour color macro closeup detail texture pattern abstract minimal urban street-art graffiti mural
neon rooftop balcony terrace courtyard alley pond swan ducks geese deer fox squirrel rabbit butterfly
bee insect leaves moss mushroom pine oak maple cherry blossom tulips roses sunflower lavender
harvest grandma grandpa mom dad brother sister cousin uncle aunt friend team office work desk laptop
book library reading study kitchen cooking bread pizza pasta sushi noodles tea ice-cream chocolate
"""

SYLLABLES = (
    "b br c cr d dr f fl g gr h j k l m n p pl r s st sl t tr v w z",
    "a e i o u ai ea ou io",
    " n r l s th nd rk mb x t",
)  # onsets, vowels, codas (the first coda is empty)


# -- helpers ----------------------------------------------------------------------------------------


def chunked(rows: Iterable[Any], size: int) -> Iterator[list[Any]]:
    it = iter(rows)
    while chunk := list(itertools.islice(it, size)):
        yield chunk


def vocabulary(rnd: random.Random, size: int) -> list[str]:
    """The real words first (most frequent), then pronounceable pseudo-words for the long tail."""
    words = list(dict.fromkeys(w for w in WORDS.split() if "-" not in w))
    seen = set(words)
    onsets, vowels, codas = (part.split(" ") for part in SYLLABLES)
    while len(words) < size:
        w = "".join(rnd.choice(onsets) + rnd.choice(vowels) for _ in range(rnd.randint(2, 3))) + rnd.choice(codas)
        if w not in seen:
            seen.add(w)
            words.append(w)
    return words


def zipf_cum(n: int, s: float = 1.0) -> list[float]:
    return list(itertools.accumulate(1.0 / (r + 1) ** s for r in range(n)))


CAMERAS = [  # (make, model, interchangeable lenses)
    ("Apple", "iPhone 13 Pro", False),
    ("Apple", "iPhone 15", False),
    ("samsung", "SM-G991B", False),
    ("Google", "Pixel 7", False),
    ("Apple", "iPhone 11", False),
    ("Canon", "Canon EOS 80D", True),
    ("SONY", "ILCE-7M3", True),
    ("NIKON CORPORATION", "NIKON D750", True),
    ("FUJIFILM", "X-T4", True),
    ("Canon", "Canon EOS 5D Mark IV", True),
    ("Apple", "iPhone 8", False),
    ("Xiaomi", "M2101K6G", False),
    ("SONY", "ILCE-6400", True),
    ("OnePlus", "ONEPLUS A6013", False),
    ("FUJIFILM", "X100V", False),
    ("Canon", "Canon EOS R6", True),
    ("NIKON CORPORATION", "NIKON Z 6", True),
    ("HMD Global", "Nokia 8.3 5G", False),
    ("OLYMPUS CORPORATION", "E-M10MarkIII", True),
    ("Panasonic", "DC-GH5", True),
    ("DJI", "FC3170", False),
    ("GoPro", "HERO9 Black", False),
    ("LEICA CAMERA AG", "LEICA Q2", False),
    ("RICOH IMAGING COMPANY, LTD.", "RICOH GR III", False),
]
LENSES = [
    "EF24-105mm f/4L IS USM",
    "FE 24-70mm F2.8 GM",
    "XF23mmF2 R WR",
    "NIKKOR Z 24-70mm f/4 S",
    "EF50mm f/1.8 STM",
    "E 18-135mm F3.5-5.6 OSS",
    "M.Zuiko Digital ED 14-42mm",
    "AF-S NIKKOR 50mm f/1.8G",
]
REGIONS = [  # (lat, lon, sigma lat, sigma lon, weight)
    (48.86, 2.35, 0.15, 0.2, 5),
    (51.51, -0.13, 0.15, 0.25, 5),
    (40.73, -73.99, 0.12, 0.15, 4),
    (37.77, -122.42, 0.2, 0.2, 3),
    (35.68, 139.69, 0.2, 0.25, 3),
    (-33.87, 151.21, 0.15, 0.2, 2),
    (-33.92, 18.42, 0.2, 0.2, 1),
    (41.90, 12.50, 0.3, 0.3, 3),
    (64.13, -21.90, 0.6, 1.5, 1),
    (-22.90, -43.20, 0.15, 0.2, 1),
    (46.50, 8.00, 0.5, 0.9, 3),
    (37.80, -119.50, 0.4, 0.5, 1),
]
PLACES_TYPED = [
    "home",
    "grandma's house",
    "the cabin",
    "office",
    "school",
    "the lake house",
    "downtown",
    "Lisbon",
    "Berlin",
    "Barcelona",
    "Kyoto",
    "Vancouver",
]


class World:
    """What the generated data set holds, for building the raw baseline's inputs by hand."""

    def __init__(self) -> None:
        self.user_ids: list[str] = []
        self.private: set[int] = set()
        self.follows: dict[int, set[int]] = {}
        self.viewer = 0
        self.photo_ids: list[str] = []
        self.photo_owner: list[int] = []
        self.photo_vis: list[str] = []
        self.shared_with_viewer: set[str] = set()  # photos the viewer reaches through albums or shares
        self.viewer_albums: list[str] = []  # albums shared with the viewer
        self.viewer_photos: list[str] = []  # photos shared with the viewer one by one
        self.vocab: list[str] = []
        self.docs: list[dict[str, Any]] = []
        self.times: dict[str, float] = {}


# -- build ------------------------------------------------------------------------------------------
def build(ctx: Any, args: argparse.Namespace, rnd: random.Random, now: float) -> World:
    db = ctx.db
    conn = db.connection()
    conn.execute("PRAGMA synchronous=OFF")  # bulk load only: a crash would just mean rerunning the bench
    conn.execute("PRAGMA foreign_keys=OFF")  # consistent by construction
    conn.execute("PRAGMA cache_size=-2000000")
    w = World()
    t0 = time.perf_counter()
    n_users = args.users
    created = sorted(now - rnd.uniform(15.2 * YEAR, 16 * YEAR) for _ in range(n_users))
    w.user_ids = [synth_id(int(t * 1000), rnd) for t in created]
    w.user_ids.sort()
    w.viewer = rnd.randrange(n_users)
    w.private = set(rnd.sample([i for i in range(n_users) if i != w.viewer], max(1, n_users // 20)))
    for i in range(n_users):
        pool = [j for j in range(n_users) if j != i]
        k = args.follows if i == w.viewer else rnd.randint(10, 80)
        w.follows[i] = set(rnd.sample(pool, min(k, len(pool))))
    followers_count = [0] * n_users
    for fs in w.follows.values():
        for j in fs:
            followers_count[j] += 1
    with db.transaction():
        conn.executemany(
            "INSERT INTO users (id, username, display_name, password_hash, is_admin, disabled, created_at, updated_at,"
            " private, followers_count, following_count) VALUES (?, ?, ?, ?, 0, 0, ?, ?, ?, ?, ?)",
            (
                (
                    w.user_ids[i],
                    f"user{i:04d}",
                    f"User {i}",
                    PASSWORD_HASH,
                    to_iso(created[i]),
                    to_iso(created[i]),
                    int(i in w.private),
                    followers_count[i],
                    len(w.follows[i]),
                )
                for i in range(n_users)
            ),
        )
        conn.executemany(
            "INSERT INTO follows (follower_id, followee_id, status, created_at) VALUES (?, ?, 'accepted', ?)",
            (
                (w.user_ids[i], w.user_ids[j], to_iso(now - rnd.uniform(DAY, YEAR)))
                for i in range(n_users)
                for j in sorted(w.follows[i])
            ),
        )
    w.times["users_follows_s"] = time.perf_counter() - t0

    # photos, EXIF, tags ------------------------------------------------------------------------------
    t0 = time.perf_counter()
    w.vocab = vocabulary(rnd, args.vocab)
    vocab_cum = zipf_cum(len(w.vocab))
    cam_cum = zipf_cum(len(CAMERAS), 0.9)
    reg_cum = list(itertools.accumulate(r[4] for r in REGIONS))
    owner_w = list(itertools.accumulate(rnd.lognormvariate(0, 1.2) for _ in range(n_users)))
    start, end = now - 15 * YEAR, now - 3600
    uploaded = sorted(rnd.uniform(start, end) for _ in range(args.docs))
    placeholders = [f"data:image/jpeg;base64,{rnd.randbytes(270).hex()}" for _ in range(64)]
    owner_private = {w.user_ids[i]: i in w.private for i in range(n_users)}

    def words(k: int) -> list[str]:
        return rnd.choices(w.vocab, cum_weights=vocab_cum, k=k)

    def rows(
        lo: int, hi: int
    ) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]], list[tuple[Any, ...]], list[dict[str, Any]]]:
        photos, exifs, tags, docs = [], [], [], []
        gps_docs: list[tuple[dict[str, Any], tuple[float, float]]] = []
        for idx in range(lo, hi):
            ts = uploaded[idx]
            pid = synth_id(int(ts * 1000), rnd)
            owner = bisect.bisect(owner_w, rnd.random() * owner_w[-1])
            uid = w.user_ids[owner]
            r = rnd.random()
            vis = "public" if r < 0.5 else "followers" if r < 0.75 else "private"
            w.photo_ids.append(pid)
            w.photo_owner.append(owner)
            w.photo_vis.append(vis)
            title = " ".join(words(rnd.randint(1, 4))).capitalize()
            desc = " ".join(words(rnd.randint(4, 18))).capitalize() + "." if rnd.random() < 0.6 else ""
            location = rnd.choice(PLACES_TYPED) if rnd.random() < 0.08 else None
            taken_at = None if rnd.random() < 0.04 else to_iso(ts - rnd.expovariate(1 / (2 * DAY)))
            stamp = to_iso(ts)
            sha = f"{rnd.getrandbits(256):064x}"
            landscape = rnd.random() < 0.7
            likes = int(rnd.paretovariate(1.5)) - 1
            photos.append(
                (
                    pid,
                    uid,
                    title,
                    desc,
                    vis,
                    "photo",
                    f"IMG_{rnd.randrange(10000):04d}.jpg",
                    "image/jpeg",
                    f"originals/{sha[:2]}/{sha[2:4]}/{sha}.jpg",
                    sha,
                    rnd.randrange(1_500_000, 9_000_000),
                    4000 if landscape else 3000,
                    3000 if landscape else 4000,
                    taken_at,
                    "exif" if taken_at else None,
                    stamp,
                    stamp,
                    "ready",
                    placeholders[rnd.randrange(64)],
                    f"{rnd.getrandbits(64):016x}",
                    location,
                    likes,
                    likes // 8,
                )
            )
            user_tags = sorted(set(words(rnd.choice((0, 0, 1, 2, 2, 3, 4, 5)))))
            tags.extend((pid, uid, t, "user", None, stamp) for t in user_tags)
            camera = lens = None
            lat = lon = None
            if rnd.random() < 0.92:
                make, model, interchangeable = CAMERAS[bisect.bisect(cam_cum, rnd.random() * cam_cum[-1])]
                lens = rnd.choice(LENSES) if interchangeable and rnd.random() < 0.8 else None
                camera = model if model.startswith(make) else f"{make} {model}"
                if rnd.random() < 0.4:
                    rlat, rlon, slat, slon, _ = REGIONS[bisect.bisect(reg_cum, rnd.random() * reg_cum[-1])]
                    lat, lon = round(rnd.gauss(rlat, slat), 6), round(rnd.gauss(rlon, slon), 6)
                exifs.append(
                    (
                        pid,
                        uid,
                        make,
                        model,
                        lens,
                        rnd.choice((24.0, 35.0, 50.0, 4.2, 6.9)),
                        rnd.choice((1.8, 2.8, 4.0, 8.0)),
                        rnd.choice((100, 200, 400, 1600)),
                        lat,
                        lon,
                        round(rnd.uniform(0, 300), 1) if lat is not None else None,
                        1,
                        taken_at,
                    )
                )
            taken = _timestamp(taken_at or stamp)  # the service's own conversion (local wall time)
            doc = {
                "photo_id": pid,
                "owner_id": uid,
                "audience": audience_tokens(uid, vis, owner_private[uid], []),  # album doors added later
                "title": title,
                "body": " ".join(p for p in (desc, location or "") if p),
                "tags": " ".join(user_tags),
                "labels": "",
                "camera_text": " ".join(p for p in (camera or "", lens or "") if p),
                "place_text": location or "",
                "camera": camera,
                "year": datetime.fromtimestamp(taken).year,
                "taken": int(taken),
                "lat": lat,
                "lon": lon,
            }
            docs.append(doc)
            if lat is not None:
                gps_docs.append((doc, (lat, lon)))
        if gps_docs:  # reverse geocoding in one batch (same k-d tree as place_for, which does one at a time)
            from photoshare.search.geocode import _geocoder

            hits = _geocoder().search([c for _, c in gps_docs])
            for (doc, _), hit in zip(gps_docs, hits, strict=True):
                place = Place(
                    hit.get("city") or "",
                    hit.get("state") or "",
                    hit.get("country") or "",
                    hit.get("country_code") or "",
                )
                doc["place"] = place.label
                doc["country"] = place.country
                doc["place_text"] = " ".join(p for p in (place.label, doc["place_text"]) if p)
        return photos, exifs, tags, [{k: v for k, v in d.items() if v is not None} for d in docs]

    chunk = 100_000
    for lo in range(0, args.docs, chunk):
        photos, exifs, tags, docs = rows(lo, min(args.docs, lo + chunk))
        w.docs.extend(docs)
        with db.transaction():
            conn.executemany(f"INSERT INTO photos ({PHOTO_COLS}) VALUES ({','.join('?' * 23)})", photos)
            conn.executemany(f"INSERT INTO photo_exif ({EXIF_COLS}) VALUES ({','.join('?' * 13)})", exifs)
            conn.executemany(
                "INSERT INTO photo_tags (photo_id, user_id, tag, source, confidence, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                tags,
            )
    w.times["photos_s"] = time.perf_counter() - t0

    # albums and shares -------------------------------------------------------------------------------
    t0 = time.perf_counter()
    by_owner: dict[int, list[int]] = {}
    for idx, owner in enumerate(w.photo_owner):
        by_owner.setdefault(owner, []).append(idx)
    followees = w.follows[w.viewer]
    album_rows, member_rows, share_rows, recipient_rows = [], [], [], []
    albums_of: dict[str, list[str]] = {}
    for owner, own in by_owner.items():
        for _ in range(args.albums_per_user):
            aid = synth_id(int((now - rnd.uniform(0, YEAR)) * 1000), rnd)
            r = rnd.random()
            vis = "public" if r < 0.3 else "followers" if r < 0.5 else "private"
            members = [w.photo_ids[i] for i in rnd.sample(own, min(len(own), rnd.randint(5, 60)))]
            albums_of[aid] = members
            stamp = to_iso(now - rnd.uniform(0, YEAR))
            album_rows.append((aid, w.user_ids[owner], f"Album {len(album_rows)}", vis, stamp, stamp))
            member_rows.extend(
                (aid, pid, w.user_ids[owner], w.user_ids[owner], pos, stamp) for pos, pid in enumerate(members)
            )
            if (vis == "public" and owner not in w.private) or (vis in ("public", "followers") and owner in followees):
                w.shared_with_viewer.update(members)
    candidates = [i for i in range(len(w.photo_ids)) if w.photo_owner[i] != w.viewer]
    stamp = to_iso(now - DAY)
    for i in rnd.sample(candidates, min(25, len(candidates))):
        sid = synth_id(int((now - rnd.uniform(0, YEAR)) * 1000), rnd)
        share_rows.append((sid, w.user_ids[w.photo_owner[i]], "photo", w.photo_ids[i], stamp))
        recipient_rows.append((sid, w.user_ids[w.viewer], w.user_ids[w.photo_owner[i]]))
        w.shared_with_viewer.add(w.photo_ids[i])
        w.viewer_photos.append(w.photo_ids[i])
    other_albums = [
        (aid, row[1]) for aid, row in zip(albums_of, album_rows, strict=True) if row[1] != w.user_ids[w.viewer]
    ]
    for aid, owner_id in rnd.sample(other_albums, min(2, len(other_albums))):
        sid = synth_id(int((now - rnd.uniform(0, YEAR)) * 1000), rnd)
        share_rows.append((sid, owner_id, "album", aid, stamp))
        recipient_rows.append((sid, w.user_ids[w.viewer], owner_id))
        w.shared_with_viewer.update(albums_of[aid])
        w.viewer_albums.append(aid)
    # Album doors in the documents of their photos, albums in id order as the service lists them.
    index_of = {pid: i for i, pid in enumerate(w.photo_ids)}
    album_info = {row[0]: (row[0], row[1], row[3], owner_private[row[1]]) for row in album_rows}
    holding: dict[str, list[str]] = {}
    for aid in sorted(albums_of):
        for pid in albums_of[aid]:
            holding.setdefault(pid, []).append(aid)
    for pid, aids in holding.items():
        i = index_of[pid]
        owner_id = w.user_ids[w.photo_owner[i]]
        w.docs[i]["audience"] = audience_tokens(
            owner_id, w.photo_vis[i], owner_private[owner_id], [album_info[a] for a in aids]
        )
    with db.transaction():
        conn.executemany(
            "INSERT INTO albums (id, user_id, title, visibility, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)",
            album_rows,
        )
        conn.executemany(
            "INSERT INTO album_photos (album_id, photo_id, user_id, added_by, position, added_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            member_rows,
        )
        conn.executemany(
            "INSERT INTO shares (id, user_id, target_type, target_id, type, permissions, created_at)"
            " VALUES (?, ?, ?, ?, 'users', 'view', ?)",
            share_rows,
        )
        conn.executemany("INSERT INTO share_recipients (share_id, user_id, owner_id) VALUES (?, ?, ?)", recipient_rows)
    w.times["albums_shares_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    conn.execute("ANALYZE")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    w.times["checkpoint_s"] = time.perf_counter() - t0
    return w


def world_from_db(ctx: Any, rnd: random.Random) -> World:
    """What measuring needs of a data set kept by an earlier run, read back from its database."""
    w = World()
    db = ctx.db
    w.user_ids = [r["id"] for r in db.query("SELECT id FROM users ORDER BY id")]
    index_of = {u: i for i, u in enumerate(w.user_ids)}
    w.follows = {i: set() for i in range(len(w.user_ids))}
    for follower, followee in db.tuples("SELECT follower_id, followee_id FROM follows WHERE status = 'accepted'"):
        w.follows[index_of[follower]].add(index_of[followee])
    recipients = db.tuples("SELECT DISTINCT user_id FROM share_recipients")
    if len(recipients) != 1:
        raise SystemExit("not a data set of this benchmark: the shares must all go to the one viewer")
    w.viewer = index_of[recipients[0][0]]
    for kind, target in db.tuples(
        "SELECT s.target_type, s.target_id FROM shares s JOIN share_recipients r ON r.share_id = s.id"
    ):
        (w.viewer_albums if kind == "album" else w.viewer_photos).append(target)
    w.shared_with_viewer = set(w.viewer_photos) | {
        r[0]
        for r in db.tuples(
            "SELECT ap.photo_id FROM album_photos ap JOIN albums a ON a.id = ap.album_id"
            " JOIN users u ON u.id = a.user_id WHERE (a.visibility = 'public' AND u.private = 0)"
            " OR (a.visibility IN ('public', 'followers')"
            " AND a.user_id IN (SELECT followee_id FROM follows WHERE follower_id = ?1)) OR a.id IN"
            " (SELECT target_id FROM shares s JOIN share_recipients r ON r.share_id = s.id WHERE r.user_id = ?1)",
            (w.user_ids[w.viewer],),
        )
    }
    w.vocab = vocabulary(rnd, 0)  # the queries use real words only (ranks 10-150), which come first
    return w


def check_documents(ctx: Any, w: World, rnd: random.Random) -> int:
    """The pre-built dicts must be what SearchService.document() produces (None values dropped)."""
    checked = 0
    for i in rnd.sample(range(len(w.docs)), min(300, len(w.docs))):
        row = ctx.photo_repo.get(w.photo_ids[i])
        doc = ctx.search.document(row)
        doc = {k: v for k, v in doc.items() if v is not None}
        if doc != w.docs[i]:
            diff = {
                k: (doc.get(k), w.docs[i].get(k))
                for k in doc.keys() | w.docs[i].keys()
                if doc.get(k) != w.docs[i].get(k)
            }
            raise SystemExit(f"pre-built document {w.photo_ids[i]} differs from SearchService.document(): {diff}")
        checked += 1
    return checked


# -- indexing -----------------------------------------------------------------------------------------
def raw_index(path: Path, docs: list[dict[str, Any]]) -> float:
    """Bare tantivy, same schema and writer settings as TextIndex, one add_document per pre-built dict."""
    path.mkdir(parents=True)
    index = tantivy.Index(build_schema(), path=str(path))
    gc.collect()
    start = time.perf_counter()
    writer = index.writer(heap_size=50_000_000, num_threads=1)
    for doc in docs:
        writer.add_document(tantivy.Document(**doc))
    writer.commit()
    elapsed = time.perf_counter() - start
    writer.wait_merging_threads()
    return elapsed


class _Enough(Exception):
    pass


def service_rebuild(ctx: Any, limit: int) -> tuple[int, float]:
    """SearchService.rebuild(); with `limit`, stopped after that many documents (then committed)."""
    svc = ctx.search
    gc.collect()
    if not limit:
        start = time.perf_counter()
        n = svc.rebuild()
        return n, time.perf_counter() - start
    upsert = svc.index.upsert
    done = 0

    def capped(docs: list[dict[str, Any]], **kw: Any) -> None:
        nonlocal done
        upsert(docs, **kw)
        done += len(docs)
        if done >= limit:
            raise _Enough

    svc.index.upsert = capped
    start = time.perf_counter()
    try:
        svc.rebuild()
    except _Enough:
        svc.index.commit()
    elapsed = time.perf_counter() - start
    del svc.index.upsert
    return done, elapsed


# -- queries ------------------------------------------------------------------------------------------
def make_queries(w: World, rnd: random.Random, count: int, now: float) -> list[dict[str, str]]:
    common = w.vocab[10:150]
    first, last = date.fromtimestamp(now - 15 * YEAR), date.fromtimestamp(now)
    out = []
    for _ in range(count):
        a, b = rnd.sample(common, 2)
        span = rnd.randint(182, 5 * 365)
        lo = first + timedelta(days=rnd.randint(0, (last - first).days - 182))
        hi = min(last, lo + timedelta(days=span))
        out.append({"q": f"{a} {b}", "date_from": lo.isoformat(), "date_to": hi.isoformat()})
    return out


class Raw:
    """The service's query by hand on the same index: parse, audience filter, range, top 50 ids, facets."""

    def __init__(
        self, index: tantivy.Index, tokens: list[str], photo_ids: list[str], facets: str = "concurrent"
    ) -> None:
        self.index = index
        self.schema = index.schema
        self.tokens = tokens
        self.photo_ids = photo_ids
        self.facets = facets  # "concurrent" (as the service runs them), "sequential" or "none"

    def __call__(self, params: dict[str, str]) -> tuple[list[str], int, dict[str, Any]]:
        Q, Occur = tantivy.Query, tantivy.Occur
        text, _ = self.index.parse_query_lenient(
            params["q"], TEXT_FIELDS, field_boosts=_BOOSTS, fuzzy_fields=FUZZY, conjunction_by_default=True
        )
        lo = int(datetime.fromisoformat(params["date_from"]).timestamp())
        hi = int(datetime.fromisoformat(params["date_to"]).timestamp()) + 86399
        query = Q.boolean_query(
            [
                (Occur.Must, audience_query(self.schema, self.tokens, self.photo_ids)),
                (Occur.Must, text),
                (Occur.Must, Q.range_query(self.schema, "taken", tantivy.FieldType.Integer, lo, hi)),
            ]
        )
        searcher = self.index.searcher()
        pending = _FACET_POOL.submit(searcher.aggregate, query, FACETS) if self.facets == "concurrent" else None
        result = searcher.search(query, PAGE + 1, count=True)
        ids = [searcher.doc(addr)["photo_id"][0] for _score, addr in result.hits[:PAGE]]
        if pending is not None:
            facets = pending.result()
        else:
            facets = searcher.aggregate(query, FACETS) if self.facets == "sequential" else {}
        return ids, result.count, facets


def measure(
    ctx: Any, w: World, args: argparse.Namespace, queries: list[dict[str, str]], warm: list[dict[str, str]]
) -> dict[str, Any]:
    svc = ctx.search
    viewer = ctx.users.get(w.user_ids[w.viewer])
    followees = [w.user_ids[j] for j in w.follows[w.viewer]]
    tokens = [
        "public",
        f"u:{viewer.id}",
        *(f"followers:{f}" for f in sorted(followees)),
        *(f"album:{a}" for a in w.viewer_albums),
    ]
    service_tokens, service_photos = svc.viewer_audience(viewer)
    if set(service_tokens) != set(tokens) or set(service_photos) != set(w.viewer_photos):
        raise SystemExit("the hand-built audience differs from SearchService.viewer_audience")
    raw = Raw(svc.index.index, service_tokens, service_photos)
    raw_sequential = Raw(svc.index.index, service_tokens, service_photos, facets="sequential")
    raw_no_facets = Raw(svc.index.index, service_tokens, service_photos, facets="none")

    def unshaped(_viewer: Any, rows: list[dict[str, Any]], **_kw: Any) -> list[dict[str, Any]]:
        return rows

    def service(params: dict[str, str]) -> dict[str, Any]:
        return svc.search(viewer, dict(params))

    def service_unshaped(params: dict[str, str]) -> dict[str, Any]:
        ctx.photos.to_api = unshaped
        try:
            return svc.search(viewer, dict(params))
        finally:
            del ctx.photos.to_api

    for params in warm:  # warm-up: page cache, mmap'd index files, owner_private cache, code paths
        raw(params)
        raw_sequential(params)
        raw_no_facets(params)
        service(params)
        service_unshaped(params)
    gc.collect()
    gc.freeze()
    times: dict[str, list[float]] = {
        "raw": [],
        "raw_sequential": [],
        "raw_no_facets": [],
        "service": [],
        "service_unshaped": [],
    }
    hits, shown, mismatched = [], [], 0
    modes = [
        ("raw", raw),
        ("service", service),
        ("service_unshaped", service_unshaped),
        ("raw_sequential", raw_sequential),
        ("raw_no_facets", raw_no_facets),
    ]
    for k, params in enumerate(queries):
        order = modes[k % len(modes) :] + modes[: k % len(modes)]  # rotate who goes first
        got: dict[str, Any] = {}
        for name, fn in order:
            ms, got[name] = timed(lambda fn=fn, params=params: fn(params))
            times[name].append(ms)
        raw_ids, count, _ = got["raw"]
        hits.append(count)
        shown.append(len(got["service"]["results"]))
        service_ids = [r["photo_id"] for r in got["service"]["results"]]
        if got["service"]["total"] != count or service_ids != raw_ids[: len(service_ids)]:
            mismatched += 1
    out: dict[str, Any] = {name: summary(v) for name, v in times.items()}
    for name in ("service", "service_unshaped", "raw_sequential", "raw_no_facets"):
        out[f"{name}_over_raw"] = {
            q: round(out[name][f"{q}_ms"] / out["raw"][f"{q}_ms"], 3) for q in ("p50", "p95", "p99", "mean")
        }
    out["hits"] = {
        "mean_total": round(statistics.fmean(hits), 1),
        "median_total": pct(hits, 50),
        "mean_results_shown": round(statistics.fmean(shown), 1),
        "queries_with_zero_hits": sum(1 for h in hits if h == 0),
    }
    out["mismatched_queries"] = mismatched
    out["audience"] = {
        "tokens": len(tokens),
        "shared_photo_ids": len(w.viewer_photos),
        "album_or_share_photos": len(w.shared_with_viewer),
    }
    out["stages_ms"] = stages(ctx, viewer, queries[: min(len(queries), 100)])
    gc.unfreeze()
    return out


def stages(ctx: Any, viewer: Any, queries: list[dict[str, str]]) -> dict[str, float]:
    """Mean ms per stage of SearchService.search, through instance wrappers (a separate pass)."""
    svc = ctx.search
    acc: dict[str, float] = dict.fromkeys(
        ("scope", "tantivy_search", "stored_docs", "row_loads", "access_checks", "facets", "to_api"), 0.0
    )

    def wrap(obj: Any, attr: str, key: str) -> None:
        fn = getattr(obj, attr)

        def timed_call(*a: Any, **kw: Any) -> Any:
            start = time.perf_counter()
            try:
                return fn(*a, **kw)
            finally:
                acc[key] += (time.perf_counter() - start) * 1000

        setattr(obj, attr, timed_call)

    class Searcher:
        def __init__(self, inner: Any) -> None:
            self.inner = inner

        def search(self, *a: Any, **kw: Any) -> Any:
            start = time.perf_counter()
            out = self.inner.search(*a, **kw)
            acc["tantivy_search"] += (time.perf_counter() - start) * 1000
            return out

        def doc(self, addr: Any) -> Any:
            start = time.perf_counter()
            out = self.inner.doc(addr)
            acc["stored_docs"] += (time.perf_counter() - start) * 1000
            return out

        def aggregate(self, *a: Any, **kw: Any) -> Any:
            start = time.perf_counter()
            out = self.inner.aggregate(*a, **kw)
            acc["facets"] += (time.perf_counter() - start) * 1000
            return out

    searcher = svc.index.searcher
    wrap(svc, "_scope", "scope")
    wrap(svc.photo_repo, "get_many", "row_loads")
    wrap(svc.access, "photo_grants", "access_checks")
    wrap(ctx.photos, "to_api", "to_api")
    svc.index.searcher = lambda: Searcher(searcher())
    total = 0.0
    try:
        for params in queries:
            ms, _ = timed(lambda params=params: svc.search(viewer, dict(params)))
            total += ms
    finally:
        for obj, attr in (
            (svc, "_scope"),
            (svc.photo_repo, "get_many"),
            (svc.access, "photo_grants"),
            (ctx.photos, "to_api"),
            (svc.index, "searcher"),
        ):
            delattr(obj, attr)
    n = max(1, len(queries))
    out = {k: round(v / n, 3) for k, v in acc.items()}
    # The facet pass runs beside the rest (search.service._FACET_POOL): not part of the sequential sum.
    out["other"] = round((total - sum(v for k, v in acc.items() if k != "facets")) / n, 3)
    out["total"] = round(total / n, 3)
    return out


def profile(ctx: Any, w: World, queries: list[dict[str, str]]) -> str:
    viewer = ctx.users.get(w.user_ids[w.viewer])
    prof = cProfile.Profile()
    prof.enable()
    for params in queries:
        ctx.search.search(viewer, dict(params))
    prof.disable()
    buf = io.StringIO()
    stats = pstats.Stats(prof, stream=buf).strip_dirs()
    stats.sort_stats("tottime").print_stats(18)
    stats.sort_stats("cumulative").print_stats(18)
    return buf.getvalue()


def build_and_index(
    args: argparse.Namespace, data: Path, context: Any, rnd: random.Random, now: float, result: dict[str, Any]
) -> World:
    """Build the data set, then index it raw and with SearchService.rebuild (timed); leaves a complete
    service index in data/index/text."""
    t0 = time.perf_counter()
    ctx = context(create=True)
    w = build(ctx, args, rnd, now)
    ctx.close()
    build_s = time.perf_counter() - t0
    result["build"] = {
        "total_s": round(build_s, 1),
        **{k: round(v, 1) for k, v in w.times.items()},
        "album_or_share_photos_for_viewer": len(w.shared_with_viewer),
    }
    print(
        f"built {args.docs} photos, {args.users} users in {build_s:.1f} s  "
        f"({', '.join(f'{k} {v:.1f}' for k, v in w.times.items())})",
        flush=True,
    )

    ctx = context()
    checked = check_documents(ctx, w, rnd)
    raw_s = raw_index(data / "index" / "raw", w.docs)
    print(f"raw tantivy: {len(w.docs)} docs in {raw_s:.1f} s = {len(w.docs) / raw_s:,.0f} docs/s", flush=True)
    limit = args.rebuild_docs if 0 < args.rebuild_docs < args.docs else 0
    n_rebuilt, rebuild_s = service_rebuild(ctx, limit)
    rate = n_rebuilt / rebuild_s
    print(
        f"SearchService.rebuild: {n_rebuilt} docs in {rebuild_s:.1f} s = {rate:,.0f} docs/s"
        + (f" (subset; {args.docs} extrapolated: {args.docs / rate:.0f} s)" if limit else ""),
        flush=True,
    )
    result["indexing"] = {
        "raw_docs_per_s": round(len(w.docs) / raw_s),
        "raw_s": round(raw_s, 1),
        "service_rebuild_docs": n_rebuilt,
        "service_rebuild_s": round(rebuild_s, 1),
        "service_rebuild_docs_per_s": round(rate),
        "service_rebuild_extrapolated": bool(limit),
        f"service_rebuild_s_for_{args.docs}": round(args.docs / rate, 1),
        "raw_over_service": round((len(w.docs) / raw_s) / rate, 2),
        "documents_checked_equal": checked,
    }
    ctx.close()
    del ctx
    index_dir = data / "index" / "text"
    if limit:  # the service index is partial: use the raw one (same schema, same documents)
        shutil.rmtree(index_dir)
        (data / "index" / "raw").rename(index_dir)
        TextIndex(index_dir).mark_current()
    else:
        shutil.rmtree(data / "index" / "raw")

    return w


# -- main ---------------------------------------------------------------------------------------------
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--docs", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=500)
    parser.add_argument("--users", type=int, default=300)
    parser.add_argument("--follows", type=int, default=50, help="accounts the searching viewer follows")
    parser.add_argument("--albums-per-user", type=int, default=0)
    parser.add_argument("--vocab", type=int, default=3000)
    parser.add_argument(
        "--rebuild-docs",
        type=int,
        default=0,
        help="stop SearchService.rebuild() after this many documents and extrapolate (0: all)",
    )
    parser.add_argument("--warmup", type=int, default=50)
    parser.add_argument("--profile", type=int, default=0, help="cProfile this many service queries at the end")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--keep", help="build the data folder here and keep it (default: a temporary folder)")
    parser.add_argument(
        "--queries-only",
        metavar="DIR",
        help="measure queries only, on a folder an earlier run kept with --keep (no build, no indexing)",
    )
    args = parser.parse_args()
    from photoshare.context import build_context
    from photoshare.settings import load_settings

    rnd = random.Random(args.seed)
    now = time.time()
    result: dict[str, Any] = {"docs": args.docs, "users": args.users, "queries": args.queries}
    with tempfile.TemporaryDirectory() as folder:
        data = Path(args.queries_only or args.keep or Path(folder) / "data")
        if not args.queries_only and data.exists() and any(data.iterdir()):
            raise SystemExit(f"{data} is not empty: the data set is built from scratch")

        def context(create: bool = False) -> Any:
            return build_context(load_settings(None, {}, data_dir=str(data)), create=create)

        if args.queries_only:
            ctx = context()
            w = world_from_db(ctx, rnd)
            ctx.close()
        else:
            w = build_and_index(args, data, context, rnd, now, result)

        queries = make_queries(w, rnd, args.queries, now)
        warm = make_queries(w, rnd, args.warmup, now)
        w.docs = []
        gc.collect()
        ctx = context()
        result["index"] = {
            "num_docs": ctx.search.index.searcher().num_docs,
            "segments": ctx.search.index.searcher().num_segments,
        }
        q = measure(ctx, w, args, queries, warm)
        result["query"] = q
        if args.profile:
            result_profile = profile(ctx, w, make_queries(w, rnd, args.profile, now))
        ctx.close()

    print()
    print(
        f"{args.docs:,} docs, {args.users} users; the viewer's filter: {q['audience']['tokens']} audience tokens + "
        f"{q['audience']['shared_photo_ids']} shared photo ids (reaching {q['audience']['album_or_share_photos']}"
        f" album/share photos); index {result['index']['num_docs']:,} "
        f"docs in {result['index']['segments']} segments"
    )
    print(
        f"hits per query: mean {q['hits']['mean_total']}, median {q['hits']['median_total']}, zero-hit queries "
        f"{q['hits']['queries_with_zero_hits']}, results shown (of 50) mean {q['hits']['mean_results_shown']}, "
        f"queries where service != raw: {q['mismatched_queries']}"
    )
    print(f"{'query (ms)':<26}{'mean':>8}{'p50':>8}{'p95':>8}{'p99':>8}{'max':>8}   ÷ raw p50/p95/p99")
    for name, label in (
        ("raw", "raw tantivy"),
        ("service", "SearchService.search"),
        ("service_unshaped", "  without to_api"),
        ("raw_sequential", "raw, facets after search"),
        ("raw_no_facets", "raw, no facets"),
    ):
        s = q[name]
        ratio = q.get(f"{name}_over_raw")
        tail = f"   {ratio['p50']:.2f} / {ratio['p95']:.2f} / {ratio['p99']:.2f}" if ratio else ""
        print(
            f"{label:<26}{s['mean_ms']:>8.2f}{s['p50_ms']:>8.2f}{s['p95_ms']:>8.2f}{s['p99_ms']:>8.2f}"
            f"{s['max_ms']:>8.2f}{tail}"
        )
    print("service stages, mean ms: " + ", ".join(f"{k} {v:.2f}" for k, v in q["stages_ms"].items()))
    ix = result.get("indexing")
    if ix:
        subset = ix["service_rebuild_extrapolated"]
        rate = ix["service_rebuild_docs_per_s"]
        print(
            f"indexing: raw {ix['raw_docs_per_s']:,} docs/s | SearchService.rebuild {rate:,} docs/s"
            f"{' (measured on ' + str(ix['service_rebuild_docs']) + ' docs)' if subset else ''}, "
            f"{args.docs:,} docs in {args.docs / rate:.0f} s{' (extrapolated)' if subset else ''}"
        )
    if args.profile:
        print(result_profile)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
