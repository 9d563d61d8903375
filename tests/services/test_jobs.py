"""The durable job queue and its runner, on a real SQLite file with throwaway handlers."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from photoshare.db import Database
from photoshare.db.migrations import migrate
from photoshare.jobs import PermanentJobError, job
from photoshare.jobs.pipeline import FOLLOW_UPS
from photoshare.jobs.queue import JobQueue
from photoshare.jobs.runner import JobRunner
from photoshare.settings import JobSettings


# -- handlers ------------------------------------------------------------------------------------
@dataclass
class Recorder:
    """The `ctx` the runner hands to handlers: records what ran."""

    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    dead: list[tuple[str, dict[str, Any], str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, name: str, payload: dict[str, Any]) -> None:
        with self.lock:
            self.calls.append((name, payload))

    def names(self, name: str) -> list[dict[str, Any]]:
        return [p for n, p in self.calls if n == name]


def _on_dead(ctx: Recorder, payload: dict[str, Any], reason: str) -> None:
    ctx.dead.append(("test.flaky", payload, reason))


def _on_dead_permanent(ctx: Recorder, payload: dict[str, Any], reason: str) -> None:
    ctx.dead.append(("test.permanent", payload, reason))


@job("test.ok", queue="test")
def ok_handler(ctx: Recorder, payload: dict[str, Any]) -> None:
    ctx.record("test.ok", payload)


@job("test.flaky", queue="test", on_dead=_on_dead)
def flaky_handler(ctx: Recorder, payload: dict[str, Any]) -> None:
    """Fails while fewer than payload["fail_times"] attempts have been made (-1: always)."""
    ctx.record("test.flaky", payload)
    seen = len(ctx.names("test.flaky"))
    if payload.get("fail_times", -1) < 0 or seen <= payload["fail_times"]:
        raise RuntimeError(f"boom #{seen}")


@job("test.permanent", queue="test", on_dead=_on_dead_permanent)
def permanent_handler(ctx: Recorder, payload: dict[str, Any]) -> None:
    ctx.record("test.permanent", payload)
    raise PermanentJobError("corrupt input file")


@job("test.slow", queue="test")
def slow_handler(ctx: Recorder, payload: dict[str, Any]) -> None:
    time.sleep(payload.get("sleep", 0.2))
    ctx.record("test.slow", payload)


@job("test.first", queue="test")
def first_handler(ctx: Recorder, payload: dict[str, Any]) -> None:
    ctx.record("test.first", payload)


@job("test.second", queue="test")
def second_handler(ctx: Recorder, payload: dict[str, Any]) -> None:
    ctx.record("test.second", payload)


# -- fixtures ------------------------------------------------------------------------------------
@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database(tmp_path / "jobs.db")
    migrate(database)
    yield database
    database.close()


def make_queue(db: Database, **overrides: Any) -> JobQueue:
    settings = {"backoff_s": 10.0, "max_attempts": 3, "lease_s": 300, "poll_s": 0.05, **overrides}
    return JobQueue(db, JobSettings(**settings))


@pytest.fixture
def queue(db: Database) -> JobQueue:
    return make_queue(db)


@pytest.fixture
def rec() -> Recorder:
    return Recorder()


@pytest.fixture
def runner(queue: JobQueue, rec: Recorder) -> Iterator[JobRunner]:
    r = JobRunner(queue, rec, {"test": 1})
    yield r
    r.stop(timeout=5)


def row(db: Database, job_id: str) -> dict[str, Any]:
    r = db.one("SELECT * FROM jobs WHERE id = ?", (job_id,))
    assert r is not None, f"job {job_id} not found"
    return r


def make_runnable_now(db: Database, job_id: str) -> None:
    """Fast-forward past the backoff delay (instead of sleeping through it)."""
    db.execute("UPDATE jobs SET run_after = ? WHERE id = ?", (time.time() - 1, job_id))


# -- basics --------------------------------------------------------------------------------------
def test_enqueue_claim_complete(db: Database, queue: JobQueue) -> None:
    job_id = queue.enqueue("test.ok", {"n": 1}, user_id="u1")
    assert job_id is not None
    r = row(db, job_id)
    assert (r["status"], r["queue"], r["name"], r["attempts"], r["max_attempts"]) == ("queued", "test", "test.ok", 0, 3)
    assert queue.pending() == 1

    claimed = queue.claim("test")
    assert claimed is not None
    assert (claimed.id, claimed.name, claimed.payload, claimed.user_id) == (job_id, "test.ok", {"n": 1}, "u1")
    assert claimed.attempts == 1
    r = row(db, job_id)
    assert r["status"] == "running"
    assert r["lease_until"] > time.time() + 250
    assert queue.claim("test") is None, "a leased job is not handed out twice"

    queue.complete(claimed)
    r = row(db, job_id)
    assert r["status"] == "done"
    assert r["lease_until"] is None
    assert queue.pending() == 0
    assert queue.counts() == {"done": 1}
    assert queue.claim("test") is None


def test_claim_only_takes_its_own_queue(queue: JobQueue) -> None:
    queue.enqueue("test.ok", {})
    assert queue.claim("media") is None
    assert queue.claim("test") is not None


def test_claim_in_fifo_order(queue: JobQueue) -> None:
    ids = [queue.enqueue("test.ok", {"i": i}) for i in range(5)]
    claimed = [queue.claim("test") for _ in range(5)]
    assert [c.id for c in claimed if c] == ids


def test_delayed_job_waits(db: Database, queue: JobQueue) -> None:
    job_id = queue.enqueue("test.ok", {}, delay_s=60)
    assert job_id is not None
    assert queue.claim("test") is None
    make_runnable_now(db, job_id)
    assert queue.claim("test") is not None


def test_enqueue_unknown_handler(queue: JobQueue) -> None:
    with pytest.raises(KeyError):
        queue.enqueue("test.no-such-handler", {})


def test_runner_runs_handler_with_ctx_and_payload(
    db: Database, queue: JobQueue, runner: JobRunner, rec: Recorder
) -> None:
    job_id = queue.enqueue("test.ok", {"hello": "world"})
    assert runner.run_one("test") is True
    assert rec.calls == [("test.ok", {"hello": "world"})]
    assert row(db, job_id)["status"] == "done"
    assert runner.processed == 1
    assert runner.run_one("test") is False


# -- transactions --------------------------------------------------------------------------------
def test_enqueue_joins_outer_transaction_and_rolls_back_with_it(db: Database, queue: JobQueue) -> None:
    class Abort(Exception):
        pass

    with pytest.raises(Abort), db.transaction():
        job_id = queue.enqueue("test.ok", {"n": 1})
        assert job_id is not None
        assert db.value("SELECT COUNT(*) FROM jobs") == 1  # visible inside the transaction
        raise Abort
    assert db.value("SELECT COUNT(*) FROM jobs") == 0
    assert queue.claim("test") is None


def test_enqueue_commits_with_outer_transaction(db: Database, queue: JobQueue, tmp_path: Path) -> None:
    with db.transaction():
        job_id = queue.enqueue("test.ok", {"n": 1})
        # Another connection does not see the job before the outer transaction commits.
        other = Database(tmp_path / "jobs.db")
        try:
            assert other.value("SELECT COUNT(*) FROM jobs") == 0
        finally:
            other.close()
    assert row(db, job_id)["status"] == "queued"


# -- failures ------------------------------------------------------------------------------------
def test_failure_retries_with_backoff_then_dead_letters(
    db: Database, queue: JobQueue, runner: JobRunner, rec: Recorder
) -> None:
    job_id = queue.enqueue("test.flaky", {"fail_times": -1})
    assert job_id is not None

    t0 = time.time()
    assert runner.run_one("test")
    r = row(db, job_id)
    assert r["status"] == "queued"
    assert r["attempts"] == 1
    assert "boom #1" in r["last_error"]
    assert "RuntimeError" in r["last_error"]
    assert t0 + 10 - 1 <= r["run_after"] <= time.time() + 10 + 1  # backoff_s * 4**0
    assert runner.run_one("test") is False, "not runnable before its backoff elapsed"
    assert rec.dead == []

    make_runnable_now(db, job_id)
    t1 = time.time()
    assert runner.run_one("test")
    r = row(db, job_id)
    assert (r["status"], r["attempts"]) == ("queued", 2)
    assert t1 + 40 - 1 <= r["run_after"] <= time.time() + 40 + 1  # backoff_s * 4**1
    assert "boom #2" in r["last_error"]
    assert rec.dead == []

    make_runnable_now(db, job_id)
    assert runner.run_one("test")
    r = row(db, job_id)
    assert (r["status"], r["attempts"]) == ("dead", 3)
    assert "boom #3" in r["last_error"]
    assert len(rec.dead) == 1
    name, payload, reason = rec.dead[0]
    assert (name, payload) == ("test.flaky", {"fail_times": -1})
    assert reason == "RuntimeError: boom #3"
    assert runner.failed == 1
    assert runner.processed == 0

    # Dead jobs are never claimed again, and on_dead is not called a second time.
    make_runnable_now(db, job_id)
    assert runner.run_one("test") is False
    assert runner.run_until_idle() == 0
    assert len(rec.dead) == 1
    assert len(rec.names("test.flaky")) == 3
    assert queue.counts() == {"dead": 1}
    assert queue.pending() == 0


def test_retry_succeeds_when_handler_recovers(db: Database, runner: JobRunner, rec: Recorder) -> None:
    queue = runner.queue
    job_id = queue.enqueue("test.flaky", {"fail_times": 1})
    assert job_id is not None
    assert runner.run_one("test")
    assert row(db, job_id)["status"] == "queued"
    make_runnable_now(db, job_id)
    assert runner.run_one("test")
    r = row(db, job_id)
    assert (r["status"], r["attempts"], r["last_error"]) == ("done", 2, None)
    assert rec.dead == []


def test_real_backoff_elapses(db: Database, rec: Recorder) -> None:
    queue = make_queue(db, backoff_s=0.05, max_attempts=2)
    runner = JobRunner(queue, rec, {"test": 1})
    job_id = queue.enqueue("test.flaky", {"fail_times": -1})
    assert job_id is not None
    assert runner.run_one("test")
    assert runner.run_one("test") is False
    time.sleep(0.1)
    assert runner.run_one("test")
    assert row(db, job_id)["status"] == "dead"
    assert len(rec.dead) == 1


def test_permanent_error_dead_letters_at_once(db: Database, queue: JobQueue, runner: JobRunner, rec: Recorder) -> None:
    job_id = queue.enqueue("test.permanent", {"photo_id": "p1"})
    assert job_id is not None
    assert runner.run_one("test")
    r = row(db, job_id)
    assert (r["status"], r["attempts"]) == ("dead", 1)
    assert "corrupt input file" in r["last_error"]
    assert rec.dead == [("test.permanent", {"photo_id": "p1"}, "corrupt input file")]
    assert len(rec.names("test.permanent")) == 1
    make_runnable_now(db, job_id)
    assert runner.run_one("test") is False
    assert len(rec.dead) == 1


def test_job_without_handler_is_dead_lettered(db: Database, queue: JobQueue, runner: JobRunner) -> None:
    job_id = queue.enqueue("test.ok", {})
    assert job_id is not None
    db.execute("UPDATE jobs SET name = 'test.removed-handler' WHERE id = ?", (job_id,))
    assert runner.run_one("test")
    r = row(db, job_id)
    assert r["status"] == "dead"
    assert "test.removed-handler" in r["last_error"]


def test_one_bad_job_never_blocks_others(db: Database, queue: JobQueue, runner: JobRunner, rec: Recorder) -> None:
    bad = queue.enqueue("test.flaky", {"fail_times": -1})
    perm = queue.enqueue("test.permanent", {})
    good = [queue.enqueue("test.ok", {"i": i}) for i in range(5)]
    ran = runner.run_until_idle(timeout=30)
    assert ran == 7
    assert sorted(p["i"] for p in rec.names("test.ok")) == [0, 1, 2, 3, 4]
    for job_id in good:
        assert job_id is not None
        assert row(db, job_id)["status"] == "done"
    assert bad is not None and perm is not None
    assert row(db, bad)["status"] == "queued"
    assert row(db, perm)["status"] == "dead"


def test_always_failing_job_with_no_backoff_still_lets_others_finish(db: Database, rec: Recorder) -> None:
    queue = make_queue(db, backoff_s=0.0, max_attempts=4)
    runner = JobRunner(queue, rec, {"test": 1})
    bad = queue.enqueue("test.flaky", {"fail_times": -1})
    good = [queue.enqueue("test.ok", {"i": i}) for i in range(5)]
    runner.run_until_idle(timeout=30)
    assert all(row(db, g)["status"] == "done" for g in good if g)
    assert bad is not None
    r = row(db, bad)
    assert (r["status"], r["attempts"]) == ("dead", 4)
    assert len(rec.dead) == 1


# -- leases and recovery -------------------------------------------------------------------------
def test_expired_lease_makes_job_claimable_again(db: Database) -> None:
    queue = make_queue(db, lease_s=1)
    job_id = queue.enqueue("test.ok", {})
    first = queue.claim("test")
    assert first is not None and first.id == job_id
    assert queue.claim("test") is None
    time.sleep(1.1)
    second = queue.claim("test")
    assert second is not None
    assert second.id == job_id
    assert second.attempts == 2
    assert row(db, job_id)["status"] == "running"


def test_unexpired_lease_is_respected(db: Database, queue: JobQueue) -> None:
    job_id = queue.enqueue("test.ok", {})
    assert queue.claim("test") is not None
    db.execute("UPDATE jobs SET lease_until = ? WHERE id = ?", (time.time() + 5, job_id))
    assert queue.claim("test") is None
    db.execute("UPDATE jobs SET lease_until = ? WHERE id = ?", (time.time() - 5, job_id))
    again = queue.claim("test")
    assert again is not None and again.id == job_id


def test_recover_requeues_running_jobs(db: Database, queue: JobQueue) -> None:
    a = queue.enqueue("test.ok", {"a": 1})
    b = queue.enqueue("test.ok", {"b": 1})
    done = queue.enqueue("test.ok", {"c": 1})
    claimed = [queue.claim("test"), queue.claim("test"), queue.claim("test")]
    assert all(claimed)
    queue.complete(claimed[2])  # type: ignore[arg-type]
    assert queue.claim("test") is None
    assert queue.recover() == []  # nothing was on its last attempt, so nothing is dead-lettered
    for job_id in (a, b):
        assert job_id is not None
        r = row(db, job_id)
        assert (r["status"], r["lease_until"], r["attempts"]) == ("queued", None, 1)
    assert done is not None and row(db, done)["status"] == "done"
    again = queue.claim("test")
    assert again is not None and again.attempts == 2
    assert queue.recover() == []
    assert row(db, again.id)["status"] == "queued"


def test_crashing_job_is_dead_lettered_after_max_attempts(db: Database, queue: JobQueue) -> None:
    """A job that kills the process is never failed by the runner; recovery must still stop a crash loop."""
    job_id = queue.enqueue("test.ok", {})
    assert job_id is not None
    for _ in range(3):  # max_attempts = 3: each claim is followed by a "crash" and a restart
        claimed = queue.claim("test")
        assert claimed is not None
        queue.recover()
    assert queue.claim("test") is None, "a job that used up max_attempts must not run a 4th time"
    assert row(db, job_id)["attempts"] <= 3
    assert row(db, job_id)["status"] == "dead"


def test_release_gives_job_back_without_counting_attempt(db: Database, queue: JobQueue) -> None:
    job_id = queue.enqueue("test.ok", {})
    assert job_id is not None
    claimed = queue.claim("test")
    assert claimed is not None
    queue.release(job_id)
    r = row(db, job_id)
    assert (r["status"], r["attempts"], r["lease_until"]) == ("queued", 0, None)
    again = queue.claim("test")
    assert again is not None and again.attempts == 1
    queue.complete(again)
    queue.release(job_id)  # a finished job is not released
    assert row(db, job_id)["status"] == "done"


def test_retry_dead_jobs(db: Database, queue: JobQueue, runner: JobRunner, rec: Recorder) -> None:
    one = queue.enqueue("test.permanent", {"k": 1})
    two = queue.enqueue("test.permanent", {"k": 2})
    ok = queue.enqueue("test.ok", {})
    runner.run_until_idle()
    assert one and two and ok
    assert queue.counts() == {"dead": 2, "done": 1}
    assert [r["id"] for r in queue.list("dead")] == [two, one]

    assert queue.retry(one) == 1
    r = row(db, one)
    assert (r["status"], r["attempts"], r["last_error"]) == ("queued", 0, None)
    assert row(db, two)["status"] == "dead"
    assert queue.retry(ok) == 0, "only dead jobs are retried"
    assert row(db, ok)["status"] == "done"

    assert queue.retry() == 1
    assert row(db, two)["status"] == "queued"
    assert queue.retry() == 0
    runner.run_until_idle()
    assert len(rec.names("test.permanent")) == 4
    assert queue.counts() == {"dead": 2, "done": 1}


def test_retry_of_dead_job_whose_dedupe_key_is_pending_again(db: Database, queue: JobQueue, runner: JobRunner) -> None:
    """`jobs retry` must not crash when a fresh job with the same dedupe key is already pending."""
    old = queue.enqueue("test.permanent", {}, dedupe_key="photo:1")
    runner.run_until_idle()
    assert old is not None and row(db, old)["status"] == "dead"
    new = queue.enqueue("test.permanent", {}, dedupe_key="photo:1")
    assert new is not None and new != old
    queue.retry()  # must not raise
    pending = db.value("SELECT COUNT(*) FROM jobs WHERE dedupe_key = 'photo:1' AND status IN ('queued', 'running')")
    assert pending == 1


# -- dedupe and follow-ups -----------------------------------------------------------------------
def test_dedupe_key_prevents_duplicate_pending_job(db: Database, queue: JobQueue, runner: JobRunner) -> None:
    first = queue.enqueue("test.ok", {"v": 1}, dedupe_key="photo:42")
    assert first is not None
    assert queue.enqueue("test.ok", {"v": 2}, dedupe_key="photo:42") is None
    assert db.value("SELECT COUNT(*) FROM jobs") == 1
    assert queue.enqueue("test.ok", {"v": 3}, dedupe_key="photo:43") is not None
    assert queue.enqueue("test.ok", {"v": 4}) is not None
    assert queue.enqueue("test.ok", {"v": 5}) is not None  # no key: no dedupe
    # While running it still counts as pending.
    claimed = queue.claim("test")
    assert claimed is not None and claimed.id == first
    assert queue.enqueue("test.ok", {}, dedupe_key="photo:42") is None
    queue.complete(claimed)
    # Once done, the same key may be enqueued again.
    assert queue.enqueue("test.ok", {"v": 6}, dedupe_key="photo:42") is not None


def test_follow_up_enqueued_on_completion(db: Database, queue: JobQueue, runner: JobRunner, rec: Recorder) -> None:
    FOLLOW_UPS["test.first"] = ["test.second"]
    try:
        first = queue.enqueue("test.first", {"photo_id": "p9"}, user_id="u9")
        assert runner.run_one("test")
        assert first is not None and row(db, first)["status"] == "done"
        follow = db.one("SELECT * FROM jobs WHERE name = 'test.second'")
        assert follow is not None
        assert (follow["status"], follow["user_id"], follow["payload"]) == ("queued", "u9", '{"photo_id": "p9"}')
        assert runner.run_one("test")
        assert rec.names("test.second") == [{"photo_id": "p9"}]
    finally:
        del FOLLOW_UPS["test.first"]


def test_follow_up_is_in_the_same_transaction_as_completion(db: Database, queue: JobQueue) -> None:
    FOLLOW_UPS["test.first"] = ["test.second", "test.no-such-handler"]
    try:
        first = queue.enqueue("test.first", {})
        claimed = queue.claim("test")
        assert claimed is not None
        with pytest.raises(KeyError):
            queue.complete(claimed)  # the second follow-up cannot be enqueued
        # Neither the completion nor the first follow-up survived: all or nothing.
        assert first is not None and row(db, first)["status"] == "running"
        assert db.value("SELECT COUNT(*) FROM jobs WHERE name = 'test.second'") == 0
    finally:
        del FOLLOW_UPS["test.first"]
    queue.complete(claimed)
    assert row(db, first)["status"] == "done"
    assert db.value("SELECT COUNT(*) FROM jobs") == 1


def test_list_and_counts(queue: JobQueue, runner: JobRunner) -> None:
    a = queue.enqueue("test.ok", {"x": 1})
    runner.run_until_idle()
    b = queue.enqueue("test.ok", {"x": 2})
    rows = queue.list()
    assert [r["id"] for r in rows] == [b, a]
    assert [r["status"] for r in rows] == ["queued", "done"]
    assert [r["id"] for r in queue.list("done")] == [a]
    assert len(queue.list(limit=1)) == 1
    assert queue.counts() == {"done": 1, "queued": 1}


# -- background threads --------------------------------------------------------------------------
def test_start_stop_with_threads(db: Database, queue: JobQueue, rec: Recorder) -> None:
    runner = JobRunner(queue, rec, {"test": 2})
    runner.start()
    try:
        ids = [queue.enqueue("test.ok", {"i": i}) for i in range(10)]
        slow = queue.enqueue("test.slow", {"sleep": 0.05})
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and queue.pending():
            time.sleep(0.02)
        assert queue.pending() == 0
    finally:
        runner.stop(timeout=10)
    assert not [t for t in threading.enumerate() if t.name.startswith("job-test-") and t.is_alive()]
    for job_id in [*ids, slow]:
        assert job_id is not None
        r = row(db, job_id)
        assert (r["status"], r["attempts"]) == ("done", 1), "stop() must not release finished jobs"
    assert sorted(p["i"] for p in rec.names("test.ok")) == list(range(10))
    assert runner.processed == 11
    # After stop nothing is picked up any more.
    late = queue.enqueue("test.ok", {"late": True})
    time.sleep(0.2)
    assert late is not None and row(db, late)["status"] == "queued"
