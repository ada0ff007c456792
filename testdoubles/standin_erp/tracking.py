"""Tracking facts: storing events once, ranking recipients, the invoice's courier state.

Shared by the transmitted report (its `transmitted` events) and courier_ingest.
As in the addon, every effect is recomputed from the set of stored events, never
from their order: status, its time and the error text per recipient; the viewed
time per invoice (a delivery arriving after a click revisits that click).
"""

from __future__ import annotations

import json
import sqlite3
from datetime import timedelta
from typing import Any

from standin_erp.ranking import (
    EVENT_SOURCES,
    NEGATIVE_RANK,
    STATUS_RANK,
    UNDELIVERABLE_STATUSES,
    top_status,
)
from standin_erp.values import format_time, parse_time, utc_now

VIEWED_NOTE = "Viewed by the customer"
MAX_SCANNER_WINDOW = 86400


def known_key(conn: sqlite3.Connection, key: str) -> bool:
    return conn.execute("SELECT 1 FROM event WHERE dedupe_key = ?", (key,)).fetchone() is not None


def match_recipient(conn: sqlite3.Connection, event: dict[str, Any]) -> sqlite3.Row | None:
    """By message_id, else by custom_id + email (docs/contract.md)."""
    if event.get("message_id"):
        row = conn.execute(
            "SELECT * FROM recipient WHERE message_id = ?", (str(event["message_id"]),)
        ).fetchone()
        if row is not None:
            return row
    if event.get("custom_id"):
        return conn.execute(
            """SELECT r.* FROM recipient r JOIN dispatch d ON d.id = r.dispatch_id
               WHERE d.custom_id = ? AND lower(trim(r.email)) = ?""",
            (event["custom_id"], str(event.get("email") or "").strip().lower()),
        ).fetchone()
    return None


