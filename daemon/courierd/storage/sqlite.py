"""The one SQLite setup of both spools: WAL, fsync on every commit, explicit transactions.

A spool is one file in COURIER_STATE_DIR with one connection shared by several
threads (each spool serialises its use with its own lock). The connection is in
autocommit mode, so a write is either a single statement or a `transaction()`:
BEGIN IMMEDIATE takes the write lock at once, and `synchronous=FULL` makes a
COMMIT durable before it returns, which is what lets a spool promise that what
it accepted survives a crash.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path


def open_database(path: Path, schema: str) -> sqlite3.Connection:
    """The database at `path` (its folder created if missing), in WAL mode, with `schema`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    db.executescript(schema)
    return db


@contextlib.contextmanager
def transaction(db: sqlite3.Connection) -> Iterator[None]:
    """BEGIN IMMEDIATE ... COMMIT; anything raised inside rolls back and is raised again."""
    db.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        # A closed database or a failed statement may have ended the transaction already.
        with contextlib.suppress(sqlite3.Error):
            db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")
