"""courier_claim and courier_render_pdf (docs/contract.md)."""

from __future__ import annotations

import base64
import threading
from typing import Any

import pytest

from tests.contract.client import Contract, ContractRefused, retry, transmitted, unique_email
from tests.support.erp_backends import ErpBackend
from tests.support.processes import wait_until

CLAIM_KEYS = {
    "id", "custom_id", "attempts", "check_mailjet_first", "company_id", "invoice_id", "sender",
    "reply_to", "recipients", "subject", "html", "text", "attachments", "pdf_pending", "web_url",
    "track_opens", "track_clicks", "invoice", "one_email_to_all",
}  # fmt: skip
INVOICE_KEYS = {
    "name", "partner_name", "amount_total", "amount_residual", "currency", "invoice_date",
    "invoice_date_due", "move_type", "lang", "payment_reference",
}  # fmt: skip


def test_claim_returns_the_documented_shape(erp_backend: ErpBackend, contract: Contract) -> None:
    email = unique_email("anna")
    [dispatch_id] = erp_backend.seed_dispatches(1, [email])

    [claimed] = contract.claim_ours([dispatch_id], worker_id="worker-shape")

    assert set(claimed) >= CLAIM_KEYS
    assert claimed["id"] == dispatch_id
    assert isinstance(claimed["custom_id"], str) and len(claimed["custom_id"]) >= 16
    assert claimed["attempts"] == 1
    assert claimed["check_mailjet_first"] is False
    assert isinstance(claimed["company_id"], int) and isinstance(claimed["invoice_id"], int)
    assert set(claimed["sender"]) >= {"email", "name"} and "@" in claimed["sender"]["email"]
    assert [r["email"] for r in claimed["recipients"]] == [email]
    assert set(claimed["recipients"][0]) >= {"id", "email", "name"}
    assert claimed["subject"] and claimed["html"] and isinstance(claimed["text"], str)
    assert claimed["web_url"].startswith("http")
    assert isinstance(claimed["track_opens"], bool) and isinstance(claimed["track_clicks"], bool)
    # By default each recipient gets their own email (the company may choose one to all).
    assert claimed["one_email_to_all"] is False
    assert set(claimed["invoice"]) >= INVOICE_KEYS
    assert claimed["invoice"]["move_type"] in ("out_invoice", "out_refund")
    pdfs = [a for a in claimed["attachments"] if a["content_type"] == "application/pdf"]
    assert claimed["pdf_pending"] is (not pdfs)
    for attachment in claimed["attachments"]:
        assert set(attachment) >= {"filename", "content_type", "base64"}
        base64.b64decode(attachment["base64"], validate=True)
    [state] = erp_backend.dispatches([dispatch_id])
    assert state["state"] == "sending"
    assert state["attempts"] == 1
    assert state["invoice_state"] == "queued"


def test_render_pdf_only_while_sending(erp_backend: ErpBackend, contract: Contract) -> None:
    [dispatch_id] = erp_backend.seed_dispatches(1)
    with pytest.raises(ContractRefused):
        contract.render_pdf(dispatch_id)  # still queued
    [claimed] = contract.claim_ours([dispatch_id])

    pdf = contract.render_pdf(dispatch_id)

    assert pdf["content_type"] == "application/pdf"
    assert pdf["filename"].endswith(".pdf")
    assert base64.b64decode(pdf["base64"]).startswith(b"%PDF")
    contract.report([transmitted(claimed)])
    with pytest.raises(ContractRefused):
        contract.render_pdf(dispatch_id)  # transmitted: nothing to render any more


def test_concurrent_claims_never_return_the_same_dispatch(erp_backend: ErpBackend) -> None:
    ours = set(erp_backend.seed_dispatches(40))
    clients = [Contract(erp_backend), Contract(erp_backend)]
    start = threading.Barrier(len(clients))
    claimed: list[list[dict[str, Any]]] = [[] for _ in clients]
    errors: list[BaseException] = []

    def worker(index: int) -> None:
        try:
            start.wait(timeout=30)
            while batch := clients[index].claim(f"worker-{index}", 3, 300):
                claimed[index].extend(batch)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(len(clients))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert not errors
    first, second = ({d["id"] for d in batch} for batch in claimed)
    assert not first & second
    assert ours <= first | second
    assert len(claimed[0]) == len(first) and len(claimed[1]) == len(second)
    for state in erp_backend.dispatches(sorted(ours)):
        assert state["state"] == "sending" and state["attempts"] == 1


def test_live_lease_is_not_claimed_again(erp_backend: ErpBackend, contract: Contract) -> None:
    [dispatch_id] = erp_backend.seed_dispatches(1)
    contract.claim_ours([dispatch_id], worker_id="worker-a", lease_seconds=300)

    assert contract.claim_ours([dispatch_id], worker_id="worker-b") == []


def test_expired_lease_is_reclaimed_with_check_mailjet_first(
    erp_backend: ErpBackend, contract: Contract
) -> None:
    [dispatch_id] = erp_backend.seed_dispatches(1)
    [first] = contract.claim_ours([dispatch_id], worker_id="worker-a", lease_seconds=1)

    [second] = wait_until(
        lambda: contract.claim_ours([dispatch_id], worker_id="worker-b"),
        timeout=15,
        what="the expired lease to be claimable",
        interval=0.5,
    )

    assert first["check_mailjet_first"] is False
    assert second["check_mailjet_first"] is True
    assert second["attempts"] == 2
    assert second["custom_id"] == first["custom_id"]
    [state] = erp_backend.dispatches([dispatch_id])
    assert state["state"] == "sending" and state["attempts"] == 2


def test_retry_requeues_and_claim_honours_next_attempt_at(
    erp_backend: ErpBackend, contract: Contract
) -> None:
    later, soon = erp_backend.seed_dispatches(2)
    claimed = {d["id"]: d for d in contract.claim_ours([later, soon])}

    counts = contract.report([retry(claimed[later], 3600), retry(claimed[soon], 1)])

    assert counts == {"transmitted": 0, "retry": 2, "failed": 0, "test_sent": 0, "ignored": 0}
    for state in erp_backend.dispatches([later, soon]):
        assert state["state"] == "queued"
        assert state["last_error"] == "Too many requests"
        assert state["error_code"] == "mj-0004"
    [again] = wait_until(
        lambda: contract.claim_ours([soon]),
        timeout=15,
        what="the retried dispatch to be claimable",
        interval=0.5,
    )
    assert again["id"] == soon
    assert again["attempts"] == 2 and again["check_mailjet_first"] is True
    assert contract.claim_ours([later]) == []  # an hour to go
    assert erp_backend.dispatches([later])[0]["state"] == "queued"
