"""courier_claim's `wait_seconds` (docs/contract.md): a long poll for new sends.

On every backend: a claim that finds nothing waits, answers as soon as a send is
queued meanwhile, and answers empty once its wait is over. Nothing here times
Odoo: the bounds only tell "answered before the wait was over" from "waited".
"""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from tests.contract.client import Contract, ContractRefused, failed
from tests.support.erp_backends import ErpBackend

WAIT = 20.0


def claim(contract: Contract, wait_seconds: Any, worker_id: str = "worker-wait") -> Any:
    return contract.call(
        "courier.dispatch",
        "courier_claim",
        worker_id=worker_id,
        limit=50,
        lease_seconds=300,
        wait_seconds=wait_seconds,
    )


def drain(contract: Contract) -> None:
    """Nothing claimable is left (a real database keeps what earlier tests left)."""
    while batch := claim(contract, 0):
        contract.report([failed(d, "left-over", "left over by an earlier test") for d in batch])


def test_a_waiting_claim_returns_as_soon_as_a_send_is_queued(
    erp_backend: ErpBackend, contract: Contract
) -> None:
    drain(contract)
    answers: list[tuple[float, list[dict[str, Any]]]] = []
    errors: list[BaseException] = []
    started = time.monotonic()

    def wait_for_work() -> None:
        try:
            answers.append((time.monotonic() - started, claim(contract, WAIT)))
        except BaseException as exc:
            errors.append(exc)

    waiter = threading.Thread(target=wait_for_work)
    waiter.start()
    time.sleep(1.0)  # the claim is waiting by now
    [dispatch_id] = erp_backend.seed_dispatches(1)
    waiter.join(WAIT + 30)

    assert not errors, errors
    [(seconds, batch)] = answers
    # Claimed by the waiting call itself, long before its wait was over.
    assert dispatch_id in [d["id"] for d in batch]
    assert seconds < WAIT / 2
    [state] = erp_backend.dispatches([dispatch_id])
    assert state["state"] == "sending" and state["lease_owner"] == "worker-wait"


def test_a_waiting_claim_with_nothing_queued_answers_empty_after_its_wait(
    erp_backend: ErpBackend, contract: Contract
) -> None:
    drain(contract)
    started = time.monotonic()

    batch = claim(contract, 2)

    assert batch == []
    assert time.monotonic() - started >= 1.9  # it did wait, and then answered


def test_a_claim_without_wait_answers_at_once_as_before(
    erp_backend: ErpBackend, contract: Contract
) -> None:
    drain(contract)
    assert contract.claim("worker-wait", 50, 300) == []
    [dispatch_id] = erp_backend.seed_dispatches(1)
    assert [d["id"] for d in claim(contract, 0)] == [dispatch_id]


@pytest.mark.parametrize(
    ("value", "shown"), [("soon", "'soon'"), (61, "61"), (1e308, "1e+308"), (True, "True")]
)
def test_a_wait_that_is_no_number_of_seconds_up_to_a_minute_is_refused(
    contract: Contract, value: Any, shown: str
) -> None:
    with pytest.raises(ContractRefused) as refused:
        claim(contract, value)
    assert refused.value.name == "odoo.exceptions.ValidationError"
    assert f"wait_seconds: expected a number of seconds up to 60, got {shown}" in (
        refused.value.message
    )
