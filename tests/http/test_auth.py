"""Signing in and out: JSON and form login, sessions, API tokens, CSRF, rate limiting."""

from __future__ import annotations

from typing import Any

from photoshare.http.auth import SESSION_COOKIE, csrf_token
from tests.conftest import bearer, make_jpeg


def _login(client: Any, username: str, password: str) -> Any:
    return client.post("/v1/auth/login", json={"username": username, "password": password})


def _assert_error(response: Any, status: int, code: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}
    assert isinstance(body["error"]["code"], str) and body["error"]["code"]
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    if code is not None:
        assert body["error"]["code"] == code
    return body["error"]


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# -- JSON login ------------------------------------------------------------------------------------
def test_json_login_returns_token_and_sets_httponly_session_cookie(client: Any, alice: Any) -> None:
    r = _login(client, "alice", "alice-password")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["user_id"] == alice.id
    assert body["token"].startswith("s_") and len(body["token"]) > 20
    assert body["csrf_token"]
    set_cookie = r.headers["set-cookie"]
    assert set_cookie.startswith(f"{SESSION_COOKIE}={body['token']}")
    assert "httponly" in set_cookie.lower()
    assert "samesite=lax" in set_cookie.lower()
    # The token really is a session: it authenticates as a bearer token.
    me = client.get("/v1/me", headers=_auth(body["token"]))
    assert me.status_code == 200
    assert me.json()["username"] == "alice"


def test_login_username_is_case_insensitive(client: Any, alice: Any) -> None:
    r = _login(client, "  Alice ", "alice-password")
    assert r.status_code == 200, r.text
    assert r.json()["user_id"] == alice.id


def test_wrong_password_is_401_with_error_body(client: Any, alice: Any) -> None:
    r = _login(client, "alice", "not-the-password")
    _assert_error(r, 401)
    assert SESSION_COOKIE not in r.headers.get("set-cookie", "")
    assert "token" not in r.json()


def test_unknown_user_is_401_same_shape_as_wrong_password(client: Any, alice: Any) -> None:
    wrong = _assert_error(_login(client, "alice", "not-the-password"), 401)
    unknown = _assert_error(_login(client, "nobody", "whatever-password"), 401)
    # Same code and message: the answer must not reveal which usernames exist.
    assert unknown == wrong


def test_login_with_missing_fields_is_400(client: Any, alice: Any) -> None:
    _assert_error(client.post("/v1/auth/login", json={"username": "alice"}), 400)
    _assert_error(client.post("/v1/auth/login", content=b"not json", headers={"content-type": "application/json"}), 400)


def test_disabled_user_cannot_log_in_and_existing_tokens_stop_working(client: Any, ctx: Any, bob: Any) -> None:
    session = _login(client, "bob", "bob-password").json()["token"]
    api = bearer(ctx, bob)
    assert client.get("/v1/me", headers=_auth(session)).status_code == 200
    assert client.get("/v1/me", headers=api).status_code == 200

    ctx.users.set_disabled("bob")

    _assert_error(_login(client, "bob", "bob-password"), 401)
    _assert_error(client.get("/v1/me", headers=_auth(session)), 401)
    _assert_error(client.get("/v1/me", headers=api), 401)
    # The cookie the earlier login set does not authenticate either.
    client.cookies.set(SESSION_COOKIE, session)
    _assert_error(client.get("/v1/me"), 401)


def test_rate_limit_blocks_even_the_right_password(client: Any, ctx: Any, alice: Any) -> None:
    n = ctx.settings.limits.login_attempts_per_minute
    assert n >= 1
    for _ in range(n):
        _assert_error(_login(client, "alice", "wrong-password"), 401)
    r = _login(client, "alice", "alice-password")
    _assert_error(r, 429)
    assert "token" not in r.json()
    assert SESSION_COOKIE not in r.headers.get("set-cookie", "")


def test_rate_limit_not_reached_below_threshold(client: Any, ctx: Any, alice: Any) -> None:
    n = ctx.settings.limits.login_attempts_per_minute
    for _ in range(n - 1):
        _assert_error(_login(client, "alice", "wrong-password"), 401)
    assert _login(client, "alice", "alice-password").status_code == 200


# -- tokens and sessions ---------------------------------------------------------------------------
def test_api_token_from_post_tokens_works_as_bearer(client: Any, alice: Any) -> None:
    session = _login(client, "alice", "alice-password").json()["token"]
    client.cookies.clear()
    r = client.post("/v1/tokens", json={"name": "backup script"}, headers=_auth(session))
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["name"] == "backup script"
    token = body["token"]
    assert token != session
    me = client.get("/v1/me", headers=_auth(token))
    assert me.status_code == 200
    assert me.json()["user_id"] == alice.id
    listed = client.get("/v1/tokens", headers=_auth(token)).json()["items"]
    assert [t["id"] for t in listed] == [body["token_id"]]
    assert all("token" not in t and "token_hash" not in t for t in listed)


