"""Home timelines: read p50/p99 of FeedService.home vs a pull-only timeline query, fan-out cost per
post and a celebrity post's cost, on a synthetic social graph, all in the same run.

Data set (defaults = the issue's size): 100k users following ~200 accounts each (followees drawn with
a Pareto skew, capped so normal accounts stay under `celebrity_followers`), 3 celebrity accounts each
followed by 90% of users (90k followers; the other 10% follow none and are the comparison group),
1M posts (85% public, 15% followers-only) with time-ordered ids spread over the last 90 days, 3% of
accounts private. 10% of users are active (seen within `inactive_days`); fan-out only writes active
readers' timelines, so only theirs are materialised (newest `timeline_length` entries, built with one
INSERT...SELECT per user that reproduces FeedService.rebuild; a few are checked against rebuild()).
It is written with bulk SQL (executemany, big transactions) into a real, freshly migrated appliance
database (build_context(create=True)). The build connection runs with synchronous=OFF, foreign_keys=
OFF and a 4 GB page cache (journal_mode stays WAL), and the secondary indexes of photos and follows
are dropped for the load and recreated from their own CREATE INDEX text, so the schema ends identical.
Measurements then use a fresh context whose connections are exactly the appliance's (synchronous=
FULL, default 2 MB page cache); the database file is in the OS page cache (fresh from the build).
The default size takes ~12 minutes on 2 cores (~10 min build, ~8.5 GB database); the quick size
below about 2 minutes (1 min build). Progress goes to stderr; stdout gets the table and one JSON line.

Measured, in-process, single thread (goal: home() p99 < 5 ms):
- home(viewer, limit=50) for --reads random active users (last_seen_at set to now first, so `_touch`
  neither writes nor rebuilds), after a warm-up; and how much of it is PhotoService.to_api (render).
- Baseline: a pull-only timeline (fan-out on read) for the same users, interleaved with home():
  followees, then the newest 50 posts of followees + self (one query, read from the covering partial
  index photos_posts, as home() reads celebrities' posts),
  then the rows, post_visible, and the same to_api render. Ratios home / pull are reported.
- Celebrity merge: home() for readers who follow the celebrities vs readers who follow none, and the
  cost of the celebrity part alone (_celebrities() + the pull of their posts).
- Returning user: home() of a reader away > inactive_days (rebuilds the timeline inside the read), and
  home() of a reader last seen > 5 min ago (the last_seen_at write, an fsync'd commit, on the read path).
- fan_out(photo_id) for a new post by --fanout-posts random normal authors: mean/p99 ms and rows
  written; the most-followed normal author; a celebrity's new post (skipped at write time), and what
  writing it to every active follower would cost (fan_out's INSERT...SELECT timed, committed, then
  the rows deleted).
- The hourly global trim() over every timeline.
- Host noise: a fixed pure-Python task (bench.common.steady_task) timed after every home/pull pair; its
  p99/p50 is how much this machine alone widens a tail in the same run.

    .venv/bin/python bench/feed.py [--users 100000] [--posts 1000000] [--follows 200] [--celebrities 3]
                                   [--active-fraction 0.1] [--reads 2000]
    quick: .venv/bin/python bench/feed.py --users 10000 --posts 100000
    --data-dir DIR keeps the built database and a pristine copy of it (DIR/bench-snapshot, plus the
    graph); a later run with the same DIR and sizes restores that copy instead of building again (the
    default is a temporary folder, removed afterwards).
"""

from __future__ import annotations

import argparse
import base64
import bisect
import gc
import itertools
import json
import os
import pickle
import random
import shutil
import statistics
import sys
import tempfile
import time
from array import array
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.common import steady_task, summary, synth_id, timed  # noqa: E402
from photoshare.clock import to_iso  # noqa: E402
from photoshare.ids import new_id  # noqa: E402
from photoshare.social.feed import NEWEST_POSTS_SQL, POST_WHERE, REBUILD_SQL  # noqa: E402

DAY = 86400.0
PAGE = 50
PASSWORD_HASH = "$argon2id$v=19$m=65536,t=3,p=4$YmVuY2hzYWx0YmVuY2g$bm90IGEgcmVhbCBoYXNoLCBqdXN0IGJlbmNo"
PHOTO_COLS = (
    "id, user_id, title, description, visibility, media_type, filename, content_type, original_key, sha256,"
    " file_size_bytes, width, height, taken_at, taken_at_source, uploaded_at, updated_at, processing_status,"
    " placeholder, variant_version, like_count, comment_count"
)

# FeedService.rebuild's rows in one statement: own posts and each non-celebrity followee's newest
# `backfill_posts` (?3), the newest `timeline_length` (?4) of those kept; ?2 = celebrity_followers.


# -- helpers ----------------------------------------------------------------------------------------


_DAYS: dict[int, str] = {}


