"""The JSON endpoints behind the web UI's settings and admin pages, the taken-date library order, and
the server side of the pages (fragments for infinite scroll, safe redirects after sign-in)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.conftest import add_photo, bearer


def _login(client: Any, username: str, password: str) -> dict[str, str]:
    r = client.post("/v1/auth/login", json={"username": username, "password": password})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['token']}"}


# -- admin -------------------------------------------------------------------------------------------
def test_admin_endpoints_need_an_administrator(client: Any, ctx: Any, alice: Any, bob: Any) -> None:
    for method, path in [("GET", "/v1/admin/users"), ("GET", "/v1/admin/jobs"), ("GET", "/v1/admin/storage")]:
        assert client.request(method, path).status_code == 401
        assert client.request(method, path, headers=bearer(ctx, bob)).status_code == 403
        assert client.request(method, path, headers=bearer(ctx, alice)).status_code == 200
    r = client.post("/v1/admin/users", json={"username": "eve", "password": "eve-password"}, headers=bearer(ctx, bob))
    assert r.status_code == 403
    assert ctx.users.repo.by_username("eve") is None


def test_admin_lists_users_with_their_storage_and_adds_and_disables(
    client: Any, ctx: Any, alice: Any, bob: Any
) -> None:
    admin = bearer(ctx, alice)
    add_photo(ctx, bob)
    users = {u["username"]: u for u in client.get("/v1/admin/users", headers=admin).json()["items"]}
    assert users["bob"]["photos"] == 1 and users["alice"]["photos"] == 0
    row = ctx.db.one("SELECT p.file_size_bytes FROM photos p WHERE p.user_id = ?", (bob.id,))
    variants = ctx.db.value(
        "SELECT SUM(size_bytes) FROM photo_variants v JOIN photos p ON p.id = v.photo_id WHERE p.user_id = ?", (bob.id,)
    )
    assert variants > 0 and users["bob"]["bytes"] == row["file_size_bytes"] + variants

    storage = client.get("/v1/admin/storage", headers=admin).json()
    assert storage["photos"] == 1 and storage["bytes"] == users["bob"]["bytes"] and storage["backend"] == "local"
    assert 0 < storage["disk_free_bytes"] <= storage["disk_total_bytes"]

    r = client.post("/v1/admin/users", json={"username": "Carl", "password": "carl-password"}, headers=admin)
    assert r.status_code == 201 and r.json()["username"] == "carl" and r.json()["is_admin"] is False
    assert client.post("/v1/admin/users", json={"username": "carl", "password": "x"}, headers=admin).status_code == 400
    dup = client.post("/v1/admin/users", json={"username": "carl", "password": "carl-password"}, headers=admin)
    assert dup.status_code == 409
    carl_id = r.json()["user_id"]
    carl = _login(client, "carl", "carl-password")

    r = client.patch(f"/v1/admin/users/{carl_id}", json={"disabled": True}, headers=admin)
    assert r.status_code == 200 and r.json()["disabled"] is True
    assert client.get("/v1/me", headers=carl).status_code == 401  # signed out everywhere at once
    assert client.post("/v1/auth/login", json={"username": "carl", "password": "carl-password"}).status_code == 401
    assert (
        client.patch(f"/v1/admin/users/{carl_id}", json={"disabled": False}, headers=admin).json()["disabled"] is False
    )
    _login(client, "carl", "carl-password")

    r = client.patch(f"/v1/admin/users/{alice.id}", json={"disabled": True}, headers=admin)
    assert r.status_code == 400 and r.json()["error"]["code"] == "self_disable"
    assert client.patch("/v1/admin/users/" + "0" * 32, json={"disabled": True}, headers=admin).status_code == 404


def test_admin_job_queue_lists_dead_jobs_and_retries_them(client: Any, ctx: Any, alice: Any) -> None:
    admin = bearer(ctx, alice)
    job_id = ctx.jobs.enqueue("photo.process", {"photo_id": "0" * 32})
    ctx.db.execute("UPDATE jobs SET status = 'dead', last_error = 'boom' WHERE id = ?", (job_id,))
    body = client.get("/v1/admin/jobs?status=dead", headers=admin).json()
    assert body["counts"]["dead"] == 1 and [j["id"] for j in body["items"]] == [job_id]
    assert body["items"][0]["last_error"] == "boom"
    assert client.get("/v1/admin/jobs?status=weird", headers=admin).status_code == 400
    assert client.get("/v1/admin/jobs?limit=0", headers=admin).status_code == 400
    r = client.post("/v1/admin/jobs/retry", json={"job_id": job_id}, headers=admin)
    assert r.status_code == 200 and r.json() == {"requeued": 1}
    assert ctx.db.value("SELECT status FROM jobs WHERE id = ?", (job_id,)) == "queued"
    assert client.post("/v1/admin/jobs/retry", json={}, headers=admin).json() == {"requeued": 0}


# -- own account -------------------------------------------------------------------------------------
def test_password_change_keeps_this_session_and_ends_the_others(client: Any, ctx: Any, bob: Any) -> None:
    other = _login(client, "bob", "bob-password")
    api_token = bearer(ctx, bob)
    r = client.post("/login", data={"username": "bob", "password": "bob-password"}, follow_redirects=False)
    assert r.status_code in (302, 303)
    page = client.get("/settings")
    csrf = re.search(r'name="csrf-token" content="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    headers = {"X-CSRF-Token": csrf}

    wrong = client.post(
        "/v1/users/me/password", json={"current_password": "nope", "new_password": "bob-new-password"}, headers=headers
    )
    assert wrong.status_code == 403 and wrong.json()["error"]["code"] == "bad_password"
    short = client.post(
        "/v1/users/me/password", json={"current_password": "bob-password", "new_password": "short"}, headers=headers
    )
    assert short.status_code == 400
    ok = client.post(
        "/v1/users/me/password",
        json={"current_password": "bob-password", "new_password": "bob-new-password"},
        headers=headers,
    )
    assert ok.status_code == 200
    assert client.get("/v1/me").status_code == 200  # this browser stays signed in
    assert client.get("/v1/me", headers=other).status_code == 401  # the other session ended
    assert client.get("/v1/me", headers=api_token).status_code == 200  # scripts' tokens are revoked explicitly
    assert client.post("/v1/auth/login", json={"username": "bob", "password": "bob-password"}).status_code == 401
    _login(client, "bob", "bob-new-password")


def test_password_guesses_are_rate_limited(client: Any, ctx: Any, bob: Any) -> None:
    headers = bearer(ctx, bob)
    limit = ctx.settings.limits.login_attempts_per_minute
    codes = [
        client.post(
            "/v1/users/me/password", json={"current_password": f"guess-{i}", "new_password": "x" * 12}, headers=headers
        ).status_code
        for i in range(limit + 1)
    ]
    assert codes[:limit] == [403] * limit and codes[-1] == 429


def test_api_tokens_are_revoked_by_their_owner_only(client: Any, ctx: Any, alice: Any, bob: Any) -> None:
    mine = bearer(ctx, bob)
    created = client.post("/v1/tokens", json={"name": "backup"}, headers=mine).json()
    script = {"Authorization": f"Bearer {created['token']}"}
    assert client.get("/v1/me", headers=script).status_code == 200
    assert client.delete(f"/v1/tokens/{created['token_id']}", headers=bearer(ctx, alice)).status_code == 404
    assert client.get("/v1/me", headers=script).status_code == 200
    assert client.delete(f"/v1/tokens/{created['token_id']}", headers=mine).json()["revoked"] is True
    assert client.get("/v1/me", headers=script).status_code == 401
    assert client.delete(f"/v1/tokens/{created['token_id']}", headers=mine).status_code == 404


# -- library order -----------------------------------------------------------------------------------
def test_library_by_taken_date_pages_stably(client: Any, ctx: Any, bob: Any) -> None:
    headers = bearer(ctx, bob)
    ids = [add_photo(ctx, bob, visibility="private") for _ in range(5)]
    taken = ["2019-06-01T10:00:00", "2021-01-01T00:00:00", "2019-06-01T10:00:00", "2005-03-03T03:03:03", None]
    for photo_id, when in zip(ids, taken, strict=True):
        if when:
            ctx.db.execute("UPDATE photos SET taken_at = ? WHERE id = ?", (when, photo_id))
    # No EXIF date: the upload time (today) stands in and puts that photo first.
    expected = [ids[4], ids[1], ids[2], ids[0], ids[3]]
    seen: list[str] = []
    cursor = None
    while True:
        url = "/v1/photos?order=taken&limit=2" + (f"&cursor={cursor}" if cursor else "")
        body = client.get(url, headers=headers).json()
        seen += [p["photo_id"] for p in body["photos"]]
        cursor = body["next_cursor"]
        if not cursor:
            break
        # A photo uploaded mid-way never shifts the pages still to come.
        add_photo(ctx, bob, visibility="private", process=False)
    assert seen == expected
    assert client.get("/v1/photos?order=sideways", headers=headers).status_code == 400
    assert client.get("/v1/photos?order=taken&cursor=bm9wZQ", headers=headers).status_code == 400


# -- pages -------------------------------------------------------------------------------------------
def _sign_in(client: Any, username: str, password: str, next_: str | None = None) -> Any:
    data = {"username": username, "password": password, **({"next": next_} if next_ is not None else {})}
    return client.post("/login", data=data, follow_redirects=False)


@pytest.mark.parametrize(
    ("target", "expected"),
    [("/albums", "/albums"), ("//evil.example/x", "/"), ("https://evil.example", "/"), ("/\\evil.example", "/")],
)
def test_sign_in_returns_to_the_page_asked_for_and_only_on_this_site(
    client: Any, bob: Any, target: str, expected: str
) -> None:
    r = _sign_in(client, "bob", "bob-password", target)
    assert r.status_code in (302, 303) and r.headers["location"] == expected


def test_pages_send_anonymous_visitors_to_sign_in_and_back(client: Any, bob: Any) -> None:
    for path in ["/upload", "/albums", "/shared", "/feed", "/search", "/settings", "/admin"]:
        r = client.get(path, follow_redirects=False)
        assert r.status_code in (302, 303), path
        assert r.headers["location"] == f"/login?next={path}"
    assert client.get("/explore").status_code == 200  # public posts need no account


def test_admin_page_is_refused_to_members(client: Any, bob: Any) -> None:
    _sign_in(client, "bob", "bob-password")
    r = client.get("/admin")
    assert r.status_code == 403 and "Administrators only" in r.text


def test_grid_fragments_continue_the_page_without_repeats(client: Any, ctx: Any, bob: Any) -> None:
    ids = {add_photo(ctx, bob, visibility="private", process=False) for _ in range(3)}
    ctx.runner.run_until_idle()
    ids |= {add_photo(ctx, bob, visibility="private") for _ in range(102)}
    _sign_in(client, "bob", "bob-password")
    page = client.get("/")
    first = re.findall(r'data-photo-id="([0-9a-f]{32})"', page.text)
    assert len(first) == 100
    cursor = re.search(r'data-grid data-layout="tiles" data-next="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    fragment = client.get(f"/?fragment=1&cursor={cursor}")
    assert fragment.status_code == 200 and "<header" not in fragment.text  # just the tiles, no page around them
    rest = re.findall(r'data-photo-id="([0-9a-f]{32})"', fragment.text)
    assert set(first) | set(rest) == ids and not set(first) & set(rest)
    assert 'data-next=""' in fragment.text  # the end
    picked = client.get(f"/?fragment=1&pick=1&cursor={cursor}")
    assert picked.text.count('class="pick"') == len(rest)


def test_world_map_is_drawn_offline_and_cached(client: Any) -> None:
    r = client.get("/map/world.svg")
    assert r.status_code == 200 and r.headers["content-type"].startswith("image/svg+xml")
    assert "max-age" in r.headers["cache-control"]
    assert r.text.startswith("<svg") and r.text.count("z") > 100  # hundreds of land runs


def test_share_link_page_renders_for_a_signed_in_visitor(client: Any, ctx: Any, alice: Any, bob: Any) -> None:
    photo_id = add_photo(ctx, alice, visibility="private")
    share = client.post(f"/v1/photos/{photo_id}/share", json={"type": "link"}, headers=bearer(ctx, alice)).json()
    token = share["share_url"].rsplit("/", 1)[1]
    _sign_in(client, "bob", "bob-password")
    page = client.get(f"/s/{token}")
    assert page.status_code == 200 and f'data-photo-id="{photo_id}"' in page.text
    assert "Sign out" in page.text  # the visitor's own header, with the shared photo below


def test_trash_page_lists_trashed_photos_to_restore(client: Any, ctx: Any, bob: Any) -> None:
    kept, trashed = add_photo(ctx, bob, visibility="private"), add_photo(ctx, bob, visibility="private")
    client.delete(f"/v1/photos/{trashed}", headers=bearer(ctx, bob))
    _sign_in(client, "bob", "bob-password")
    page = client.get("/trash")
    assert page.status_code == 200
    assert f'data-restore="{trashed}"' in page.text and kept not in page.text
    assert "after 30 days" in page.text
    viewer = client.get(f"/photos/{trashed}").text  # the owner still opens it, with a Restore button
    assert "This photo is in the trash" in viewer and 'id="restore"' in viewer and 'id="delete"' not in viewer
    assert trashed not in client.get("/").text


def test_settings_lists_follow_requests_of_a_private_account(client: Any, ctx: Any, alice: Any, bob: Any) -> None:
    client.patch("/v1/users/me", json={"private": True}, headers=bearer(ctx, bob))
    assert client.post(f"/v1/users/{bob.id}/follow", headers=bearer(ctx, alice)).json()["status"] == "pending"
    _sign_in(client, "bob", "bob-password")
    page = client.get("/settings").text
    assert f'data-approve="{alice.id}"' in page and 'aria-label="Decline alice"' in page
