"""COURIER_MAILJET_SANDBOX_MODE=true is a test send: Mailjet checks, nothing is sent.

On the stand-in ERP and the real addon (Odoo 18, and every Odoo of
ERP_BACKENDS): each dispatch ends `test_sent`, its invoice is not marked sent
(`is_move_sent` stays false, the email status follows the real sends only),
no MessageID is stored (Mailjet answers 0 for each recipient in sandbox mode)
and no tracking event either, so five test sends leave five clean histories;
the chatter says it was a test send.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from tests.e2e.conftest import Mailjet, daemon_env
from tests.support.erp_backends import ErpBackend, StandinBackend
from tests.support.processes import courierd_process, wait_until

WAIT = 90  # the real Odoo shares two cores with everything else


def _notes(backend: ErpBackend, dispatch: dict[str, Any]) -> list[str]:
    """The chatter notes of the dispatch's invoice, as plain text."""
    if isinstance(backend, StandinBackend):
        return [n["body"] for n in backend.erp.store.notes(dispatch["id"]) if n["kind"] == "note"]
    admin = backend.admin  # type: ignore[attr-defined]  # the real addon's OdooBackend
    messages = admin.execute_kw(
        "mail.message",
        "search_read",
        [[("model", "=", "account.move"), ("res_id", "=", dispatch["invoice_id"])]],
        {"fields": ["body"]},
    )
    return [re.sub(r"<[^>]+>", "", m["body"] or "") for m in messages]


def test_sandbox_mode_sends_are_test_sends_that_never_mark_the_invoice_sent(
    erp_backend: ErpBackend, mailjet: Mailjet, tmp_path: Path
) -> None:
    emails = [f"test{i}@customer.example" for i in range(5)]
    ids = erp_backend.seed_dispatches(5, emails)
    env = daemon_env(erp_backend, mailjet.url, tmp_path / "state", "e2e-test-sends") | {
        "COURIER_MAILJET_SANDBOX_MODE": "true"
    }

    with courierd_process(env, "e2e-test-sends.log") as daemon:
        wait_until(
            lambda: {d["state"] for d in erp_backend.dispatches(ids)} == {"test_sent"},
            WAIT,
            "5 test sends to be reported",
        )
        test_sent = daemon.metric("courier_dispatches_test_sent_total")
        sent = daemon.metric("courier_dispatches_sent_total")

    dispatches = erp_backend.dispatches(ids)
    for dispatch, email in zip(dispatches, emails, strict=True):
        assert dispatch["is_move_sent"] is False
        assert dispatch["invoice_state"] == "not_sent"
        assert [(r["email"], r["message_id"]) for r in dispatch["recipients"]] == [(email, None)]
        assert erp_backend.events(dispatch["id"]) == [], "no MessageID 0, no Transmitted event"
        notes = _notes(erp_backend, dispatch)
        assert any(
            f"Test send to {email}: Mailjet's sandbox mode checked the email" in note
            for note in notes
        ), notes
        assert not any("through Mailjet" in note for note in notes), notes
    assert (test_sent, sent) == (5.0, 0.0)
    stats = mailjet.stats()
    assert stats["send_calls_by_status"] == {"200": 1}
    assert stats["messages_accepted"] == 0
    assert mailjet.emails() == [], "nothing was sent"
