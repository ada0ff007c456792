"""Builders of contract-shaped data for the daemon's unit tests."""

from __future__ import annotations

from typing import Any


def make_dispatch(dispatch_id: int = 42, **overrides: Any) -> dict[str, Any]:
    """A claimed dispatch in the shape of docs/contract.md."""
    dispatch: dict[str, Any] = {
        "id": dispatch_id,
        "custom_id": f"cid{dispatch_id:04d}",
        "attempts": 1,
        "check_mailjet_first": False,
        "company_id": 1,
        "invoice_id": 100 + dispatch_id,
        "sender": {"email": "billing@example.com", "name": "My Company"},
        "reply_to": "accounts@example.com",
        "recipients": [{"id": 88, "email": "anna@customer.example", "name": "Anna"}],
        "subject": f"Invoice INV/2026/{dispatch_id:05d}",
        "html": "<p>Your invoice</p>",
        "text": "Your invoice",
        "attachments": [
            {"filename": "INV.pdf", "content_type": "application/pdf", "base64": "JVBERi0="}
        ],
        "pdf_pending": False,
        "web_url": "https://erp.example.com/my/invoices/17?access_token=tok",
        "track_opens": True,
        "track_clicks": False,
        "invoice": {"name": f"INV/2026/{dispatch_id:05d}", "amount_total": 10.0},
    }
    dispatch.update(overrides)
    return dispatch
