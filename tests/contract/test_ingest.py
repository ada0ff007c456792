"""courier_ingest: dedup, matching, ranking, invoice effects (docs/contract.md)."""

from __future__ import annotations

from typing import Any

from tests.contract.client import (
    Contract,
    event,
    new_message_id,
    now_iso,
    transmitted,
    unique_email,
)
from tests.support.erp_backends import ErpBackend


def _sent(
    erp_backend: ErpBackend, contract: Contract, recipients: int = 1
) -> tuple[int, dict[str, str]]:
    """A transmitted dispatch; returns its id and {email: message_id}."""
    dispatch_id, _, ids = _sent_with_claim(erp_backend, contract, recipients)
    return dispatch_id, ids


def _sent_with_claim(
    erp_backend: ErpBackend, contract: Contract, recipients: int = 1
) -> tuple[int, dict[str, Any], dict[str, str]]:
    emails = [unique_email(f"r{i}") for i in range(recipients)]
    [dispatch_id] = erp_backend.seed_dispatches(1, [", ".join(emails)])
    [claimed] = contract.claim_ours([dispatch_id])
    report = transmitted(claimed)
    contract.report([report])
    return dispatch_id, claimed, {r["email"]: r["message_id"] for r in report["recipients"]}


def _status(erp_backend: ErpBackend, dispatch_id: int) -> dict[str, str]:
    [state] = erp_backend.dispatches([dispatch_id])
    return {r["email"]: r["status"] for r in state["recipients"]}


def test_ingest_counts_created_duplicate_unmatched(
    erp_backend: ErpBackend, contract: Contract
) -> None:
    dispatch_id, ids = _sent(erp_backend, contract)
    [message_id] = ids.values()
    delivered = event("delivered", message_id)
    batch: list[dict[str, Any]] = [
        delivered,
        dict(delivered),  # twice in one call
        event("opened", message_id),
        event("opened", new_message_id()),  # nobody has this MessageID
    ]

    assert contract.ingest(batch) == {"created": 2, "duplicate": 1, "unmatched": 1}
    assert contract.ingest(batch) == {"created": 0, "duplicate": 3, "unmatched": 1}

    stored = [e for e in erp_backend.events(dispatch_id) if e["type"] != "transmitted"]
    assert sorted(e["dedupe_key"] for e in stored) == sorted(
        {delivered["dedupe_key"], batch[2]["dedupe_key"]}
    )
    assert {e["source"] for e in stored} == {"mailjet_webhook"}


def test_status_is_the_highest_rank_whatever_the_order(
    erp_backend: ErpBackend, contract: Contract
) -> None:
    dispatch_id, ids = _sent(erp_backend, contract, recipients=2)
    (email, message_id), (other_email, _) = ids.items()
    opened = event("opened", message_id, at=now_iso(30))
    steps = [
        ([opened], "opened"),
        ([event("delivered", message_id, at=now_iso(10))], "opened"),  # late
        ([dict(opened)], "opened"),  # duplicate
        ([event("deferred", message_id, at=now_iso(5))], "opened"),  # older, lower
        ([event("clicked", message_id, at=now_iso(40))], "clicked"),
        ([event("bounced", message_id, at=now_iso(20))], "bounced"),  # negative outranks
        ([event("spam", message_id, at=now_iso(50))], "bounced"),
        ([event("opened", message_id, at=now_iso(60))], "bounced"),
    ]
    for events, expected in steps:
        contract.ingest(events)
        assert _status(erp_backend, dispatch_id) == {email: expected, other_email: "transmitted"}


def test_unmatched_without_message_id_is_matched_by_custom_id_and_email(
    erp_backend: ErpBackend, contract: Contract
) -> None:
    dispatch_id, claimed, ids = _sent_with_claim(erp_backend, contract)
    [email] = ids
    by_address = event("delivered", None, custom_id=claimed["custom_id"], email=email.upper())

    assert contract.ingest([by_address]) == {"created": 1, "duplicate": 0, "unmatched": 0}
    assert _status(erp_backend, dispatch_id) == {email: "delivered"}


def test_web_document_click_marks_the_invoice_viewed(
    erp_backend: ErpBackend, contract: Contract
) -> None:
    dispatch_id, ids = _sent(erp_backend, contract)
    [message_id] = ids.values()
    contract.ingest([event("clicked", message_id, url="https://example.com/terms")])
    assert erp_backend.dispatches([dispatch_id])[0]["invoice_state"] == "sent"

    contract.ingest(
        [event("clicked", message_id, url="https://erp.example/my/invoices/1", web_document=True)]
    )

    assert erp_backend.dispatches([dispatch_id])[0]["invoice_state"] == "viewed"


def test_invoice_bounced_only_when_every_recipient_bounced_or_blocked(
    erp_backend: ErpBackend, contract: Contract
) -> None:
    dispatch_id, ids = _sent(erp_backend, contract, recipients=2)
    first, second = ids.values()

    contract.ingest([event("bounced", first, detail="user unknown")])
    assert erp_backend.dispatches([dispatch_id])[0]["invoice_state"] == "sent"

    contract.ingest([event("blocked", second, detail="blocked by policy")])
    assert erp_backend.dispatches([dispatch_id])[0]["invoice_state"] == "bounced"
