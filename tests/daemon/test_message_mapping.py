"""The messages mapping: html mode is build_message, template mode sends TemplateID + Variables."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from courierd.domain.errors import MappingError
from courierd.mailjet.message_mapping import (
    KNOWN_FIELDS,
    MessageMapping,
    field_value,
    load_message_mapping,
    make_message_builder,
)
from courierd.mailjet.messages import build_message

from .factories import make_dispatch

INVOICE = {
    "name": "INV/2026/00017",
    "partner_name": "Customer Inc",
    "amount_total": 1250.0,
    "amount_residual": 250.5,
    "currency": "EUR",
    "invoice_date": "2026-11-27",
    "invoice_date_due": "2026-12-27",
    "move_type": "out_invoice",
    "lang": "fr_FR",
    "payment_reference": "RF18 0001",
}

TEMPLATE = {
    "mode": "template",
    "template": {
        "template_id": 4082179,
        "variables": {
            "invoice_number": "invoice.name",
            "total": {"field": "invoice.amount_total", "format": "money"},
            "total_number": "invoice.amount_total",
            "due_date": "invoice.invoice_date_due",
            "invoice_url": "web_url",
            "signature": "sender.name",
        },
    },
}


def dispatch(**overrides: Any) -> dict[str, Any]:
    return make_dispatch(invoice=dict(INVOICE), **overrides)


def mapping(data: dict[str, Any]) -> MessageMapping:
    return MessageMapping.model_validate(data)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "messages.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_no_file_is_html_mode_and_the_builder_is_build_message() -> None:
    default = load_message_mapping(None)
    assert default == MessageMapping()
    assert default.mode == "html" and default.template is None and default.companies == {}
    assert make_message_builder(default) is build_message


def test_template_mode_keeps_everything_but_the_parts() -> None:
    d = dispatch()
    html = build_message(d)
    message = make_message_builder(mapping(TEMPLATE))(d)
    assert "HTMLPart" not in message and "TextPart" not in message
    assert message["TemplateID"] == 4082179
    assert message["TemplateLanguage"] is True
    for key in ("From", "To", "ReplyTo", "Subject", "CustomID", "EventPayload", "Attachments"):
        assert message[key] == html[key]
    assert (message["TrackOpens"], message["TrackClicks"]) == (
        html["TrackOpens"],
        html["TrackClicks"],
    )
    assert message["Variables"] == {
        "invoice_number": "INV/2026/00017",
        "total": "1,250.00 EUR",
        "total_number": 1250.0,
        "due_date": "2026-12-27",
        "invoice_url": d["web_url"],
        "signature": "My Company",
    }
    assert "TemplateErrorReporting" not in message and "TemplateErrorDeliver" not in message


def test_the_edited_subject_is_sent_unless_the_template_subject_is_asked_for() -> None:
    d = dispatch(subject="Your invoice, as Anna asked")
    assert make_message_builder(mapping(TEMPLATE))(d)["Subject"] == "Your invoice, as Anna asked"
    own = {**TEMPLATE, "template": {**TEMPLATE["template"], "use_template_subject": True}}
    assert "Subject" not in make_message_builder(mapping(own))(d)
    # An empty subject would blank the template's: it is left out.
    assert "Subject" not in make_message_builder(mapping(TEMPLATE))(dispatch(subject=""))


def test_error_reporting_and_deliver_are_mailjet_properties() -> None:
    data = {
        **TEMPLATE,
        "template": {
            **TEMPLATE["template"],
            "error_reporting": "it@company.example",
            "error_deliver": True,
        },
    }
    message = make_message_builder(mapping(data))(dispatch())
    assert message["TemplateErrorReporting"] == {"Email": "it@company.example"}
    assert message["TemplateErrorDeliver"] is True


def test_a_company_override_replaces_the_default() -> None:
    data = {
        "companies": {
            2: TEMPLATE,
            3: {"mode": "template", "template": {"template_id": 99, "variables": {}}},
        }
    }
    build = make_message_builder(mapping(data))
    assert build(dispatch(company_id=1)) == build_message(dispatch(company_id=1))
    assert build(dispatch(company_id=2))["TemplateID"] == 4082179
    third = build(dispatch(company_id=3))
    assert (third["TemplateID"], third["Variables"]) == (99, {})


def test_a_company_can_keep_html_under_a_template_default() -> None:
    build = make_message_builder(mapping({**TEMPLATE, "companies": {5: {"mode": "html"}}}))
    assert build(dispatch(company_id=5)) == build_message(dispatch(company_id=5))
    assert build(dispatch(company_id=1))["TemplateID"] == 4082179


def test_a_missing_field_fails_the_dispatch_naming_the_variable_and_a_default_fills_it() -> None:
    build = make_message_builder(mapping(TEMPLATE))
    no_due = dispatch()
    no_due["invoice"]["invoice_date_due"] = False  # Odoo's empty value
    with pytest.raises(
        ValueError, match=r"'due_date': the dispatch has no invoice\.invoice_date_due"
    ):
        build(no_due)
    variables = dict(TEMPLATE["template"]["variables"])
    variables["due_date"] = {"field": "invoice.invoice_date_due", "default": "on receipt"}
    with_default = {**TEMPLATE, "template": {"template_id": 1, "variables": variables}}
    assert make_message_builder(mapping(with_default))(no_due)["Variables"]["due_date"] == (
        "on receipt"
    )


def test_the_html_checks_still_apply_in_template_mode() -> None:
    build = make_message_builder(mapping(TEMPLATE))
    with pytest.raises(ValueError, match="PDF"):
        build(dispatch(pdf_pending=True))
    with pytest.raises(ValueError, match="recipient"):
        build(dispatch(recipients=[]))


def test_money_without_a_currency_and_on_a_non_number() -> None:
    data = {
        "mode": "template",
        "template": {
            "template_id": 1,
            "variables": {"due": {"field": "invoice.amount_residual", "format": "money"}},
        },
    }
    build = make_message_builder(mapping(data))
    no_currency = dispatch()
    del no_currency["invoice"]["currency"]
    assert build(no_currency)["Variables"] == {"due": "250.50"}
    text_amount = dispatch()
    text_amount["invoice"]["amount_residual"] = "250"
    with pytest.raises(ValueError, match="not a number"):
        build(text_amount)


def test_every_known_field_resolves_in_a_contract_dispatch() -> None:
    d = dispatch()
    assert {f: field_value(d, f) is not None for f in KNOWN_FIELDS} == dict.fromkeys(
        KNOWN_FIELDS, True
    )


def test_load_errors_name_the_file_and_the_key(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "mode: template\n"
        "template:\n"
        "  template_id: abc\n"
        "  variables:\n"
        "    due: invoice.due\n"
        "    total: {field: invoice.name, format: money}\n"
        "  error_reporting: not-an-address\n"
        "colour: blue\n",
    )
    with pytest.raises(MappingError) as caught:
        load_message_mapping(path)
    problems = caught.value.problems
    assert all(p.startswith(f"{path}: key ") for p in problems)
    text = "\n".join(problems)
    assert "key 'template.template_id'" in text
    assert "key 'template.variables.due' names unknown field 'invoice.due'; known: " in text
    assert "key 'template.variables.total' format 'money' is for amounts" in text
    assert "key 'template.error_reporting' 'not-an-address' is not an email address" in text
    assert "key 'colour' is not a key this mapping knows" in text


def test_mode_and_template_section_must_agree(tmp_path: Path) -> None:
    with pytest.raises(MappingError, match="key 'template' is required with mode 'template'"):
        load_message_mapping(write(tmp_path, "mode: template\n"))
    with pytest.raises(MappingError, match="key 'template' is only used with mode 'template'"):
        load_message_mapping(write(tmp_path, "template: {template_id: 3}\n"))
    with pytest.raises(MappingError, match=r"key 'mode' Input should be 'html' or 'template'"):
        load_message_mapping(write(tmp_path, "mode: mjml\n"))


def test_variable_names_are_what_mailjet_placeholders_can_name(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "mode: template\ntemplate:\n  template_id: 3\n  variables:\n    due-date: subject\n",
    )
    with pytest.raises(MappingError, match=r"key 'template.variables' variable names are"):
        load_message_mapping(path)


def test_company_errors_name_the_company(tmp_path: Path) -> None:
    path = write(tmp_path, "companies:\n  2:\n    mode: template\n    template: {template_id: 0}\n")
    with pytest.raises(MappingError, match=r"key 'companies\[2\]\.template\.template_id'"):
        load_message_mapping(path)
