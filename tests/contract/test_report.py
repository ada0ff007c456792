"""courier_report: transmitted, retry, failed; idempotent (docs/contract.md)."""

from __future__ import annotations

from tests.contract.client import Contract, failed, retry, transmitted, unique_email
from tests.support.erp_backends import ErpBackend
from tests.support.processes import wait_until

NOTHING = {"transmitted": 0, "retry": 0, "failed": 0, "test_sent": 0, "ignored": 0}


def test_transmitted_stores_message_ids_and_marks_the_invoice_sent(
    erp_backend: ErpBackend, contract: Contract
) -> None:
    emails = [unique_email("anna"), unique_email("bob")]
    [dispatch_id] = erp_backend.seed_dispatches(1, [", ".join(emails)])
    [claimed] = contract.claim_ours([dispatch_id])
    report = transmitted(claimed)

    assert contract.report([report]) == NOTHING | {"transmitted": 1}

    [state] = erp_backend.dispatches([dispatch_id])
    assert state["state"] == "transmitted"
    assert state["invoice_state"] == "sent"
    sent = {r["email"]: r for r in report["recipients"]}
    assert sorted(r["email"] for r in state["recipients"]) == sorted(emails)
    for recipient in state["recipients"]:
        # MessageIDs exceed 32 bits: they come back intact, as text.
        assert recipient["message_id"] == sent[recipient["email"]]["message_id"]
        assert recipient["message_uuid"] == sent[recipient["email"]]["message_uuid"]
        assert recipient["status"] == "transmitted"
    keys = {e["dedupe_key"] for e in erp_backend.events(dispatch_id) if e["type"] == "transmitted"}
    assert keys == {f"transmitted:{r['message_id']}" for r in report["recipients"]}
    assert {e["source"] for e in erp_backend.events(dispatch_id)} == {"daemon"}


def test_the_transmitted_time_is_mailjets_acceptance_when_given(
    erp_backend: ErpBackend, contract: Contract
) -> None:
    [dispatch_id] = erp_backend.seed_dispatches(1)
    [claimed] = contract.claim_ours([dispatch_id])
    report = transmitted(claimed)
    report["time"] = "2026-11-27T17:25:53Z"  # when courierd began the send
    report["transmitted_at"] = "2026-11-27T17:26:03Z"  # when Mailjet answered

    assert contract.report([report]) == NOTHING | {"transmitted": 1}

    [state] = erp_backend.dispatches([dispatch_id])
    assert [r["status_time"] for r in state["recipients"]] == ["2026-11-27T17:26:03Z"]
    [event] = [e for e in erp_backend.events(dispatch_id) if e["type"] == "transmitted"]
    assert event["event_time"] == "2026-11-27T17:26:03Z"


def test_a_recipient_mailjet_refused_is_blocked_the_others_transmitted(
    erp_backend: ErpBackend, contract: Contract
) -> None:
    taken, refused = unique_email("anna"), unique_email("typo")
    [dispatch_id] = erp_backend.seed_dispatches(1, [f"{taken}, {refused}"])
    [claimed] = contract.claim_ours([dispatch_id])
    report = transmitted(claimed)
    report["recipients"] = [r for r in report["recipients"] if r["email"] == taken]
    report["refused"] = [{"email": refused, "code": "send-0010", "message": "Email is invalid"}]

    assert contract.report([report]) == NOTHING | {"transmitted": 1}

    [state] = erp_backend.dispatches([dispatch_id])
    assert state["state"] == "transmitted"
    statuses = {r["email"]: (r["status"], r["error_text"]) for r in state["recipients"]}
    assert statuses == {
        taken: ("transmitted", None),
        refused: ("blocked", "send-0010 Email is invalid"),
    }
    assert any(refused in note for note in erp_backend.activities(dispatch_id))


