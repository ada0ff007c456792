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
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Sequence
from pathlib import Path

from courierd.domain.tracking import TrackingEvent
from courierd.storage.sqlite import open_database, transaction

SPOOL_FILE = "event-spool.sqlite3"
# How long a delivery time is kept for the link-scanner guard.
DELIVERY_MEMORY_SECONDS = 30 * 24 * 3600
_PRUNE_EVERY_SECONDS = 3600.0

_SCHEMA = """
CREATE TABLE IF NOT EXISTS pending_event (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    dedupe_key TEXT NOT NULL UNIQUE,
    event TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS delivery (
    message_id TEXT PRIMARY KEY,
    delivered_at TEXT NOT NULL,
    seen_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS delivery_seen_at ON delivery (seen_at);
CREATE TABLE IF NOT EXISTS rejected_event (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    dedupe_key TEXT NOT NULL,
    event TEXT NOT NULL,
    reason TEXT NOT NULL,
    rejected_at REAL NOT NULL
);
"""


class _Batch:
    """One add() call's events, waiting for a writer to commit them."""

    def __init__(self, events: list[TrackingEvent]) -> None:
        self.events = events
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
        self._pruned_at = 0.0

    def add(self, events: Sequence[TrackingEvent]) -> int:
        """Store `events` durably; returns how many were new (not already waiting)."""
        if not events:
            return 0
        batch = _Batch(list(events))
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
                        batch.new = self._insert(batch.events, now)
                    if now - self._pruned_at > _PRUNE_EVERY_SECONDS:
                        self._db.execute(
                            "DELETE FROM delivery WHERE seen_at < ?",
                            (now - DELIVERY_MEMORY_SECONDS,),
                        )
                        self._pruned_at = now
            except BaseException as exc:
                for batch in batches:
                    batch.error = exc
                    batch.new = 0
            finally:
                for batch in batches:
                    batch.done = True

    def _insert(self, events: list[TrackingEvent], now: float) -> int:
        new = 0
        for event in events:
            cursor = self._db.execute(
                "INSERT OR IGNORE INTO pending_event (dedupe_key, event) VALUES (?, ?)",
                (event.dedupe_key, json.dumps(event.to_contract())),
            )
            new += cursor.rowcount
            if event.type == "delivered" and event.message_id:
                # The earliest delivery time wins: events arrive out of order.
                self._db.execute(
                    "INSERT INTO delivery (message_id, delivered_at, seen_at) VALUES (?, ?, ?)"
                    " ON CONFLICT (message_id) DO UPDATE"
                    " SET delivered_at = min(delivered_at, excluded.delivered_at)",
                    (event.message_id, event.time, now),
                )
        return new

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

    def delivered_at(self, message_id: str) -> str | None:
        with self._db_lock:
            row = self._db.execute(
                "SELECT delivered_at FROM delivery WHERE message_id = ?", (message_id,)
            ).fetchone()
        return str(row[0]) if row else None

    def depth(self) -> int:
        with self._db_lock:
            (count,) = self._db.execute("SELECT COUNT(*) FROM pending_event").fetchone()
        return int(count)

    def close(self) -> None:
        with self._db_lock:
            self._db.close()
