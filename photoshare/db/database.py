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


_names: dict[tuple[tuple[str, str], ...], tuple[str, ...]] = {}


def _row_factory(cursor: apsw.Cursor, row: tuple[Any, ...]) -> Row:
    # Every row of a query has the same description: its column names are worked out once per distinct
    # description (a few hundred statements at most) and each row is then a plain dict(zip(...)).
    description = cursor.get_description()
    names = _names.get(description)
    if names is None:
        if len(_names) > 4096:  # only if statements were generated without bound
            _names.clear()
        names = _names[description] = tuple(d[0] for d in description)
    return dict(zip(names, row, strict=True))


class Database:
    """Thread-safe handle on one SQLite file. Cheap to share; each thread lazily gets its connection."""

    def __init__(self, path: str | Path, *, busy_timeout_ms: int = 10_000, mmap_mb: int = 0, cache_mb: int = 2) -> None:
        self.path = str(path)
        self.busy_timeout_ms = busy_timeout_ms
        self.mmap_mb = mmap_mb
        self.cache_mb = cache_mb
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
            conn.execute(f"PRAGMA mmap_size={int(self.mmap_mb) * 1024 * 1024}")
            conn.execute(f"PRAGMA cache_size=-{int(self.cache_mb) * 1024}")
            self._local.conn = conn
            with self._all_lock:
                self._all.append(conn)
        return conn

    def query(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[Row]:
        if ";" in sql.rstrip().rstrip(";"):  # several statements: each row is named by its own
            return list(self.connection().execute(sql, params))
        # The column names are looked up once per query rather than once per row (a feed page reads
        # about fifty rows of two dozen columns).
        cursor = self.connection().cursor()
        cursor.row_trace = None
        cursor.execute(sql, params)
        try:
            names = tuple(d[0] for d in cursor.get_description())
        except apsw.ExecutionCompleteError:
            return []  # no rows
        return [dict(zip(names, row, strict=True)) for row in cursor]

    def tuples(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[tuple[Any, ...]]:
        """Rows as plain tuples, in SELECT order: for hot paths reading many rows of a few columns,
        where building a dict per row would cost more than the query."""
        cursor = self.connection().cursor()
        cursor.row_trace = None  # this cursor only: the connection's dict rows stay as they are
        return list(cursor.execute(sql, params))

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
