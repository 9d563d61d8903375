"""Durable background jobs: a SQLite-backed queue, named handlers and a thread pool per queue."""

from photoshare.jobs.queue import Job, JobQueue
from photoshare.jobs.registry import PermanentJobError, job

__all__ = ["Job", "JobQueue", "PermanentJobError", "job"]
