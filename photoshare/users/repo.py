"""SQL for users and their login sessions / API tokens."""

from __future__ import annotations

from typing import Any

from photoshare.clock import now_iso
from photoshare.db import Database
from photoshare.ids import new_id
from photoshare.users.models import User

__all__ = ["UserRepo"]


class UserRepo:
    def __init__(self, db: Database) -> None:
        self.db = db

    def insert(self, username: str, password_hash: str, *, is_admin: bool, display_name: str = "") -> User:
        stamp = now_iso()
        row = self.db.one(
            "INSERT INTO users (id, username, display_name, password_hash, is_admin, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING *",
            (new_id(), username, display_name, password_hash, int(is_admin), stamp, stamp),
        )
        assert row is not None
        return User.from_row(row)

    def by_username(self, username: str) -> dict[str, Any] | None:
        return self.db.one("SELECT * FROM users WHERE username = ?", (username,))

    def by_id(self, user_id: str) -> User | None:
        row = self.db.one("SELECT * FROM users WHERE id = ?", (user_id,))
        return User.from_row(row) if row else None

    def all(self) -> list[User]:
        return [User.from_row(r) for r in self.db.query("SELECT * FROM users ORDER BY username")]

    def count(self) -> int:
        return int(self.db.value("SELECT COUNT(*) FROM users"))

    def update(self, user_id: str, **fields: Any) -> None:
        cols = ", ".join(f"{k} = ?" for k in fields)
        self.db.execute(f"UPDATE users SET {cols}, updated_at = ? WHERE id = ?", (*fields.values(), now_iso(), user_id))

    # -- tokens ----------------------------------------------------------------------------
    def insert_token(self, user_id: str, token_hash: str, kind: str, name: str, expires_at: str | None) -> str:
        token_id = new_id()
        self.db.execute(
            "INSERT INTO auth_tokens (id, user_id, token_hash, kind, name, created_at, expires_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (token_id, user_id, token_hash, kind, name, now_iso(), expires_at),
        )
        return token_id

    def token(self, token_hash: str) -> dict[str, Any] | None:
        return self.db.one(
            "SELECT t.id AS token_id, t.kind, t.expires_at, t.last_used_at, u.* FROM auth_tokens t"
            " JOIN users u ON u.id = t.user_id WHERE t.token_hash = ?",
            (token_hash,),
        )

    def touch_token(self, token_id: str) -> None:
        self.db.execute("UPDATE auth_tokens SET last_used_at = ? WHERE id = ?", (now_iso(), token_id))

    def delete_token(self, token_hash: str) -> None:
        self.db.execute("DELETE FROM auth_tokens WHERE token_hash = ?", (token_hash,))

    def delete_tokens(self, user_id: str, kind: str | None = None, *, except_hash: str | None = None) -> int:
        sql, params = "DELETE FROM auth_tokens WHERE user_id = ?", [user_id]
        if kind:
            sql += " AND kind = ?"
            params.append(kind)
        if except_hash:
            sql += " AND token_hash != ?"
            params.append(except_hash)
        return self.db.execute(sql, params)

    def delete_api_token(self, user_id: str, token_id: str) -> int:
        return self.db.execute(
            "DELETE FROM auth_tokens WHERE id = ? AND user_id = ? AND kind = 'api'", (token_id, user_id)
        )

    def tokens(self, user_id: str) -> list[dict[str, Any]]:
        return self.db.query(
            "SELECT id, name, created_at, last_used_at, expires_at FROM auth_tokens"
            " WHERE user_id = ? AND kind = 'api' ORDER BY id",
            (user_id,),
        )