def store_event(conn: sqlite3.Connection, *, recipient_id: int, event: dict[str, Any]) -> None:
    """Store one event (once per dedupe key) and apply its effects."""
    key = str(event["dedupe_key"])
    if known_key(conn, key):
        return
    place = conn.execute(
        """SELECT r.status, r.dispatch_id, d.move_id FROM recipient r
           JOIN dispatch d ON d.id = r.dispatch_id WHERE r.id = ?""",
        (recipient_id,),
    ).fetchone()
    moment = parse_time(event.get("time"))
    payload = event.get("payload")
    conn.execute(
        """INSERT INTO event (type, event_time, source, url, user_agent, detail, web_document,
               min_seconds_after_delivery, payload, dedupe_key, recipient_id, dispatch_id,
               move_id)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
        (
            event["type"],
            format_time(moment),
            event.get("source") if event.get("source") in EVENT_SOURCES else "daemon",
            event.get("url") or None,
            event.get("user_agent") or None,
            str(event["detail"]) if event.get("detail") else None,
            1 if event.get("web_document") else 0,
            scanner_window(event.get("min_seconds_after_delivery")),
            None if payload is None else json.dumps(payload),
            key,
            recipient_id,
            place["dispatch_id"],
            place["move_id"],
        ),
    )
    status = rank_recipient(conn, recipient_id)
    if event.get("web_document") or event["type"] in ("viewed", "delivered"):
        recompute_viewed(conn, place["move_id"])
    if status in UNDELIVERABLE_STATUSES and place["status"] not in UNDELIVERABLE_STATUSES:
        report_undeliverable(conn, place["move_id"], recipient_id)


def scanner_window(value: Any) -> int:
    """The contract's `min_seconds_after_delivery`: whole seconds 0-86400, else 0."""
    if isinstance(value, bool) or not isinstance(value, int):
        return 0
    return min(max(value, 0), MAX_SCANNER_WINDOW)


def rank_recipient(conn: sqlite3.Connection, recipient_id: int) -> str:
    """Status = highest-ranked type among the events, never simply the last one.

    Its time is the first time that type was seen; the error text (unsubscribed
    and worse) the latest detail by event time, of the winning type if it has
    one, else of any negative type; equal times are told apart by dedupe key.
    """
    recipient = conn.execute(
        "SELECT message_id, status_time, error_text FROM recipient WHERE id = ?",
        (recipient_id,),
    ).fetchone()
    events = conn.execute(
        "SELECT type, event_time, detail, dedupe_key FROM event WHERE recipient_id = ?",
        (recipient_id,),
    ).fetchall()
    status = top_status([e["type"] for e in events])
    if status == "queued" and recipient["message_id"]:
        status = "transmitted"
    times = [e["event_time"] for e in events if e["type"] == status]
    error_text = recipient["error_text"]
    if STATUS_RANK[status] >= NEGATIVE_RANK:
        negative = [
            e for e in events if STATUS_RANK.get(e["type"], -1) >= NEGATIVE_RANK and e["detail"]
        ]
        explaining = [e for e in negative if e["type"] == status] or negative
        if explaining:
            error_text = max(explaining, key=lambda e: (e["event_time"], e["dedupe_key"]))["detail"]
    conn.execute(
        "UPDATE recipient SET status = ?, status_time = ?, error_text = ? WHERE id = ?",
        (status, min(times) if times else recipient["status_time"], error_text, recipient_id),
    )
    return status


def recompute_viewed(conn: sqlite3.Connection, move_id: int) -> None:
    """courier_viewed_at = the earliest view that counts among the invoice's events.

    A `viewed` event always counts. A web-document click counts unless it came
    within its `min_seconds_after_delivery` of its recipient's (earliest)
    delivery; without a stored delivery it counts for now, and the delivery's
    arrival revisits it. The "Viewed by the customer" note exists exactly while
    the invoice is viewed.
    """
    deliveries = {
        row["recipient_id"]: parse_time(row["at"])
        for row in conn.execute(
            """SELECT recipient_id, MIN(event_time) AS at FROM event
               WHERE move_id = ? AND type = 'delivered' GROUP BY recipient_id""",
            (move_id,),
        )
    }
    views = []
    for event in conn.execute(
        """SELECT type, event_time, web_document, min_seconds_after_delivery, recipient_id
           FROM event WHERE move_id = ? AND (type = 'viewed' OR web_document = 1)""",
        (move_id,),
    ):
        moment = parse_time(event["event_time"])
        delivered = deliveries.get(event["recipient_id"])
        window = timedelta(seconds=event["min_seconds_after_delivery"])
        if event["type"] == "viewed" or delivered is None or moment >= delivered + window:
            views.append(moment)
    viewed_at = format_time(min(views)) if views else None
    (before,) = conn.execute(
        "SELECT courier_viewed_at FROM invoice WHERE id = ?", (move_id,)
    ).fetchone()
    if before == viewed_at:
        return
    conn.execute("UPDATE invoice SET courier_viewed_at = ? WHERE id = ?", (viewed_at, move_id))
    if before is None:
        note(conn, move_id, "note", VIEWED_NOTE)
    elif viewed_at is None:
        conn.execute(
            "DELETE FROM invoice_note WHERE move_id = ? AND kind = 'note' AND body = ?",
            (move_id, VIEWED_NOTE),
        )
    refresh_invoice_state(conn, move_id)


def report_undeliverable(conn: sqlite3.Connection, move_id: int, recipient_id: int) -> None:
    """A bounce or block: tell the sender so they resend to a corrected address."""
    recipient = conn.execute(
        "SELECT email, status FROM recipient WHERE id = ?", (recipient_id,)
    ).fetchone()
    note(
        conn,
        move_id,
        "activity",
        f"The email to {recipient['email']} was not delivered ({recipient['status']}). "
        "Correct the address and send the invoice again.",
    )
    refresh_invoice_state(conn, move_id)


def refresh_invoice_state(conn: sqlite3.Connection, move_id: int) -> None:
    """The invoice's courier_state from its latest send, its recipients and any view.

    The latest send's failure or undeliverable addresses come first (the
    sender must act), then a view by the customer, then the send's progress.
    """
    invoice = conn.execute(
        "SELECT courier_viewed_at FROM invoice WHERE id = ?", (move_id,)
    ).fetchone()
    latest = conn.execute(
        """SELECT id, state FROM dispatch
           WHERE move_id = ? AND state NOT IN ('cancelled', 'test_sent')
           ORDER BY id DESC LIMIT 1""",
        (move_id,),
    ).fetchone()
    statuses = (
        [
            r["status"]
            for r in conn.execute(
                "SELECT status FROM recipient WHERE dispatch_id = ?", (latest["id"],)
            )
        ]
        if latest is not None
        else []
    )
    latest_state = latest["state"] if latest is not None else None
    if latest_state == "failed":
        state = "failed"
    elif (
        latest_state == "transmitted"
        and statuses
        and all(s in UNDELIVERABLE_STATUSES for s in statuses)
    ):
        state = "bounced"
    elif invoice["courier_viewed_at"]:
        state = "viewed"
    elif latest_state in ("queued", "sending"):
        state = "queued"
    elif latest_state == "transmitted":
        state = "sent"
    else:
        state = "not_sent"
    conn.execute("UPDATE invoice SET courier_state = ? WHERE id = ?", (state, move_id))


def note(conn: sqlite3.Connection, move_id: int, kind: str, body: str) -> None:
    conn.execute(
        "INSERT INTO invoice_note (move_id, kind, body, created_at) VALUES (?, ?, ?, ?)",
        (move_id, kind, body, format_time(utc_now())),
    )
