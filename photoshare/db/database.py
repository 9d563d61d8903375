"""SQLite access through apsw: one connection per thread, WAL, and explicit write transactions.

WAL lets request threads read while a job thread writes. Writers take the lock up front
(BEGIN IMMEDIATE) so two writers never deadlock upgrading a read lock; busy_timeout makes the
loser wait instead of failing.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import apsw
import apsw.bestpractice

__all__ = ["Database", "Row"]

Row = dict[str, Any]

# Once per process: apsw's recommended defaults (no double-quoted string literals, sane errors).
apsw.bestpractice.apply(
    (
        apsw.bestpractice.connection_dqs,
        apsw.bestpractice.connection_busy_timeout,
        apsw.bestpractice.connection_enable_foreign_keys,
        apsw.bestpractice.connection_recursive_triggers,
    )
)


def _row_factory(cursor: apsw.Cursor, row: tuple[Any, ...]) -> Row:
    return {d[0]: v for d, v in zip(cursor.get_description(), row, strict=True)}


class Database:
    """Thread-safe handle on one SQLite file. Cheap to share; each thread lazily gets its connection."""

    def __init__(self, path: str | Path, *, busy_timeout_ms: int = 10_000) -> None:
        self.path = str(path)
        self.busy_timeout_ms = busy_timeout_ms
        self._local = threading.local()
        self._all: list[apsw.Connection] = []
        self._all_lock = threading.Lock()

    def connection(self) -> apsw.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = apsw.Connection(self.path)
            conn.set_busy_timeout(self.busy_timeout_ms)
            conn.row_trace = _row_factory
            conn.execute("PRAGMA journal_mode=WAL")
            # FULL: a committed transaction survives power loss, not only a process crash.
            conn.execute("PRAGMA synchronous=FULL")
            conn.execute("PRAGMA foreign_keys=ON")
            self._local.conn = conn
            with self._all_lock:
                self._all.append(conn)
        return conn

    def query(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[Row]:
        return list(self.connection().execute(sql, params))

    def one(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> Row | None:
        for row in self.connection().execute(sql, params):
            return row
        return None

    def value(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> Any:
        row = self.one(sql, params)
        return None if row is None else next(iter(row.values()))

    def execute(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> int:
        """Run one statement (its own transaction unless inside `transaction()`); returns changes()."""
        conn = self.connection()
        conn.execute(sql, params)
        return conn.changes()

    @contextmanager
    def transaction(self) -> Iterator[apsw.Connection]:
        """A write transaction; nested use joins the outer one."""
        conn = self.connection()
        depth = getattr(self._local, "depth", 0)
        if depth:
            self._local.depth = depth + 1
            try:
                yield conn
            finally:
                self._local.depth = depth
            return
        conn.execute("BEGIN IMMEDIATE")
        self._local.depth = 1
        try:
            yield conn
        except BaseException:
            self._local.depth = 0
            conn.execute("ROLLBACK")
            raise
        self._local.depth = 0
        conn.execute("COMMIT")

    def close(self) -> None:
        with self._all_lock:
            conns, self._all = self._all, []
        for conn in conns:
            with suppress(apsw.Error):
                conn.close()
        self._local = threading.local()
