"""The stand-in ERP answers malformed contract arguments as the addon does.

A dict where a list belongs, text where a number belongs, or a number no date
or lease can hold (issue 15: courier_open_tracking(500, 1e308) raised
OverflowError, courier_ingest({...}) AttributeError) gets a ValidationError
naming the argument. The addon's side, with the same texts, is
addon/invoice_courier/tests/test_access_control.py
(test_bad_contract_arguments_get_a_clear_error, run in real Odoo); docs/contract.md
lists them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from standin_erp.errors import ValidationError
from standin_erp.store import CourierStore

BAD_CALLS: list[tuple[str, Callable[[CourierStore], Any], str]] = [
    (
        "open_tracking overflowing days",
        lambda store: store.open_tracking(500, 1e308),
        "max_age_days: expected a number of days up to 36500, got 1e+308",
    ),
    (
        "open_tracking text limit",
        lambda store: store.open_tracking("many", 30),
        "limit: expected an integer, got 'many'",
    ),
    (
        "ingest a dict",
        lambda store: store.ingest({"dedupe_key": "k"}),
        "events: expected a list, got {'dedupe_key': 'k'}",
    ),
    (
        "report a dict",
        lambda store: store.report({"id": 1}),
        "results: expected a list, got {'id': 1}",
    ),
    (
        "claim an overflowing lease",
        lambda store: store.claim("w", 1, 1e308),
        "lease_seconds: expected at most 86400 seconds, got 1e+308",
    ),
    (
        "claim without a worker",
        lambda store: store.claim("", 1, 60),
        "worker_id: expected a non-empty string, got ''",
    ),
]


@pytest.mark.parametrize(
    ("call", "message"), [c[1:] for c in BAD_CALLS], ids=[c[0] for c in BAD_CALLS]
)
def test_bad_arguments_get_a_validation_error(
    call: Callable[[CourierStore], Any], message: str
) -> None:
    with pytest.raises(ValidationError) as refused:
        call(CourierStore())
    assert refused.value.message == message


def test_items_that_are_not_objects_are_counted_not_raised() -> None:
    store = CourierStore()
    assert store.ingest(["not an event", 42]) == {"created": 0, "duplicate": 0, "unmatched": 2}
    counts = store.report(["not a result", {"id": 10**30, "outcome": "transmitted"}])
    assert counts == {"transmitted": 0, "retry": 0, "failed": 0, "test_sent": 0, "ignored": 2}
