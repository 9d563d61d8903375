"""Graceful shutdown of `photoshare serve`: stop taking jobs at once, let running ones finish.

On SIGTERM (systemd stop, docker stop) uvicorn stops accepting connections and drains the open
ones; meanwhile the job pool takes no new jobs. uvicorn then re-raises the signal to whatever
handler was installed before it; with the default one the process would die right there, skipping
the pool's grace period and leaving jobs marked running. Raising SystemExit instead lets `serve`
close the context: running jobs get JobRunner's grace period and the rest are released to the
queue, so the next start picks them up at once without spending an attempt.
"""

from __future__ import annotations

import signal
import threading
from types import FrameType
from typing import Any

import uvicorn

from photoshare.jobs.runner import JobRunner

__all__ = ["GracefulServer"]


def _exit(sig: int, frame: FrameType | None) -> None:
    raise SystemExit(0)


class GracefulServer(uvicorn.Server):
    def __init__(self, runner: JobRunner, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.runner = runner

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        self.runner.request_stop()
        super().handle_exit(sig, frame)

    def run(self, *args: Any, **kwargs: Any) -> None:
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, _exit)
        super().run(*args, **kwargs)
