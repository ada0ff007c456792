"""Durable spool of tracking events waiting to be forwarded to Odoo (SQLite, WAL).

The webhook receiver answers Mailjet 200 only once `add()` has returned, i.e.
once the events are committed and fsynced here; the forwarder then sends them
to `courier_ingest` and removes them once Odoo answered. A crash or an Odoo
outage of hours loses nothing: the backlog is forwarded at the next start.

Group commit: HTTP handler threads call `add()` concurrently. Whichever caller
finds the writer free commits every batch queued so far in one transaction (one
fsync), and each caller returns only once its own rows are committed. That keeps
per-request durability without one fsync per request.

Events Odoo refuses for good (found by the forwarder) move to `rejected_event`:
kept for an operator to look at, never retried automatically.

Events the webhook receiver refuses (they fail validation) are never events
here: `invalid_webhook_event` keeps a short excerpt of each with the reason,
for an operator, bounded in rows (`INVALID_MAX_ROWS`) and age
(`INVALID_MAX_AGE_SECONDS`) so a flood of bad posts cannot fill the disk.

Nothing is kept about messages beyond their pending events: the link-scanner
guard's delivery times are the ERP's to hold (domain/scanner_guard.py), so a
`sent` event of a message courierd never sent leaves no trace once forwarded.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Sequence
from pathlib import Path

from courierd.domain.tracking import InvalidEvent, TrackingEvent
from courierd.storage.sqlite import open_database, transaction

SPOOL_FILE = "event-spool.sqlite3"
INVALID_MAX_ROWS = 10_000
INVALID_MAX_AGE_SECONDS = 7 * 24 * 3600
INVALID_EXCERPT_CHARS = 1000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS pending_event (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    dedupe_key TEXT NOT NULL UNIQUE,
    event TEXT NOT NULL
);
DROP TABLE IF EXISTS delivery;
CREATE TABLE IF NOT EXISTS rejected_event (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    dedupe_key TEXT NOT NULL,
    event TEXT NOT NULL,
    reason TEXT NOT NULL,
    rejected_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS invalid_webhook_event (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    position INTEGER NOT NULL,
    reason TEXT NOT NULL,
    excerpt TEXT NOT NULL,
    received_at REAL NOT NULL
);
"""


class _Batch:
    """One add() call's events, waiting for a writer to commit them."""

    def __init__(self, events: list[TrackingEvent], invalid: list[InvalidEvent]) -> None:
        self.events = events
        self.invalid = invalid
        self.done = False
        self.new = 0
        self.error: BaseException | None = None


class EventSpool:
    def __init__(self, state_dir: Path) -> None:
        self.path = state_dir / SPOOL_FILE
        # One connection; `_db_lock` serialises its use (writers, forwarder, metrics).
        self._db_lock = threading.Lock()
        self._db = open_database(self.path, _SCHEMA)
        # Group commit state: batches queued by add(), and whether a caller is writing.
        self._queue_cond = threading.Condition()
        self._queue: list[_Batch] = []
        self._writing = False

    def add(self, events: Sequence[TrackingEvent], invalid: Sequence[InvalidEvent] = ()) -> int:
        """Store `events` durably (and the `invalid` ones' record); how many events were new."""
        if not events and not invalid:
            return 0
        batch = _Batch(list(events), list(invalid))
        with self._queue_cond:
            self._queue.append(batch)
            while not batch.done and self._writing:
                self._queue_cond.wait()
            if batch.done:
                return self._outcome(batch)
            # The writer is free and our batch is still queued: commit everyone's.
            self._writing = True
            taken, self._queue = self._queue, []
        try:
            self._commit(taken)
        finally:
            with self._queue_cond:
                self._writing = False
                self._queue_cond.notify_all()
        return self._outcome(batch)

    @staticmethod
    def _outcome(batch: _Batch) -> int:
        if batch.error is not None:
            raise batch.error
        return batch.new

    def _commit(self, batches: list[_Batch]) -> None:
        now = time.time()
        with self._db_lock:
            try:
                with transaction(self._db):
                    for batch in batches:
                        batch.new = self._insert(batch.events)
                    invalid = [item for batch in batches for item in batch.invalid]
                    if invalid:
                        self._insert_invalid(invalid, now)
            except BaseException as exc:
                for batch in batches:
                    batch.error = exc
                    batch.new = 0
            finally:
                for batch in batches:
                    batch.done = True

    def _insert(self, events: list[TrackingEvent]) -> int:
        new = 0
        for event in events:
            cursor = self._db.execute(
                "INSERT OR IGNORE INTO pending_event (dedupe_key, event) VALUES (?, ?)",
                (event.dedupe_key, json.dumps(event.to_contract())),
            )
            new += cursor.rowcount
        return new

    def _insert_invalid(self, invalid: list[InvalidEvent], now: float) -> None:
        self._db.executemany(
            "INSERT INTO invalid_webhook_event (position, reason, excerpt, received_at)"
            " VALUES (?, ?, ?, ?)",
            [
                (item.position, item.reason, item.excerpt[:INVALID_EXCERPT_CHARS], now)
                for item in invalid[-INVALID_MAX_ROWS:]
            ],
        )
        self._db.execute(
            "DELETE FROM invalid_webhook_event WHERE received_at < ?"
            " OR seq <= (SELECT MAX(seq) FROM invalid_webhook_event) - ?",
            (now - INVALID_MAX_AGE_SECONDS, INVALID_MAX_ROWS),
        )

    def pending(self, limit: int) -> list[tuple[int, TrackingEvent]]:
        """The oldest waiting events with their spool keys, in the order they were added."""
        with self._db_lock:
            rows = self._db.execute(
                "SELECT seq, event FROM pending_event ORDER BY seq LIMIT ?", (limit,)
            ).fetchall()
        return [(int(seq), TrackingEvent.from_contract(json.loads(data))) for seq, data in rows]

    def remove(self, keys: Sequence[int]) -> None:
        if not keys:
            return
        with self._db_lock, transaction(self._db):
            self._db.executemany("DELETE FROM pending_event WHERE seq = ?", [(k,) for k in keys])

    def reject(self, key: int, reason: str) -> None:
        """Move one waiting event to `rejected_event` (Odoo refuses it), with Odoo's reason."""
        with self._db_lock, transaction(self._db):
            self._db.execute(
                "INSERT INTO rejected_event (dedupe_key, event, reason, rejected_at)"
                " SELECT dedupe_key, event, ?, ? FROM pending_event WHERE seq = ?",
                (reason, time.time(), key),
            )
            self._db.execute("DELETE FROM pending_event WHERE seq = ?", (key,))

    def rejected(self) -> list[tuple[TrackingEvent, str]]:
        """Events Odoo refused, oldest first, with the reason it gave."""
        with self._db_lock:
            rows = self._db.execute(
                "SELECT event, reason FROM rejected_event ORDER BY seq"
            ).fetchall()
        return [(TrackingEvent.from_contract(json.loads(data)), reason) for data, reason in rows]

    def invalid_events(self) -> list[InvalidEvent]:
        """The record of webhook events refused by validation, oldest first."""
        with self._db_lock:
            rows = self._db.execute(
                "SELECT position, reason, excerpt FROM invalid_webhook_event ORDER BY seq"
            ).fetchall()
        return [InvalidEvent(int(position), reason, excerpt) for position, reason, excerpt in rows]

    def depth(self) -> int:
        with self._db_lock:
            (count,) = self._db.execute("SELECT COUNT(*) FROM pending_event").fetchone()
        return int(count)

    def close(self) -> None:
        with self._db_lock:
            self._db.close()
