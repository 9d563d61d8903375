"""Who runs the jobs an admin command creates: the running appliance, or the command itself.

A serving process holds the data folder's lock (context.DataDirLock) and owns its job pool. When
it is running, commands only enqueue work and the server's pool picks it up; when it is not, the
command takes the lock (so a server cannot start half-way and recover our jobs as crashed) and
runs the normal pool itself until the work is done.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from photoshare.admin.progress import NO_PROGRESS, Progress
from photoshare.context import AppContext, DataDirLock
from photoshare.errors import SettingsError

__all__ = ["job_pool", "run_jobs_until", "server_running"]


def server_running(ctx: AppContext) -> bool:
    """True when another process (the appliance) holds the data folder's lock."""
    lock = DataDirLock(ctx.settings.data_path)
    try:
        lock.acquire()
    except SettingsError:
        return True
    lock.release()
    return False


@contextmanager
def job_pool(ctx: AppContext, *, start: bool = True) -> Iterator[bool]:
    """Yield True when this process owns the job pool (its workers started), False when a server does.

    On exit the pool stops like the server's does: running jobs get a grace period, the rest are
    handed back to the queue, so an interrupted command loses nothing.
    """
    lock = DataDirLock(ctx.settings.data_path)
    try:
        lock.acquire()
    except SettingsError:
        yield False
        return
    try:
        if start:
            ctx.runner.start()
        yield True
    finally:
        if start:
            ctx.runner.stop()
        lock.release()


def run_jobs_until(
    ctx: AppContext,
    remaining: Callable[[], int],
    *,
    progress: Progress = NO_PROGRESS,
    label: str = "Processing",
    poll_s: float = 0.2,
) -> None:
    """Wait, with progress, until `remaining()` reaches 0 and the queue has no runnable work left.

    The pool must be running (job_pool). Jobs waiting for a retry's backoff still count, so a
    transient failure is retried before the command returns.
    """
    total = remaining()
    progress.start(label, total)
    while True:
        left = remaining()
        total = max(total, left)
        progress.update(total - left, total)
        if left == 0 and ctx.jobs.pending() == 0:
            return
        time.sleep(poll_s)
