"""The stand-in's state in SQLite, with the addon's contract semantics.

Every contract method runs in one ``BEGIN IMMEDIATE`` transaction under a
process-wide lock: threads of one server are serialised by the lock, and
several processes sharing a database file by SQLite's write lock, so a claim
is atomic the way ``FOR UPDATE SKIP LOCKED`` makes it in Odoo.
"""

from __future__ import annotations

import base64
import json
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from courierd.standin_erp.errors import UserError, ValidationError
from courierd.standin_erp.ranking import (
    EVENT_SOURCES,
    EVENT_TYPES,
    OPEN_STATUSES,
    UNDELIVERABLE_STATUSES,
    top_status,
)

SCHEMA = """
CREATE TABLE IF NOT EXISTS invoice (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    partner_name TEXT NOT NULL,
    amount_total REAL NOT NULL,
    amount_residual REAL NOT NULL,
    currency TEXT NOT NULL,
    invoice_date TEXT NOT NULL,
    invoice_date_due TEXT NOT NULL,
    move_type TEXT NOT NULL,
    lang TEXT NOT NULL,
    payment_reference TEXT NOT NULL,
    access_token TEXT NOT NULL,
    pdf_base64 TEXT,
    courier_state TEXT NOT NULL DEFAULT 'not_sent',
    is_move_sent INTEGER NOT NULL DEFAULT 0,
    courier_viewed_at TEXT
);
CREATE TABLE IF NOT EXISTS dispatch (
    id INTEGER PRIMARY KEY,
    move_id INTEGER NOT NULL REFERENCES invoice(id),
    company_id INTEGER NOT NULL,
    state TEXT NOT NULL,
    subject TEXT NOT NULL,
    body_html TEXT NOT NULL,
    body_text TEXT NOT NULL,
    sender_email TEXT NOT NULL,
    sender_name TEXT NOT NULL,
    reply_to TEXT NOT NULL,
    custom_id TEXT NOT NULL UNIQUE,
    web_url TEXT NOT NULL,
    track_opens INTEGER NOT NULL,
    track_clicks INTEGER NOT NULL,
    lease_owner TEXT,
    lease_expires_at TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT,
    last_error TEXT,
    error_code TEXT,
    queued_at TEXT NOT NULL,
    transmitted_at TEXT
);
CREATE INDEX IF NOT EXISTS dispatch_claimable ON dispatch (state, queued_at);
CREATE TABLE IF NOT EXISTS recipient (
    id INTEGER PRIMARY KEY,
    dispatch_id INTEGER NOT NULL REFERENCES dispatch(id),
    email TEXT NOT NULL,
    name TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'queued',
    status_time TEXT,
    message_id TEXT,
    message_uuid TEXT,
    error_text TEXT,
    last_polled_at TEXT
);
CREATE INDEX IF NOT EXISTS recipient_dispatch ON recipient (dispatch_id);
CREATE INDEX IF NOT EXISTS recipient_message ON recipient (message_id);
CREATE TABLE IF NOT EXISTS event (
    id INTEGER PRIMARY KEY,
    type TEXT NOT NULL,
    event_time TEXT NOT NULL,
    source TEXT NOT NULL,
    url TEXT,
    user_agent TEXT,
    detail TEXT,
    web_document INTEGER NOT NULL DEFAULT 0,
    payload TEXT,
    dedupe_key TEXT NOT NULL UNIQUE,
    recipient_id INTEGER REFERENCES recipient(id),
    dispatch_id INTEGER NOT NULL REFERENCES dispatch(id),
    move_id INTEGER NOT NULL REFERENCES invoice(id)
);
CREATE INDEX IF NOT EXISTS event_recipient ON event (recipient_id);
CREATE TABLE IF NOT EXISTS invoice_note (
    id INTEGER PRIMARY KEY,
    move_id INTEGER NOT NULL REFERENCES invoice(id),
    kind TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at TEXT NOT NULL
);
"""

SENDER_EMAIL = "billing@company.example"
SENDER_NAME = "Stand-in Company"
DEFAULT_RETRY_AFTER = 60


