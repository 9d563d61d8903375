"""Which blobs the database refers to: what a backup must hold and what verify checks.

Originals and variants are known by name. Any other table that keeps blob keys in a column named
`key` or `*_key` (values with a `/`, as every key storage/keys.py builds has) is found from the
schema, so blobs that later features add (renditions, edits) are backed up and never mistaken for
orphans. Staging uploads are not the library's blobs yet and are left out.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from photoshare.db import Database
from photoshare.storage.keys import EXTERNAL_PREFIX

__all__ = ["BlobRef", "blob_refs", "is_external"]

_KNOWN = {"photos", "photo_variants", "uploads", "jobs", "schema_migrations"}


@dataclass(frozen=True, slots=True)
class BlobRef:
    key: str
    kind: str
    """"original", "variant", or the name of the table that refers to it."""
    photo_id: str | None = None
    sha256: str | None = None
    """The recorded SHA-256 of the content, or its leading hex digits (a variant's etag)."""
    size: int | None = None


def is_external(key: str) -> bool:
    return key.startswith(EXTERNAL_PREFIX)


def _key_columns(db: Database) -> Iterator[tuple[str, str]]:
    tables = db.query("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
    for t in tables:
        name = t["name"]
        if name in _KNOWN or not name.replace("_", "").isalnum():
            continue
        for col in db.query(f"SELECT name FROM pragma_table_info('{name}')"):
            c = col["name"]
            if c == "key" or c.endswith("_key"):
                yield name, c


def blob_refs(db: Database) -> Iterator[BlobRef]:
    """Every blob reference in the database (a key may appear more than once)."""
    for r in db.query("SELECT id, original_key, sha256, file_size_bytes FROM photos"):
        # An unconfirmed direct upload has no hash yet and still sits at its staging key.
        yield BlobRef(r["original_key"], "original", r["id"], r["sha256"] or None, r["file_size_bytes"])
    for r in db.query("SELECT photo_id, object_key, size_bytes, etag FROM photo_variants"):
        yield BlobRef(r["object_key"], "variant", r["photo_id"], r["etag"] or None, r["size_bytes"])
    for table, column in _key_columns(db):
        for r in db.query(f"SELECT DISTINCT {column} AS k FROM {table} WHERE instr({column}, '/') > 0"):
            if isinstance(r["k"], str):
                yield BlobRef(r["k"], table)