def iso(ts: float) -> str:
    """photoshare.clock.to_iso, without a datetime per call (the build formats millions of stamps)."""
    day, sec = divmod(ts, DAY)
    prefix = _DAYS.get(int(day))
    if prefix is None:
        prefix = _DAYS[int(day)] = to_iso(int(day) * DAY)[:11]
    s = int(sec)
    return f"{prefix}{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}.{int((sec - s) * 1e6):06d}Z"


@contextmanager
def indexes_deferred(conn: Any, table: str) -> Iterator[None]:
    """Drop a table's secondary indexes for a bulk load and recreate them from their own SQL text
    afterwards (one sort each instead of millions of random B-tree inserts); the schema ends identical."""
    rows = list(
        conn.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL", (table,)
        )
    )
    for r in rows:
        conn.execute(f"DROP INDEX {r['name']}")
    yield
    for r in rows:
        conn.execute(r["sql"])


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def chunked(rows: Iterable[Any], size: int) -> Iterator[list[Any]]:
    it = iter(rows)
    while chunk := list(itertools.islice(it, size)):
        yield chunk


class Graph:
    """Who is who in the synthetic data set (user index i <-> ids[i]; ids sort like the indexes)."""

    def __init__(self) -> None:
        self.ids: list[str] = []
        self.celebs: list[int] = []
        self.celeb_fans: set[int] = set()
        self.active: list[int] = []
        self.inactive: list[int] = []
        self.followers = array("i")
        self.following = array("i")
        self.rnd_state: Any = None  # the generator's state after the build (a reused data set resumes from it)