def utc_now() -> datetime:
    # Odoo's Datetime fields keep whole seconds; so does the stand-in.
    return datetime.now(UTC).replace(microsecond=0)


def format_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(value: Any, field: str) -> datetime:
    if not isinstance(value, str) or not value:
        raise ValidationError(f"{field}: expected a UTC ISO-8601 time, got {value!r}")
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise ValidationError(f"{field}: expected a UTC ISO-8601 time, got {value!r}") from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).replace(microsecond=0)


def minimal_pdf(title: str) -> bytes:
    """A small but well-formed one-page PDF naming the invoice."""
    text = title.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
    stream = f"BT /F1 18 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
        b"/Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def pdf_filename(invoice_name: str) -> str:
    return invoice_name.replace("/", "_") + ".pdf"


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise ValidationError(message)


def _positive_int(value: Any, field: str) -> int:
    _require(
        isinstance(value, int) and not isinstance(value, bool) and value > 0,
        f"{field}: expected a positive integer, got {value!r}",
    )
    return int(value)


class CourierStore:
    """Invoices, dispatches, recipients and events, and the contract methods on them."""

    def __init__(
        self,
        path: Path | None = None,
        base_url: str = "http://127.0.0.1:8069",
        render_seconds: float = 0.0,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        # Time a PDF render takes (about 1.3 s in real Odoo); slept outside the lock.
        self.render_seconds = render_seconds
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(
            str(path) if path else ":memory:",
            check_same_thread=False,
            isolation_level=None,
            timeout=30,
        )
        self._conn.row_factory = sqlite3.Row
        if path:
            self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.executescript(SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    # ------------------------------------------------------------------ seeding

    def seed(
        self,
        count: int,
        emails: list[str] | None = None,
        *,
        with_pdf: bool = True,
        move_type: str = "out_invoice",
        lang: str = "en_US",
    ) -> list[int]:
        """Posted invoices with one queued dispatch each; returns the dispatch ids.

        ``emails[i]`` is the recipient of dispatch ``i``; several addresses may be
        given in one item, separated by commas. Without ``emails`` every dispatch
        gets its own address at customer.example.
        """
        if emails is not None and len(emails) != count:
            raise ValueError(f"{len(emails)} emails for {count} dispatches")
        now = utc_now()
        ids: list[int] = []
        with self._transaction() as conn:
            for index in range(count):
                batch_tag = uuid.uuid4().hex[:10]
                addresses = (
                    [a.strip() for a in emails[index].split(",") if a.strip()]
                    if emails is not None
                    else [f"customer-{batch_tag}@customer.example"]
                )
                invoice_id = self._insert_invoice(conn, now, batch_tag, move_type, lang, with_pdf)
                ids.append(self._insert_dispatch(conn, now, invoice_id, addresses))
        return ids

    def _insert_invoice(
        self,
        conn: sqlite3.Connection,
        now: datetime,
        tag: str,
        move_type: str,
        lang: str,
        with_pdf: bool,
    ) -> int:
        prefix = "RINV" if move_type == "out_refund" else "INV"
        next_number = conn.execute("SELECT COALESCE(MAX(id), 0) + 1 FROM invoice").fetchone()[0]
        name = f"{prefix}/{now.year}/{next_number:05d}"
        pdf = base64.b64encode(minimal_pdf(name)).decode() if with_pdf else None
        cursor = conn.execute(
            """INSERT INTO invoice (name, partner_name, amount_total, amount_residual, currency,
                   invoice_date, invoice_date_due, move_type, lang, payment_reference,
                   access_token, pdf_base64, courier_state)
               VALUES (?, ?, ?, ?, 'EUR', ?, ?, ?, ?, ?, ?, ?, 'queued')""",
            (
                name,
                f"Customer {tag}",
                1250.0,
                1250.0,
                now.date().isoformat(),
                (now + timedelta(days=30)).date().isoformat(),
                move_type,
                lang,
                name,
                uuid.uuid4().hex,
                pdf,
            ),
        )
        return int(cursor.lastrowid or 0)

    def _insert_dispatch(
        self, conn: sqlite3.Connection, now: datetime, invoice_id: int, addresses: list[str]
    ) -> int:
        invoice = conn.execute("SELECT * FROM invoice WHERE id = ?", (invoice_id,)).fetchone()
        web_url = f"{self.base_url}/my/invoices/{invoice_id}?access_token={invoice['access_token']}"
        cursor = conn.execute(
            """INSERT INTO dispatch (move_id, company_id, state, subject, body_html, body_text,
                   sender_email, sender_name, reply_to, custom_id, web_url, track_opens,
                   track_clicks, queued_at)
               VALUES (?, 1, 'queued', ?, ?, ?, ?, ?, ?, ?, ?, 1, 1, ?)""",
            (
                invoice_id,
                f"Invoice {invoice['name']}",
                f"<p>Dear customer, here is invoice {invoice['name']}.</p>"
                f'<p><a href="{web_url}">View it online</a></p>',
                f"Dear customer, here is invoice {invoice['name']}.\nView it online: {web_url}",
                SENDER_EMAIL,
                SENDER_NAME,
                SENDER_EMAIL,
                uuid.uuid4().hex,
                web_url,
                format_time(now),
            ),
        )
        dispatch_id = int(cursor.lastrowid or 0)
        conn.executemany(
            "INSERT INTO recipient (dispatch_id, email, name) VALUES (?, ?, ?)",
            [(dispatch_id, address, address.split("@")[0]) for address in addresses],
        )
        return dispatch_id

    # ---------------------------------------------------------- contract: claim

    def claim(self, worker_id: Any, limit: Any, lease_seconds: Any) -> list[dict[str, Any]]:
        _require(isinstance(worker_id, str) and worker_id != "", "worker_id: a non-empty string")
        limit = _positive_int(limit, "limit")
        lease_seconds = _positive_int(lease_seconds, "lease_seconds")
        now = utc_now()
        stamp = format_time(now)
        expires = format_time(now + timedelta(seconds=lease_seconds))
        with self._transaction() as conn:
            rows = conn.execute(
                """SELECT id, attempts FROM dispatch
                   WHERE (state = 'queued' AND (next_attempt_at IS NULL OR next_attempt_at <= ?))
                      OR (state = 'sending' AND lease_expires_at < ?)
                   ORDER BY queued_at, id LIMIT ?""",
                (stamp, stamp, limit),
            ).fetchall()
            claimed = []
            for row in rows:
                conn.execute(
                    """UPDATE dispatch SET state = 'sending', lease_owner = ?,
                           lease_expires_at = ?, attempts = attempts + 1
                       WHERE id = ?""",
                    (worker_id, expires, row["id"]),
                )
                claimed.append(self._claim_payload(conn, row["id"], row["attempts"] > 0))
            return claimed

    def _claim_payload(
        self, conn: sqlite3.Connection, dispatch_id: int, check_mailjet_first: bool
    ) -> dict[str, Any]:
        d = conn.execute(
            """SELECT d.*, i.name AS invoice_name, i.partner_name, i.amount_total,
                      i.amount_residual, i.currency, i.invoice_date, i.invoice_date_due,
                      i.move_type, i.lang, i.payment_reference, i.pdf_base64
               FROM dispatch d JOIN invoice i ON i.id = d.move_id WHERE d.id = ?""",
            (dispatch_id,),
        ).fetchone()
        recipients = conn.execute(
            "SELECT id, email, name FROM recipient WHERE dispatch_id = ? ORDER BY id",
            (dispatch_id,),
        ).fetchall()
        attachments = (
            [
                {
                    "filename": pdf_filename(d["invoice_name"]),
                    "content_type": "application/pdf",
                    "base64": d["pdf_base64"],
                }
            ]
            if d["pdf_base64"]
            else []
        )
        return {
            "id": d["id"],
            "custom_id": d["custom_id"],
            "attempts": d["attempts"],
            "check_mailjet_first": check_mailjet_first,
            "company_id": d["company_id"],
            "invoice_id": d["move_id"],
            "sender": {"email": d["sender_email"], "name": d["sender_name"]},
            "reply_to": d["reply_to"],
            "recipients": [dict(r) for r in recipients],
            "subject": d["subject"],
            "html": d["body_html"],
            "text": d["body_text"],
            "attachments": attachments,
            "pdf_pending": not d["pdf_base64"],
            "web_url": d["web_url"],
            "track_opens": bool(d["track_opens"]),
            "track_clicks": bool(d["track_clicks"]),
            "invoice": {
                "name": d["invoice_name"],
                "partner_name": d["partner_name"],
                "amount_total": d["amount_total"],
                "amount_residual": d["amount_residual"],
                "currency": d["currency"],
                "invoice_date": d["invoice_date"],
                "invoice_date_due": d["invoice_date_due"],
                "move_type": d["move_type"],
                "lang": d["lang"],
                "payment_reference": d["payment_reference"],
            },
        }

    # ----------------------------------------------------- contract: render_pdf

    def render_pdf(self, dispatch_id: Any) -> dict[str, str]:
        dispatch_id = _positive_int(dispatch_id, "dispatch_id")
        if self.render_seconds:
            time.sleep(self.render_seconds)
        with self._transaction() as conn:
            row = conn.execute(
                """SELECT d.state, i.id AS invoice_id, i.name, i.pdf_base64
                   FROM dispatch d JOIN invoice i ON i.id = d.move_id WHERE d.id = ?""",
                (dispatch_id,),
            ).fetchone()
            if row is None:
                raise UserError(
                    f"Record does not exist or has been deleted. (courier.dispatch({dispatch_id},))"
                )
            if row["state"] != "sending":
                raise UserError(
                    f"Dispatch {dispatch_id} is {row['state']}: "
                    "its PDF is rendered only while it is being sent."
                )
            pdf = row["pdf_base64"]
            if not pdf:
                pdf = base64.b64encode(minimal_pdf(row["name"])).decode()
                conn.execute(
                    "UPDATE invoice SET pdf_base64 = ? WHERE id = ?", (pdf, row["invoice_id"])
                )
            return {
                "filename": pdf_filename(row["name"]),
                "content_type": "application/pdf",
                "base64": pdf,
            }

    # --------------------------------------------------------- contract: report

    def report(self, results: Any) -> dict[str, int]:
        _require(isinstance(results, list), "results: expected a list")
        counts = {"transmitted": 0, "retry": 0, "failed": 0, "ignored": 0}
        with self._transaction() as conn:
            for result in results:
                _require(isinstance(result, dict), f"results: expected objects, got {result!r}")
                outcome = result.get("outcome")
                _require(
                    outcome in ("transmitted", "retry", "failed"),
                    f"outcome: transmitted, retry or failed, got {outcome!r}",
                )
                applied = self._apply_report(conn, result, outcome)
                counts[outcome if applied else "ignored"] += 1
        return counts

    def _apply_report(self, conn: sqlite3.Connection, result: dict[str, Any], outcome: str) -> bool:
        dispatch_id = result.get("id")
        row = conn.execute(
            "SELECT * FROM dispatch WHERE id = ?",
            (dispatch_id if isinstance(dispatch_id, int) else -1,),
        ).fetchone()
        if row is None or row["custom_id"] != result.get("custom_id"):
            return False
        if row["state"] in ("transmitted", "failed", "cancelled"):
            return False
        moment = parse_time(result["time"], "time") if result.get("time") else utc_now()
        if outcome == "transmitted":
            # Accepted from any worker, even after the lease ran out: the email did go out.
            self._report_transmitted(conn, row, result, moment)
            return True
        # retry/failed come from the worker sending it; once queued again, a
        # repeated report must not push next_attempt_at a second time.
        if row["state"] != "sending":
            return False
        error = result.get("error") or {}
        _require(isinstance(error, dict), "error: expected an object")
        message = str(error.get("message") or "")
        code = str(error.get("code") or "") or None
        if outcome == "retry":
            retry_after = result.get("retry_after")
            seconds = DEFAULT_RETRY_AFTER if retry_after is None else int(retry_after)
            conn.execute(
                """UPDATE dispatch SET state = 'queued', next_attempt_at = ?, last_error = ?,
                       error_code = ?, lease_owner = NULL, lease_expires_at = NULL
                   WHERE id = ?""",
                (
                    format_time(utc_now() + timedelta(seconds=max(seconds, 0))),
                    message,
                    code,
                    row["id"],
                ),
            )
            return True
        conn.execute(
            """UPDATE dispatch SET state = 'failed', last_error = ?, error_code = ?,
                   lease_owner = NULL, lease_expires_at = NULL
               WHERE id = ?""",
            (message, code, row["id"]),
        )
        conn.execute("UPDATE invoice SET courier_state = 'failed' WHERE id = ?", (row["move_id"],))
        self._note(
            conn, row["move_id"], "activity", f"Sending failed: {code or ''} {message}".strip()
        )
        return True

    def _report_transmitted(
        self, conn: sqlite3.Connection, row: sqlite3.Row, result: dict[str, Any], moment: datetime
    ) -> None:
        stamp = format_time(moment)
        reported = result.get("recipients") or []
        _require(isinstance(reported, list), "recipients: expected a list")
        by_email = {
            r["email"].lower(): r
            for r in conn.execute("SELECT * FROM recipient WHERE dispatch_id = ?", (row["id"],))
        }
        for entry in reported:
            _require(isinstance(entry, dict), "recipients: expected objects")
            recipient = by_email.get(str(entry.get("email", "")).lower())
            if recipient is None:
                continue
            _require(entry.get("message_id") not in (None, ""), "recipients: message_id required")
            message_id = str(entry["message_id"])
            message_uuid = str(entry.get("message_uuid") or "") or None
            conn.execute(
                "UPDATE recipient SET message_id = ?, message_uuid = ? WHERE id = ?",
                (message_id, message_uuid, recipient["id"]),
            )
            self._store_event(
                conn,
                recipient_id=recipient["id"],
                dispatch=row,
                event={
                    "type": "transmitted",
                    "source": "daemon",
                    "dedupe_key": f"transmitted:{message_id}",
                    "detail": entry.get("message_href"),
                },
                moment=moment,
            )
        conn.execute(
            """UPDATE dispatch SET state = 'transmitted', transmitted_at = ?, lease_owner = NULL,
                   lease_expires_at = NULL, next_attempt_at = NULL
               WHERE id = ?""",
            (stamp, row["id"]),
        )
        conn.execute(
            """UPDATE invoice SET is_move_sent = 1,
                   courier_state = CASE courier_state WHEN 'viewed' THEN 'viewed' ELSE 'sent' END
               WHERE id = ?""",
            (row["move_id"],),
        )
        addresses = ", ".join(r["email"] for r in by_email.values())
        self._note(conn, row["move_id"], "note", f"Invoice sent by email to {addresses}")

    # --------------------------------------------------------- contract: ingest

    def ingest(self, events: Any) -> dict[str, int]:
        _require(isinstance(events, list), "events: expected a list")
        counts = {"created": 0, "duplicate": 0, "unmatched": 0}
        with self._transaction() as conn:
            for event in events:
                self._validate_event(event)
                if conn.execute(
                    "SELECT 1 FROM event WHERE dedupe_key = ?", (event["dedupe_key"],)
                ).fetchone():
                    counts["duplicate"] += 1
                    continue
                recipient = self._match_recipient(conn, event)
                if recipient is None:
                    counts["unmatched"] += 1
                    continue
                dispatch = conn.execute(
                    "SELECT * FROM dispatch WHERE id = ?", (recipient["dispatch_id"],)
                ).fetchone()
                self._store_event(
                    conn,
                    recipient_id=recipient["id"],
                    dispatch=dispatch,
                    event=event,
                    moment=parse_time(event["time"], "time"),
                )
                counts["created"] += 1
        return counts

    @staticmethod
    def _validate_event(event: Any) -> None:
        _require(isinstance(event, dict), f"events: expected objects, got {event!r}")
        _require(
            isinstance(event.get("dedupe_key"), str) and event["dedupe_key"] != "",
            "dedupe_key: a non-empty string",
        )
        _require(
            event.get("type") in EVENT_TYPES, f"type: unknown event type {event.get('type')!r}"
        )
        _require(
            event.get("source") in EVENT_SOURCES,
            f"source: unknown event source {event.get('source')!r}",
        )

    @staticmethod
    def _match_recipient(conn: sqlite3.Connection, event: dict[str, Any]) -> sqlite3.Row | None:
        if event.get("message_id") not in (None, ""):
            row = conn.execute(
                "SELECT * FROM recipient WHERE message_id = ?", (str(event["message_id"]),)
            ).fetchone()
            if row is not None:
                return row
        if event.get("custom_id") and event.get("email"):
            return conn.execute(
                """SELECT r.* FROM recipient r JOIN dispatch d ON d.id = r.dispatch_id
                   WHERE d.custom_id = ? AND lower(r.email) = lower(?)""",
                (event["custom_id"], event["email"]),
            ).fetchone()
        return None

    def _store_event(
        self,
        conn: sqlite3.Connection,
        *,
        recipient_id: int,
        dispatch: sqlite3.Row,
        event: dict[str, Any],
        moment: datetime,
    ) -> None:
        if conn.execute(
            "SELECT 1 FROM event WHERE dedupe_key = ?", (event["dedupe_key"],)
        ).fetchone():
            return
        payload = event.get("payload")
        conn.execute(
            """INSERT INTO event (type, event_time, source, url, user_agent, detail, web_document,
                   payload, dedupe_key, recipient_id, dispatch_id, move_id)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
            (
                event["type"],
                format_time(moment),
                event["source"],
                event.get("url"),
                event.get("user_agent"),
                None if event.get("detail") is None else str(event["detail"]),
                1 if event.get("web_document") else 0,
                None if payload is None else _json_text(payload),
                event["dedupe_key"],
                recipient_id,
                dispatch["id"],
                dispatch["move_id"],
            ),
        )
        self._rank_recipient(conn, recipient_id)
        if event.get("web_document") or event["type"] == "viewed":
            conn.execute(
                """UPDATE invoice SET courier_state = 'viewed',
                       courier_viewed_at = MIN(COALESCE(courier_viewed_at, ?), ?)
                   WHERE id = ?""",
                (format_time(moment), format_time(moment), dispatch["move_id"]),
            )
        if event["type"] in UNDELIVERABLE_STATUSES:
            self._mark_bounced_if_nobody_reached(conn, dispatch)

    @staticmethod
    def _rank_recipient(conn: sqlite3.Connection, recipient_id: int) -> None:
        events = conn.execute(
            """SELECT type, event_time, detail FROM event
               WHERE recipient_id = ? ORDER BY event_time, id""",
            (recipient_id,),
        ).fetchall()
        status = top_status([e["type"] for e in events])
        first = next((e for e in events if e["type"] == status), None)
        error_text = (
            first["detail"] if first is not None and status in UNDELIVERABLE_STATUSES else None
        )
        conn.execute(
            "UPDATE recipient SET status = ?, status_time = ?, error_text = ? WHERE id = ?",
            (status, first["event_time"] if first is not None else None, error_text, recipient_id),
        )

    def _mark_bounced_if_nobody_reached(
        self, conn: sqlite3.Connection, dispatch: sqlite3.Row
    ) -> None:
        statuses = {
            r["status"]
            for r in conn.execute(
                "SELECT status FROM recipient WHERE dispatch_id = ?", (dispatch["id"],)
            )
        }
        if not statuses <= UNDELIVERABLE_STATUSES:
            return
        changed = conn.execute(
            """UPDATE invoice SET courier_state = 'bounced'
               WHERE id = ? AND courier_state NOT IN ('bounced', 'viewed')""",
            (dispatch["move_id"],),
        ).rowcount
        if changed:
            self._note(
                conn, dispatch["move_id"], "activity", "The invoice email bounced: send it again"
            )

    # ---------------------------------------------------- contract: open tracking

    def open_tracking(self, limit: Any, max_age_days: Any) -> list[dict[str, Any]]:
        limit = _positive_int(limit, "limit")
        max_age_days = _positive_int(max_age_days, "max_age_days")
        now = utc_now()
        placeholders = ",".join("?" * len(OPEN_STATUSES))
        with self._transaction() as conn:
            rows = conn.execute(
                f"""SELECT r.id AS recipient_id, r.message_id, d.custom_id, r.email, r.status,
                           r.status_time
                    FROM recipient r JOIN dispatch d ON d.id = r.dispatch_id
                    WHERE r.status IN ({placeholders}) AND r.message_id IS NOT NULL
                      AND d.transmitted_at >= ?
                    ORDER BY COALESCE(r.last_polled_at, ''), r.id LIMIT ?""",
                (*OPEN_STATUSES, format_time(now - timedelta(days=max_age_days)), limit),
            ).fetchall()
            conn.executemany(
                "UPDATE recipient SET last_polled_at = ? WHERE id = ?",
                [(format_time(now), r["recipient_id"]) for r in rows],
            )
            return [dict(r) for r in rows]

    # ------------------------------------------------------------- test helpers

    def dispatches(self, ids: list[int]) -> list[dict[str, Any]]:
        with self._lock:
            out = []
            for dispatch_id in ids:
                d = self._conn.execute(
                    """SELECT d.*, i.courier_state AS invoice_state, i.is_move_sent
                       FROM dispatch d JOIN invoice i ON i.id = d.move_id WHERE d.id = ?""",
                    (dispatch_id,),
                ).fetchone()
                if d is None:
                    raise KeyError(dispatch_id)
                recipients = self._conn.execute(
                    """SELECT email, status, status_time, message_id, message_uuid, error_text
                       FROM recipient WHERE dispatch_id = ? ORDER BY id""",
                    (dispatch_id,),
                ).fetchall()
                out.append(
                    {
                        "id": d["id"],
                        "custom_id": d["custom_id"],
                        "invoice_id": d["move_id"],
                        "state": d["state"],
                        "attempts": d["attempts"],
                        "last_error": d["last_error"],
                        "error_code": d["error_code"],
                        "lease_owner": d["lease_owner"],
                        "next_attempt_at": d["next_attempt_at"],
                        "invoice_state": d["invoice_state"],
                        "is_move_sent": bool(d["is_move_sent"]),
                        "recipients": [dict(r) for r in recipients],
                    }
                )
            return out

    def events(self, dispatch_id: int) -> list[dict[str, Any]]:
        with self._lock:
            rows = self._conn.execute(
                """SELECT e.type, e.source, e.dedupe_key, e.event_time, e.web_document, r.email
                   FROM event e LEFT JOIN recipient r ON r.id = e.recipient_id
                   WHERE e.dispatch_id = ? ORDER BY e.id""",
                (dispatch_id,),
            ).fetchall()
            return [dict(r) | {"web_document": bool(r["web_document"])} for r in rows]

    def notes(self, dispatch_id: int) -> list[dict[str, str]]:
        with self._lock:
            rows = self._conn.execute(
                """SELECT n.kind, n.body FROM invoice_note n
                   JOIN dispatch d ON d.move_id = n.move_id WHERE d.id = ? ORDER BY n.id""",
                (dispatch_id,),
            ).fetchall()
            return [dict(r) for r in rows]

    def state_counts(self) -> dict[str, int]:
        with self._lock:
            rows = self._conn.execute("SELECT state, COUNT(*) FROM dispatch GROUP BY state")
            return {state: count for state, count in rows}

    @staticmethod
    def _note(conn: sqlite3.Connection, move_id: int, kind: str, body: str) -> None:
        conn.execute(
            "INSERT INTO invoice_note (move_id, kind, body, created_at) VALUES (?, ?, ?, ?)",
            (move_id, kind, body, format_time(utc_now())),
        )


def _json_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)
