"""The stand-in's state in SQLite, with the addon's contract semantics.

Every contract method runs in one ``BEGIN IMMEDIATE`` transaction under a
process-wide lock: threads of one server are serialised by the lock, and
several processes sharing a database file by SQLite's write lock, so a claim
is atomic the way ``FOR UPDATE SKIP LOCKED`` makes it in Odoo.

The rules follow addon/invoice_courier (docs/contract.md): where the contract
leaves a detail open (clamped limits, unknown event types counted unmatched,
the invoice state derived from its latest send), the stand-in does what the
addon does, so a test passing here means the same against real Odoo.
"""

from __future__ import annotations

import base64
import math
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from standin_erp.dispatching import apply_report, claim_payload
from standin_erp.errors import OdooError, UserError, ValidationError
from standin_erp.ranking import EVENT_TYPES, OPEN_STATUSES
from standin_erp.schema import SCHEMA
from standin_erp.tracking import (
    known_key,
    match_recipient,
    refresh_invoice_state,
    store_event,
)
from standin_erp.values import format_time, minimal_pdf, pdf_filename, utc_now

SENDER_EMAIL = "billing@company.example"
SENDER_NAME = "Stand-in Company"
MAX_CLAIM = 200
MAX_OPEN_TRACKING = 500
# The addon's bounds (addon/invoice_courier/tools/contract_args.py), same errors.
MAX_LEASE_SECONDS = 86400
MAX_AGE_DAYS = 36500
MAX_CLAIM_WAIT_SECONDS = 60
# A waiting claim looks again this often: a send queued by another process sharing
# the database file, or a retry coming due, wakes no condition here.
CLAIM_WAIT_SLICE_SECONDS = 0.1


def _as_int(value: Any, field: str) -> int:
    try:
        if isinstance(value, bool):
            raise TypeError(value)
        return int(value)
    except (TypeError, ValueError, OverflowError) as exc:
        raise ValidationError(f"{field}: expected an integer, got {value!r}") from exc