# -- build ------------------------------------------------------------------------------------------
def build(ctx: Any, args: argparse.Namespace, rnd: random.Random, now: float) -> tuple[Graph, dict[str, float]]:
    db = ctx.db
    conn = db.connection()
    social = ctx.settings.social
    conn.execute("PRAGMA synchronous=OFF")  # bulk load only: a crash would just mean rerunning the bench
    conn.execute("PRAGMA foreign_keys=OFF")  # rows are consistent by construction; checks would double the cost
    conn.execute("PRAGMA cache_size=-4000000")  # 4 GB: secondary-index inserts stay in memory
    times: dict[str, float] = {}
    g = Graph()
    n = args.users

    # users ---------------------------------------------------------------------------------------
    t0 = time.perf_counter()
    created = sorted(now - rnd.uniform(100 * DAY, 3 * 365 * DAY) for _ in range(n))
    g.ids = sorted(synth_id(int(t * 1000), rnd) for t in created)
    g.celebs = sorted(rnd.sample(range(n), args.celebrities))
    celeb_set = set(g.celebs)
    normal = [i for i in range(n) if i not in celeb_set]
    g.active = sorted(rnd.sample(range(n), max(1, round(n * args.active_fraction))))
    active_set = set(g.active)
    g.inactive = [i for i in range(n) if i not in active_set]
    fans = rnd.sample(normal, round(len(normal) * args.celebrity_reach))
    g.celeb_fans = set(fans)
    private = set(rnd.sample(normal, round(len(normal) * 0.03)))
    last_seen = [
        now - (rnd.uniform(600, 20 * DAY) if i in active_set else rnd.uniform(31 * DAY, 365 * DAY)) for i in range(n)
    ]
    with db.transaction():
        conn.executemany(
            "INSERT INTO users (id, username, display_name, password_hash, is_admin, disabled, created_at, updated_at,"
            " bio, private, followers_count, following_count, last_seen_at, timeline_built_at)"
            " VALUES (?, ?, ?, ?, 0, 0, ?, ?, ?, ?, 0, 0, ?, ?)",
            (
                (
                    g.ids[i],
                    f"celeb{g.celebs.index(i)}" if i in celeb_set else f"user{i:07d}",
                    f"Celebrity {g.celebs.index(i)}" if i in celeb_set else f"User {i}",
                    PASSWORD_HASH,
                    to_iso(created[i]),
                    to_iso(created[i]),
                    "photos, mostly" if i % 3 == 0 else "",
                    int(i in private),
                    last_seen[i],
                    0.0 if i in active_set else last_seen[i],  # active ones are stamped when their timeline is built
                )
                for i in range(n)
            ),
        )
    times["users_s"] = time.perf_counter() - t0

    # posts ---------------------------------------------------------------------------------------
    log("users done; posts")
    t0 = time.perf_counter()
    celeb_posts = max(20, min(1000, args.posts // 1000))
    author_w = [rnd.lognormvariate(0, 1.0) for _ in normal]
    cum = list(itertools.accumulate(author_w))
    authors = [
        normal[bisect.bisect(cum, rnd.random() * cum[-1])] for _ in range(args.posts - celeb_posts * len(g.celebs))
    ]
    authors += [c for c in g.celebs for _ in range(celeb_posts)]
    rnd.shuffle(authors)
    start_ms, end_ms = int((now - 90 * DAY) * 1000), int((now - 60) * 1000)
    post_ms = sorted(rnd.randrange(start_ms, end_ms) for _ in authors)
    placeholders = [
        "data:image/jpeg;base64," + base64.b64encode(rnd.randbytes(rnd.randint(300, 420))).decode() for _ in range(64)
    ]

    def photo_rows() -> Iterator[tuple[Any, ...]]:
        for ms, author in zip(post_ms, authors, strict=True):
            yield photo_row(synth_id(ms, rnd), g.ids[author], ms / 1000, rnd, placeholders)

    with indexes_deferred(conn, "photos"):
        for chunk in chunked(photo_rows(), 250_000):
            with db.transaction():
                conn.executemany(f"INSERT INTO photos ({PHOTO_COLS}) VALUES ({','.join('?' * 22)})", chunk)
        times["posts_s"] = time.perf_counter() - t0
        t0 = time.perf_counter()
    times["posts_indexes_s"] = time.perf_counter() - t0

    # follows -------------------------------------------------------------------------------------
    log("posts done; follows")
    t0 = time.perf_counter()
    # Popularity: Pareto weights, clipped so no normal account expects more than ~60% of the celebrity
    # threshold (they stay fanned out on write; the celebrities are the only pulled accounts).
    weight = [0.0] * n
    for i in normal:
        weight[i] = rnd.paretovariate(1.16)
    edges = n * args.follows
    cap = min(0.6 * social.celebrity_followers, 0.2 * n)
    for _ in range(20):
        limit = cap * sum(weight) / edges
        if max(weight) <= limit * 1.0001:
            break
        weight = [min(w, limit) for w in weight]
    cum = list(itertools.accumulate(weight))
    total = cum[-1]
    g.followers = array("i", [0] * n)
    g.following = array("i", [0] * n)
    upper = len(normal) - 1

    def follow_rows() -> Iterator[tuple[str, str, str, str]]:
        for i in range(n):
            want = min(upper, max(1, round(rnd.gauss(args.follows, args.follows / 4))))
            picked: set[int] = set()
            while len(picked) < want:
                for _ in range(want - len(picked) + want // 8 + 4):
                    j = bisect.bisect(cum, rnd.random() * total)
                    if j != i and weight[j] > 0:
                        picked.add(j)
                if len(picked) > want:
                    picked = set(rnd.sample(sorted(picked), want))
            if i in g.celeb_fans:
                picked.update(c for c in g.celebs if c != i)
            stamp = to_iso(now - rnd.uniform(1 * DAY, 90 * DAY))
            follower = g.ids[i]
            g.following[i] = len(picked)
            for j in sorted(picked):
                g.followers[j] += 1
                yield follower, g.ids[j], "accepted", stamp

    with indexes_deferred(conn, "follows"):
        for chunk in chunked(follow_rows(), 1_000_000):
            with db.transaction():
                conn.executemany(
                    "INSERT INTO follows (follower_id, followee_id, status, created_at) VALUES (?, ?, ?, ?)", chunk
                )
        times["follows_s"] = time.perf_counter() - t0
        t0 = time.perf_counter()
    times["follows_indexes_s"] = time.perf_counter() - t0
    with db.transaction():
        conn.executemany(
            "UPDATE users SET followers_count = ?, following_count = ? WHERE id = ?",
            ((g.followers[i], g.following[i], g.ids[i]) for i in range(n)),
        )
    times["follows_indexes_s"] += time.perf_counter() - t0

    # timelines of active users ------------------------------------------------------------------------
    log("follows done; timelines of active users")
    t0 = time.perf_counter()
    # The same rows FeedService.rebuild writes: own posts and each non-celebrity followee's newest
    # `backfill_posts`, newest `timeline_length` of those kept.
    params = (social.celebrity_followers, social.backfill_posts, social.timeline_length)
    for chunk in chunked(g.active, 2000):
        with db.transaction():
            for i in chunk:
                conn.execute(REBUILD_SQL, (g.ids[i], *params))
            conn.executemany("UPDATE users SET timeline_built_at = ? WHERE id = ?", ((now, g.ids[i]) for i in chunk))
    times["timelines_s"] = time.perf_counter() - t0
    log("timelines done; checkpoint")

    t0 = time.perf_counter()
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    times["checkpoint_s"] = time.perf_counter() - t0
    return g, times


def photo_row(photo_id: str, user_id: str, ts: float, rnd: random.Random, placeholders: list[str]) -> tuple[Any, ...]:
    sha = f"{rnd.getrandbits(256):064x}"
    landscape = rnd.random() < 0.7
    stamp = iso(ts)
    likes = int(rnd.paretovariate(1.5)) - 1
    return (
        photo_id,
        user_id,
        "" if rnd.random() < 0.6 else "Evening light",
        "" if rnd.random() < 0.8 else "Out for a walk.",
        "public" if rnd.random() < 0.85 else "followers",
        "photo",
        f"IMG_{rnd.randrange(10000):04d}.jpg",
        "image/jpeg",
        f"originals/{sha[:2]}/{sha[2:4]}/{sha}.jpg",
        sha,
        rnd.randrange(1_500_000, 9_000_000),
        4000 if landscape else 3000,
        3000 if landscape else 4000,
        iso(ts - rnd.uniform(60, 3 * DAY)),
        "exif",
        stamp,
        stamp,
        "ready",
        placeholders[rnd.randrange(len(placeholders))],
        f"{rnd.getrandbits(64):016x}",
        likes,
        likes // 8,
    )


def verify_rebuild(ctx: Any, g: Graph, rnd: random.Random) -> int:
    """The bulk-built timelines must equal FeedService.rebuild's; returns how many were checked."""
    checked = 0
    for i in rnd.sample(g.active, min(5, len(g.active))):
        uid = g.ids[i]
        before = ctx.db.query("SELECT photo_id, author_id FROM timelines WHERE user_id = ? ORDER BY photo_id", (uid,))
        ctx.feed.rebuild(uid)
        after = ctx.db.query("SELECT photo_id, author_id FROM timelines WHERE user_id = ? ORDER BY photo_id", (uid,))
        if before != after:
            raise SystemExit(f"bulk timeline of {uid} differs from FeedService.rebuild ({len(before)} vs {len(after)})")
        checked += 1
    return checked


# -- measurements -------------------------------------------------------------------------------------
class RenderTimer:
    """Wraps PhotoService.to_api on the instance (no product change) to split home() into SQL and render."""

    def __init__(self, photos: Any) -> None:
        self.photos = photos
        self.original = photos.to_api
        self.last = 0.0
        photos.to_api = self

    def __call__(self, *a: Any, **kw: Any) -> Any:
        start = time.perf_counter()
        out = self.original(*a, **kw)
        self.last = (time.perf_counter() - start) * 1000
        return out


def pull_timeline(ctx: Any, viewer: Any) -> tuple[set[str], list[dict[str, Any]]]:
    """Fan-out on read: the newest 50 posts of everyone followed (and one's own), straight from photos."""
    followees = ctx.follows.followees(viewer.id)
    authors = [*followees, viewer.id]
    ids = [
        r["id"]
        for r in ctx.db.query(
            newest_posts_sql(len(authors)),
            (*authors, PAGE),
        )
    ]
    if not ids:
        return followees, []
    by_id = {r["id"]: r for r in ctx.db.query(f"SELECT * FROM photos WHERE id IN ({','.join('?' * len(ids))})", ids)}
    rows = [by_id[i] for i in ids if i in by_id]
    return followees, [r for r in rows if ctx.access.post_visible(viewer.id, r, followees)]


def newest_posts_sql(authors: int) -> str:
    """The newest posts of some authors in one statement, as a pull-only feed reads them, from the
    covering partial index photos_posts."""
    marks = ",".join("?" * authors)
    return (
        f"SELECT id FROM photos INDEXED BY photos_posts WHERE user_id IN ({marks}) AND {POST_WHERE}"
        " ORDER BY id DESC LIMIT ?"
    )


def mark_seen(ctx: Any, ids: Iterable[str], ts: float) -> None:
    with ctx.db.transaction() as conn:
        conn.executemany("UPDATE users SET last_seen_at = ? WHERE id = ?", ((ts, u) for u in ids))


def new_post(ctx: Any, author_id: str, rnd: random.Random, placeholders: list[str]) -> str:
    photo_id = new_id()
    row = photo_row(photo_id, author_id, time.time(), rnd, placeholders)
    row = (*row[:4], "public", *row[5:])
    ctx.db.execute(f"INSERT INTO photos ({PHOTO_COLS}) VALUES ({','.join('?' * 22)})", row)
    return photo_id


def measure(ctx: Any, g: Graph, args: argparse.Namespace, rnd: random.Random) -> dict[str, Any]:
    feed, db, social = ctx.feed, ctx.db, ctx.settings.social
    render = RenderTimer(ctx.photos)
    out: dict[str, Any] = {}
    placeholders = ["data:image/jpeg;base64," + base64.b64encode(rnd.randbytes(360)).decode()]
    used: set[int] = set()

    def pick(pool: list[int], k: int, reuse: bool = False) -> list[int]:
        """k users of the pool not measured yet (at small sizes, with `reuse`, topped up with measured ones)."""
        free = [i for i in pool if i not in used]
        chosen = rnd.sample(free, min(k, len(free)))
        if reuse and len(chosen) < k:
            chosen += rnd.sample(
                [i for i in pool if i not in set(chosen)], min(k - len(chosen), len(pool) - len(chosen))
            )
        used.update(chosen)
        return chosen

    readers = [i for i in g.active if i not in set(g.celebs)]
    warm = pick(readers, min(200, max(1, len(readers) // 10)))
    sample = pick(readers, args.reads)
    users = {i: ctx.users.get(g.ids[i]) for i in warm + sample}
    mark_seen(ctx, (g.ids[i] for i in warm + sample), time.time())
    for i in warm:  # warm-up: SQLite's page cache, the owner_private cache, code paths
        feed.home(users[i], cursor=None, limit=PAGE)
        ctx.photos.to_api(users[i], pull_timeline(ctx, users[i])[1])

    gc.collect()
    home_ms: list[float] = []
    home_sql_ms: list[float] = []
    pull_sql_ms: list[float] = []
    pull_ms: list[float] = []
    by_group: dict[bool, list[float]] = {True: [], False: []}
    same_page = 0
    steady_ms: list[float] = []  # the machine's own spread, for reading the tails against
    for i in sample:
        viewer = users[i]

        def run_home(viewer: Any = viewer, fan: bool = i in g.celeb_fans) -> list[str]:
            ms, page = timed(lambda: feed.home(viewer, cursor=None, limit=PAGE))
            home_ms.append(ms)
            home_sql_ms.append(ms - render.last)
            by_group[fan].append(ms)
            return [p["photo_id"] for p in page["items"]]

        def run_pull(viewer: Any = viewer) -> list[str]:
            sql_ms, (_, rows) = timed(lambda: pull_timeline(ctx, viewer))
            ms, items = timed(lambda: render.original(viewer, rows))
            pull_sql_ms.append(sql_ms)
            pull_ms.append(sql_ms + ms)
            return [p["photo_id"] for p in items]

        if rnd.random() < 0.5:
            a, b = run_home(), run_pull()
        else:
            b, a = run_pull(), run_home()
        same_page += a == b
        steady_ms.append(timed(steady_task)[0])
    out["steady_task"] = summary(steady_ms)
    out["home"] = summary(home_ms)
    out["home_sql_only"] = summary(home_sql_ms)
    out["pull"] = summary(pull_ms)
    out["pull_sql_only"] = summary(pull_sql_ms)
    out["same_first_page"] = round(same_page / max(1, len(sample)), 4)

    # Celebrity merge: top the minority group up so both have enough readers for a p99.
    want = max(100, args.reads // 4)
    for fan in (True, False):
        short = want - len(by_group[fan])
        if short > 0:
            extra = pick([i for i in readers if (i in g.celeb_fans) == fan], short)
            extra_users = {i: ctx.users.get(g.ids[i]) for i in extra}
            mark_seen(ctx, (g.ids[i] for i in extra), time.time())
            for i in extra:
                viewer = extra_users[i]
                by_group[fan].append(timed(lambda viewer=viewer: feed.home(viewer, cursor=None, limit=PAGE))[0])
    out["home_celebrity_fans"] = summary(by_group[True])
    out["home_no_celebrities"] = summary(by_group[False])
    celeb_part: list[float] = []
    for i in [i for i in sample if i in g.celeb_fans][:500]:
        followees = ctx.follows.followees(g.ids[i])

        def celebrity_pull(followees: set[str] = followees) -> None:
            # One round of home()'s celebrity part: find them among the followees, pull a window
            # (PAGE + 20, as home() reads) of their newest posts.
            celebs = feed._celebrities(followees)
            if celebs:
                feed._posts_of(celebs, None, PAGE + 20)

        celeb_part.append(timed(celebrity_pull)[0])
    out["celebrity_pull_part"] = summary(celeb_part)

    # Readers back after more than inactive_days: home() rebuilds their timeline first.
    back = pick([i for i in g.inactive if i not in set(g.celebs)], 50)
    back_ms, back_rows = [], []
    for i in back:
        viewer = ctx.users.get(g.ids[i])
        back_ms.append(timed(lambda viewer=viewer: feed.home(viewer, cursor=None, limit=PAGE))[0])
        back_rows.append(db.value("SELECT COUNT(*) FROM timelines WHERE user_id = ?", (viewer.id,)))
    out["home_returning_rebuild"] = {**summary(back_ms), "timeline_rows_mean": round(statistics.fmean(back_rows), 1)}
    # The same rebuild as one INSERT ... SELECT (what the build uses), for other returning readers.
    one_ms = []
    for i in pick([i for i in g.inactive if i not in set(g.celebs)], 50):

        def one_statement(uid: str = g.ids[i]) -> None:
            with db.transaction():
                db.execute("DELETE FROM timelines WHERE user_id = ?", (uid,))
                db.execute(
                    REBUILD_SQL, (uid, social.celebrity_followers, social.backfill_posts, social.timeline_length)
                )
                db.execute(
                    "UPDATE users SET timeline_built_at = ?, last_seen_at = ? WHERE id = ?",
                    (time.time(), time.time(), uid),
                )

        one_ms.append(timed(one_statement)[0])
    out["rebuild_one_statement"] = summary(one_ms)
    # Readers last seen more than 5 minutes ago: home() first writes last_seen_at (its own fsync'd commit).
    touch = pick(readers, 200, reuse=True)
    mark_seen(ctx, (g.ids[i] for i in touch), time.time() - 3600)
    touch_ms = []
    for i in touch:
        viewer = ctx.users.get(g.ids[i])
        touch_ms.append(timed(lambda viewer=viewer: feed.home(viewer, cursor=None, limit=PAGE))[0])
    out["home_with_last_seen_write"] = summary(touch_ms)

    # What any write costs here: a one-row commit (synchronous=FULL: an fsync of the WAL).
    commit_ms = []
    for i in rnd.sample(range(len(g.ids)), 50):
        commit_ms.append(timed(lambda i=i: db.execute("UPDATE users SET bio = bio || '' WHERE id = ?", (g.ids[i],)))[0])
    out["one_row_commit"] = summary(commit_ms)

    # Fan-out on write for new posts of normal authors.
    celeb_set = set(g.celebs)
    authors = [i for i in range(len(g.ids)) if i not in celeb_set and 0 < g.followers[i] <= social.celebrity_followers]
    fan_ms, fan_rows, fan_followers = [], [], []
    for i in rnd.sample(authors, min(args.fanout_posts, len(authors))):
        photo_id = new_post(ctx, g.ids[i], rnd, placeholders)
        ms, rows = timed(lambda photo_id=photo_id: feed.fan_out(photo_id))
        fan_ms.append(ms)
        fan_rows.append(rows)
        fan_followers.append(g.followers[i])
    out["fan_out_normal"] = {
        **summary(fan_ms),
        "rows_per_post_mean": round(statistics.fmean(fan_rows), 1),
        "rows_per_post_max": max(fan_rows),
        "followers_mean": round(statistics.fmean(fan_followers), 1),
    }
    top = max(authors, key=lambda i: g.followers[i])
    photo_id = new_post(ctx, g.ids[top], rnd, placeholders)
    ms, rows = timed(lambda: feed.fan_out(photo_id))
    out["fan_out_top_normal_author"] = {"ms": round(ms, 3), "rows": rows, "followers": g.followers[top]}

    # A celebrity's post: skipped at write time ...
    celeb = g.celebs[0]
    author = g.ids[celeb]
    photo_id = new_post(ctx, author, rnd, placeholders)
    ms, rows = timed(lambda: feed.fan_out(photo_id))
    # ... and what writing it to every active follower would cost: fan_out's own statement, committed.
    active_since = time.time() - social.inactive_days * 86400
    insert_sql = (
        "INSERT OR IGNORE INTO timelines (user_id, photo_id, author_id)"
        " SELECT f.follower_id, ?, ? FROM follows f JOIN users u ON u.id = f.follower_id"
        " WHERE f.followee_id = ? AND f.status = 'accepted' AND u.last_seen_at >= ?"
    )

    def write_all() -> int:
        with db.transaction():
            return db.execute(insert_sql, (photo_id, author, author, active_since))

    full_ms, full_rows = timed(write_all)
    with db.transaction():
        db.execute(
            "DELETE FROM timelines WHERE photo_id = ?"
            " AND user_id IN (SELECT follower_id FROM follows WHERE followee_id = ?)",
            (photo_id, author),
        )
    out["celebrity_post"] = {
        "followers": g.followers[celeb],
        "fan_out_ms": round(ms, 3),
        "fan_out_rows": rows,
        "write_to_all_active_ms": round(full_ms, 3),
        "write_to_all_active_rows": full_rows,
    }

    # The hourly trim job over every timeline.
    ms, rows = timed(lambda: feed.trim())
    out["trim_all"] = {
        "ms": round(ms, 1),
        "rows_deleted": rows,
        "timeline_rows": db.value("SELECT COUNT(*) FROM timelines"),
    }
    return out


def explain(ctx: Any, g: Graph) -> None:
    uid = g.ids[g.active[0]]
    few = g.ids[:3]
    social = ctx.settings.social
    queries = {
        "home: timeline page": (
            "SELECT photo_id AS id FROM timelines WHERE user_id = ? ORDER BY photo_id DESC LIMIT ?",
            (uid, 110),
        ),
        "home: celebrity pull (per celebrity)": (NEWEST_POSTS_SQL, (few[0], "g", 70)),
        "home: followees": ("SELECT followee_id FROM follows WHERE follower_id = ? AND status = 'accepted'", (uid,)),
        "pull baseline": (
            newest_posts_sql(3),
            (*few, 50),
        ),
        "fan_out insert": (
            "SELECT f.follower_id FROM follows f JOIN users u ON u.id = f.follower_id"
            " WHERE f.followee_id = ? AND f.status = 'accepted' AND u.last_seen_at >= ?",
            (uid, 0),
        ),
        "trim (all)": (
            "SELECT user_id, photo_id FROM (SELECT user_id, photo_id, ROW_NUMBER() OVER (PARTITION BY"
            " user_id ORDER BY photo_id DESC) AS n FROM timelines) WHERE n > ?",
            (social.timeline_length,),
        ),
    }
    for name, (sql, params) in queries.items():
        plan = ctx.db.query(f"EXPLAIN QUERY PLAN {sql}", params)
        print(f"  {name}: " + " | ".join(r["detail"] for r in plan))


# -- data set snapshot ---------------------------------------------------------------------------------
_SNAPSHOT = "bench-snapshot"
_SHAPE = ("users", "posts", "follows", "celebrities", "celebrity_reach", "active_fraction", "seed")


def save_snapshot(data: Path, db_path: Path, args: argparse.Namespace, g: Graph, build_times: dict[str, float]) -> None:
    """Keep a pristine copy of the freshly built database and the graph beside it: measuring writes
    (new posts, rebuilt timelines, last_seen_at), so every later run starts again from this copy."""
    snap = data / _SNAPSHOT
    snap.mkdir(exist_ok=True)
    shutil.copyfile(db_path, snap / db_path.name)
    shape = {k: getattr(args, k) for k in _SHAPE}
    with (snap / "graph.pickle").open("wb") as f:
        pickle.dump({"shape": shape, "graph": g, "build_times": build_times}, f, protocol=pickle.HIGHEST_PROTOCOL)
    log(f"data set kept in {snap}: later runs with --data-dir {data} and the same sizes reuse it")


def restore_snapshot(data: Path, db_path: Path, args: argparse.Namespace) -> tuple[Graph, dict[str, float]] | None:
    """The graph of a data set built earlier in `data`, its database copied back from the snapshot."""
    meta = data / _SNAPSHOT / "graph.pickle"
    if not meta.exists():
        return None
    with meta.open("rb") as f:
        saved = pickle.load(f)  # our own file, written by save_snapshot
    shape = {k: getattr(args, k) for k in _SHAPE}
    if saved["shape"] != shape:
        raise SystemExit(f"{data} holds a data set built with {saved['shape']}, not {shape}: pass another --data-dir")
    for suffix in ("-wal", "-shm"):
        db_path.with_name(db_path.name + suffix).unlink(missing_ok=True)
    snapshot = data / _SNAPSHOT / db_path.name
    shutil.copyfile(snapshot, db_path)
    settle(snapshot)
    return saved["graph"], saved["build_times"]


def settle(snapshot: Path) -> None:
    """Let the copy of a 10 GB database finish before measuring: write its dirty pages out now (left to
    the kernel they are flushed during the reads, stalling them for tens of ms), and drop the snapshot's
    pages from the cache so they do not push out the working copy's."""
    os.sync()
    fd = os.open(snapshot, os.O_RDONLY)
    try:
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


# -- main ---------------------------------------------------------------------------------------------
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--posts", type=int, default=1_000_000)
    parser.add_argument("--follows", type=int, default=200, help="mean followees per user (besides celebrities)")
    parser.add_argument("--celebrities", type=int, default=3)
    parser.add_argument("--celebrity-reach", type=float, default=0.9, help="share of users following the celebrities")
    parser.add_argument("--active-fraction", type=float, default=0.1)
    parser.add_argument("--reads", type=int, default=2000)
    parser.add_argument("--fanout-posts", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--explain", action="store_true", help="print the query plans of the feed queries")
    parser.add_argument(
        "--data-dir",
        help="build here and keep it with a pristine snapshot; a later run with the same sizes reuses it"
        " (default: a temporary folder)",
    )
    args = parser.parse_args()

    from photoshare.context import build_context
    from photoshare.settings import load_settings

    rnd = random.Random(args.seed)
    wall = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="feed-bench-") as tmp:
        data = Path(args.data_dir) if args.data_dir else Path(tmp) / "data"
        settings = load_settings(None, {}, data_dir=str(data))
        social = settings.social
        if args.users * args.celebrity_reach <= social.celebrity_followers:
            print(
                f"warning: celebrities get ~{args.users * args.celebrity_reach:.0f} followers, not more than "
                f"celebrity_followers={social.celebrity_followers}: they will be fanned out like anyone"
            )
        cached = restore_snapshot(data, settings.db_path, args)
        if cached is not None:
            g, build_times = cached
            rnd.setstate(g.rnd_state)
            log(f"reusing the data set built earlier in {data} (restored from its snapshot)")
        else:
            ctx = build_context(settings, create=True)
            if ctx.db.value("SELECT COUNT(*) FROM users"):
                raise SystemExit(f"{data} already holds an appliance database without a bench snapshot")
            now = time.time()
            log(f"building {args.users} users, {args.posts} posts in {data}")
            g, build_times = build(ctx, args, rnd, now)
            ctx.close()
            if args.data_dir:
                g.rnd_state = rnd.getstate()
                save_snapshot(data, settings.db_path, args, g, build_times)
        gc.collect()
        # Measure with connections exactly as the appliance opens them.
        ctx = build_context(settings)
        gc.freeze()  # the bench's own bookkeeping (id lists, sets) stays out of the collector's way
        checked = verify_rebuild(ctx, g, rnd)
        sizes = {
            "users": args.users,
            "posts": ctx.db.value("SELECT COUNT(*) FROM photos"),
            "follows": ctx.db.value("SELECT COUNT(*) FROM follows"),
            "follows_per_user": round(sum(g.following) / args.users, 1),
            "max_normal_followers": max(g.followers[i] for i in range(args.users) if i not in set(g.celebs)),
            "celebrities": args.celebrities,
            "celebrity_followers": [g.followers[c] for c in g.celebs],
            "active_users": len(g.active),
            "timeline_rows": ctx.db.value("SELECT COUNT(*) FROM timelines"),
            "db_mb": round(settings.db_path.stat().st_size / 1e6),
        }
        build_times["total_s"] = sum(build_times.values())
        print(
            f"built in {build_times['total_s']:.0f} s: "
            + ", ".join(f"{k} {v:.1f}" for k, v in build_times.items() if k != "total_s")
        )
        print("sizes: " + ", ".join(f"{k}={v}" for k, v in sizes.items()) + f"; {checked} timelines match rebuild()")
        if args.explain:
            explain(ctx, g)
        log("measuring")
        res = measure(ctx, g, args, rnd)
        ctx.close()

    print()
    print(f"{'in-process, ms':<44} {'n':>5} {'p50':>8} {'p95':>8} {'p99':>8} {'max':>8}")
    rows = [
        ("home() (fan-out timeline, rendered)", "home"),
        ("  of which SQL + merge (no to_api)", "home_sql_only"),
        ("pull-only baseline (rendered)", "pull"),
        ("  of which SQL (no to_api)", "pull_sql_only"),
        ("home(), readers following celebrities", "home_celebrity_fans"),
        ("home(), readers following none", "home_no_celebrities"),
        ("  celebrity part: _celebrities + pull", "celebrity_pull_part"),
        ("home(), returning user (rebuild)", "home_returning_rebuild"),
        ("  same rebuild as one INSERT...SELECT", "rebuild_one_statement"),
        ("home(), last seen > 5 min (UPDATE)", "home_with_last_seen_write"),
        ("a one-row commit (fsync), for reference", "one_row_commit"),
        ("fan_out(), new post of a normal author", "fan_out_normal"),
        ("a fixed CPU task between reads (the host)", "steady_task"),
    ]
    for label, key in rows:
        r = res[key]
        print(
            f"{label:<44} {r['n']:>5} {r['p50_ms']:>8.2f} {r['p95_ms']:>8.2f} {r['p99_ms']:>8.2f} {r['max_ms']:>8.2f}"
        )
    h, p = res["home"], res["pull"]
    hs, ps = res["home_sql_only"], res["pull_sql_only"]
    print(
        f"home / pull (rendered): p50 {h['p50_ms'] / p['p50_ms']:.2f}x, p99 {h['p99_ms'] / p['p99_ms']:.2f}x;"
        f" SQL only: p50 {hs['p50_ms'] / ps['p50_ms']:.2f}x, p99 {hs['p99_ms'] / ps['p99_ms']:.2f}x;"
        f" same first page {res['same_first_page']:.0%};"
        f" goal home p99 < 5 ms: {'met' if h['p99_ms'] < 5 else 'NOT met'}"
    )
    st = res["steady_task"]
    print(
        f"host noise: a fixed CPU task timed between the reads has p99/p50 = {st['p99_ms'] / st['p50_ms']:.2f}"
        f" in this run; home() has {h['p99_ms'] / h['p50_ms']:.2f}"
    )
    f = res["fan_out_normal"]
    print(
        f"fan-out per normal post: mean {f['mean_ms']:.2f} ms, p99 {f['p99_ms']:.2f} ms, "
        f"{f['rows_per_post_mean']:.1f} timeline rows (max {f['rows_per_post_max']}) for "
        f"{f['followers_mean']:.0f} followers on average"
    )
    t = res["fan_out_top_normal_author"]
    print(f"most-followed normal author ({t['followers']} followers): fan_out {t['ms']:.2f} ms, {t['rows']} rows")
    c = res["celebrity_post"]
    print(
        f"celebrity post ({c['followers']} followers): fan_out {c['fan_out_ms']:.2f} ms ({c['fan_out_rows']} row); "
        f"writing it to all active followers would take {c['write_to_all_active_ms']:.1f} ms "
        f"({c['write_to_all_active_rows']} rows)"
    )
    r = res["home_returning_rebuild"]
    print(
        f"returning user: home() incl. rebuild p50 {r['p50_ms']:.1f} ms, p99 {r['p99_ms']:.1f} ms, "
        f"{r['timeline_rows_mean']:.0f} timeline rows built"
    )
    tr = res["trim_all"]
    print(
        f"trim() of all timelines: {tr['ms'] / 1000:.1f} s over {tr['timeline_rows']} rows,"
        f" {tr['rows_deleted']} deleted"
    )
    print(f"wall time {time.perf_counter() - wall:.0f} s")
    print(json.dumps({"sizes": sizes, "build_s": {k: round(v, 1) for k, v in build_times.items()}, **res}))


if __name__ == "__main__":
    main()
