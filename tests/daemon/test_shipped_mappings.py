"""The files under mappings/: the two defaults equal courierd's built-in ones, and all are valid."""

from __future__ import annotations

from pathlib import Path

import pytest

from courierd.cli import EXIT_OK, main
from courierd.mailjet.event_mapping import EventMapping, load_event_mapping
from courierd.mailjet.message_mapping import (
    MessageMapping,
    load_message_mapping,
    make_message_builder,
)

from .factories import make_dispatch

MAPPINGS = Path(__file__).resolve().parents[2] / "mappings"
SHIPPED = sorted(p for p in MAPPINGS.rglob("*") if p.suffix in (".yaml", ".yml"))


def test_the_shipped_files_are_there() -> None:
    names = {p.relative_to(MAPPINGS).as_posix() for p in SHIPPED}
    assert {
        "events.yaml",
        "messages.yaml",
        "examples/messages-template.yaml",
        "examples/events-strict-scanner.yaml",
    } <= names


def test_events_yaml_is_exactly_the_default() -> None:
    assert load_event_mapping(MAPPINGS / "events.yaml") == EventMapping()


def test_messages_yaml_is_exactly_the_default() -> None:
    assert load_message_mapping(MAPPINGS / "messages.yaml") == MessageMapping()


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.relative_to(MAPPINGS).as_posix())
def test_every_shipped_file_passes_the_check(
    path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["mappings", "check", str(path)]) == EXIT_OK
    out, err = capsys.readouterr()
    assert err == ""
    assert out.startswith(f"{path}: valid ")


def test_template_example_builds_a_message_for_a_contract_dispatch() -> None:
    mapping = load_message_mapping(MAPPINGS / "examples" / "messages-template.yaml")
    build = make_message_builder(mapping)
    invoice = {
        "name": "INV/2026/00017",
        "partner_name": "Customer Inc",
        "amount_total": 1250.0,
        "amount_residual": 1250.0,
        "currency": "EUR",
        "invoice_date": "2026-11-27",
        "invoice_date_due": None,
        "move_type": "out_invoice",
        "lang": "fr_FR",
        "payment_reference": "INV/2026/00017",
    }
    message = build(make_dispatch(invoice=invoice))
    assert message["Variables"]["total"] == "1,250.00 EUR"
    assert message["Variables"]["due_date"] == "on receipt"
    third = build(make_dispatch(company_id=3, invoice=invoice))
    assert third["TemplateID"] != message["TemplateID"]
    assert "Subject" not in third and third["Variables"] == message["Variables"]


def test_strict_scanner_example_ignores_opens_and_waits_longer() -> None:
    mapping = load_event_mapping(MAPPINGS / "examples" / "events-strict-scanner.yaml")
    assert mapping.statuses["open"] == "ignore"
    assert mapping.statuses["click"] == "clicked"
    assert mapping.scanner_guard.min_seconds_after_delivery > (
        EventMapping().scanner_guard.min_seconds_after_delivery
    )