def _as_wait_seconds(value: Any) -> float:
    try:
        seconds = math.nan if isinstance(value, bool) else float(value)
    except (TypeError, ValueError, OverflowError):
        seconds = math.nan
    if not math.isfinite(seconds) or seconds > MAX_CLAIM_WAIT_SECONDS:
        raise ValidationError(
            f"wait_seconds: expected a number of seconds up to {MAX_CLAIM_WAIT_SECONDS}, "
            f"got {value!r}"
        )
    return max(0.0, seconds)


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
        # Waiting claims sleep on it; seeds and retries bump the generation and wake them.
        self._queued = threading.Condition()
        self._queued_generation = 0
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
        pdf_base64: str | None = None,
        link_only: bool = False,
        one_email_to_all: bool = False,
        move_type: str = "out_invoice",
        lang: str = "en_US",
        sender_email: str = SENDER_EMAIL,
    ) -> list[int]:
        """Posted invoices with one queued dispatch each; returns the dispatch ids.

        ``emails[i]`` is the recipient of dispatch ``i``; several addresses may be
        given in one item, separated by commas. Without ``emails`` every dispatch
        gets its own address at customer.example. Each invoice has a stored PDF
        (``pdf_base64``, else a small generated one) unless ``with_pdf`` is false:
        then its dispatch is ``pdf_pending``. ``sender_email`` is the From of every
        one (the sandbox refuses a sender whose local part starts with "unauthorized").
        ``one_email_to_all``: the company's setting (else one email per recipient).
        """
        if emails is not None and len(emails) != count:
            raise ValueError(f"{len(emails)} emails for {count} dispatches")
        now = utc_now()
        ids: list[int] = []
        with self._transaction() as conn:
            for index in range(count):
                tag = uuid.uuid4().hex[:10]
                addresses = (
                    [a.strip() for a in emails[index].split(",") if a.strip()]
                    if emails is not None
                    else [f"customer-{tag}@customer.example"]
                )
                pdf = (pdf_base64 or None) if with_pdf else None
                invoice_id = self._insert_invoice(conn, now, tag, move_type, lang, with_pdf, pdf)
                ids.append(self._insert_dispatch(conn, now, invoice_id, addresses, sender_email))
                refresh_invoice_state(conn, invoice_id)
            if link_only:
                # The company's "Send the link only", as the addon stores it on each send.
                conn.executemany(
                    "UPDATE dispatch SET link_only = 1 WHERE id = ?", [(i,) for i in ids]
                )
            if one_email_to_all:
                conn.executemany(
                    "UPDATE dispatch SET one_email_to_all = 1 WHERE id = ?", [(i,) for i in ids]
                )
        self._wake_claims()
        return ids

    def _wake_claims(self) -> None:
        with self._queued:
            self._queued_generation += 1
            self._queued.notify_all()

    def _insert_invoice(
        self,
        conn: sqlite3.Connection,
        now: datetime,
        tag: str,
        move_type: str,
        lang: str,
        with_pdf: bool,
        pdf: str | None,
    ) -> int:
        prefix = "RINV" if move_type == "out_refund" else "INV"
        next_number = conn.execute("SELECT COALESCE(MAX(id), 0) + 1 FROM invoice").fetchone()[0]
        name = f"{prefix}/{now.year}/{next_number:05d}"
        if with_pdf and pdf is None:
            pdf = base64.b64encode(minimal_pdf(name)).decode()
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
        self,
        conn: sqlite3.Connection,
        now: datetime,
        invoice_id: int,
        addresses: list[str],
        sender_email: str = SENDER_EMAIL,
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
                sender_email,
                SENDER_NAME,
                sender_email,
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

    def claim(
        self, worker_id: Any, limit: Any, lease_seconds: Any, wait_seconds: Any = 0
    ) -> list[dict[str, Any]]:
        """courier_claim; with nothing to claim, it waits up to `wait_seconds` for a send."""
        deadline = time.monotonic() + _as_wait_seconds(wait_seconds)
        while True:
            generation = self._queued_generation
            claimed = self._claim_now(worker_id, limit, lease_seconds)
            remaining = deadline - time.monotonic()
            if claimed or remaining <= 0:
                return claimed
            with self._queued:
                if generation == self._queued_generation:
                    self._queued.wait(min(remaining, CLAIM_WAIT_SLICE_SECONDS))

    def _claim_now(self, worker_id: Any, limit: Any, lease_seconds: Any) -> list[dict[str, Any]]:
        if not isinstance(worker_id, str) or not worker_id:
            raise ValidationError(f"worker_id: expected a non-empty string, got {worker_id!r}")
        limit = max(1, min(_as_int(limit, "limit"), MAX_CLAIM))
        seconds = _as_int(lease_seconds, "lease_seconds")
        if seconds > MAX_LEASE_SECONDS:
            raise ValidationError(
                f"lease_seconds: expected at most {MAX_LEASE_SECONDS} seconds, "
                f"got {lease_seconds!r}"
            )
        lease_seconds = max(1, seconds)
        now = utc_now()
        stamp = format_time(now)
        expires = format_time(now + timedelta(seconds=lease_seconds))
        with self._transaction() as conn:
            rows = conn.execute(
                """SELECT id, attempts FROM dispatch
                   WHERE (state = 'queued' AND (next_attempt_at IS NULL OR next_attempt_at <= ?))
                      OR (state = 'sending'
                          AND (lease_expires_at IS NULL OR lease_expires_at <= ?))
                   ORDER BY queued_at, id LIMIT ?""",
                (stamp, stamp, limit),
            ).fetchall()
            claimed = []
            for row in rows:
                conn.execute(
                    """UPDATE dispatch SET state = 'sending', lease_owner = ?,
                           lease_expires_at = ?, attempts = attempts + 1
                       WHERE id = ?""",
                    (worker_id[:255], expires, row["id"]),
                )
                # An earlier attempt may have reached Mailjet before its report was lost.
                claimed.append(claim_payload(conn, row["id"], row["attempts"] > 0))
            return claimed

    # ----------------------------------------------------- contract: render_pdf

    def render_pdf(self, dispatch_id: Any) -> dict[str, str]:
        dispatch_id = _as_int(dispatch_id, "dispatch_id")
        if self.render_seconds and not self._stored_pdf(dispatch_id):
            time.sleep(self.render_seconds)
        return self._pdf_of(dispatch_id)

    def render_pdfs(self, dispatch_ids: Any) -> dict[str, dict[str, str]]:
        """Several dispatches' PDFs; a dispatch that cannot have one gets {"error": ...}.

        `render_seconds` is charged once per call that renders anything, as one
        wkhtmltopdf run makes all the PDFs of a call in Odoo.
        """
        if not isinstance(dispatch_ids, list):
            raise UserError(f"dispatch_ids must be a list of dispatch ids, got {dispatch_ids!r}.")
        if self.render_seconds and not all(
            isinstance(raw, int) and self._stored_pdf(raw) for raw in dispatch_ids
        ):
            time.sleep(self.render_seconds)
        results: dict[str, dict[str, str]] = {}
        for raw in dispatch_ids:
            try:
                results[str(raw)] = self._pdf_of(_as_int(raw, "dispatch_id"))
            except OdooError as exc:
                results[str(raw)] = {"error": exc.message}
        return results

    def _pdf_of(self, dispatch_id: int) -> dict[str, str]:
        """The dispatch's stored PDF, made and stored first when missing."""
        with self._transaction() as conn:
            row = conn.execute(
                """SELECT d.state, i.id AS invoice_id, i.name, i.pdf_base64
                   FROM dispatch d JOIN invoice i ON i.id = d.move_id WHERE d.id = ?""",
                (dispatch_id,),
            ).fetchone()
            if row is None:
                raise UserError(f"Dispatch {dispatch_id} does not exist.")
            if row["state"] != "sending":
                raise UserError(
                    f"Dispatch {dispatch_id} is {row['state']}: "
                    "only a dispatch being sent gets its PDF."
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

    def _stored_pdf(self, dispatch_id: int) -> bool:
        with self._lock:
            row = self._conn.execute(
                """SELECT i.pdf_base64 IS NOT NULL FROM dispatch d
                   JOIN invoice i ON i.id = d.move_id WHERE d.id = ?""",
                (dispatch_id,),
            ).fetchone()
        return bool(row and row[0])

    # --------------------------------------------------------- contract: report

    def report(self, results: Any) -> dict[str, int]:
        if not isinstance(results, list):
            raise ValidationError(f"results: expected a list, got {results!r}")
        counts = {"transmitted": 0, "retry": 0, "failed": 0, "test_sent": 0, "ignored": 0}
        with self._transaction() as conn:
            for result in results:
                counts[apply_report(conn, result)] += 1
        if counts["retry"]:
            self._wake_claims()
        return counts

    # --------------------------------------------------------- contract: ingest

    def ingest(self, events: Any) -> dict[str, int]:
        if not isinstance(events, list):
            raise ValidationError(f"events: expected a list, got {events!r}")
        counts = {"created": 0, "duplicate": 0, "unmatched": 0}
        with self._transaction() as conn:
            for event in events:
                if not isinstance(event, dict) or not event.get("dedupe_key"):
                    counts["unmatched"] += 1
                    continue
                if known_key(conn, str(event["dedupe_key"])):
                    counts["duplicate"] += 1
                    continue
                recipient = match_recipient(conn, event)
                if event.get("type") not in EVENT_TYPES or recipient is None:
                    counts["unmatched"] += 1
                    continue
                store_event(conn, recipient_id=recipient["id"], event=event)
                counts["created"] += 1
        return counts

    # ---------------------------------------------------- contract: open tracking

    def open_tracking(self, limit: Any, max_age_days: Any) -> list[dict[str, Any]]:
        limit = max(1, min(_as_int(limit, "limit"), MAX_OPEN_TRACKING))
        try:
            max_age = float(max_age_days)
        except (TypeError, ValueError, OverflowError):
            max_age = math.nan
        if isinstance(max_age_days, bool) or not math.isfinite(max_age) or max_age > MAX_AGE_DAYS:
            raise ValidationError(
                f"max_age_days: expected a number of days up to {MAX_AGE_DAYS}, "
                f"got {max_age_days!r}"
            )
        max_age = max(0.0, max_age)
        now = utc_now()
        placeholders = ",".join("?" * len(OPEN_STATUSES))
        with self._transaction() as conn:
            rows = conn.execute(
                f"""SELECT r.id AS recipient_id, r.message_id, d.custom_id, r.email, r.status,
                           r.status_time
                    FROM recipient r JOIN dispatch d ON d.id = r.dispatch_id
                    WHERE r.status IN ({placeholders}) AND r.message_id IS NOT NULL
                      AND d.transmitted_at >= ?
                    ORDER BY r.polled_at IS NOT NULL, r.polled_at, r.id LIMIT ?""",
                (*OPEN_STATUSES, format_time(now - timedelta(days=max_age)), limit),
            ).fetchall()
            # Marked polled so the next call moves on to the others.
            conn.executemany(
                "UPDATE recipient SET polled_at = ? WHERE id = ?",
                [(format_time(now), r["recipient_id"]) for r in rows],
            )
            return [dict(r) for r in rows]

    # ------------------------------------------------------------- test helpers

    def dispatches(self, ids: list[int]) -> list[dict[str, Any]]:
        """Dispatch state as the ErpBackend protocol of the tests reads it."""
        with self._lock:
            return [self._dispatch_state(dispatch_id) for dispatch_id in ids]

    def _dispatch_state(self, dispatch_id: int) -> dict[str, Any]:
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
        return {
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
        """Chatter notes and activities of the dispatch's invoice, oldest first."""
        with self._lock:
            rows = self._conn.execute(
                """SELECT n.kind, n.body FROM invoice_note n
                   JOIN dispatch d ON d.move_id = n.move_id WHERE d.id = ? ORDER BY n.id""",
                (dispatch_id,),
            ).fetchall()
            return [dict(r) for r in rows]

    def viewed_at(self, dispatch_id: int) -> str | None:
        """The courier_viewed_at of the dispatch's invoice (None: not viewed)."""
        with self._lock:
            row = self._conn.execute(
                """SELECT i.courier_viewed_at FROM invoice i
                   JOIN dispatch d ON d.move_id = i.id WHERE d.id = ?""",
                (dispatch_id,),
            ).fetchone()
            return row[0] if row else None

    def event_count(self) -> int:
        with self._lock:
            (count,) = self._conn.execute("SELECT COUNT(*) FROM event").fetchone()
            return int(count)

    def state_counts(self) -> dict[str, int]:
        with self._lock:
            rows = self._conn.execute("SELECT state, COUNT(*) FROM dispatch GROUP BY state")
            return {state: count for state, count in rows}
