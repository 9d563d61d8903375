"""Helpers shared by the benchmarks: latency summaries, timing and synthetic time-ordered ids."""

from __future__ import annotations

import math
import random
import statistics
import time
from collections.abc import Callable
from typing import Any

__all__ = ["pct", "steady_task", "summary", "synth_id", "timed"]


def synth_id(ms: int, rnd: random.Random) -> str:
    """A UUIDv7 (same layout as photoshare.ids.new_id) for a chosen creation time."""
    value = (ms << 80) | (0x7 << 76) | (rnd.getrandbits(12) << 64) | (0b10 << 62) | rnd.getrandbits(62)
    return f"{value:032x}"


def pct(values: list[float], q: float) -> float:
    """The q-th percentile (nearest rank)."""
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, max(0, math.ceil(q / 100 * len(s)) - 1))]


def summary(values: list[float]) -> dict[str, float]:
    return {
        "n": len(values),
        "mean_ms": round(statistics.fmean(values), 3) if values else float("nan"),
        "p50_ms": round(pct(values, 50), 3),
        "p95_ms": round(pct(values, 95), 3),
        "p99_ms": round(pct(values, 99), 3),
        "max_ms": round(max(values), 3) if values else float("nan"),
    }


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    """(milliseconds, result) of one call."""
    start = time.perf_counter()
    result = fn()
    return (time.perf_counter() - start) * 1000, result


def steady_task() -> int:
    """The same small piece of pure-Python work every time (dicts built and read, about a millisecond):
    timed between measured calls, its spread is the machine's own (CPU contention, frequency), which
    tells how much of a measured tail is the code and how much the host."""
    total = 0
    for i in range(120):
        row = {f"k{j}": i * j for j in range(20)}
        total += sum(row.values())
    return total