def test_repeated_report_changes_nothing(erp_backend: ErpBackend, contract: Contract) -> None:
    [dispatch_id] = erp_backend.seed_dispatches(1)
    [claimed] = contract.claim_ours([dispatch_id])
    report = transmitted(claimed)
    contract.report([report])
    before = erp_backend.dispatches([dispatch_id]), erp_backend.events(dispatch_id)

    again = contract.report([report])
    other_ids = contract.report([transmitted(claimed)])  # same dispatch, other MessageIDs
    late = contract.report([retry(claimed, 60), failed(claimed, "send-0010", "invalid")])

    assert again == NOTHING | {"ignored": 1}
    assert other_ids == NOTHING | {"ignored": 1}
    assert late == NOTHING | {"ignored": 2}
    assert (erp_backend.dispatches([dispatch_id]), erp_backend.events(dispatch_id)) == before


def test_failed_keeps_mailjets_error(erp_backend: ErpBackend, contract: Contract) -> None:
    [dispatch_id] = erp_backend.seed_dispatches(1)
    [claimed] = contract.claim_ours([dispatch_id])
    report = failed(claimed, "send-0010", 'Email "x@" is invalid')

    assert contract.report([report]) == NOTHING | {"failed": 1}
    assert contract.report([report]) == NOTHING | {"ignored": 1}

    [state] = erp_backend.dispatches([dispatch_id])
    assert state["state"] == "failed"
    assert state["error_code"] == "send-0010"
    assert state["last_error"] == 'Email "x@" is invalid'
    assert state["invoice_state"] == "failed"
    assert contract.claim_ours([dispatch_id]) == []


def test_repeated_retry_is_ignored_once_requeued(
    erp_backend: ErpBackend, contract: Contract
) -> None:
    [dispatch_id] = erp_backend.seed_dispatches(1)
    [claimed] = contract.claim_ours([dispatch_id])

    assert contract.report([retry(claimed, 3600)]) == NOTHING | {"retry": 1}
    assert contract.report([retry(claimed, 1)]) == NOTHING | {"ignored": 1}

    assert contract.claim_ours([dispatch_id]) == []  # still an hour to wait, not one second
    assert erp_backend.dispatches([dispatch_id])[0]["state"] == "queued"


def test_unknown_id_or_wrong_custom_id_is_ignored(
    erp_backend: ErpBackend, contract: Contract
) -> None:
    [dispatch_id] = erp_backend.seed_dispatches(1)
    [claimed] = contract.claim_ours([dispatch_id])
    wrong_custom_id = transmitted(claimed) | {"custom_id": "0" * 32}
    unknown_id = transmitted(claimed) | {"id": 2_000_000_000}

    assert contract.report([wrong_custom_id, unknown_id]) == NOTHING | {"ignored": 2}
    assert erp_backend.dispatches([dispatch_id])[0]["state"] == "sending"


def test_transmitted_is_accepted_after_the_lease_moved_on(
    erp_backend: ErpBackend, contract: Contract
) -> None:
    """Worker A's batch reached Mailjet but its report came late: the email did go out."""
    [dispatch_id] = erp_backend.seed_dispatches(1)
    [by_a] = contract.claim_ours([dispatch_id], worker_id="worker-a", lease_seconds=1)
    [by_b] = wait_until(
        lambda: contract.claim_ours([dispatch_id], worker_id="worker-b"),
        timeout=15,
        what="the lease of worker-a to expire",
        interval=0.5,
    )

    assert contract.report([transmitted(by_a)]) == NOTHING | {"transmitted": 1}
    assert contract.report([transmitted(by_b)]) == NOTHING | {"ignored": 1}
    assert erp_backend.dispatches([dispatch_id])[0]["state"] == "transmitted"


def test_one_report_call_mixes_outcomes(erp_backend: ErpBackend, contract: Contract) -> None:
    ids = erp_backend.seed_dispatches(3)
    claimed = {d["id"]: d for d in contract.claim_ours(ids)}

    counts = contract.report(
        [
            transmitted(claimed[ids[0]]),
            retry(claimed[ids[1]], 3600),
            failed(claimed[ids[2]], "send-0010", "invalid"),
        ]
    )

    assert counts == NOTHING | {"transmitted": 1, "retry": 1, "failed": 1}
    states = [d["state"] for d in erp_backend.dispatches(ids)]
    assert states == ["transmitted", "queued", "failed"]