def test_bogus_bearer_is_401(client: Any, alice: Any) -> None:
    err = _assert_error(client.get("/v1/me", headers=_auth("pst_not-a-real-token")), 401)
    assert err["code"] == "bad_token"
    # A bad bearer is rejected even on routes that also serve anonymous visitors.
    _assert_error(client.get("/v1/photos/0123456789abcdef0123456789abcdef", headers=_auth("s_nope")), 401)
    _assert_error(client.get("/v1/me"), 401)


def test_logout_ends_a_bearer_session(client: Any, alice: Any) -> None:
    token = _login(client, "alice", "alice-password").json()["token"]
    client.cookies.clear()
    other = _login(client, "alice", "alice-password").json()["token"]
    client.cookies.clear()
    assert client.post("/v1/auth/logout", headers=_auth(token)).status_code == 200
    _assert_error(client.get("/v1/me", headers=_auth(token)), 401)
    # Only that session ended.
    assert client.get("/v1/me", headers=_auth(other)).status_code == 200


def test_logout_with_cookie_revokes_the_session_server_side(client: Any, alice: Any) -> None:
    token = _login(client, "alice", "alice-password").json()["token"]
    assert client.get("/v1/me").status_code == 200  # the cookie authenticates
    r = client.post("/v1/auth/logout")
    assert r.status_code == 200
    assert f"{SESSION_COOKIE}=" in r.headers.get("set-cookie", "")
    client.cookies.clear()
    # A copy of the cookie kept by an attacker is worthless after logout.
    _assert_error(client.get("/v1/me", headers=_auth(token)), 401)


# -- CSRF ------------------------------------------------------------------------------------------
def test_cookie_post_without_csrf_header_is_403(client: Any, alice: Any) -> None:
    _login(client, "alice", "alice-password")
    assert client.get("/v1/me").status_code == 200
    _assert_error(client.post("/v1/tokens", json={"name": "x"}), 403, "csrf")
    _assert_error(client.post("/v1/tokens", json={"name": "x"}, headers={"X-CSRF-Token": "wrong"}), 403, "csrf")
    # Nothing was created by the rejected requests.
    assert client.get("/v1/tokens").json()["items"] == []


def test_cookie_post_with_csrf_token_passes(client: Any, alice: Any) -> None:
    csrf = _login(client, "alice", "alice-password").json()["csrf_token"]
    r = client.post("/v1/tokens", json={"name": "x"}, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 201, r.text
    assert client.get("/v1/me", headers=_auth(r.json()["token"])).status_code == 200


def test_csrf_token_is_bound_to_its_session(client: Any, alice: Any, bob: Any) -> None:
    bobs_csrf = _login(client, "bob", "bob-password").json()["csrf_token"]
    client.cookies.clear()
    alices = _login(client, "alice", "alice-password").json()
    assert alices["csrf_token"] != bobs_csrf
    _assert_error(client.post("/v1/tokens", json={"name": "x"}, headers={"X-CSRF-Token": bobs_csrf}), 403, "csrf")


def test_bearer_post_needs_no_csrf_header(client: Any, ctx: Any, alice: Any) -> None:
    r = client.post("/v1/tokens", json={"name": "x"}, headers=bearer(ctx, alice))
    assert r.status_code == 201, r.text


# -- HTML pages ------------------------------------------------------------------------------------
def test_library_redirects_anonymous_visitors_to_login(client: Any) -> None:
    r = client.get("/", follow_redirects=False)
    assert r.status_code in (302, 303, 307)
    assert r.headers["location"] == "/login"
    page = client.get("/login")
    assert page.status_code == 200
    assert 'name="password"' in page.text


def test_form_login_sets_cookie_redirects_and_shows_library(client: Any, ctx: Any, alice: Any) -> None:
    r = client.post(
        "/v1/photos/upload", files={"file": ("a.jpg", make_jpeg(90, 60), "image/jpeg")}, headers=bearer(ctx, alice)
    )
    assert r.status_code == 201, r.text
    photo_id = r.json()["photo_id"]

    r = client.post("/login", data={"username": "alice", "password": "alice-password"}, follow_redirects=False)
    assert r.status_code in (302, 303)
    assert r.headers["location"] == "/"
    set_cookie = r.headers["set-cookie"]
    assert set_cookie.startswith(f"{SESSION_COOKIE}=s_")
    assert "httponly" in set_cookie.lower()

    page = client.get("/", follow_redirects=False)
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "data-grid" in page.text
    assert f'data-photo-id="{photo_id}"' in page.text
    # The page hands the UI the CSRF token that matches its session cookie.
    token = client.cookies.get(SESSION_COOKIE)
    assert f'content="{csrf_token(ctx, token)}"' in page.text


def test_form_login_wrong_password_shows_form_without_cookie(client: Any, alice: Any) -> None:
    r = client.post("/login", data={"username": "alice", "password": "nope-nope"}, follow_redirects=False)
    assert r.status_code == 401
    assert SESSION_COOKIE not in r.headers.get("set-cookie", "")
    assert 'role="alert"' in r.text
    assert client.get("/", follow_redirects=False).status_code in (302, 303, 307)
