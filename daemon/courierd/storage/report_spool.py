"""Durable spool of send results that Odoo has not acknowledged yet (SQLite, WAL).

A result is written here right after Mailjet answers and before it is reported,
and removed once `courier_report` returns. If Odoo is down during the report, or
the daemon dies in between, the result survives and is reported on the next loop
turn or at the next start; `courier_report` is idempotent, so reporting twice is
harmless while reporting never would leave an invoice "Queued" after it went out.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import cast

from courierd.domain.contract import SendResult
from courierd.storage.sqlite import open_database, transaction

SPOOL_FILE = "report-spool.sqlite3"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS pending_result (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    dispatch_id INTEGER NOT NULL,
    custom_id TEXT NOT NULL,
    outcome TEXT NOT NULL,
    result TEXT NOT NULL
);
"""


class ReportSpool:
    def __init__(self, state_dir: Path) -> None:
        self.path = state_dir / SPOOL_FILE
        # Used by the send loop and read by the HTTP thread (depth): one connection, one lock.
        self._lock = threading.Lock()
        self._db = open_database(self.path, _SCHEMA)

    def add(self, results: list[SendResult]) -> list[int]:
        """Store results durably; returns their spool keys, in order."""
        keys = []
        with self._lock, transaction(self._db):
            for result in results:
                cursor = self._db.execute(
                    "INSERT INTO pending_result (dispatch_id, custom_id, outcome, result)"
                    " VALUES (?, ?, ?, ?)",
                    (result["id"], result["custom_id"], result["outcome"], json.dumps(result)),
                )
                keys.append(int(cursor.lastrowid or 0))
        return keys

    def pending(self, limit: int = 200) -> list[tuple[int, SendResult]]:
        """The oldest unacknowledged results with their keys, in the order they were added."""
        with self._lock:
            rows = self._db.execute(
                "SELECT seq, result FROM pending_result ORDER BY seq LIMIT ?", (limit,)
            ).fetchall()
        return [(int(seq), cast(SendResult, json.loads(result))) for seq, result in rows]

    def remove(self, keys: list[int]) -> None:
        if not keys:
            return
        with self._lock, transaction(self._db):
            self._db.executemany("DELETE FROM pending_result WHERE seq = ?", [(k,) for k in keys])

    def depth(self) -> int:
        with self._lock:
            (count,) = self._db.execute("SELECT COUNT(*) FROM pending_result").fetchone()
        return int(count)

    def close(self) -> None:
        with self._lock:
            self._db.close()
