"""How long-running admin services report progress, without knowing who is watching.

The CLI passes a rich progress bar (admin.console); tests and other callers pass nothing.
"""

from __future__ import annotations

from typing import Protocol

__all__ = ["NO_PROGRESS", "Progress"]


class Progress(Protocol):
    def start(self, label: str, total: int | None) -> None:
        """Begin a phase of `total` steps (None when unknown)."""

    def advance(self, steps: int = 1) -> None: ...

    def update(self, completed: int, total: int | None = None) -> None:
        """Set the absolute position (for phases measured by polling)."""


class _NoProgress:
    def start(self, label: str, total: int | None) -> None:
        pass

    def advance(self, steps: int = 1) -> None:
        pass

    def update(self, completed: int, total: int | None = None) -> None:
        pass


NO_PROGRESS: Progress = _NoProgress()
