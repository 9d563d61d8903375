"""Graceful shutdown: SIGTERM stops the job pool taking work, lets running jobs finish, releases the rest."""

from __future__ import annotations

import signal
import threading
import time
from typing import Any

import httpx

from photoshare.context import AppContext
from photoshare.db import Database
from photoshare.jobs import job
from tests.conftest import LiveServer, make_jpeg
from tests.e2e.test_server import upload, wait_ready

_slow_started = threading.Event()
_slow_may_finish = threading.Event()


@job("test.shutdown_slow", queue="media")
def _slow(ctx: Any, payload: dict[str, Any]) -> None:
    _slow_started.set()
    _slow_may_finish.wait(30)


def test_sigterm_finishes_running_jobs_and_leaves_the_rest_queued(live_server: LiveServer) -> None:
    headers = live_server.login()
    db = Database(live_server.data_dir / "photoshare.db")
    with httpx.Client(base_url=live_server.url, timeout=30) as client:
        ids = [upload(client, headers, make_jpeg(2400, 1800, seed=300 + i), f"big{i}.jpg") for i in range(10)]
        deadline = time.monotonic() + 60
        while not db.value("SELECT COUNT(*) FROM jobs WHERE name = 'photo.process' AND status = 'running'"):
            assert time.monotonic() < deadline
            time.sleep(0.01)
        assert live_server.proc is not None
        t0 = time.monotonic()
        live_server.proc.send_signal(signal.SIGTERM)
        assert live_server.proc.wait(60) == 0
        stopped_in = time.monotonic() - t0

    jobs = db.query("SELECT status, attempts FROM jobs WHERE name = 'photo.process'")
    statuses = [j["status"] for j in jobs]
    assert "running" not in statuses and "dead" not in statuses, jobs
    # The pool stopped taking jobs: the ones never started wait in the queue with no attempt spent.
    waiting = [j for j in jobs if j["status"] == "queued"]
    assert waiting and all(j["attempts"] == 0 for j in waiting)
    assert statuses.count("done") >= 1
    assert stopped_in < 40
    log = (live_server.data_dir.parent / f"server-{live_server.port}.log").read_text()
    assert "stopping the job pool" in log

    live_server.start()
    headers = live_server.login()
    with httpx.Client(base_url=live_server.url, timeout=30) as client:
        photos = wait_ready(client, headers, ids)
    assert all(p["status"] == "ready" for p in photos.values())
    db.close()


def test_stop_releases_a_job_that_outlives_the_grace_period(ctx: AppContext) -> None:
    _slow_started.clear()
    _slow_may_finish.clear()
    job_id = ctx.jobs.enqueue("test.shutdown_slow", {})
    ctx.runner.start()
    try:
        assert _slow_started.wait(30)
        row = ctx.db.one("SELECT status, attempts FROM jobs WHERE id = ?", (job_id,))
        assert (row["status"], row["attempts"]) == ("running", 1)
        t0 = time.monotonic()
        ctx.runner.stop(timeout=0.3)
        assert time.monotonic() - t0 < 5
        row = ctx.db.one("SELECT status, attempts, lease_until FROM jobs WHERE id = ?", (job_id,))
        # Back in the queue at once, its attempt not counted: the next start runs it without delay.
        assert (row["status"], row["attempts"], row["lease_until"]) == ("queued", 0, None)
        assert ctx.jobs.claim("media") is not None
    finally:
        _slow_may_finish.set()
