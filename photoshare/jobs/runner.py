"""Thread pools that run jobs: one pool per queue, sized from settings.

libvips and onnxruntime release the GIL, so threads give real parallelism for the heavy work while
staying in the one appliance process.
"""

from __future__ import annotations

import logging
import threading
import time
import traceback
from typing import Any

from photoshare.jobs.queue import Job, JobQueue
from photoshare.jobs.registry import HANDLERS, PermanentJobError

__all__ = ["JobRunner"]

log = logging.getLogger("photoshare.jobs")

SHUTDOWN_GRACE_S = 30.0
"""How long a stopping appliance lets running jobs finish before handing them back to the queue."""


class JobRunner:
    def __init__(
        self, queue: JobQueue, ctx: Any, pool_sizes: dict[str, int], schedules: dict[str, float] | None = None
    ) -> None:
        self.queue = queue
        self.ctx = ctx
        self.pool_sizes = pool_sizes
        self.schedules = schedules or {}
        """Jobs enqueued periodically: name -> interval in seconds (first run soon after start)."""
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._running: dict[str, Job] = {}
        self._lock = threading.Lock()
        self.processed = 0
        self.failed = 0

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> None:
        for job in self.queue.recover():
            self._record_dead(job, "the appliance stopped while processing this file, on its last attempt")
        for queue_name, size in self.pool_sizes.items():
            for i in range(size):
                t = threading.Thread(target=self._worker, args=(queue_name,), name=f"job-{queue_name}-{i}", daemon=True)
                t.start()
                self._threads.append(t)
        if self.schedules:
            t = threading.Thread(target=self._scheduler, name="job-scheduler", daemon=True)
            t.start()
            self._threads.append(t)

    def request_stop(self) -> None:
        """Take no new jobs from now on (a shutdown began); running ones carry on. Signal-safe."""
        self._stop.set()
        self.queue.notify()

    def stop(self, timeout: float = SHUTDOWN_GRACE_S) -> None:
        """Let running jobs finish (up to `timeout`), then hand unfinished ones back to the queue."""
        self.request_stop()
        with self._lock:
            running = len(self._running)
        if running:
            log.info("stopping the job pool: waiting up to %.0f s for %d running job(s)", timeout, running)
        deadline = time.monotonic() + timeout
        try:
            for t in self._threads:
                t.join(max(0.0, deadline - time.monotonic()))
        finally:
            # Even when a second signal cuts the wait short: what still runs goes back to the queue
            # without using up an attempt, so a restart picks it up at once.
            with self._lock:
                leftovers = list(self._running.values())
            for job in leftovers:
                self.queue.release(job.id)
            if leftovers:
                log.warning("released %d unfinished job(s) to the queue for the next start", len(leftovers))
            self._threads.clear()

    def _scheduler(self) -> None:
        due = {name: time.monotonic() + 5.0 for name in self.schedules}
        while not self._stop.is_set():
            now = time.monotonic()
            for name, interval in self.schedules.items():
                if now >= due[name]:
                    try:
                        # The dedupe key keeps one pending run per schedule, however long a run takes.
                        self.queue.enqueue(name, {}, dedupe_key=f"schedule:{name}")
                    except Exception:
                        log.exception("could not schedule %s", name)
                    due[name] = now + interval
            self._stop.wait(max(0.1, min(due.values()) - time.monotonic()))

    # -- work --------------------------------------------------------------------------------
    def _worker(self, queue_name: str) -> None:
        while not self._stop.is_set():
            try:
                ran = self.run_one(queue_name)
            except Exception:  # the queue itself failed (disk full, db locked): back off, never die
                log.exception("job worker error on queue %s", queue_name)
                ran = False
                self._stop.wait(1.0)
            if not ran:
                with self.queue.wakeup:
                    self.queue.wakeup.wait(self.queue.settings.poll_s)

    def run_one(self, queue_name: str) -> bool:
        job = self.queue.claim(queue_name)
        if job is None:
            for lost in self.queue.reap_expired():
                self._record_dead(lost, "processing timed out on its last attempt")
            return False
        with self._lock:
            self._running[job.id] = job
        try:
            self._execute(job)
        finally:
            with self._lock:
                self._running.pop(job.id, None)
        return True

    def _execute(self, job: Job) -> None:
        handler = HANDLERS.get(job.name)
        if handler is None:
            self._give_up(job, f"no handler for job {job.name!r}", permanent=True)
            return
        try:
            handler.run(self.ctx, job.payload)
        except PermanentJobError as exc:
            self._give_up(job, str(exc), permanent=True)
            return
        except Exception as exc:
            log.warning("job %s %s attempt %d failed: %s", job.name, job.id, job.attempts, exc)
            detail = f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=5)}"
            self._give_up(job, detail, permanent=False, reason=f"{type(exc).__name__}: {exc}")
            return
        self.queue.complete(job)
        self.processed += 1

    def _give_up(self, job: Job, detail: str, *, permanent: bool, reason: str | None = None) -> None:
        if self.queue.fail(job, detail, permanent=permanent):
            self._record_dead(job, reason or detail)

    def _record_dead(self, job: Job, reason: str) -> None:
        """Tell the job's owner (through the handler's on_dead hook) that it was given up."""
        self.failed += 1
        handler = HANDLERS.get(job.name)
        if handler is not None and handler.on_dead is not None:
            try:
                handler.on_dead(self.ctx, job.payload, reason)
            except Exception:
                log.exception("on_dead hook of %s failed", job.name)

    def run_until_idle(self, timeout: float = 120.0) -> int:
        """Run every runnable job in the calling thread (tests, CLI). Returns how many ran."""
        ran = 0
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            progressed = False
            for queue_name in self.pool_sizes:
                while self.run_one(queue_name):
                    ran += 1
                    progressed = True
            if not progressed:
                break
        return ran

    def wait_idle(self, timeout: float = 120.0) -> bool:
        """Block until no job is queued or running (with background workers started)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.queue.pending() == 0:
                return True
            time.sleep(0.05)
        return False
