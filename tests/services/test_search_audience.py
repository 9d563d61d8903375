"""Who finds what in search when photos are reached through albums and shares: the index carries one
audience token per door, album doors are re-indexed when the album changes, and every hit is still
confirmed by the access module (a stale index never shows a photo)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from photoshare.context import AppContext, build_context
from photoshare.search.index import TextIndex
from photoshare.search.service import audience_tokens
from photoshare.settings import load_settings
from photoshare.users.models import User
from tests.conftest import NO_ML, add_photo, drain


def found(ctx: AppContext, viewer: User | None) -> set[str]:
    """Ids of every photo the viewer's search lists (no text: everything they may find)."""
    result = ctx.search.search(viewer, {"limit": 200})
    return {r["photo_id"] for r in result["results"]}


def indexed_total(ctx: AppContext, viewer: User | None) -> int:
    """What the index itself matches for the viewer, before the access module confirms each hit."""
    return int(ctx.search.search(viewer, {"limit": 200})["total"])


@pytest.fixture
def carol(ctx: AppContext) -> User:
    return ctx.users.create("carol", "carol-password")


@pytest.fixture
def private_photo(ctx: AppContext, alice: User) -> str:
    return add_photo(ctx, alice, visibility="private")


def test_audience_tokens_mirror_the_access_doors() -> None:
    assert audience_tokens("o", "private", False, []) == ["u:o"]
    assert audience_tokens("o", "public", False, []) == ["u:o", "public"]
    assert audience_tokens("o", "followers", False, []) == ["u:o", "followers:o"]
    assert audience_tokens("o", "public", True, []) == ["u:o", "followers:o"]  # private account
    assert audience_tokens("o", "shared", False, [("a1", "o", "public", False), ("a2", "x", "followers", False)]) == [
        "u:o",
        "public",
        "album:a1",
        "followers:x",
        "album:a2",
    ]


def test_photo_in_a_public_album_is_found_by_anyone_until_the_album_closes(
    ctx: AppContext, alice: User, bob: User, private_photo: str
) -> None:
    other = add_photo(ctx, alice, visibility="private")
    album = ctx.albums.create(alice, {"title": "Trip", "visibility": "public", "photo_ids": [private_photo]})
    drain(ctx)
    assert found(ctx, bob) == {private_photo}
    assert found(ctx, None) == {private_photo}
    assert private_photo in found(ctx, alice) and other in found(ctx, alice)

    ctx.albums.update(alice, album["album_id"], {"visibility": "private"})
    assert found(ctx, bob) == set()  # at once: the access module confirms every hit
    drain(ctx)
    assert indexed_total(ctx, bob) == 0  # and the re-indexed document no longer matches


def test_album_shared_with_a_user_is_found_at_once_and_revoking_hides_it(
    ctx: AppContext, alice: User, bob: User, carol: User, private_photo: str
) -> None:
    album = ctx.albums.create(alice, {"title": "Family", "photo_ids": [private_photo]})
    drain(ctx)
    assert found(ctx, bob) == set()
    share = ctx.shares.create(alice, "album", album["album_id"], {"type": "users", "user_ids": [bob.id]})
    assert found(ctx, bob) == {private_photo}  # no re-indexing needed: the album's token is in the document
    assert found(ctx, carol) == set()
    ctx.shares.revoke(alice, share["share_id"])
    assert found(ctx, bob) == set()
    drain(ctx)
    assert indexed_total(ctx, bob) == 0


def test_photos_added_to_a_shared_album_are_found_and_removed_ones_vanish(
    ctx: AppContext, alice: User, bob: User, private_photo: str
) -> None:
    album = ctx.albums.create(alice, {"title": "Family"})
    ctx.shares.create(alice, "album", album["album_id"], {"type": "users", "user_ids": [bob.id]})
    drain(ctx)
    assert found(ctx, bob) == set()
    ctx.albums.add_photos(alice, album["album_id"], [private_photo])
    drain(ctx)
    assert found(ctx, bob) == {private_photo}
    ctx.albums.remove_photos(alice, album["album_id"], [private_photo])
    assert found(ctx, bob) == set()
    drain(ctx)
    assert indexed_total(ctx, bob) == 0


def test_followers_album_reaches_accepted_followers_only(
    ctx: AppContext, alice: User, bob: User, carol: User, private_photo: str
) -> None:
    ctx.follows.follow(carol, alice.id)
    album = ctx.albums.create(alice, {"title": "Friends", "visibility": "followers", "photo_ids": [private_photo]})
    drain(ctx)
    assert found(ctx, carol) == {private_photo}
    assert found(ctx, bob) == set()
    ctx.follows.unfollow(carol, alice.id)
    assert found(ctx, carol) == set()
    ctx.follows.follow(carol, alice.id)
    ctx.albums.delete(alice, album["album_id"])
    assert found(ctx, carol) == set()
    drain(ctx)
    assert indexed_total(ctx, carol) == 0


