"""Globally unique, time-ordered identifiers (UUIDv7, RFC 9562).

Time order keeps B-tree inserts local and makes ids usable as stable pagination cursors; global
uniqueness lets one user's rows move to another appliance without collisions.
"""

from __future__ import annotations

import os
import threading
import time
import uuid

__all__ = ["id_time_ms", "new_id"]

_lock = threading.Lock()
_last_ms = 0
_counter = 0


def new_id() -> str:
    """A UUIDv7 as 32 lowercase hex digits; strictly increasing within this process."""
    global _last_ms, _counter
    with _lock:
        ms = time.time_ns() // 1_000_000
        if ms <= _last_ms:
            # Same millisecond (or clock stepped back): keep order with a 12-bit counter in rand_a.
            ms = _last_ms
            _counter += 1
            if _counter > 0xFFF:
                ms += 1
                _counter = 0
        else:
            _counter = int.from_bytes(os.urandom(2), "big") & 0x3FF
        _last_ms = ms
        counter = _counter
    rand_b = int.from_bytes(os.urandom(8), "big") & ((1 << 62) - 1)
    value = (ms << 80) | (0x7 << 76) | (counter << 64) | (0b10 << 62) | rand_b
    return uuid.UUID(int=value).hex


def id_time_ms(identifier: str) -> int:
    """The creation time embedded in an id from new_id()."""
    return int(identifier[:12], 16)
