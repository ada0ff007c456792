"""Malformed contract arguments get a ValidationError naming the argument, on both backends.

A dict where a list belongs, text where a number belongs, or a number no date
or lease can hold (issue 15: courier_open_tracking(500, 1e308) raised
OverflowError, courier_ingest({...}) AttributeError) must answer with a clear
error, never a traceback.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.contract.client import Contract, ContractRefused

BAD_CALLS = [
    (
        "courier.recipient",
        "courier_open_tracking",
        {"limit": 500, "max_age_days": 1e308},
        "max_age_days: expected a number of days up to 36500, got 1e+308",
    ),
    (
        "courier.recipient",
        "courier_open_tracking",
        {"limit": "many", "max_age_days": 30},
        "limit: expected an integer, got 'many'",
    ),
    (
        "courier.event",
        "courier_ingest",
        {"events": {"dedupe_key": "k", "type": "delivered"}},
        "events: expected a list, got {",
    ),
    (
        "courier.dispatch",
        "courier_report",
        {"results": {"id": 1, "outcome": "transmitted"}},
        "results: expected a list, got {",
    ),
    (
        "courier.dispatch",
        "courier_claim",
        {"worker_id": "w", "limit": 1, "lease_seconds": 1e308},
        "lease_seconds: expected at most 86400 seconds",
    ),
    (
        "courier.dispatch",
        "courier_claim",
        {"worker_id": "", "limit": 1, "lease_seconds": 60},
        "worker_id: expected a non-empty string, got ''",
    ),
]


@pytest.mark.parametrize(
    ("model", "method", "arguments", "message"),
    BAD_CALLS,
    ids=[f"{call[1]}-{'-'.join(call[2])}-{index}" for index, call in enumerate(BAD_CALLS)],
)
def test_bad_arguments_get_a_validation_error(
    contract: Contract, model: str, method: str, arguments: dict[str, Any], message: str
) -> None:
    with pytest.raises(ContractRefused) as refused:
        contract.call(model, method, **arguments)
    assert refused.value.name == "odoo.exceptions.ValidationError", refused.value
    assert message in refused.value.message


def test_items_that_are_not_objects_are_counted_not_raised(contract: Contract) -> None:
    assert contract.ingest(["not an event", 42]) == {"created": 0, "duplicate": 0, "unmatched": 2}
    counts = contract.report(["not a result", {"id": 10**30, "outcome": "transmitted"}])
    assert counts == {"transmitted": 0, "retry": 0, "failed": 0, "ignored": 2}
