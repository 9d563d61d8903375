"""The social JSON API: people and follows, feeds, profile grids, explore, likes, comments, saves."""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from contextlib import contextmanager
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlsplit

import pytest

import photoshare.ids
from photoshare.context import AppContext
from photoshare.users.models import User
from tests.conftest import add_photo, bearer, make_jpeg

DAY = 86400.0
_seeds = itertools.count(101)


# -- helpers ---------------------------------------------------------------------------------------


@contextmanager
def ids_from_days_ago(monkeypatch: pytest.MonkeyPatch, days: float) -> Iterator[None]:
    """New ids (and so post ages: ids carry their creation time) as if made `days` ago."""
    real = time.time_ns
    with monkeypatch.context() as m:
        m.setattr(photoshare.ids, "_last_ms", 0)
        m.setattr(photoshare.ids, "time", SimpleNamespace(time_ns=lambda: real() - int(days * DAY * 1e9)))
        yield


def error(response: Any, status: int, code: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    err = response.json()["error"]
    assert err["code"] and err["message"]
    if code is not None:
        assert err["code"] == code
    return err


def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def ids_of(body: dict[str, Any], key: str = "items") -> list[str]:
    return [item["photo_id"] for item in body[key]]


def walk(client: Any, url: str, headers: dict[str, str] | None = None, *, limit: int, **query: Any) -> list[Any]:
    """Every item of a cursor-paginated list."""
    items: list[Any] = []
    cursor = None
    for _ in range(100):
        params: dict[str, Any] = {"limit": limit, **query}
        if cursor:
            params["cursor"] = cursor
        body = ok(client.get(url, params=params, headers=headers or {}))
        items += body["items"]
        cursor = body["next_cursor"]
        if not cursor:
            return items
    raise AssertionError("the cursors never end")


def newest_first(ids: list[str]) -> list[str]:
    return sorted(ids, reverse=True)


@pytest.fixture
def carol(ctx: AppContext) -> User:
    return ctx.users.create("carol", "carol-password")


@pytest.fixture
def dave(ctx: AppContext) -> User:
    return ctx.users.create("dave", "dave-password")


# == people and follows ===============================================================================
def test_follow_and_unfollow(ctx: AppContext, client: Any, alice: User, bob: User) -> None:
    hb = bearer(ctx, bob)
    assert ok(client.post(f"/v1/users/{alice.id}/follow", headers=hb)) == {
        "user_id": alice.id,
        "following": True,
        "status": "accepted",
    }
    ok(client.post(f"/v1/users/{alice.id}/follow", headers=hb))  # again: no change
    profile = ok(client.get(f"/v1/users/{alice.id}", headers=hb))
    assert profile["followers_count"] == 1 and profile["following"] is True and profile["follow_status"] == "accepted"
    assert ok(client.get(f"/v1/users/{bob.id}"))["following_count"] == 1
    followers = ok(client.get(f"/v1/users/{alice.id}/followers"))["items"]
    assert [f["user_id"] for f in followers] == [bob.id]
    following = ok(client.get(f"/v1/users/{bob.id}/following"))["items"]
    assert [f["user_id"] for f in following] == [alice.id]

    assert ok(client.delete(f"/v1/users/{alice.id}/follow", headers=hb)) == {
        "user_id": alice.id,
        "following": False,
        "status": None,
    }
    ok(client.delete(f"/v1/users/{alice.id}/follow", headers=hb))
    profile = ok(client.get(f"/v1/users/{alice.id}", headers=hb))
    assert profile["followers_count"] == 0 and profile["following"] is False and profile["follow_status"] is None
    assert ok(client.get(f"/v1/users/{bob.id}"))["following_count"] == 0
    row = ctx.db.one("SELECT followers_count, following_count FROM users WHERE id = ?", (alice.id,))
    assert row == {"followers_count": 0, "following_count": 0}

    error(client.post(f"/v1/users/{alice.id}/follow"), 401)
    error(client.post(f"/v1/users/{'0' * 32}/follow", headers=hb), 404)
    error(client.post(f"/v1/users/{bob.id}/follow", headers=hb), 400)


def test_private_account_requests_approval(ctx: AppContext, client: Any, alice: User, bob: User, carol: User) -> None:
    ha, hb, hc = bearer(ctx, alice), bearer(ctx, bob), bearer(ctx, carol)
    assert ok(client.patch("/v1/users/me", json={"private": True}, headers=ha))["private"] is True
    public = add_photo(ctx, alice, visibility="public")
    followers = add_photo(ctx, alice, visibility="followers")

    assert ok(client.post(f"/v1/users/{alice.id}/follow", headers=hb)) == {
        "user_id": alice.id,
        "following": False,
        "status": "pending",
    }
    ctx.runner.run_until_idle()
    assert ok(client.get(f"/v1/users/{alice.id}", headers=hb))["follow_status"] == "pending"
    assert ok(client.get(f"/v1/users/{alice.id}", headers=hb))["followers_count"] == 0
    assert ok(client.get("/v1/feed", headers=hb))["items"] == []
    assert ok(client.get(f"/v1/users/{alice.id}/posts", headers=hb)) == {
        "items": [],
        "next_cursor": None,
        "private": True,
    }
    for pid in (public, followers):
        error(client.get(f"/v1/photos/{pid}", headers=hb), 404)
    requests = ok(client.get("/v1/follow-requests", headers=ha))["items"]
    assert [(r["user_id"], r["username"]) for r in requests] == [(bob.id, "bob")]
    error(client.get("/v1/follow-requests"), 401)

    # Only alice can approve her requests.
    error(client.post(f"/v1/follow-requests/{bob.id}/approve", headers=hc), 404)
    assert ok(client.post(f"/v1/follow-requests/{bob.id}/approve", headers=ha)) == {
        "user_id": bob.id,
        "status": "accepted",
    }
    ctx.runner.run_until_idle()
    assert ids_of(ok(client.get("/v1/feed", headers=hb))) == newest_first([public, followers])
    assert ok(client.get(f"/v1/users/{alice.id}", headers=hb))["followers_count"] == 1
    assert ok(client.get(f"/v1/users/{alice.id}", headers=hb))["follow_status"] == "accepted"
    ok(client.get(f"/v1/photos/{followers}", headers=hb))
    error(client.post(f"/v1/follow-requests/{bob.id}/approve", headers=ha), 404)

    # Carol asks and is turned down: the request is gone and she sees nothing.
    assert ok(client.post(f"/v1/users/{alice.id}/follow", headers=hc))["status"] == "pending"
    assert ok(client.delete(f"/v1/follow-requests/{carol.id}", headers=ha)) == {"user_id": carol.id, "status": None}
    ctx.runner.run_until_idle()
    assert ok(client.get("/v1/follow-requests", headers=ha))["items"] == []
    assert ok(client.get(f"/v1/users/{alice.id}", headers=hc))["follow_status"] is None
    assert ok(client.get(f"/v1/users/{alice.id}", headers=hc))["followers_count"] == 1
    assert ok(client.get("/v1/feed", headers=hc))["items"] == []
    error(client.delete(f"/v1/follow-requests/{carol.id}", headers=ha), 404)


def test_profile_fields_and_follow_status(ctx: AppContext, client: Any, alice: User, bob: User) -> None:
    ha, hb = bearer(ctx, alice), bearer(ctx, bob)
    ok(client.patch("/v1/users/me", json={"display_name": "Alice A", "bio": "Photos of #cats"}, headers=ha))
    add_photo(ctx, alice)
    add_photo(ctx, alice, visibility="followers")
    add_photo(ctx, alice, visibility="private")
    add_photo(ctx, alice, process=False)
    anonymous = ok(client.get(f"/v1/users/{alice.id}"))
    assert anonymous == {
        "user_id": alice.id,
        "username": "alice",
        "display_name": "Alice A",
        "bio": "Photos of #cats",
        "private": False,
        "followers_count": 0,
        "following_count": 0,
        "posts_count": 2,
        "following": False,
        "follow_status": None,
    }
    assert ok(client.get(f"/v1/users/{bob.id}"))["display_name"] == "bob"  # falls back to the username
    ok(client.post(f"/v1/users/{alice.id}/follow", headers=hb))
    seen_by_bob = ok(client.get(f"/v1/users/{alice.id}", headers=hb))
    assert seen_by_bob["following"] is True and seen_by_bob["follow_status"] == "accepted"
    assert seen_by_bob["followers_count"] == 1
    error(client.get(f"/v1/users/{'0' * 32}"), 404)


def test_patch_me_validates(ctx: AppContext, client: Any, alice: User) -> None:
    ha = bearer(ctx, alice)
    for body in (
        {"display_name": "x" * 101},
        {"display_name": 5},
        {"bio": "x" * 1001},
        {"bio": None},
        {"private": "yes"},
        {"private": 1},
        {"username": "mallory"},
        {"is_admin": True},
    ):
        error(client.patch("/v1/users/me", json=body, headers=ha), 400)
    error(client.patch("/v1/users/me", json={"bio": "hi"}), 401)
    out = ok(client.patch("/v1/users/me", json={"display_name": "  Alice  ", "bio": "x" * 1000}, headers=ha))
    assert out["display_name"] == "Alice" and out["bio"] == "x" * 1000 and out["private"] is False
    assert ok(client.patch("/v1/users/me", json={"private": True}, headers=ha))["private"] is True
    assert ok(client.patch("/v1/users/me", json={"private": False}, headers=ha))["private"] is False
    row = ctx.db.one("SELECT display_name, private, is_admin, username FROM users WHERE id = ?", (alice.id,))
    assert row == {"display_name": "Alice", "private": 0, "is_admin": 1, "username": "alice"}


def test_search_users_by_prefix_ordered_by_followers(ctx: AppContext, client: Any) -> None:
    alan, albert, alice, kalim, bob, carl = (
        ctx.users.create(n, f"{n}-password") for n in ("alan", "albert", "alice", "kalim", "bob", "carl")
    )
    for follower in (bob, carl, kalim):
        ctx.follows.follow(follower, albert.id)
    for follower in (bob, carl):
        ctx.follows.follow(follower, alice.id)
    ctx.follows.follow(bob, alan.id)
    results = ok(client.get("/v1/search/users", params={"q": "al"}))["results"]
    assert results == [
        {"user_id": albert.id, "username": "albert", "display_name": "albert", "followers_count": 3},
        {"user_id": alice.id, "username": "alice", "display_name": "alice", "followers_count": 2},
        {"user_id": alan.id, "username": "alan", "display_name": "alan", "followers_count": 1},
    ]
    assert [r["username"] for r in ok(client.get("/v1/search/users", params={"q": "AL"}))["results"]] == [
        "albert",
        "alice",
        "alan",
    ]
    assert ok(client.get("/v1/search/users", params={"q": "_l"}))["results"] == []  # no wildcards
    assert ok(client.get("/v1/search/users", params={"q": "%"}))["results"] == []
    assert [r["username"] for r in ok(client.get("/v1/search/users", params={"q": "ka"}))["results"]] == ["kalim"]
    error(client.get("/v1/search/users", params={"q": ""}), 400)
    error(client.get("/v1/search/users"), 400)


def test_get_users_me_is_the_signed_in_users_profile(ctx: AppContext, client: Any, alice: User) -> None:
    """The profile handler maps the id "me" to the signed-in user; GET /v1/users/me must reach it."""
    ha = bearer(ctx, alice)
    me = ok(client.get("/v1/users/me", headers=ha))
    assert me == ok(client.get(f"/v1/users/{alice.id}", headers=ha))
    assert me["user_id"] == alice.id and me["username"] == "alice" and me["follow_status"] is None


# == the home feed over HTTP =========================================================================
def test_feed_over_http(ctx: AppContext, client: Any, alice: User, bob: User, carol: User) -> None:
    hb = bearer(ctx, bob)
    assert ok(client.get("/v1/feed", headers=hb)) == {"items": [], "next_cursor": None}  # bob is active now
    ok(client.post(f"/v1/users/{alice.id}/follow", headers=hb))
    ok(client.post(f"/v1/users/{carol.id}/follow", headers=hb))
    ctx.runner.run_until_idle()
    posts = [add_photo(ctx, user) for user in (alice, carol, alice, carol, bob)]
    add_photo(ctx, alice, visibility="private")
    items = walk(client, "/v1/feed", hb, limit=2)
    assert [i["photo_id"] for i in items] == newest_first(posts)
    first = items[0]
    assert first["status"] == "ready" and first["urls"]["thumb"] and "like_count" in first
    error(client.get("/v1/feed"), 401)
    error(client.get("/v1/feed", params={"limit": 0}, headers=hb), 400)
    error(client.get("/v1/feed", params={"limit": 201}, headers=hb), 400)
    error(client.get("/v1/feed", params={"cursor": "%%%"}, headers=hb), 400)
    error(client.get("/v1/feed", params={"cursor": "bm90LWFuLWlk"}, headers=hb), 400)


def test_post_created_through_the_api_reaches_followers(ctx: AppContext, client: Any, alice: User, bob: User) -> None:
    ha, hb = bearer(ctx, alice), bearer(ctx, bob)
    ok(client.get("/v1/feed", headers=hb))
    ok(client.post(f"/v1/users/{alice.id}/follow", headers=hb))
    data = make_jpeg(300, 200, seed=77)
    media = ok(
        client.post(
            "/v1/uploads", json={"filename": "p.jpg", "content_type": "image/jpeg", "size_bytes": len(data)}, headers=ha
        )
    )
    url = urlsplit(media["presigned_url"])
    put = client.put(f"{url.path}?{url.query}", content=data, headers=media["headers"])
    assert put.status_code == 200, put.text
    created = ok(client.post("/v1/posts", json={"media_id": media["media_id"], "caption": "hello"}, headers=ha), 201)
    post_id = created["post_id"]
    assert created["status"] == "processing"
    assert ok(client.get("/v1/feed", headers=hb))["items"] == []  # not ready yet
    ctx.runner.run_until_idle()
    assert post_id in {
        r["photo_id"] for r in ctx.db.query("SELECT photo_id FROM timelines WHERE user_id = ?", (bob.id,))
    }
    assert ids_of(ok(client.get("/v1/feed", headers=hb))) == [post_id]


def test_inactive_follower_gets_a_rebuilt_timeline_on_return(
    ctx: AppContext, client: Any, alice: User, bob: User
) -> None:
    hb = bearer(ctx, bob)
    ok(client.get("/v1/feed", headers=hb))
    ok(client.post(f"/v1/users/{alice.id}/follow", headers=hb))
    ctx.runner.run_until_idle()
    away = time.time() - (ctx.settings.social.inactive_days + 1) * DAY
    ctx.db.execute("UPDATE users SET last_seen_at = ? WHERE id = ?", (away, bob.id))
    posts = [add_photo(ctx, alice), add_photo(ctx, alice, visibility="followers")]
    rows = ctx.db.value("SELECT COUNT(*) FROM timelines WHERE user_id = ?", (bob.id,))
    assert rows == 0  # skipped by fan-out while away
    assert ids_of(ok(client.get("/v1/feed", headers=hb))) == newest_first(posts)
    rows = ctx.db.value("SELECT COUNT(*) FROM timelines WHERE user_id = ?", (bob.id,))
    assert rows == 2
    assert ctx.db.value("SELECT last_seen_at FROM users WHERE id = ?", (bob.id,)) > away + DAY


# == profile grids ================================================================================
def test_profile_grid_rules(ctx: AppContext, client: Any, alice: User, bob: User, carol: User) -> None:
    ha, hb, hc = bearer(ctx, alice), bearer(ctx, bob), bearer(ctx, carol)
    ok(client.post(f"/v1/users/{alice.id}/follow", headers=hb))
    public = add_photo(ctx, alice, visibility="public")
    followers = add_photo(ctx, alice, visibility="followers")
    add_photo(ctx, alice, visibility="private")
    add_photo(ctx, alice, visibility="shared")
    trashed = add_photo(ctx, alice)
    ok(client.delete(f"/v1/photos/{trashed}", headers=ha))
    add_photo(ctx, alice, process=False)
    url = f"/v1/users/{alice.id}/posts"

    for headers in (ha, hb):  # owner, follower
        body = ok(client.get(url, headers=headers))
        assert ids_of(body) == [followers, public] and body["private"] is False and body["next_cursor"] is None
    for headers in (hc, {}):  # stranger, anonymous
        body = ok(client.get(url, headers=headers))
        assert ids_of(body) == [public] and body["private"] is False
    assert [i["photo_id"] for i in walk(client, url, ha, limit=1)] == [followers, public]
    error(client.get(url, params={"limit": 0}), 400)
    error(client.get(url, params={"cursor": "nope"}), 400)
    error(client.get(f"/v1/users/{'0' * 32}/posts"), 404)

    ok(client.patch("/v1/users/me", json={"private": True}, headers=ha))
    for headers in (hc, {}):
        assert ok(client.get(url, headers=headers)) == {"items": [], "next_cursor": None, "private": True}
    for headers in (ha, hb):
        body = ok(client.get(url, headers=headers))
        assert ids_of(body) == [followers, public] and body["private"] is True


# == explore =========================================================================================
def test_explore_recent(ctx: AppContext, client: Any, alice: User, bob: User, carol: User) -> None:
    hb = bearer(ctx, bob)
    ok(client.patch("/v1/users/me", json={"private": True}, headers=hb))
    ok(client.post(f"/v1/users/{alice.id}/follow", headers=hb))
    expected = [add_photo(ctx, alice)]
    add_photo(ctx, alice, visibility="followers")
    add_photo(ctx, alice, visibility="private")
    add_photo(ctx, bob)  # public, but bob's account is private
    expected.append(add_photo(ctx, carol))
    trashed = add_photo(ctx, carol)
    ctx.photos.delete(carol, trashed)
    expected.append(add_photo(ctx, carol))
    add_photo(ctx, carol, process=False)  # still processing
    expected = newest_first(expected)

    for headers in ({}, hb, bearer(ctx, alice)):
        assert ids_of(ok(client.get("/v1/explore", headers=headers))) == expected
        assert ids_of(ok(client.get("/v1/explore", params={"sort": "recent"}, headers=headers))) == expected
    assert [i["photo_id"] for i in walk(client, "/v1/explore", limit=2)] == expected
    page = ok(client.get("/v1/explore", params={"limit": 1}))
    assert ids_of(page) == expected[:1] and page["next_cursor"]
    error(client.get("/v1/explore", params={"cursor": "zz"}), 400)
    error(client.get("/v1/explore", params={"limit": 500}), 400)


def test_explore_popular(
    ctx: AppContext, client: Any, alice: User, bob: User, carol: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    likers = [ctx.users.create(f"fan{i}", "fan-password") for i in range(5)]
    with ids_from_days_ago(monkeypatch, 8):
        last_week = add_photo(ctx, alice, process=False)
    with ids_from_days_ago(monkeypatch, 3):
        old = add_photo(ctx, alice, process=False)
    ctx.runner.run_until_idle()
    engaged = add_photo(ctx, carol)  # recent, with a like and a comment
    quiet = add_photo(ctx, carol)  # newer still, no engagement
    for fan in likers:
        ctx.engagement.like(fan, last_week, on=True)
    for fan in likers[:3]:
        ctx.engagement.like(fan, old, on=True)
    ctx.engagement.like(likers[0], engaged, on=True)
    ctx.engagement.comment(bob, engaged, "nice")

    popular = ok(client.get("/v1/explore", params={"sort": "popular"}))
    assert ids_of(popular) == [engaged, quiet, old]  # last week's is out of the window
    assert popular["items"][0]["like_count"] == 1 and popular["items"][0]["comment_count"] == 1
    assert [i["photo_id"] for i in walk(client, "/v1/explore", limit=1, sort="popular")] == [engaged, quiet, old]
    recent = ok(client.get("/v1/explore", params={"sort": "recent"}))
    assert ids_of(recent) == [quiet, engaged, old, last_week]
    error(client.get("/v1/explore", params={"sort": "bad"}), 400)
    error(client.get("/v1/explore", params={"sort": "popular", "cursor": "x"}), 400)


# == likes ==========================================================================================
def test_like_and_unlike_are_idempotent(ctx: AppContext, client: Any, alice: User, bob: User, carol: User) -> None:
    ha, hb, hc = bearer(ctx, alice), bearer(ctx, bob), bearer(ctx, carol)
    post = add_photo(ctx, alice)
    for _ in range(2):
        assert ok(client.post(f"/v1/photos/{post}/like", headers=hb)) == {
            "photo_id": post,
            "liked": True,
            "like_count": 1,
        }
    ok(client.post(f"/v1/photos/{post}/like", headers=ha))  # owners may like their own
    photo = ok(client.get(f"/v1/photos/{post}", headers=hb))
    assert photo["like_count"] == 2 and photo["liked_by_me"] is True and photo["saved_by_me"] is False
    assert ok(client.get(f"/v1/photos/{post}", headers=hc))["liked_by_me"] is False
    assert ok(client.get(f"/v1/photos/{post}"))["liked_by_me"] is False
    for _ in range(2):
        assert ok(client.delete(f"/v1/photos/{post}/like", headers=hb)) == {
            "photo_id": post,
            "liked": False,
            "like_count": 1,
        }
    assert ok(client.get(f"/v1/photos/{post}", headers=hb))["liked_by_me"] is False
    assert ctx.db.value("SELECT like_count FROM photos WHERE id = ?", (post,)) == 1
    error(client.post(f"/v1/photos/{post}/like"), 401)


def test_cannot_like_what_you_cannot_see(ctx: AppContext, client: Any, alice: User, bob: User) -> None:
    ha, hb = bearer(ctx, alice), bearer(ctx, bob)
    private = add_photo(ctx, alice, visibility="private")
    followers = add_photo(ctx, alice, visibility="followers")
    processing = add_photo(ctx, alice, process=False)
    for pid in (private, followers, processing, "0" * 32):
        error(client.post(f"/v1/photos/{pid}/like", headers=hb), 404)
        error(client.delete(f"/v1/photos/{pid}/like", headers=hb), 404)
    public = add_photo(ctx, alice)
    ok(client.delete(f"/v1/photos/{public}", headers=ha))
    error(client.post(f"/v1/photos/{public}/like", headers=hb), 404)
    error(client.post(f"/v1/photos/{public}/like", headers=ha), 404)  # trashed: not even the owner
    assert ctx.db.value("SELECT COUNT(*) FROM likes") == 0
    assert ctx.db.value("SELECT SUM(like_count) FROM photos") == 0


# == comments ======================================================================================
def test_comment_validation(ctx: AppContext, client: Any, alice: User, bob: User) -> None:
    hb = bearer(ctx, bob)
    post = add_photo(ctx, alice)
    url = f"/v1/photos/{post}/comments"
    for body in ({"body": ""}, {"body": "   \n"}, {}, {"body": 5}, {"body": "x" * 2001}):
        error(client.post(url, json=body, headers=hb), 400)
    error(client.post(url, json={"body": "hi"}), 401)
    created = ok(client.post(url, json={"body": "x" * 2000}, headers=hb), 201)
    assert created["body"] == "x" * 2000 and created["user_id"] == bob.id and created["username"] == "bob"
    trimmed = ok(client.post(url, json={"body": "  nice shot  "}, headers=hb), 201)
    assert trimmed["body"] == "nice shot"
    assert ok(client.get(f"/v1/photos/{post}"))["comment_count"] == 2


def test_comments_list_newest_first_with_pagination(
    ctx: AppContext, client: Any, alice: User, bob: User, carol: User
) -> None:
    hb, hc = bearer(ctx, bob), bearer(ctx, carol)
    post = add_photo(ctx, alice)
    url = f"/v1/photos/{post}/comments"
    made = [ok(client.post(url, json={"body": f"comment {i}"}, headers=(hb, hc)[i % 2]), 201) for i in range(5)]
    expected = [c["comment_id"] for c in reversed(made)]
    first = ok(client.get(url, params={"limit": 2}))
    assert [c["comment_id"] for c in first["items"]] == expected[:2]
    assert first["items"][0] == {
        "comment_id": made[4]["comment_id"],
        "photo_id": post,
        "user_id": bob.id,
        "username": "bob",
        "body": "comment 4",
        "created_at": made[4]["created_at"],
    }
    assert [c["comment_id"] for c in walk(client, url, limit=2)] == expected
    assert [c["comment_id"] for c in ok(client.get(url))["items"]] == expected
    error(client.get(url, params={"limit": 0}), 400)
    error(client.get(url, params={"cursor": "bad!"}), 400)


def test_comment_deletion_rules(ctx: AppContext, client: Any, alice: User, bob: User, carol: User, dave: User) -> None:
    ha, hb, hc, hd = (bearer(ctx, u) for u in (alice, bob, carol, dave))
    post = add_photo(ctx, alice)
    url = f"/v1/photos/{post}/comments"
    by_bob = ok(client.post(url, json={"body": "from bob"}, headers=hb), 201)["comment_id"]
    by_carol = ok(client.post(url, json={"body": "from carol"}, headers=hc), 201)["comment_id"]
    by_alice = ok(client.post(url, json={"body": "from alice"}, headers=ha), 201)["comment_id"]
    assert ok(client.get(f"/v1/photos/{post}"))["comment_count"] == 3

    error(client.delete(f"/v1/comments/{by_bob}", headers=hd), 403)  # dave sees the photo, owns neither
    error(client.delete(f"/v1/comments/{by_alice}", headers=hb), 403)  # not even on comments of the owner
    error(client.delete(f"/v1/comments/{by_bob}"), 401)
    assert ok(client.delete(f"/v1/comments/{by_bob}", headers=hb)) == {"comment_id": by_bob, "deleted": True}
    assert ok(client.delete(f"/v1/comments/{by_carol}", headers=ha)) == {"comment_id": by_carol, "deleted": True}
    error(client.delete(f"/v1/comments/{by_carol}", headers=ha), 404)  # already gone
    remaining = [c["comment_id"] for c in ok(client.get(url))["items"]]
    assert remaining == [by_alice]
    assert ok(client.get(f"/v1/photos/{post}"))["comment_count"] == 1
    assert ctx.db.value("SELECT comment_count FROM photos WHERE id = ?", (post,)) == 1

    # On a photo dave cannot see, his attempt is a 404 (its comments are not even confirmed to exist).
    ok(client.post(f"/v1/users/{alice.id}/follow", headers=hb))
    hidden = add_photo(ctx, alice, visibility="followers")
    on_hidden = ok(client.post(f"/v1/photos/{hidden}/comments", json={"body": "hi"}, headers=hb), 201)["comment_id"]
    error(client.delete(f"/v1/comments/{on_hidden}", headers=hd), 404)
    error(client.get(f"/v1/photos/{hidden}/comments", headers=hd), 404)
    error(client.get(f"/v1/photos/{hidden}/comments"), 404)
    error(client.post(f"/v1/photos/{hidden}/comments", json={"body": "hi"}, headers=hd), 404)
    assert ok(client.get(f"/v1/photos/{hidden}", headers=ha))["comment_count"] == 1
    assert ok(client.delete(f"/v1/comments/{on_hidden}", headers=ha))["deleted"] is True
    assert ok(client.get(f"/v1/photos/{hidden}", headers=ha))["comment_count"] == 0
    error(client.delete(f"/v1/comments/{'0' * 32}", headers=ha), 404)


# == saves ===========================================================================================
def test_saves_list_only_what_the_viewer_can_still_see(
    ctx: AppContext, client: Any, alice: User, bob: User, carol: User
) -> None:
    ha, hb = bearer(ctx, alice), bearer(ctx, bob)
    ok(client.post(f"/v1/users/{alice.id}/follow", headers=hb))
    public = add_photo(ctx, alice)
    followers = add_photo(ctx, alice, visibility="followers")
    trashed = add_photo(ctx, carol)
    made_private = add_photo(ctx, carol)
    own = add_photo(ctx, bob, visibility="private")
    unsaved = add_photo(ctx, carol)
    for pid in (public, followers, trashed, made_private, own, unsaved):
        assert ok(client.post(f"/v1/photos/{pid}/save", headers=hb)) == {"photo_id": pid, "saved": True}
    ok(client.post(f"/v1/photos/{public}/save", headers=hb))  # twice: still one save
    assert ok(client.get(f"/v1/photos/{public}", headers=hb))["saved_by_me"] is True
    assert ok(client.get(f"/v1/photos/{public}", headers=ha))["saved_by_me"] is False
    assert ok(client.delete(f"/v1/photos/{unsaved}/save", headers=hb)) == {"photo_id": unsaved, "saved": False}
    ok(client.delete(f"/v1/photos/{unsaved}/save", headers=hb))
    assert ok(client.get(f"/v1/photos/{unsaved}", headers=hb))["saved_by_me"] is False
    saved = walk(client, "/v1/saved", hb, limit=2)
    assert [p["photo_id"] for p in saved] == [own, made_private, trashed, followers, public]

    ctx.photos.delete(carol, trashed)
    ctx.photos.update(carol, made_private, {"visibility": "private"})
    ok(client.delete(f"/v1/users/{alice.id}/follow", headers=hb))
    assert [p["photo_id"] for p in walk(client, "/v1/saved", hb, limit=2)] == [own, public]
    assert [p["photo_id"] for p in ok(client.get("/v1/saved", headers=hb))["items"]] == [own, public]
    assert ok(client.get("/v1/saved", headers=ha))["items"] == []

    for pid in (followers, made_private, "0" * 32):
        error(client.post(f"/v1/photos/{pid}/save", headers=hb), 404)
    error(client.post(f"/v1/photos/{public}/save"), 401)
    error(client.get("/v1/saved"), 401)
