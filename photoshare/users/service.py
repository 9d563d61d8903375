"""Accounts, passwords (argon2id) and the secrets that authenticate requests.

A session or API token is a random secret handed to the client once; the database keeps only its
SHA-256, so a leaked database file does not hand out working logins.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import time

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from photoshare.clock import parse_iso, to_iso
from photoshare.errors import Conflict, InvalidInput, NotAuthenticated, NotFound, PermissionDenied
from photoshare.users.models import User
from photoshare.users.repo import UserRepo

__all__ = ["UserService", "hash_token"]

_USERNAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{1,31}$")
_TOUCH_EVERY_S = 300  # last_used_at is informative; writing it on every request would serialise reads


PASSWORD_HASHER = PasswordHasher()
"""argon2id with argon2-cffi's recommended parameters (RFC 9106 low-memory profile)."""


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class UserService:
    def __init__(self, repo: UserRepo, *, session_days: int) -> None:
        self.repo = repo
        self.session_days = session_days
        self._hasher = PASSWORD_HASHER
        self._dummy: str | None = None

    @property
    def _dummy_hash(self) -> str:
        # Verifying against a dummy hash for unknown users keeps login timing uniform; made on first need.
        if self._dummy is None:
            self._dummy = self._hasher.hash(secrets.token_hex(8))
        return self._dummy

    # -- accounts ----------------------------------------------------------------------------
    @staticmethod
    def _check_password(password: str) -> None:
        if len(password) < 8:
            raise InvalidInput("password must be at least 8 characters")
        if len(password) > 1024:
            raise InvalidInput("password is too long")

    def create(self, username: str, password: str, *, is_admin: bool = False, display_name: str = "") -> User:
        username = username.strip().lower()
        if not _USERNAME.match(username):
            raise InvalidInput("username must be 2-32 characters: lowercase letters, digits, '.', '_' or '-'")
        self._check_password(password)
        if self.repo.by_username(username):
            raise Conflict(f"user {username!r} already exists", code="username_taken")
        return self.repo.insert(username, self._hasher.hash(password), is_admin=is_admin, display_name=display_name)

    def get(self, user_id: str) -> User:
        user = self.repo.by_id(user_id)
        if user is None:
            raise NotFound("no such user")
        return user

    def by_username(self, username: str) -> User:
        row = self.repo.by_username(username.strip().lower())
        if row is None:
            raise NotFound(f"no user named {username!r}")
        return User.from_row(row)

    def list(self) -> list[User]:
        return self.repo.all()

    def set_disabled(self, username: str, disabled: bool = True) -> User:
        user = self.by_username(username)
        self.repo.update(user.id, disabled=int(disabled))
        if disabled:
            self.repo.delete_tokens(user.id)  # disabling logs the user out everywhere at once
        return self.get(user.id)

    def set_password(self, username: str, password: str) -> None:
        self._check_password(password)
        user = self.by_username(username)
        self.repo.update(user.id, password_hash=self._hasher.hash(password))
        self.repo.delete_tokens(user.id, "session")

    def change_password(self, user: User, current: str, new: str, *, keep_session: str | None = None) -> None:
        """A user's own change: the current password proves who is at the keyboard, and every other
        session ends (a stolen cookie dies with the old password) while this one stays signed in."""
        try:
            self.authenticate(user.username, current)
        except NotAuthenticated:
            raise PermissionDenied("the current password is wrong", code="bad_password") from None
        self._check_password(new)
        self.repo.update(user.id, password_hash=self._hasher.hash(new))
        keep = hash_token(keep_session) if keep_session else None
        self.repo.delete_tokens(user.id, "session", except_hash=keep)

    def revoke_api_token(self, user: User, token_id: str) -> None:
        if not self.repo.delete_api_token(user.id, token_id):
            raise NotFound("no such token")

    def authenticate(self, username: str, password: str) -> User:
        row = self.repo.by_username(username.strip().lower())
        stored = row["password_hash"] if row else self._dummy_hash
        try:
            self._hasher.verify(stored, password)
            ok = row is not None
        except (VerificationError, InvalidHashError):
            ok = False
        if not ok or row is None or row["disabled"]:
            raise NotAuthenticated("wrong username or password", code="bad_credentials")
        if self._hasher.check_needs_rehash(stored):
            self.repo.update(row["id"], password_hash=self._hasher.hash(password))
        return User.from_row(row)

    # -- sessions and tokens -----------------------------------------------------------------
    def start_session(self, user: User) -> str:
        token = "s_" + secrets.token_urlsafe(32)
        expires = to_iso(time.time() + self.session_days * 86400)
        self.repo.insert_token(user.id, hash_token(token), "session", "", expires)
        return token

    def create_api_token(self, user: User, name: str) -> tuple[str, str]:
        name = name.strip()[:100] or "token"
        token = "pst_" + secrets.token_urlsafe(32)
        token_id = self.repo.insert_token(user.id, hash_token(token), "api", name, None)
        return token_id, token

    def resolve(self, token: str) -> User | None:
        """The active user a session cookie or bearer token belongs to, or None."""
        if not token or len(token) > 200:
            return None
        row = self.repo.token(hash_token(token))
        if row is None or row["disabled"]:
            return None
        now = time.time()
        if row["expires_at"] and parse_iso(row["expires_at"]) < now:
            self.repo.delete_token(hash_token(token))
            return None
        if not row["last_used_at"] or parse_iso(row["last_used_at"]) < now - _TOUCH_EVERY_S:
            self.repo.touch_token(row["token_id"])
        return User.from_row(row)

    def end_session(self, token: str) -> None:
        self.repo.delete_token(hash_token(token))
