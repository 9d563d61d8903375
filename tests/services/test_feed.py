"""Follows, home timelines (hybrid fan-out), and the visibility rules of feeds, on the real services.

Jobs run synchronously with `ctx.runner.run_until_idle()` (media and social queues). A post is a
photo with visibility followers or public whose processing is done. A reader counts as active once
they have read their feed (that marks `last_seen_at` and builds their timeline).
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from photoshare.context import AppContext, build_context
from photoshare.errors import InvalidInput, NotFound
from photoshare.photos.service import PhotoMeta
from photoshare.settings import load_settings
from photoshare.users.models import User
from tests.conftest import NO_ML, add_photo

DAY = 86400.0
_seeds = itertools.count(1)


# -- helpers -------------------------------------------------------------------------------------


def add_broken(ctx: AppContext, user: User, *, visibility: str = "public") -> str:
    """A file that claims to be a JPEG but is not: its processing fails."""
    path = ctx.settings.data_path / "tmp" / f"test-broken-{next(_seeds)}.jpg"
    path.write_bytes(b"not a jpeg at all " * 200)
    photo = ctx.uploads.ingest_file(
        user, path, filename="broken.jpg", content_type="image/jpeg", meta=PhotoMeta(visibility=visibility)
    )
    path.unlink()
    ctx.runner.run_until_idle()
    return str(photo["id"])


def feed_ids(ctx: AppContext, viewer: User, *, limit: int | None = None) -> list[str]:
    """Every photo id of the viewer's home feed, following cursors to the end."""
    ids: list[str] = []
    cursor = None
    for _ in range(200):
        page = ctx.feed.home(viewer, cursor=cursor, limit=limit)
        ids += [item["photo_id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            return ids
    raise AssertionError("the feed's cursors never end")


def first_page(ctx: AppContext, viewer: User) -> str:
    """The newest item of the viewer's home feed."""
    return str(ctx.feed.home(viewer, cursor=None, limit=1)["items"][0]["photo_id"])


def activate(ctx: AppContext, *users: User) -> None:
    """Read the feed once: marks the reader active and builds their timeline."""
    for user in users:
        ctx.feed.home(user, cursor=None, limit=1)


def set_last_seen(ctx: AppContext, user: User, days_ago: float) -> None:
    ctx.db.execute("UPDATE users SET last_seen_at = ? WHERE id = ?", (time.time() - days_ago * DAY, user.id))


def timeline(ctx: AppContext, user: User) -> set[str]:
    return {r["photo_id"] for r in ctx.db.query("SELECT photo_id FROM timelines WHERE user_id = ?", (user.id,))}


def counts(ctx: AppContext, user: User) -> tuple[int, int]:
    row = ctx.db.one("SELECT followers_count, following_count FROM users WHERE id = ?", (user.id,))
    assert row is not None
    return row["followers_count"], row["following_count"]


def newest_first(ids: list[str]) -> list[str]:
    return sorted(ids, reverse=True)


def make_private(ctx: AppContext, user: User) -> None:
    ctx.profiles.update_me(user, {"private": True})


@pytest.fixture
def carol(ctx: AppContext) -> User:
    return ctx.users.create("carol", "carol-password")


@pytest.fixture
def dave(ctx: AppContext) -> User:
    return ctx.users.create("dave", "dave-password")


@pytest.fixture
def make_ctx(tmp_path: Path) -> Iterator[Callable[..., AppContext]]:
    """Appliances with custom [social] settings (threshold, timeline length, backfill size)."""
    made: list[AppContext] = []

    def factory(**social: Any) -> AppContext:
        settings = load_settings(
            None,
            NO_ML,
            data_dir=str(tmp_path / f"social-{len(made)}"),
            social=social,
            jobs={"backoff_s": 0.01, "media_workers": 1, "poll_s": 0.05},
        )
        context = build_context(settings, create=True)
        made.append(context)
        return context

    yield factory
    for context in made:
        context.close()


def users(ctx: AppContext, *names: str) -> list[User]:
    return [ctx.users.create(name, f"{name}-password") for name in names]


# == follows and counters ==========================================================================
def test_follow_public_account_is_accepted_and_counts_are_stored(ctx: AppContext, alice: User, bob: User) -> None:
    out = ctx.follows.follow(bob, alice.id)
    assert out == {"user_id": alice.id, "following": True, "status": "accepted"}
    assert counts(ctx, alice) == (1, 0) and counts(ctx, bob) == (0, 1)
    # Following again changes nothing.
    assert ctx.follows.follow(bob, alice.id)["status"] == "accepted"
    assert counts(ctx, alice) == (1, 0) and counts(ctx, bob) == (0, 1)
    assert ctx.profiles.get(bob, alice.id)["follow_status"] == "accepted"

    # The counters are stored: reads return the column as it is, not a COUNT(*) over follows.
    ctx.db.execute("UPDATE users SET followers_count = 100 WHERE id = ?", (alice.id,))
    assert ctx.profiles.get(None, alice.id)["followers_count"] == 100
    assert ctx.profiles.get(bob, alice.id)["followers_count"] == 100
    assert ctx.profiles.search("ali", limit=None)["results"][0]["followers_count"] == 100
    ctx.feed.home(bob, cursor=None, limit=None)
    ctx.runner.run_until_idle()
    assert counts(ctx, alice) == (100, 0)
    # ... and only follow/unfollow move them, by one.
    carol = ctx.users.create("carol", "carol-password")
    ctx.follows.follow(carol, alice.id)
    assert counts(ctx, alice) == (101, 0) and counts(ctx, carol) == (0, 1)
    ctx.follows.unfollow(carol, alice.id)
    assert counts(ctx, alice) == (100, 0) and counts(ctx, carol) == (0, 0)
    ctx.follows.unfollow(carol, alice.id)  # not following any more: nothing to undo
    assert counts(ctx, alice) == (100, 0) and counts(ctx, carol) == (0, 0)


def test_cannot_follow_yourself_or_nobody(ctx: AppContext, alice: User) -> None:
    with pytest.raises(InvalidInput):
        ctx.follows.follow(alice, alice.id)
    with pytest.raises(NotFound):
        ctx.follows.follow(alice, "0" * 32)
    assert counts(ctx, alice) == (0, 0)


def test_follow_backfills_the_followees_recent_posts(make_ctx: Callable[..., AppContext]) -> None:
    ctx = make_ctx(backfill_posts=3)
    alice, bob = users(ctx, "alice", "bob")
    posts = [add_photo(ctx, alice, visibility=v) for v in ("public", "followers", "public", "followers", "public")]
    private = add_photo(ctx, alice, visibility="private")
    activate(ctx, bob)
    assert feed_ids(ctx, bob) == []

    ctx.follows.follow(bob, alice.id)
    ctx.runner.run_until_idle()  # feed.backfill
    expected = newest_first(posts)[:3]
    assert timeline(ctx, bob) == set(expected)
    assert private not in timeline(ctx, bob)
    assert feed_ids(ctx, bob) == expected


def test_private_account_follow_is_pending_until_approved(ctx: AppContext, alice: User, bob: User) -> None:
    make_private(ctx, alice)
    public = add_photo(ctx, alice, visibility="public")
    followers = add_photo(ctx, alice, visibility="followers")
    activate(ctx, bob)

    out = ctx.follows.follow(bob, alice.id)
    assert out == {"user_id": alice.id, "following": False, "status": "pending"}
    ctx.runner.run_until_idle()
    assert counts(ctx, alice) == (0, 0) and counts(ctx, bob) == (0, 0)
    assert feed_ids(ctx, bob) == []
    assert timeline(ctx, bob) == set()
    grid = ctx.feed.profile_posts(bob, alice.id, cursor=None, limit=None)
    assert grid == {"items": [], "next_cursor": None, "private": True}
    for pid in (public, followers):
        assert not ctx.access.can_view(bob, ctx.photo_repo.get(pid))
    assert [r["user_id"] for r in ctx.follows.requests(alice, cursor=None, limit=None)["items"]] == [bob.id]
    assert ctx.profiles.get(bob, alice.id)["follow_status"] == "pending"

    assert ctx.follows.decide(alice, bob.id, approve=True) == {"user_id": bob.id, "status": "accepted"}
    ctx.runner.run_until_idle()
    assert counts(ctx, alice) == (1, 0) and counts(ctx, bob) == (0, 1)
    assert feed_ids(ctx, bob) == newest_first([public, followers])
    assert ctx.follows.requests(alice, cursor=None, limit=None)["items"] == []
    with pytest.raises(NotFound):  # nothing pending any more
        ctx.follows.decide(alice, bob.id, approve=True)
    assert counts(ctx, alice) == (1, 0)


def test_rejected_follow_request_is_removed(ctx: AppContext, alice: User, bob: User) -> None:
    make_private(ctx, alice)
    add_photo(ctx, alice, visibility="followers")
    ctx.follows.follow(bob, alice.id)
    assert ctx.follows.decide(alice, bob.id, approve=False) == {"user_id": bob.id, "status": None}
    ctx.runner.run_until_idle()
    assert ctx.follows.status(bob.id, alice.id) is None
    assert ctx.follows.requests(alice, cursor=None, limit=None)["items"] == []
    assert counts(ctx, alice) == (0, 0) and counts(ctx, bob) == (0, 0)
    assert feed_ids(ctx, bob) == []
    with pytest.raises(NotFound):
        ctx.follows.decide(alice, bob.id, approve=True)
    # Asking again makes a new pending request.
    assert ctx.follows.follow(bob, alice.id)["status"] == "pending"


def test_unfollow_hides_the_author_at_once_and_a_job_removes_the_entries(
    ctx: AppContext, alice: User, bob: User
) -> None:
    activate(ctx, bob)
    ctx.follows.follow(bob, alice.id)
    ctx.runner.run_until_idle()
    theirs = [add_photo(ctx, alice), add_photo(ctx, alice, visibility="followers")]
    mine = add_photo(ctx, bob)
    assert feed_ids(ctx, bob) == newest_first([*theirs, mine])
    assert set(theirs) <= timeline(ctx, bob)

    ctx.follows.unfollow(bob, alice.id)
    assert counts(ctx, alice) == (0, 0) and counts(ctx, bob) == (0, 0)
    assert feed_ids(ctx, bob) == [mine]  # at once, before any job ran
    assert ctx.db.value("SELECT COUNT(*) FROM jobs WHERE name = 'feed.unfollow' AND status = 'queued'") == 1
    ctx.runner.run_until_idle()
    assert timeline(ctx, bob) == {mine}
    assert feed_ids(ctx, bob) == [mine]


def test_follow_again_before_the_cleanup_job_keeps_the_entries(ctx: AppContext, alice: User, bob: User) -> None:
    activate(ctx, bob)
    ctx.follows.follow(bob, alice.id)
    ctx.runner.run_until_idle()
    post = add_photo(ctx, alice)
    ctx.follows.unfollow(bob, alice.id)
    ctx.follows.follow(bob, alice.id)
    ctx.runner.run_until_idle()  # feed.unfollow runs after the follow came back: it must not wipe
    assert post in timeline(ctx, bob)
    assert feed_ids(ctx, bob) == [post]


# == fan-out ======================================================================================
def test_fan_out_runs_as_a_job_when_a_post_becomes_ready(ctx: AppContext, alice: User, bob: User) -> None:
    activate(ctx, bob)
    ctx.follows.follow(bob, alice.id)
    ctx.runner.run_until_idle()
    post = add_photo(ctx, alice, process=False)
    assert post not in timeline(ctx, bob)
    assert ctx.db.value("SELECT COUNT(*) FROM jobs WHERE name = 'feed.fanout'") == 0
    ctx.runner.run_until_idle()
    job = ctx.db.one("SELECT payload, status FROM jobs WHERE name = 'feed.fanout'")
    assert job is not None and post in job["payload"] and job["status"] == "done"
    assert post in timeline(ctx, bob)
    assert post in timeline(ctx, alice)  # the author's own timeline has it too


def test_fan_out_reaches_active_followers_only(
    ctx: AppContext, alice: User, bob: User, carol: User, dave: User
) -> None:
    eve = ctx.users.create("eve", "eve-password")
    for follower in (bob, carol, dave):
        ctx.follows.follow(follower, alice.id)
    activate(ctx, bob, carol, eve)  # dave never read his feed: never active
    ctx.runner.run_until_idle()
    set_last_seen(ctx, carol, days_ago=ctx.settings.social.inactive_days + 5)  # away since

    post = add_photo(ctx, alice, visibility="followers")
    holders = {r["user_id"] for r in ctx.db.query("SELECT user_id FROM timelines WHERE photo_id = ?", (post,))}
    assert holders == {alice.id, bob.id}  # not the inactive carol and dave, not the stranger eve
    assert feed_ids(ctx, bob) == [post]

    # Carol comes back: her timeline is rebuilt and she is active again.
    before = time.time()
    assert feed_ids(ctx, carol) == [post]
    assert post in timeline(ctx, carol)
    assert ctx.db.value("SELECT last_seen_at FROM users WHERE id = ?", (carol.id,)) >= before
    assert ctx.db.value("SELECT timeline_built_at FROM users WHERE id = ?", (carol.id,)) >= before
    # Dave's first read builds his timeline too.
    assert feed_ids(ctx, dave) == [post]
    assert feed_ids(ctx, eve) == []
    # Now active, carol gets the next post by fan-out.
    later = add_photo(ctx, alice)
    assert later in timeline(ctx, carol)


def test_celebrity_posts_are_not_fanned_out_but_merged_at_read_time(make_ctx: Callable[..., AppContext]) -> None:
    ctx = make_ctx(celebrity_followers=2)
    star, erin, bob, carol, dave = users(ctx, "star", "erin", "bob", "carol", "dave")
    activate(ctx, bob, carol, dave)
    for follower in (bob, carol, dave):
        ctx.follows.follow(follower, star.id)  # 3 followers > 2: a celebrity
    ctx.follows.follow(bob, erin.id)
    ctx.runner.run_until_idle()

    s1 = add_photo(ctx, star)
    e1 = add_photo(ctx, erin)
    s2 = add_photo(ctx, star, visibility="followers")
    e2 = add_photo(ctx, erin, visibility="followers")
    s3 = add_photo(ctx, star)
    add_photo(ctx, star, visibility="private")

    fanned = ctx.db.value("SELECT COUNT(*) FROM timelines WHERE author_id = ? AND user_id != ?", (star.id, star.id))
    assert fanned == 0
    assert timeline(ctx, bob) == {e1, e2}
    assert feed_ids(ctx, bob) == [s3, e2, s2, e1, s1]
    assert feed_ids(ctx, bob, limit=2) == [s3, e2, s2, e1, s1]
    assert feed_ids(ctx, carol) == [s3, s2, s1]

    # A new follower gets no backfilled rows, yet sees the celebrity's posts.
    frank = ctx.users.create("frank", "frank-password")
    ctx.follows.follow(frank, star.id)
    ctx.runner.run_until_idle()
    assert timeline(ctx, frank) == set()
    assert feed_ids(ctx, frank) == [s3, s2, s1]
    assert ctx.db.value("SELECT COUNT(*) FROM timelines WHERE author_id = ? AND user_id != ?", (star.id, star.id)) == 0
    assert counts(ctx, star) == (4, 0) and counts(ctx, erin) == (1, 0)


def test_feed_of_only_celebrities_pages_to_the_end(make_ctx: Callable[..., AppContext]) -> None:
    ctx = make_ctx(celebrity_followers=2)
    star, bob, carol, dave = users(ctx, "star", "bob", "carol", "dave")
    for follower in (bob, carol, dave):
        ctx.follows.follow(follower, star.id)
    posts = [add_photo(ctx, star) for _ in range(5)]
    activate(ctx, bob)
    assert feed_ids(ctx, bob) == newest_first(posts)
    assert feed_ids(ctx, bob, limit=2) == newest_first(posts)
    assert feed_ids(ctx, bob, limit=5) == newest_first(posts)


def test_celebrity_merge_does_not_skip_timeline_entries(make_ctx: Callable[..., AppContext]) -> None:
    """A page whose timeline entries were all skipped must not jump past entries it never examined."""
    ctx = make_ctx(celebrity_followers=2)
    star, erin, bob, carol, dave = users(ctx, "star", "erin", "bob", "carol", "dave")
    activate(ctx, bob)
    for follower in (bob, carol, dave):
        ctx.follows.follow(follower, star.id)
    ctx.follows.follow(bob, erin.id)
    ctx.runner.run_until_idle()
    s_old = add_photo(ctx, star)
    e_old = add_photo(ctx, erin)
    hidden = [add_photo(ctx, erin) for _ in range(14)]
    for pid in hidden:
        ctx.photos.delete(erin, pid)
    assert feed_ids(ctx, bob) == [e_old, s_old]
    assert feed_ids(ctx, bob, limit=1) == [e_old, s_old]


def test_kept_celebrity_posts_stay_exact(make_ctx: Callable[..., AppContext], monkeypatch: pytest.MonkeyPatch) -> None:
    """A celebrity's newest posts are kept in memory for every follower's first page: a new post shows at
    once, a deleted one vanishes at once, and pages deeper than what is kept still reach the end."""
    monkeypatch.setattr("photoshare.social.feed._RECENT_KEEP", 22)  # a page of 1 reads a window of 21
    ctx = make_ctx(celebrity_followers=2)
    star, bob, carol, dave = users(ctx, "star", "bob", "carol", "dave")
    activate(ctx, bob)
    for follower in (bob, carol, dave):
        ctx.follows.follow(follower, star.id)
    ctx.runner.run_until_idle()
    posts = [add_photo(ctx, star) for _ in range(25)]
    assert first_page(ctx, bob) == newest_first(posts)[0]  # served from the kept 22
    assert ctx.feed._recent[star.id][1]
    assert feed_ids(ctx, bob, limit=1) == newest_first(posts)  # deeper pages go back to the index

    newer = add_photo(ctx, star)
    assert first_page(ctx, bob) == newer
    ctx.photos.delete(star, newer)
    ctx.photos.delete(star, posts[-1])
    assert first_page(ctx, bob) == posts[-2]
    assert feed_ids(ctx, bob, limit=1) == newest_first(posts[:-1])


def test_posts_stay_in_feeds_when_an_account_drops_below_the_threshold(make_ctx: Callable[..., AppContext]) -> None:
    """Posts made while an account was pulled at read time were never fanned out; once it is a normal
    account again its followers must still see them."""
    ctx = make_ctx(celebrity_followers=2)
    star, bob, carol, dave = users(ctx, "star", "bob", "carol", "dave")
    activate(ctx, bob, carol)
    for follower in (bob, carol, dave):
        ctx.follows.follow(follower, star.id)
    ctx.runner.run_until_idle()
    pulled = [add_photo(ctx, star), add_photo(ctx, star, visibility="followers")]
    assert feed_ids(ctx, bob) == newest_first(pulled)

    ctx.follows.unfollow(dave, star.id)  # 2 followers: fanned out on write from now on
    ctx.runner.run_until_idle()
    later = add_photo(ctx, star)
    assert later in timeline(ctx, bob)
    assert feed_ids(ctx, bob) == newest_first([*pulled, later])
    assert feed_ids(ctx, carol) == newest_first([*pulled, later])


# == visibility rules of the home feed =================================================================
@pytest.fixture
def followed(ctx: AppContext, alice: User, bob: User) -> tuple[User, User]:
    """Bob (active) follows alice."""
    activate(ctx, bob)
    ctx.follows.follow(bob, alice.id)
    ctx.runner.run_until_idle()
    return alice, bob


def test_private_photos_never_appear_in_feeds(ctx: AppContext, followed: tuple[User, User]) -> None:
    alice, bob = followed
    private = add_photo(ctx, alice, visibility="private")
    shared = add_photo(ctx, alice, visibility="shared")
    assert not {private, shared} & timeline(ctx, bob)
    assert feed_ids(ctx, bob) == []
    assert feed_ids(ctx, alice) == []
    set_last_seen(ctx, bob, days_ago=400)  # a rebuilt timeline does not take them either
    assert feed_ids(ctx, bob) == []
    assert not {private, shared} & timeline(ctx, bob)


def test_followers_posts_only_reach_accepted_followers(
    ctx: AppContext, followed: tuple[User, User], carol: User, dave: User
) -> None:
    alice, bob = followed
    activate(ctx, carol, dave)
    ctx.follows.follow(dave, bob.id)  # dave follows bob, not alice
    ctx.runner.run_until_idle()
    post = add_photo(ctx, alice, visibility="followers")
    assert feed_ids(ctx, bob) == [post]
    assert feed_ids(ctx, carol) == []
    assert feed_ids(ctx, dave) == []
    assert ctx.feed.profile_posts(carol, alice.id, cursor=None, limit=None)["items"] == []
    assert ctx.feed.explore(carol, sort="recent", cursor=None, limit=None)["items"] == []


def test_pending_follower_of_private_account_sees_nothing(ctx: AppContext, alice: User, bob: User, carol: User) -> None:
    make_private(ctx, alice)
    activate(ctx, bob, carol)
    ctx.follows.follow(bob, alice.id)
    ctx.follows.decide(alice, bob.id, approve=True)
    ctx.follows.follow(carol, alice.id)  # pending
    ctx.runner.run_until_idle()
    posts = [add_photo(ctx, alice, visibility="public"), add_photo(ctx, alice, visibility="followers")]
    assert feed_ids(ctx, bob) == newest_first(posts)
    assert feed_ids(ctx, carol) == []
    assert not set(posts) & timeline(ctx, carol)


def test_public_posts_of_a_private_account_only_reach_followers(
    ctx: AppContext, followed: tuple[User, User], carol: User
) -> None:
    alice, bob = followed
    post = add_photo(ctx, alice, visibility="public")
    assert [p["photo_id"] for p in ctx.feed.explore(carol, sort="recent", cursor=None, limit=None)["items"]] == [post]
    assert ctx.access.can_view(carol, ctx.photo_repo.get(post))

    make_private(ctx, alice)  # the follower stays; strangers lose the public post at once
    assert feed_ids(ctx, bob) == [post]
    assert ctx.feed.explore(carol, sort="recent", cursor=None, limit=None)["items"] == []
    assert ctx.feed.explore(None, sort="popular", cursor=None, limit=None)["items"] == []
    assert not ctx.access.can_view(carol, ctx.photo_repo.get(post))
    assert ctx.feed.profile_posts(carol, alice.id, cursor=None, limit=None)["private"] is True
    assert ctx.feed.profile_posts(carol, alice.id, cursor=None, limit=None)["items"] == []
    # A stranger who follows now waits for approval and still sees nothing.
    ctx.follows.follow(carol, alice.id)
    ctx.runner.run_until_idle()
    assert feed_ids(ctx, carol) == []


def test_trashed_posts_vanish_at_once(ctx: AppContext, followed: tuple[User, User]) -> None:
    alice, bob = followed
    kept = add_photo(ctx, alice)
    gone = add_photo(ctx, alice, visibility="followers")
    gone_public = add_photo(ctx, alice)
    assert feed_ids(ctx, bob) == newest_first([kept, gone, gone_public])
    ctx.photos.delete(alice, gone)
    ctx.photos.delete(alice, gone_public)
    # No job has run: reads filter them out.
    assert feed_ids(ctx, bob) == [kept]
    assert feed_ids(ctx, alice) == [kept]
    assert [p["photo_id"] for p in ctx.feed.profile_posts(bob, alice.id, cursor=None, limit=None)["items"]] == [kept]
    assert [p["photo_id"] for p in ctx.feed.explore(None, sort="recent", cursor=None, limit=None)["items"]] == [kept]
    assert ctx.profiles.get(bob, alice.id)["posts_count"] == 1
    # Restored from the trash, it is a post again.
    ctx.photos.restore(alice, gone)
    assert feed_ids(ctx, bob) == newest_first([kept, gone])


def test_post_made_private_vanishes_from_followers_feeds(ctx: AppContext, followed: tuple[User, User]) -> None:
    alice, bob = followed
    kept = add_photo(ctx, alice)
    hidden = add_photo(ctx, alice)
    assert feed_ids(ctx, bob) == newest_first([kept, hidden])
    ctx.photos.update(alice, hidden, {"visibility": "private"})
    assert feed_ids(ctx, bob) == [kept]
    assert [p["photo_id"] for p in ctx.feed.profile_posts(bob, alice.id, cursor=None, limit=None)["items"]] == [kept]
    assert [p["photo_id"] for p in ctx.feed.explore(None, sort="recent", cursor=None, limit=None)["items"]] == [kept]
    ctx.runner.run_until_idle()
    assert feed_ids(ctx, bob) == [kept]


def test_post_made_private_leaves_the_owners_home_feed_too(ctx: AppContext, followed: tuple[User, User]) -> None:
    """The home feed shows posts; a photo made private (or shared with chosen people) is no longer one.
    A rebuilt timeline would not hold it, so the owner's feed must not show it either."""
    alice, _ = followed
    activate(ctx, alice)
    kept = add_photo(ctx, alice)
    hidden = add_photo(ctx, alice)
    shared = add_photo(ctx, alice, visibility="followers")
    assert feed_ids(ctx, alice) == newest_first([kept, hidden, shared])
    ctx.photos.update(alice, hidden, {"visibility": "private"})
    ctx.photos.update(alice, shared, {"visibility": "shared"})
    ctx.runner.run_until_idle()
    assert feed_ids(ctx, alice) == [kept]


def test_photos_processing_or_failed_never_appear(ctx: AppContext, followed: tuple[User, User]) -> None:
    alice, bob = followed
    activate(ctx, alice)
    pending = add_photo(ctx, alice, process=False)
    assert ctx.photo_repo.get(pending)["processing_status"] == "processing"
    ctx.feed.fan_out(pending)  # even a premature fan-out must not publish it
    assert feed_ids(ctx, bob) == []
    assert feed_ids(ctx, alice) == []
    assert ctx.feed.profile_posts(bob, alice.id, cursor=None, limit=None)["items"] == []
    assert ctx.feed.profile_posts(alice, alice.id, cursor=None, limit=None)["items"] == []
    assert ctx.feed.explore(None, sort="recent", cursor=None, limit=None)["items"] == []

    failed = add_broken(ctx, alice)
    assert ctx.photo_repo.get(failed)["processing_status"] == "failed"
    assert failed not in timeline(ctx, bob)
    assert failed not in feed_ids(ctx, bob)
    assert failed not in feed_ids(ctx, alice)
    assert failed not in [
        p["photo_id"] for p in ctx.feed.explore(None, sort="recent", cursor=None, limit=None)["items"]
    ]
    assert ctx.profiles.get(bob, alice.id)["posts_count"] == 1  # only the one that finished processing
    assert feed_ids(ctx, bob) == [pending]


def test_failed_celebrity_photo_is_not_pulled(make_ctx: Callable[..., AppContext]) -> None:
    ctx = make_ctx(celebrity_followers=1)
    star, bob, carol = users(ctx, "star", "bob", "carol")
    ctx.follows.follow(bob, star.id)
    ctx.follows.follow(carol, star.id)
    ok = add_photo(ctx, star)
    pending = add_photo(ctx, star, process=False)  # still processing
    assert feed_ids(ctx, bob) == [ok]
    broken = add_broken(ctx, star)  # runs the jobs: the pending one finishes, this one fails
    assert feed_ids(ctx, bob) == newest_first([ok, pending])
    assert broken not in feed_ids(ctx, carol)


def test_post_made_public_from_private_is_fanned_out(ctx: AppContext, followed: tuple[User, User]) -> None:
    alice, bob = followed
    photo = add_photo(ctx, alice, visibility="private")
    assert photo not in timeline(ctx, bob)
    ctx.photos.update(alice, photo, {"visibility": "public"})
    assert ctx.db.value("SELECT COUNT(*) FROM jobs WHERE name = 'feed.fanout' AND status = 'queued'") == 1
    ctx.runner.run_until_idle()
    assert photo in timeline(ctx, bob)
    assert feed_ids(ctx, bob) == [photo]
    assert [p["photo_id"] for p in ctx.feed.explore(None, sort="recent", cursor=None, limit=None)["items"]] == [photo]


# == pagination and trimming =========================================================================
def test_feed_pagination_is_stable_while_posts_arrive(
    ctx: AppContext, followed: tuple[User, User], carol: User
) -> None:
    alice, bob = followed
    ctx.follows.follow(bob, carol.id)
    ctx.runner.run_until_idle()
    authors = [alice, carol, bob]
    posts = [add_photo(ctx, authors[i % 3], visibility=("public", "followers")[i % 2]) for i in range(8)]
    expected = newest_first(posts)

    seen: list[str] = []
    cursor = None
    arrived: list[str] = []
    for _ in range(20):
        page = ctx.feed.home(bob, cursor=cursor, limit=3)
        seen += [item["photo_id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
        arrived += [add_photo(ctx, alice), add_photo(ctx, carol)]  # new posts between page requests
    assert seen == expected
    assert len(set(seen)) == len(seen)
    # A fresh read starts with the new ones.
    assert feed_ids(ctx, bob, limit=4) == newest_first(posts + arrived)


def test_feed_pages_past_entries_that_are_no_longer_visible(ctx: AppContext, followed: tuple[User, User]) -> None:
    """Many entries skipped at read time (trashed here) must not end the feed early."""
    alice, bob = followed
    old = add_photo(ctx, alice)
    trashed = [add_photo(ctx, alice) for _ in range(14)]
    for pid in trashed:
        ctx.photos.delete(alice, pid)
    assert feed_ids(ctx, bob, limit=1) == [old]
    assert feed_ids(ctx, bob, limit=2) == [old]
    assert feed_ids(ctx, bob) == [old]


def test_feed_rejects_bad_cursor_and_limit(ctx: AppContext, bob: User) -> None:
    with pytest.raises(InvalidInput):
        ctx.feed.home(bob, cursor="not-a-cursor", limit=None)
    with pytest.raises(InvalidInput):
        ctx.feed.home(bob, cursor=None, limit=0)
    with pytest.raises(InvalidInput):
        ctx.feed.home(bob, cursor=None, limit=201)


def test_timelines_are_trimmed_to_timeline_length(make_ctx: Callable[..., AppContext]) -> None:
    ctx = make_ctx(timeline_length=3)
    alice, bob = users(ctx, "alice", "bob")
    activate(ctx, bob)
    ctx.follows.follow(bob, alice.id)
    ctx.runner.run_until_idle()
    posts = [add_photo(ctx, alice) for _ in range(5)]
    ctx.jobs.enqueue("feed.trim", {})
    ctx.runner.run_until_idle()
    assert timeline(ctx, bob) == set(newest_first(posts)[:3])
    assert timeline(ctx, alice) == set(newest_first(posts)[:3])
    assert ctx.feed.trim() == 0  # nothing more to trim
    # A rebuilt timeline is trimmed as well.
    set_last_seen(ctx, bob, days_ago=100)
    ctx.db.execute("DELETE FROM timelines WHERE user_id = ?", (bob.id,))
    feed = feed_ids(ctx, bob)
    assert len(timeline(ctx, bob)) == 3
    assert feed == newest_first(posts)[:3]
    # The profile grid keeps everything.
    grid = ctx.feed.profile_posts(bob, alice.id, cursor=None, limit=None)["items"]
    assert [p["photo_id"] for p in grid] == newest_first(posts)


# == likes under load ===================================================================================
def test_like_count_is_exact_under_concurrent_likes(ctx: AppContext, alice: User) -> None:
    post = add_photo(ctx, alice)
    likers = [ctx.users.create(f"liker{i}", "liker-password") for i in range(8)]
    barrier = threading.Barrier(len(likers))
    errors: list[BaseException] = []

    def work(user: User, on: bool) -> None:
        try:
            barrier.wait(10)
            for _ in range(3):  # repeated likes are idempotent
                ctx.engagement.like(user, post, on=on)
        except BaseException as exc:
            errors.append(exc)

    for on, expected in ((True, 8), (False, 0)):
        threads = [threading.Thread(target=work, args=(u, on)) for u in likers]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert not errors
        assert ctx.db.value("SELECT like_count FROM photos WHERE id = ?", (post,)) == expected
        assert ctx.db.value("SELECT COUNT(*) FROM likes WHERE photo_id = ?", (post,)) == expected
        barrier.reset()


def test_follow_counters_stay_exact_under_concurrent_follows(ctx: AppContext, alice: User) -> None:
    fans = [ctx.users.create(f"fan{i}", "fan-password") for i in range(8)]
    barrier = threading.Barrier(len(fans) * 2)
    errors: list[BaseException] = []

    def work(user: User) -> None:
        try:
            barrier.wait(10)
            ctx.follows.follow(user, alice.id)  # each fan follows from two threads at once
            if fans.index(user) % 2:
                ctx.follows.unfollow(user, alice.id)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(u,)) for u in fans for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    actual = ctx.db.value("SELECT COUNT(*) FROM follows WHERE followee_id = ? AND status = 'accepted'", (alice.id,))
    assert counts(ctx, alice) == (actual, 0)
    assert actual == 4
    for fan in fans:
        expected = 1 if ctx.follows.status(fan.id, alice.id) == "accepted" else 0
        assert counts(ctx, fan) == (0, expected)
