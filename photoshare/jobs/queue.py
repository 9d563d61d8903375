"""The durable job queue in the appliance's SQLite file.

Claiming takes a lease (visibility timeout): a job whose worker died becomes claimable again when
the lease runs out. Failures retry with exponential backoff; after `max_attempts`, or at once for a
PermanentJobError, the job is dead-lettered and stays visible to `photoshare jobs list/retry`.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from typing import Any

from photoshare.clock import now_iso
from photoshare.db import Database
from photoshare.ids import new_id
from photoshare.jobs.pipeline import FOLLOW_UPS
from photoshare.jobs.registry import HANDLERS
from photoshare.settings import JobSettings

__all__ = ["Job", "JobQueue"]


@dataclass(slots=True)
class Job:
    id: str
    queue: str
    name: str
    payload: dict[str, Any]
    user_id: str | None
    attempts: int
    max_attempts: int


def _job(row: dict[str, Any]) -> Job:
    return Job(
        id=row["id"],
        queue=row["queue"],
        name=row["name"],
        payload=json.loads(row["payload"]),
        user_id=row["user_id"],
        attempts=row["attempts"],
        max_attempts=row["max_attempts"],
    )


class JobQueue:
    def __init__(self, db: Database, settings: JobSettings) -> None:
        self.db = db
        self.settings = settings
        # Worker threads wait on this instead of polling hard; enqueue() wakes them.
        self.wakeup = threading.Condition()

    def enqueue(
        self,
        name: str,
        payload: dict[str, Any],
        *,
        user_id: str | None = None,
        dedupe_key: str | None = None,
        delay_s: float = 0.0,
    ) -> str | None:
        """Add a job; joins the caller's transaction. With `dedupe_key`, an identical pending job wins."""
        handler = HANDLERS.get(name)
        if handler is None:
            raise KeyError(f"no job handler named {name!r}")
        job_id = new_id()
        stamp = now_iso()
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT INTO jobs (id, queue, name, payload, user_id, dedupe_key, max_attempts, run_after,"
                " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT DO NOTHING",
                (
                    job_id,
                    handler.queue,
                    name,
                    json.dumps(payload),
                    user_id,
                    dedupe_key,
                    self.settings.max_attempts,
                    time.time() + delay_s,
                    stamp,
                    stamp,
                ),
            )
            inserted = conn.changes() > 0
        self.notify()
        return job_id if inserted else None

    def notify(self) -> None:
        with self.wakeup:
            self.wakeup.notify_all()

    def claim(self, queue: str) -> Job | None:
        now = time.time()
        with self.db.transaction():
            row = self.db.one(
                "SELECT id FROM jobs WHERE queue = ? AND ((status = 'queued' AND run_after <= ?)"
                " OR (status = 'running' AND lease_until < ? AND attempts < max_attempts))"
                " ORDER BY run_after, id LIMIT 1",
                (queue, now, now),
            )
            if row is None:
                return None
            claimed = self.db.one(
                "UPDATE jobs SET status = 'running', attempts = attempts + 1, lease_until = ?, updated_at = ?"
                " WHERE id = ? RETURNING id, queue, name, payload, user_id, attempts, max_attempts",
                (now + self.settings.lease_s, now_iso(), row["id"]),
            )
        assert claimed is not None
        return _job(claimed)

    def complete(self, job: Job) -> None:
        with self.db.transaction():
            self.db.execute(
                "UPDATE jobs SET status = 'done', lease_until = NULL, last_error = NULL, updated_at = ? WHERE id = ?",
                (now_iso(), job.id),
            )
            for follow_up in FOLLOW_UPS.get(job.name, []):
                self.enqueue(follow_up, job.payload, user_id=job.user_id)

    def fail(self, job: Job, error: str, *, permanent: bool = False) -> bool:
        """Record a failed attempt. Returns True when the job is now dead (no more retries)."""
        dead = permanent or job.attempts >= job.max_attempts
        delay = self.settings.backoff_s * (4 ** (job.attempts - 1))
        self.db.execute(
            "UPDATE jobs SET status = ?, lease_until = NULL, run_after = ?, last_error = ?, updated_at = ?"
            " WHERE id = ?",
            ("dead" if dead else "queued", time.time() + delay, error[:2000], now_iso(), job.id),
        )
        return dead

    def release(self, job_id: str) -> None:
        """Give a claimed job back without counting the attempt (graceful shutdown)."""
        self.db.execute(
            "UPDATE jobs SET status = 'queued', attempts = MAX(attempts - 1, 0), lease_until = NULL,"
            " updated_at = ? WHERE id = ? AND status = 'running'",
            (now_iso(), job_id),
        )

    def recover(self) -> list[Job]:
        """At start-up: jobs left running by a previous (crashed) process become claimable now.

        Only one serving process owns a data folder (see context.DataDirLock), so every running row
        here is an orphan. The attempt stays counted, so a file that kills the process is
        dead-lettered after max_attempts instead of crash-looping the appliance; those jobs are
        returned so the runner can record the failure where users see it.
        """
        with self.db.transaction():
            lost = self._bury_lost("status = 'running'")
            self.db.execute(
                "UPDATE jobs SET status = 'queued', lease_until = NULL, run_after = ?, updated_at = ?"
                " WHERE status = 'running'",
                (time.time(), now_iso()),
            )
        return lost

    def reap_expired(self) -> list[Job]:
        """Dead-letter running jobs whose lease ran out after their last allowed attempt."""
        return self._bury_lost("status = 'running' AND lease_until < ?", (time.time(),))

    def _bury_lost(self, where: str, params: tuple[Any, ...] = ()) -> list[Job]:
        rows = self.db.query(
            "UPDATE jobs SET status = 'dead', lease_until = NULL, updated_at = ?,"
            " last_error = 'the worker running this job was lost (crash or timeout) on its last attempt'"
            f" WHERE {where} AND attempts >= max_attempts"
            " RETURNING id, queue, name, payload, user_id, attempts, max_attempts",
            (now_iso(), *params),
        )
        return [_job(r) for r in rows]

    def retry(self, job_id: str | None = None) -> int:
        """Requeue one dead job, or every dead job, with a fresh attempt budget."""
        # OR IGNORE: a dead job whose dedupe_key is pending again stays dead (the pending one does the work).
        sql = (
            "UPDATE OR IGNORE jobs SET status = 'queued', attempts = 0, run_after = ?, last_error = NULL,"
            " updated_at = ? WHERE status = 'dead'"
        )
        params: tuple[Any, ...] = (time.time(), now_iso())
        if job_id:
            sql += " AND id = ?"
            params += (job_id,)
        n = self.db.execute(sql, params)
        self.notify()
        return n

    def list(self, status: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        sql = (
            "SELECT id, queue, name, payload, status, attempts, max_attempts, last_error, created_at, updated_at"
            " FROM jobs"
        )
        params: tuple[Any, ...] = ()
        if status:
            sql += " WHERE status = ?"
            params = (status,)
        sql += " ORDER BY id DESC LIMIT ?"
        return self.db.query(sql, (*params, limit))

    def counts(self) -> dict[str, int]:
        rows = self.db.query("SELECT status, COUNT(*) AS n FROM jobs GROUP BY status")
        return {r["status"]: r["n"] for r in rows}

    def pending(self) -> int:
        return int(self.db.value("SELECT COUNT(*) FROM jobs WHERE status IN ('queued', 'running')"))