def test_album_made_public_by_a_public_share_is_found(
    ctx: AppContext, alice: User, bob: User, private_photo: str
) -> None:
    album = ctx.albums.create(alice, {"title": "Open", "photo_ids": [private_photo]})
    share = ctx.shares.create(alice, "album", album["album_id"], {"type": "public"})
    drain(ctx)
    assert found(ctx, bob) == {private_photo}
    ctx.shares.revoke(alice, share["share_id"])
    assert found(ctx, bob) == set()
    drain(ctx)
    assert indexed_total(ctx, bob) == 0


def test_account_going_private_reindexes_its_albums(
    ctx: AppContext, alice: User, bob: User, carol: User, private_photo: str
) -> None:
    ctx.follows.follow(carol, alice.id)
    ctx.albums.create(alice, {"title": "Trip", "visibility": "public", "photo_ids": [private_photo]})
    drain(ctx)
    assert found(ctx, bob) == {private_photo}
    ctx.profiles.update_me(alice, {"private": True})
    assert found(ctx, bob) == set()
    drain(ctx)
    assert indexed_total(ctx, bob) == 0
    assert found(ctx, carol) == {private_photo}  # a public album of a private account: its followers


def test_a_stale_document_never_shows_a_photo(ctx: AppContext, alice: User, bob: User, private_photo: str) -> None:
    doc = ctx.search.document(ctx.photo_repo.get(private_photo))
    assert doc is not None
    ctx.search.index.upsert([{**doc, "audience": ["public"]}])  # as if the index missed a change
    assert indexed_total(ctx, bob) == 1
    assert found(ctx, bob) == set()


def test_batched_documents_equal_single_ones(ctx: AppContext, alice: User, bob: User) -> None:
    ids = [add_photo(ctx, alice, visibility=v) for v in ("public", "private", "followers")]
    ctx.albums.create(alice, {"title": "Mixed", "visibility": "followers", "photo_ids": ids[1:]})
    ctx.photos.delete(alice, ids[2])
    rows = ctx.photo_repo.get_many(ids)
    assert ctx.search.documents(rows) == [ctx.search.document(r) for r in rows]
    assert ctx.search.documents(rows)[2] is None  # trashed: not searchable
    assert ctx.search.rebuild() == 2


def test_an_index_in_an_older_format_is_rebuilt(tmp_path: Path) -> None:
    data = tmp_path / "d"
    ctx = build_context(load_settings(None, NO_ML, data_dir=str(data)), create=True)
    user = ctx.users.create("dora", "dora-password")
    photo = add_photo(ctx, user, visibility="private")
    assert found(ctx, user) == {photo}
    ctx.close()
    marker = data / "index" / "text" / "photoshare-format"
    marker.write_text("1")  # written before audience tokens existed
    assert TextIndex(data / "index" / "text").needs_rebuild
    ctx = build_context(load_settings(None, NO_ML, data_dir=str(data)))
    try:
        assert ctx.search.index.needs_rebuild
        ctx.runner.run_until_idle()  # the rebuild queued at start
        assert found(ctx, user) == {photo}
        assert not ctx.search.index.needs_rebuild
    finally:
        ctx.close()
    assert not TextIndex(data / "index" / "text").needs_rebuild


def test_with_the_job_pool_running_album_changes_reach_search_within_seconds(tmp_path: Path) -> None:
    ctx = build_context(load_settings(None, {}, data_dir=str(tmp_path / "d"), jobs={"poll_s": 0.05}), create=True)
    try:
        alice = ctx.users.create("alice", "alice-password")
        bob = ctx.users.create("bob", "bob-password")
        photo = add_photo(ctx, alice, visibility="private")
        album = ctx.albums.create(alice, {"title": "Later", "visibility": "public"})
        ctx.runner.start()

        def eventually(expected: set[str]) -> set[str]:
            deadline = time.monotonic() + 5.0
            while (seen := found(ctx, bob)) != expected and time.monotonic() < deadline:
                time.sleep(0.05)
            return seen

        ctx.albums.add_photos(alice, album["album_id"], [photo])
        assert eventually({photo}) == {photo}
        ctx.albums.remove_photos(alice, album["album_id"], [photo])
        assert found(ctx, bob) == set()
        assert ctx.runner.wait_idle(10)
        assert indexed_total(ctx, bob) == 0
    finally:
        ctx.close()
