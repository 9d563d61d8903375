"""Account records."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["User"]


@dataclass(frozen=True, slots=True)
class User:
    id: str
    username: str
    display_name: str
    is_admin: bool
    disabled: bool
    created_at: str

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> User:
        return cls(
            id=row["id"],
            username=row["username"],
            display_name=row["display_name"],
            is_admin=bool(row["is_admin"]),
            disabled=bool(row["disabled"]),
            created_at=row["created_at"],
        )

    def public(self) -> dict[str, Any]:
        return {
            "user_id": self.id,
            "username": self.username,
            "display_name": self.display_name or self.username,
            "is_admin": self.is_admin,
        }
