"""Accounts, passwords, sessions and API tokens against the real database."""

from __future__ import annotations

import hashlib
import time
from typing import Any

import pytest

from photoshare.clock import to_iso
from photoshare.context import AppContext
from photoshare.errors import Conflict, InvalidInput, NotAuthenticated, NotFound
from photoshare.users.service import hash_token


def all_token_text(ctx: AppContext) -> str:
    """Every value stored in auth_tokens, as one string."""
    rows = ctx.db.query("SELECT * FROM auth_tokens")
    return "\n".join(str(v) for r in rows for v in r.values())


# -- accounts ------------------------------------------------------------------------------------
def test_create_user(ctx: AppContext) -> None:
    user = ctx.users.create("carol", "carol-password", display_name="Carol C")
    assert user.username == "carol"
    assert user.display_name == "Carol C"
    assert user.is_admin is False
    assert user.disabled is False
    assert len(user.id) == 32
    assert ctx.users.get(user.id) == user
    assert ctx.users.by_username("carol") == user
    assert ctx.users.by_username("CAROL").id == user.id
    assert user.public() == {"user_id": user.id, "username": "carol", "display_name": "Carol C", "is_admin": False}


def test_create_admin(ctx: AppContext) -> None:
    admin = ctx.users.create("root", "root-password", is_admin=True)
    assert admin.is_admin is True
    assert ctx.users.get(admin.id).is_admin is True


def test_username_is_normalised(ctx: AppContext) -> None:
    user = ctx.users.create("  Dave.Smith-2_x ", "dave-password")
    assert user.username == "dave.smith-2_x"


# Loops rather than parametrize: every context and every argon2 hash costs real time.
BAD_NAMES = ["", "a", "-dash", ".dot", "_under", "has space", "semi;colon", "ümlaut", "a" * 33, "slash/name", "at@x"]


def test_username_rules(ctx: AppContext) -> None:
    for name in [*BAD_NAMES, "tab\tx", "new\nline"]:
        with pytest.raises(InvalidInput):
            ctx.users.create(name, "long-enough-password")
    assert ctx.users.list() == []


def test_usernames_that_are_allowed(ctx: AppContext) -> None:
    names = ["ab", "9lives", "a" * 32, "x.y_z-w"]
    for name in names:
        assert ctx.users.create(name, "long-enough-password").username == name
    assert sorted(u.username for u in ctx.users.list()) == sorted(names)


def test_duplicate_username_conflicts(ctx: AppContext, alice: Any) -> None:
    with pytest.raises(Conflict) as info:
        ctx.users.create("alice", "another-password")
    assert info.value.code == "username_taken"
    with pytest.raises(Conflict):
        ctx.users.create("ALICE", "another-password")
    assert [u.username for u in ctx.users.list()] == ["alice"]


def test_short_or_huge_password_is_invalid(ctx: AppContext) -> None:
    for password in ["", "short", "1234567", "x" * 1025]:
        with pytest.raises(InvalidInput):
            ctx.users.create("erin", password)
    with pytest.raises(NotFound):
        ctx.users.by_username("erin")
    assert ctx.users.create("erin", "12345678").username == "erin"  # 8 characters is enough


def test_password_hash_is_argon2id(ctx: AppContext, alice: Any) -> None:
    stored = ctx.db.value("SELECT password_hash FROM users WHERE id = ?", (alice.id,))
    assert stored.startswith("$argon2id$")
    assert "alice-password" not in stored


def test_list_users(ctx: AppContext, alice: Any, bob: Any) -> None:
    assert [u.username for u in ctx.users.list()] == ["alice", "bob"]


def test_get_unknown_user(ctx: AppContext) -> None:
    with pytest.raises(NotFound):
        ctx.users.get("0" * 32)
    with pytest.raises(NotFound):
        ctx.users.by_username("nobody")


# -- authentication ------------------------------------------------------------------------------
def test_authenticate(ctx: AppContext, alice: Any) -> None:
    assert ctx.users.authenticate("alice", "alice-password").id == alice.id
    assert ctx.users.authenticate(" Alice ", "alice-password").id == alice.id


def test_authenticate_rejects(ctx: AppContext, alice: Any) -> None:
    for username, password in [("alice", "wrong-password"), ("alice", "ALICE-PASSWORD"), ("nobody", "alice-password")]:
        with pytest.raises(NotAuthenticated) as info:
            ctx.users.authenticate(username, password)
        assert info.value.code == "bad_credentials"


def test_disabled_user_cannot_authenticate(ctx: AppContext, alice: Any) -> None:
    disabled = ctx.users.set_disabled("alice")
    assert disabled.disabled is True
    with pytest.raises(NotAuthenticated):
        ctx.users.authenticate("alice", "alice-password")
    enabled = ctx.users.set_disabled("alice", False)
    assert enabled.disabled is False
    assert ctx.users.authenticate("alice", "alice-password").id == alice.id


def test_disable_unknown_user(ctx: AppContext) -> None:
    with pytest.raises(NotFound):
        ctx.users.set_disabled("nobody")


# -- sessions and tokens -------------------------------------------------------------------------
def test_session_and_api_token_resolve(ctx: AppContext, alice: Any, bob: Any) -> None:
    session = ctx.users.start_session(alice)
    token_id, api = ctx.users.create_api_token(bob, "backup script")
    assert session != api
    assert len(token_id) == 32
    assert ctx.users.resolve(session).id == alice.id
    assert ctx.users.resolve(api).id == bob.id
    assert ctx.users.resolve(session + "x") is None
    assert ctx.users.resolve("") is None
    assert ctx.users.resolve("x" * 500) is None
    assert ctx.users.resolve("pst_not-a-real-token") is None
    tokens = ctx.users.repo.tokens(bob.id)
    assert [t["name"] for t in tokens] == ["backup script"]
    assert tokens[0]["expires_at"] is None


