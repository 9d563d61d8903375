"""Named job handlers. A handler must be idempotent: a job may run again after a crash."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["HANDLERS", "Handler", "PermanentJobError", "job"]


class PermanentJobError(Exception):
    """The input itself is bad (a corrupt file): retrying cannot help, so the job is dead-lettered now."""


@dataclass(frozen=True, slots=True)
class Handler:
    name: str
    queue: str
    run: Callable[[Any, dict[str, Any]], None]
    # Called once when the job is given up (dead-lettered), to record the failure where users see it.
    on_dead: Callable[[Any, dict[str, Any], str], None] | None = None


HANDLERS: dict[str, Handler] = {}


def job(
    name: str, *, queue: str, on_dead: Callable[[Any, dict[str, Any], str], None] | None = None
) -> Callable[[Callable[[Any, dict[str, Any]], None]], Callable[[Any, dict[str, Any]], None]]:
    """Register `fn(ctx, payload)` as the handler of job `name`, run by the pool of `queue`."""

    def register(fn: Callable[[Any, dict[str, Any]], None]) -> Callable[[Any, dict[str, Any]], None]:
        HANDLERS[name] = Handler(name, queue, fn, on_dead)
        return fn

    return register
