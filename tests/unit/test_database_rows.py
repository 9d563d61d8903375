"""Rows from Database: dicts by column name (every caller relies on that), and plain tuples where asked."""

from __future__ import annotations

from pathlib import Path

from photoshare.db import Database


def test_rows_are_dicts_by_column_name_per_statement(tmp_path: Path) -> None:
    db = Database(tmp_path / "t.db")
    db.execute("CREATE TABLE t (a INTEGER, b TEXT, c REAL)")
    db.execute("INSERT INTO t VALUES (1, 'x', 2.5), (2, 'y', NULL)")
    assert db.query("SELECT * FROM t ORDER BY a") == [{"a": 1, "b": "x", "c": 2.5}, {"a": 2, "b": "y", "c": None}]
    # The same columns under other names, and another statement in between, never mix their names up.
    assert db.one("SELECT a AS first, b AS second FROM t WHERE a = 2") == {"first": 2, "second": "y"}
    assert db.query("SELECT b FROM t ORDER BY a; SELECT c, a FROM t WHERE a = 1") == [
        {"b": "x"},
        {"b": "y"},
        {"c": 2.5, "a": 1},
    ]
    assert db.value("SELECT COUNT(*) AS n FROM t") == 2
    row = db.one("SELECT * FROM t WHERE a = 1")
    assert row is not None
    row.pop("a")  # callers may change the rows they get
    assert db.one("SELECT * FROM t WHERE a = 1") == {"a": 1, "b": "x", "c": 2.5}


def test_tuples_leave_the_connections_dict_rows_alone(tmp_path: Path) -> None:
    db = Database(tmp_path / "t.db")
    db.execute("CREATE TABLE t (a INTEGER, b TEXT)")
    db.execute("INSERT INTO t VALUES (1, 'x'), (2, 'y')")
    assert db.tuples("SELECT b, a FROM t ORDER BY a") == [("x", 1), ("y", 2)]
    assert db.tuples("SELECT a FROM t WHERE a > ?", (5,)) == []
    assert db.query("SELECT a FROM t ORDER BY a") == [{"a": 1}, {"a": 2}]
    assert [r["a"] for r in db.connection().execute("SELECT a FROM t ORDER BY a")] == [1, 2]
