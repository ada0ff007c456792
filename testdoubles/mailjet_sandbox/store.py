"""The sandbox's state: messages and events, in SQLite inside the outbox.

Kept on disk so that a restarted sandbox still answers lookups for earlier
messages and still delivers the webhook events it had not delivered yet.
Events are stored when scheduled, with the time they "happen" (``due_at``):
lookups only show events already due, the webhook sender picks them up then.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DB_NAME = ".mailjet-sandbox.sqlite3"

# 2**60: every MessageID exceeds 32 (and 53) bits, like Mailjet's.
MESSAGE_ID_BASE = 1 << 60

# Webhook delivery state of an event.
PENDING, DELIVERED, DROPPED = 0, 1, 2

_SCHEMA = """
CREATE TABLE IF NOT EXISTS messages (
    message_id INTEGER PRIMARY KEY,
    uuid TEXT NOT NULL,
    custom_id TEXT NOT NULL,
    email TEXT NOT NULL,
    kind TEXT NOT NULL,
    subject TEXT NOT NULL,
    arrived_at REAL NOT NULL,
    eml TEXT NOT NULL,
    token TEXT UNIQUE,
    links TEXT NOT NULL,
    facts TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS messages_custom_id ON messages (custom_id);
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    message_id INTEGER NOT NULL,
    due_at REAL NOT NULL,
    body TEXT NOT NULL,
    delivery INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS events_message ON events (message_id, seq);
CREATE INDEX IF NOT EXISTS events_pending ON events (delivery, due_at, seq);
"""


@dataclass(frozen=True)
class StoredMessage:
    message_id: int
    uuid: str
    custom_id: str
    email: str
    kind: str
    subject: str
    arrived_at: float
    eml: str
    token: str | None
    links: list[str]
    facts: dict[str, Any]  # REST fields: sizes, parts, tracking flags, payload, campaign


@dataclass(frozen=True)
class StoredEvent:
    seq: int
    message_id: int
    due_at: float
    body: dict[str, Any]


class Store:
    """Thread-safe access to the outbox's SQLite index."""

    def __init__(self, outbox: Path) -> None:
        outbox.mkdir(parents=True, exist_ok=True)
        self.path = outbox / DB_NAME
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        with self._lock:
            self._db.executescript(_SCHEMA)
            row = self._db.execute("SELECT MAX(message_id) FROM messages").fetchone()
        self._last_id = int(row[0] or 0)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def next_message_id(self) -> int:
        """Unique and increasing, also across restarts and fresh outboxes (time-based)."""
        with self._lock:
            now_us = time.time_ns() // 1000
            self._last_id = max(self._last_id + 1, MESSAGE_ID_BASE + now_us)
            return self._last_id

    def add_message(self, msg: StoredMessage) -> None:
        with self._lock:
            self._db.execute(
                "INSERT INTO messages VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    msg.message_id,
                    msg.uuid,
                    msg.custom_id,
                    msg.email,
                    msg.kind,
                    msg.subject,
                    msg.arrived_at,
                    msg.eml,
                    msg.token,
                    json.dumps(msg.links),
                    json.dumps(msg.facts),
                ),
            )

    def add_event(self, message_id: int, due_at: float, body: dict[str, Any]) -> int:
        with self._lock:
            cur = self._db.execute(
                "INSERT INTO events (message_id, due_at, body) VALUES (?, ?, ?)",
                (message_id, due_at, json.dumps(body)),
            )
            return int(cur.lastrowid or 0)

    @staticmethod
    def _message(row: sqlite3.Row) -> StoredMessage:
        return StoredMessage(
            message_id=int(row["message_id"]),
            uuid=row["uuid"],
            custom_id=row["custom_id"],
            email=row["email"],
            kind=row["kind"],
            subject=row["subject"],
            arrived_at=float(row["arrived_at"]),
            eml=row["eml"],
            token=row["token"],
            links=json.loads(row["links"]),
            facts=json.loads(row["facts"]),
        )

    @staticmethod
    def _event(row: sqlite3.Row) -> StoredEvent:
        return StoredEvent(
            int(row["seq"]), int(row["message_id"]), float(row["due_at"]), json.loads(row["body"])
        )

    def get_message(self, message_id: int) -> StoredMessage | None:
        with self._lock:
            row = self._db.execute(
                "SELECT * FROM messages WHERE message_id = ?", (message_id,)
            ).fetchone()
        return self._message(row) if row else None

    def message_by_token(self, token: str) -> StoredMessage | None:
        with self._lock:
            row = self._db.execute("SELECT * FROM messages WHERE token = ?", (token,)).fetchone()
        return self._message(row) if row else None

    def find_messages(
        self, *, custom_id: str | None = None, email: str | None = None
    ) -> list[StoredMessage]:
        clauses, params = [], []
        if custom_id is not None:
            clauses.append("custom_id = ?")
            params.append(custom_id)
        if email is not None:
            clauses.append("lower(email) = lower(?)")
            params.append(email)
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        with self._lock:
            rows = self._db.execute(
                f"SELECT * FROM messages {where} ORDER BY message_id", params
            ).fetchall()
        return [self._message(r) for r in rows]

    def events_of(self, message_id: int, now: float) -> list[StoredEvent]:
        """Events of one message that already happened, oldest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT * FROM events WHERE message_id = ? AND due_at <= ? ORDER BY seq",
                (message_id, now),
            ).fetchall()
        return [self._event(r) for r in rows]

    def due_undelivered(self, now: float, limit: int) -> list[StoredEvent]:
        """Events due and not yet POSTed, in the order they were scheduled."""
        with self._lock:
            rows = self._db.execute(
                "SELECT * FROM events WHERE delivery = ? AND due_at <= ? ORDER BY seq LIMIT ?",
                (PENDING, now, limit),
            ).fetchall()
        return [self._event(r) for r in rows]

    def next_due_at(self) -> float | None:
        with self._lock:
            row = self._db.execute(
                "SELECT MIN(due_at) FROM events WHERE delivery = ?", (PENDING,)
            ).fetchone()
        return float(row[0]) if row[0] is not None else None

    def mark(self, seqs: list[int], delivery: int) -> None:
        with self._lock:
            self._db.executemany(
                "UPDATE events SET delivery = ? WHERE seq = ?", [(delivery, s) for s in seqs]
            )

    def all_messages(self) -> list[StoredMessage]:
        return self.find_messages()
