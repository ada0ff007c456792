"""Dispatch side of the contract: the claim payload and the report outcomes."""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from typing import Any

from standin_erp.tracking import note, refresh_invoice_state, store_event
from standin_erp.values import format_time, parse_time, pdf_filename, utc_now

DEFAULT_RETRY_AFTER = 60
FINAL_STATES = ("transmitted", "test_sent", "failed", "cancelled")
# The code courierd reports when it stops retrying a send (the addon's GAVE_UP_CODE).
GAVE_UP_CODE = "gave-up"

# The addon's bound (a PostgreSQL integer): larger ids cannot exist.
MAX_RECORD_ID = 2**31 - 1
MAX_RETRY_AFTER = 86400


def claim_payload(
    conn: sqlite3.Connection, dispatch_id: int, check_mailjet_first: bool
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
    attachments = []
    # Link only: the email carries the web document's link, not the PDF.
    if d["pdf_base64"] and not d["link_only"]:
        attachments.append(
            {
                "filename": pdf_filename(d["invoice_name"]),
                "content_type": "application/pdf",
                "base64": d["pdf_base64"],
            }
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
        "pdf_pending": not d["pdf_base64"] and not d["link_only"],
        "link_only": bool(d["link_only"]),
        "web_url": d["web_url"],
        "track_opens": bool(d["track_opens"]),
        "track_clicks": bool(d["track_clicks"]),
        "one_email_to_all": bool(d["one_email_to_all"]),
        "queued_at": d["queued_at"],
        "last_error": d["last_error"] or False,
        "error_code": d["error_code"] or False,
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


def apply_report(conn: sqlite3.Connection, result: Any) -> str:
    """Apply one result; returns the count it falls under (ignored: nothing changed)."""
    if not isinstance(result, dict):
        return "ignored"
    try:
        dispatch_id = int(result.get("id") or 0)
    except (TypeError, ValueError, OverflowError):
        return "ignored"
    if not 0 < dispatch_id <= MAX_RECORD_ID:
        return "ignored"
    row = conn.execute("SELECT * FROM dispatch WHERE id = ?", (dispatch_id,)).fetchone()
    if row is None or row["custom_id"] != result.get("custom_id"):
        return "ignored"
    if row["state"] in FINAL_STATES:
        return "ignored"
    outcome = result.get("outcome")
    if outcome == "transmitted":
        # Accepted from any worker, even after the lease ran out: the email did go out.
        report_transmitted(conn, row, result.get("recipients") or [], result)
        return "transmitted"
    if outcome == "test_sent":
        report_test_sent(conn, row)
        return "test_sent"
    # A retry or failure concerns a send in progress; once requeued, a repeated
    # report must not push next_attempt_at a second time.
    if row["state"] != "sending" or outcome not in ("retry", "failed"):
        return "ignored"
    error = result.get("error") if isinstance(result.get("error"), dict) else {}
    if outcome == "retry":
        retry_after = result.get("retry_after")
        try:
            delay = DEFAULT_RETRY_AFTER if retry_after is None else max(0, int(retry_after))
        except (TypeError, ValueError, OverflowError):
            delay = DEFAULT_RETRY_AFTER
        delay = min(delay, MAX_RETRY_AFTER)  # as the addon: a day keeps the date computable
        # `attempted: false`: nothing was tried (Mailjet refused courierd's API key), so
        # the claim gives its attempt back.
        given_back = 1 if result.get("attempted") is False else 0
        conn.execute(
            """UPDATE dispatch SET state = 'queued', next_attempt_at = ?,
                   last_error = COALESCE(?, last_error), error_code = COALESCE(?, error_code),
                   lease_owner = NULL, lease_expires_at = NULL,
                   attempts = MAX(attempts - ?, 0)
               WHERE id = ?""",
            (
                format_time(utc_now() + timedelta(seconds=delay)),
                error.get("message") or None,
                error.get("code") or None,
                given_back,
                row["id"],
            ),
        )
        return "retry"
    message = error.get("message") or "Mailjet refused the email."
    conn.execute(
        """UPDATE dispatch SET state = 'failed', last_error = ?, error_code = ?,
               lease_owner = NULL, lease_expires_at = NULL
           WHERE id = ?""",
        (message, error.get("code") or None, row["id"]),
    )
    refresh_invoice_state(conn, row["move_id"])
    note(conn, row["move_id"], "note", f"Sending by email failed: {message}")
    if error.get("code") == GAVE_UP_CODE:
        activity = (
            f"The email could not be sent: {message} Send the invoice again; if it fails "
            "again, ask your administrator to check the connection to Mailjet."
        )
    else:
        activity = f"Mailjet did not accept the email ({error.get('code') or '-'}): {message}"
    note(conn, row["move_id"], "activity", activity)
    return "failed"


def report_test_sent(conn: sqlite3.Connection, row: sqlite3.Row) -> None:
    """Mailjet's sandbox mode checked it and sent nothing: no message id, no event, and
    the invoice is not marked sent (its state ignores test sends)."""
    conn.execute(
        """UPDATE dispatch SET state = 'test_sent', lease_owner = NULL,
               lease_expires_at = NULL, next_attempt_at = NULL
           WHERE id = ?""",
        (row["id"],),
    )
    refresh_invoice_state(conn, row["move_id"])
    addresses = ", ".join(
        r["email"]
        for r in conn.execute(
            "SELECT email FROM recipient WHERE dispatch_id = ? ORDER BY id", (row["id"],)
        )
    )
    note(
        conn,
        row["move_id"],
        "note",
        f"Test send to {addresses}: Mailjet's sandbox mode checked the email and sent "
        "nothing; the invoice is not marked as sent.",
    )


def report_transmitted(
    conn: sqlite3.Connection, row: sqlite3.Row, reported: Any, result: dict[str, Any]
) -> None:
    # When Mailjet accepted it (courierd's `transmitted_at`), else the report's time.
    accepted = result.get("transmitted_at") or result.get("time")
    moment = parse_time(accepted)
    by_email = {}
    for item in reported if isinstance(reported, list) else []:
        if isinstance(item, dict):
            by_email[str(item.get("email") or "").strip().lower()] = item
    recipients = conn.execute(
        "SELECT * FROM recipient WHERE dispatch_id = ? ORDER BY id", (row["id"],)
    ).fetchall()
    conn.execute(
        """UPDATE dispatch SET state = 'transmitted', transmitted_at = ?, lease_owner = NULL,
               lease_expires_at = NULL, next_attempt_at = NULL
           WHERE id = ?""",
        (format_time(moment), row["id"]),
    )
    for recipient in recipients:
        item = by_email.get(recipient["email"].strip().lower())
        if item is None:
            continue
        message_id = str(item.get("message_id") or "") or None
        conn.execute(
            "UPDATE recipient SET message_id = ?, message_uuid = ? WHERE id = ?",
            (message_id, str(item.get("message_uuid") or "") or None, recipient["id"]),
        )
        key = message_id or f"{row['custom_id']}:{recipient['email']}"
        store_event(
            conn,
            recipient_id=recipient["id"],
            event={
                "type": "transmitted",
                "source": "daemon",
                "dedupe_key": f"transmitted:{key}",
                "detail": item.get("message_href"),
                "time": accepted,
            },
        )
    refused = {}
    for item in result.get("refused") or []:
        if isinstance(item, dict):
            refused[str(item.get("email") or "").strip().lower()] = item
    for recipient in recipients:
        item = refused.get(recipient["email"].strip().lower())
        if item is None:
            continue
        # Mailjet refused this recipient's own email and took the others': a block.
        reason = " ".join(str(p) for p in (item.get("code"), item.get("message")) if p)
        store_event(
            conn,
            recipient_id=recipient["id"],
            event={
                "type": "blocked",
                "source": "daemon",
                "dedupe_key": f"refused:{row['custom_id']}:{recipient['email'].lower()}",
                "detail": reason or None,
                "time": accepted,
            },
        )
    conn.execute("UPDATE invoice SET is_move_sent = 1 WHERE id = ?", (row["move_id"],))
    refresh_invoice_state(conn, row["move_id"])
    taken = [r["email"] for r in recipients if r["email"].strip().lower() in by_email]
    addresses = ", ".join(taken or [r["email"] for r in recipients])
    note(conn, row["move_id"], "note", f"Sent to {addresses} through Mailjet")
