"""In-process event bus for server-sent events: job threads publish, each open stream listens.

Events are notifications, not state: a client that was offline reloads from the API, so nothing is
persisted and a slow stream drops its oldest events instead of holding memory.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

__all__ = ["Event", "EventBus"]

_QUEUE_MAX = 256


@dataclass(frozen=True, slots=True)
class Event:
    type: str
    data: dict[str, Any]

    def encode(self) -> str:
        return json.dumps(self.data, separators=(",", ":"))


class EventBus:
    def __init__(self) -> None:
        self._subscribers: dict[str, set[tuple[asyncio.AbstractEventLoop, asyncio.Queue[Event]]]] = defaultdict(set)
        self._lock = threading.Lock()
        self.published = 0

    def subscribe(self, user_id: str) -> asyncio.Queue[Event]:
        queue: asyncio.Queue[Event] = asyncio.Queue(_QUEUE_MAX)
        with self._lock:
            self._subscribers[user_id].add((asyncio.get_running_loop(), queue))
        return queue

    def unsubscribe(self, user_id: str, queue: asyncio.Queue[Event]) -> None:
        with self._lock:
            subs = self._subscribers.get(user_id, set())
            for entry in [e for e in subs if e[1] is queue]:
                subs.discard(entry)
            if not subs:
                self._subscribers.pop(user_id, None)

    def publish(self, recipient_id: str, type_: str, /, **data: Any) -> None:
        """Safe from any thread; a no-op when the user has no open stream."""
        event = Event(type_, data)
        with self._lock:
            targets = list(self._subscribers.get(recipient_id, ()))
        self.published += 1
        for loop, queue in targets:
            loop.call_soon_threadsafe(_offer, queue, event)


def _offer(queue: asyncio.Queue[Event], event: Event) -> None:
    if queue.full():
        queue.get_nowait()  # drop the oldest: the client will reload anyway
    queue.put_nowait(event)
