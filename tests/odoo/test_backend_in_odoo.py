"""The real-Odoo `ErpBackend`: seeding, the daemon's contract calls, and what tests read back."""

from __future__ import annotations

import base64

from odoorpc.error import RPCError

from tests.support.odoo import OdooBackend, rpc_login


def daemon(backend: OdooBackend):
    return rpc_login(backend.url, backend.db, backend.login, backend.password)


def test_seed_claim_report_ingest(odoo_backend: OdooBackend) -> None:
    ids = odoo_backend.seed_dispatches(3, ["a@customer.example", "b@customer.example",
                                           "c@customer.example, d@customer.example"])  # fmt: skip
    assert len(ids) == 3
    rpc = daemon(odoo_backend)
    claimed = rpc.execute_kw("courier.dispatch", "courier_claim", ["w1", 10, 300])
    assert sorted(p["id"] for p in claimed) == sorted(ids)
    by_id = {p["id"]: p for p in claimed}
    assert [r["email"] for r in by_id[ids[2]]["recipients"]] == [
        "c@customer.example",
        "d@customer.example",
    ]
    assert not by_id[ids[0]]["pdf_pending"]
    assert base64.b64decode(by_id[ids[0]]["attachments"][0]["base64"]).startswith(b"%PDF")
    assert by_id[ids[0]]["web_url"].startswith(odoo_backend.url + "/my/invoices/")

    first = by_id[ids[0]]
    counts = rpc.execute_kw(
        "courier.dispatch",
        "courier_report",
        [[{"id": first["id"], "custom_id": first["custom_id"], "outcome": "transmitted",
           "time": "2026-11-27T08:15:02Z",
           "recipients": [{"email": "a@customer.example", "message_id": "1152921504606846976",
                           "message_uuid": "u-1"}]},
          {"id": ids[1], "custom_id": by_id[ids[1]]["custom_id"], "outcome": "failed",
           "time": "2026-11-27T08:15:02Z",
           "error": {"code": "send-0010", "message": "invalid", "status": 400}}]],
    )  # fmt: skip
    assert counts == {"transmitted": 1, "retry": 0, "failed": 1, "test_sent": 0, "ignored": 0}
    ingest = rpc.execute_kw(
        "courier.event",
        "courier_ingest",
        [[{"dedupe_key": "mj:open:1152921504606846976:1", "type": "opened",
           "time": "2026-11-27T08:20:00Z", "source": "mailjet_webhook",
           "message_id": "1152921504606846976", "custom_id": first["custom_id"],
           "email": "a@customer.example"}]],
    )  # fmt: skip
    assert ingest == {"created": 1, "duplicate": 0, "unmatched": 0}

    states = odoo_backend.dispatches(ids)
    assert [d["id"] for d in states] == ids
    assert states[0]["state"] == "transmitted"
    assert states[0]["invoice_state"] == "sent"
    assert states[0]["recipients"] == [
        {"email": "a@customer.example", "status": "opened", "status_time": "2026-11-27T08:20:00Z",
         "message_id": "1152921504606846976", "message_uuid": "u-1", "error_text": None}
    ]  # fmt: skip
    assert states[1]["state"] == "failed"
    assert states[1]["error_code"] == "send-0010"
    assert states[1]["invoice_state"] == "failed"
    assert states[2]["state"] == "sending" and states[2]["attempts"] == 1
    assert [(e["type"], e["source"]) for e in odoo_backend.events(ids[0])] == [
        ("transmitted", "daemon"),
        ("opened", "mailjet_webhook"),
    ]


def test_real_pdf_is_rendered_on_demand(odoo_backend: OdooBackend) -> None:
    [dispatch_id] = odoo_backend.seed_dispatches(1, with_pdf=False)
    rpc = daemon(odoo_backend)
    [payload] = rpc.execute_kw("courier.dispatch", "courier_claim", ["w1", 10, 300])
    assert payload["pdf_pending"] and payload["attachments"] == []
    pdf = rpc.execute_kw("courier.dispatch", "courier_render_pdf", [dispatch_id])
    assert base64.b64decode(pdf["base64"]).startswith(b"%PDF")
    assert odoo_backend.dispatches([dispatch_id])[0]["is_move_sent"] is False


def test_each_test_starts_empty_and_daemon_reads_nothing_else(
    odoo_backend: OdooBackend,
) -> None:
    rpc = daemon(odoo_backend)
    assert rpc.execute_kw("courier.dispatch", "courier_claim", ["w1", 10, 300]) == []
    for model in ("res.partner", "account.move", "courier.dispatch"):
        try:
            rpc.execute_kw(model, "search_read", [[]], {"fields": ["display_name"], "limit": 1})
        except RPCError as exc:
            assert "AccessError" in str(exc.info), exc.info
        else:
            raise AssertionError(f"the Courier daemon user could read {model}")
