"""A claimed dispatch through the shipped mappings, courierd's Mailjet client and the sandbox.

In process: the messages builder makes the v3.1 message, MailjetClient posts
it, and the sandbox's outbox shows what each recipient got.
"""

from __future__ import annotations

import email
import html
import re
from collections.abc import Iterator
from email.message import EmailMessage
from email.policy import default
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from pydantic import SecretStr

from courierd.mailjet.client import MailjetClient
from courierd.mailjet.message_mapping import load_message_mapping, make_message_builder
from mailjet_sandbox import find_eml
from tests.support.processes import wait_until

from .conftest import API_KEY, API_SECRET, Mailjet

MAPPINGS = Path(__file__).resolve().parents[2] / "mappings"
WEB_URL = "https://erp.example.com/my/invoices/17?access_token=tok-17"
_VARIABLE = re.compile(r'<tr data-variable="([^"]*)"><th>.*?</th><td>(.*?)</td></tr>', re.DOTALL)


def claimed_dispatch(company_id: int) -> dict[str, Any]:
    """A dispatch as courier_claim returns it (docs/contract.md)."""
    return {
        "id": 17,
        "custom_id": "9f1c0c7e0d8b4e4b9a3c1f2e5d6a7b8c",
        "attempts": 1,
        "check_mailjet_first": False,
        "company_id": company_id,
        "invoice_id": 17,
        "sender": {"email": "billing@company.example", "name": "My Company"},
        "reply_to": "billing@company.example",
        "recipients": [
            {"id": 88, "email": "anna@customer.example", "name": "Anna"},
            {"id": 89, "email": "ben@customer.example", "name": "Ben"},
        ],
        "subject": "Invoice INV/2026/00017, as agreed",
        "html": f'<p>Dear Anna, <a href="{WEB_URL}">your invoice</a>.</p>',
        "text": "Dear Anna, your invoice.",
        "attachments": [
            {
                "filename": "INV_2026_00017.pdf",
                "content_type": "application/pdf",
                "base64": "JVBERi0xLjQK",
            }
        ],
        "pdf_pending": False,
        "web_url": WEB_URL,
        "track_opens": True,
        "track_clicks": True,
        "invoice": {
            "name": "INV/2026/00017",
            "partner_name": "Customer Inc",
            "amount_total": 1250.0,
            "amount_residual": 1250.0,
            "currency": "EUR",
            "invoice_date": "2026-11-27",
            "invoice_date_due": "2026-12-27",
            "move_type": "out_invoice",
            "lang": "fr_FR",
            "payment_reference": "INV/2026/00017",
        },
    }


@pytest.fixture
def client(mailjet: Mailjet) -> Iterator[MailjetClient]:
    mj = MailjetClient(
        api_key=SecretStr(API_KEY), api_secret=SecretStr(API_SECRET), api_url=mailjet.url
    )
    yield mj
    mj.close()


def send(client: MailjetClient, message: dict[str, Any]) -> list[int]:
    response = client.send([message])
    assert response.status_code == 200, response.body
    (result,) = response.body["Messages"]
    assert result["Status"] == "success"
    return [to["MessageID"] for to in result["To"]]


def eml(mailjet: Mailjet, message_id: int) -> EmailMessage:
    raw = find_eml(mailjet.outbox, message_id).read_bytes()
    mail = email.message_from_bytes(raw, policy=default)
    assert isinstance(mail, EmailMessage)
    return mail


def html_body(mail: EmailMessage) -> str:
    part = mail.get_body(("html",))
    assert part is not None
    return part.get_content()


def test_template_dispatch_reaches_each_recipient_with_its_variables_and_tracked_link(
    mailjet: Mailjet, client: MailjetClient
) -> None:
    mapping = load_message_mapping(MAPPINGS / "examples" / "messages-template.yaml")
    dispatch = claimed_dispatch(company_id=1)
    message = make_message_builder(mapping)(dispatch)
    assert "HTMLPart" not in message

    message_ids = send(client, message)
    assert len(message_ids) == 2
    for message_id in message_ids:
        mail = eml(mailjet, message_id)
        assert mail["X-MJ-TemplateID"] == "4082179"
        assert mail["X-MJ-CustomID"] == dispatch["custom_id"]
        assert mail["Subject"] == dispatch["subject"]
        (pdf,) = list(mail.iter_attachments())
        assert pdf.get_filename() == "INV_2026_00017.pdf"
        shown = dict(_VARIABLE.findall(html_body(mail)))
        assert shown["invoice_number"] == "INV/2026/00017"
        assert shown["total"] == "1,250.00 EUR"
        assert shown["due_date"] == "2026-12-27"
        assert shown["signature"] == "My Company"

    # The last recipient's copy: its own tracked link to the web document.
    link = re.search(r'href="([^"]+)"', shown["invoice_url"])
    assert link is not None
    click_url = html.unescape(link.group(1))
    assert click_url.startswith(f"{mailjet.url}t/c/")
    assert parse_qs(urlsplit(click_url).query)["u"] == [WEB_URL]
    clicked = requests.get(click_url, allow_redirects=False, timeout=5)
    assert (clicked.status_code, clicked.headers["Location"]) == (302, WEB_URL)
    assert wait_until(
        lambda: "clicked" in [e.get("EventType") for e in client.message_history(str(message_id))],
        timeout=15,
        what="the click in the message history",
    )


def test_company_with_its_own_template_uses_the_template_subject(
    mailjet: Mailjet, client: MailjetClient
) -> None:
    mapping = load_message_mapping(MAPPINGS / "examples" / "messages-template.yaml")
    (message_id, _) = send(client, make_message_builder(mapping)(claimed_dispatch(company_id=3)))
    mail = eml(mailjet, message_id)
    assert mail["X-MJ-TemplateID"] == "4082180"
    # No Subject was sent: Mailjet would take the template's; the sandbox has none.
    assert mail["Subject"] == ""


def test_default_mapping_sends_the_odoo_html(mailjet: Mailjet, client: MailjetClient) -> None:
    mapping = load_message_mapping(MAPPINGS / "messages.yaml")
    (message_id, _) = send(client, make_message_builder(mapping)(claimed_dispatch(company_id=1)))
    mail = eml(mailjet, message_id)
    assert mail["X-MJ-TemplateID"] is None
    assert "Dear Anna" in html_body(mail)
