"""courier_claim's age and last error, courier_report's test sends, attempts given back and
sends given up on (docs/contract.md), the same on every backend."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.contract.client import Contract, now_iso, retry
from tests.support.erp_backends import ErpBackend
from tests.support.processes import wait_until

NOTHING = {"transmitted": 0, "retry": 0, "failed": 0, "test_sent": 0, "ignored": 0}


def _outcome(dispatch: dict, outcome: str, **extra: object) -> dict:
    return {
        "id": dispatch["id"],
        "custom_id": dispatch["custom_id"],
        "outcome": outcome,
        "time": now_iso(),
        **extra,
    }


def _claim_when_due(contract: Contract, dispatch_id: int) -> list[dict]:
    """Claim `dispatch_id` once its retry_after (1 s) has passed."""
    return wait_until(
        lambda: contract.claim_ours([dispatch_id]), 15, "the retry to be due", interval=0.5
    )


def test_claim_carries_queued_at_and_the_last_error(
    erp_backend: ErpBackend, contract: Contract
) -> None:
    [dispatch_id] = erp_backend.seed_dispatches(1)
    [claimed] = contract.claim_ours([dispatch_id])
    queued_at = datetime.strptime(claimed["queued_at"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    assert abs(datetime.now(UTC) - queued_at) < timedelta(minutes=10)
    assert (claimed["last_error"], claimed["error_code"]) == (False, False)

    contract.report([retry(claimed, 1, code="http-503")])
    [again] = _claim_when_due(contract, dispatch_id)
    assert (again["last_error"], again["error_code"]) == ("Too many requests", "http-503")
    assert again["queued_at"] == claimed["queued_at"]


def test_a_test_send_is_final_and_never_marks_the_invoice_sent(
    erp_backend: ErpBackend, contract: Contract
) -> None:
    ids = erp_backend.seed_dispatches(2)
    claimed = contract.claim_ours(ids)

    counts = contract.report([_outcome(d, "test_sent") for d in claimed])

    assert counts == NOTHING | {"test_sent": 2}
    for state in erp_backend.dispatches(ids):
        assert state["state"] == "test_sent"
        assert state["invoice_state"] == "not_sent"
        assert state["is_move_sent"] is False
        assert [r["message_id"] for r in state["recipients"]] == [None]
        assert erp_backend.events(state["id"]) == []
    again = contract.report([_outcome(claimed[0], "test_sent")])
    late = contract.report([retry(claimed[1], 60)])
    assert (again, late) == (NOTHING | {"ignored": 1}, NOTHING | {"ignored": 1})


def test_a_retry_that_was_no_attempt_gives_the_attempt_back(
    erp_backend: ErpBackend, contract: Contract
) -> None:
    [dispatch_id] = erp_backend.seed_dispatches(1)
    [claimed] = contract.claim_ours([dispatch_id])
    assert claimed["attempts"] == 1

    refused = retry(claimed, 1, code="mj-0015") | {"attempted": False}
    assert contract.report([refused]) == NOTHING | {"retry": 1}

    [state] = erp_backend.dispatches([dispatch_id])
    assert (state["state"], state["attempts"], state["error_code"]) == ("queued", 0, "mj-0015")
    [again] = _claim_when_due(contract, dispatch_id)
    assert again["attempts"] == 1
    assert again["check_mailjet_first"] is False


def test_given_up_fails_the_send_with_an_activity_to_send_it_again(
    erp_backend: ErpBackend, contract: Contract
) -> None:
    [dispatch_id] = erp_backend.seed_dispatches(1)
    [claimed] = contract.claim_ours([dispatch_id])
    message = "Not sent: courierd gave up after 10 attempts. Last error: http-503: down."
    error = {"code": "gave-up", "message": message, "status": None, "related_to": []}

    assert contract.report([_outcome(claimed, "failed", error=error)]) == NOTHING | {"failed": 1}

    [state] = erp_backend.dispatches([dispatch_id])
    assert (state["state"], state["error_code"], state["last_error"]) == (
        "failed",
        "gave-up",
        message,
    )
    assert state["invoice_state"] == "failed"
    [activity] = erp_backend.activities(dispatch_id)
    assert f"The email could not be sent: {message}" in activity
    assert "Check the recipients" not in activity