def test_session_expiry_is_set_from_settings(ctx: AppContext, alice: Any) -> None:
    session = ctx.users.start_session(alice)
    expires = ctx.db.value("SELECT expires_at FROM auth_tokens WHERE token_hash = ?", (hash_token(session),))
    days = ctx.settings.server.session_days
    assert to_iso(time.time() + days * 86400 - 60) < expires < to_iso(time.time() + days * 86400 + 60)


def test_db_stores_only_sha256_of_tokens(ctx: AppContext, alice: Any) -> None:
    session = ctx.users.start_session(alice)
    _, api = ctx.users.create_api_token(alice, "ci")
    stored = all_token_text(ctx)
    for secret in (session, api):
        assert secret not in stored
        assert secret.split("_", 1)[1] not in stored
        assert hashlib.sha256(secret.encode()).hexdigest() in stored
    hashes = {r["token_hash"] for r in ctx.db.query("SELECT token_hash FROM auth_tokens")}
    assert hashes == {hash_token(session), hash_token(api)}


def test_end_session(ctx: AppContext, alice: Any) -> None:
    session = ctx.users.start_session(alice)
    other = ctx.users.start_session(alice)
    ctx.users.end_session(session)
    assert ctx.users.resolve(session) is None
    assert ctx.users.resolve(other) is not None


def test_set_password_ends_sessions_but_keeps_api_tokens(ctx: AppContext, alice: Any, bob: Any) -> None:
    s1 = ctx.users.start_session(alice)
    s2 = ctx.users.start_session(alice)
    _, api = ctx.users.create_api_token(alice, "script")
    bob_session = ctx.users.start_session(bob)
    ctx.users.set_password("alice", "new-alice-password")
    assert ctx.users.resolve(s1) is None
    assert ctx.users.resolve(s2) is None
    assert ctx.users.resolve(api).id == alice.id
    assert ctx.users.resolve(bob_session).id == bob.id
    with pytest.raises(NotAuthenticated):
        ctx.users.authenticate("alice", "alice-password")
    assert ctx.users.authenticate("alice", "new-alice-password").id == alice.id
    assert ctx.db.value("SELECT password_hash FROM users WHERE id = ?", (alice.id,)).startswith("$argon2id$")


def test_set_password_validates(ctx: AppContext, alice: Any) -> None:
    with pytest.raises(InvalidInput):
        ctx.users.set_password("alice", "short")
    with pytest.raises(NotFound):
        ctx.users.set_password("nobody", "long-enough-password")
    assert ctx.users.authenticate("alice", "alice-password").id == alice.id


def test_disabling_removes_all_tokens(ctx: AppContext, alice: Any, bob: Any) -> None:
    session = ctx.users.start_session(alice)
    _, api = ctx.users.create_api_token(alice, "script")
    bob_api = ctx.users.create_api_token(bob, "bob script")[1]
    ctx.users.set_disabled("alice")
    assert ctx.users.resolve(session) is None
    assert ctx.users.resolve(api) is None
    assert ctx.db.value("SELECT COUNT(*) FROM auth_tokens WHERE user_id = ?", (alice.id,)) == 0
    assert ctx.users.resolve(bob_api).id == bob.id
    # Re-enabling does not bring old tokens back.
    ctx.users.set_disabled("alice", False)
    assert ctx.users.resolve(session) is None
    assert ctx.users.resolve(api) is None


def test_disabled_user_tokens_do_not_resolve_even_if_left_in_db(ctx: AppContext, alice: Any) -> None:
    _, api = ctx.users.create_api_token(alice, "script")
    ctx.db.execute("UPDATE users SET disabled = 1 WHERE id = ?", (alice.id,))
    assert ctx.users.resolve(api) is None


def test_expired_session_does_not_resolve(ctx: AppContext, alice: Any) -> None:
    session = ctx.users.start_session(alice)
    ctx.db.execute(
        "UPDATE auth_tokens SET expires_at = ? WHERE token_hash = ?", (to_iso(time.time() - 1), hash_token(session))
    )
    assert ctx.users.resolve(session) is None
    # The expired row is removed when seen.
    assert ctx.db.value("SELECT COUNT(*) FROM auth_tokens WHERE token_hash = ?", (hash_token(session),)) == 0


def test_negative_session_days_gives_expired_sessions(ctx: AppContext, alice: Any) -> None:
    from photoshare.users.service import UserService

    service = UserService(ctx.users.repo, session_days=-1)
    session = service.start_session(alice)
    assert service.resolve(session) is None
    assert ctx.users.resolve(session) is None


def test_resolve_records_last_use(ctx: AppContext, alice: Any) -> None:
    _, api = ctx.users.create_api_token(alice, "script")
    assert ctx.db.value("SELECT last_used_at FROM auth_tokens WHERE token_hash = ?", (hash_token(api),)) is None
    ctx.users.resolve(api)
    assert ctx.db.value("SELECT last_used_at FROM auth_tokens WHERE token_hash = ?", (hash_token(api),)) is not None


def test_deleting_user_cascades_tokens(ctx: AppContext, alice: Any) -> None:
    ctx.users.start_session(alice)
    ctx.users.create_api_token(alice, "x")
    ctx.db.execute("DELETE FROM users WHERE id = ?", (alice.id,))
    assert ctx.db.value("SELECT COUNT(*) FROM auth_tokens") == 0
