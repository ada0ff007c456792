"""Template messages (TemplateID + Variables, no parts): validation, the stand-in body, tracking."""

from __future__ import annotations

import email
import html
import re
from email.message import EmailMessage
from email.policy import default
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import requests
from mailjet_rest import Client

from mailjet_sandbox import SandboxServer, find_eml
from mailjet_sandbox.templates import template_html
from mailjet_sandbox.validation import Message, check_send_payload

from .conftest import WebhookReceiver, message, wait_until

WEB_URL = "https://erp.example.com/my/invoices/17?access_token=tok"
_ROW = re.compile(r'<tr data-variable="([^"]*)"><th>.*?</th><td>(.*?)</td></tr>', re.DOTALL)


def template_message(**extra: Any) -> dict[str, Any]:
    template: dict[str, Any] = {
        "TemplateID": 4082179,
        "TemplateLanguage": True,
        "Variables": {"invoice_number": "INV/2026/00017", "total": 1250.0, "invoice_url": WEB_URL},
    }
    msg = message(**{**template, **extra})
    del msg["TextPart"], msg["HTMLPart"]
    return msg


def checked(msg: dict[str, Any]) -> Message | list[dict[str, Any]]:
    (result,) = check_send_payload({"Messages": [msg]}).results
    return result


def codes(errors: Any) -> list[tuple[str, list[str]]]:
    assert isinstance(errors, list)
    return [(e["ErrorCode"], e["ErrorRelatedTo"]) for e in errors]


def variables_shown(body: str) -> dict[str, str]:
    return {html.unescape(name): cell for name, cell in _ROW.findall(body)}


def test_template_without_parts_is_accepted_with_a_stand_in_body() -> None:
    parsed = checked(template_message())
    assert isinstance(parsed, Message)
    assert parsed.template_id == 4082179
    assert parsed.html is not None and 'data-template-id="4082179"' in parsed.html
    shown = variables_shown(parsed.html)
    assert shown["invoice_number"] == "INV/2026/00017"
    assert shown["total"] == "1250.0"
    assert parsed.text is not None and '"invoice_number": "INV/2026/00017"' in parsed.text
    assert parsed.track_opens and parsed.track_clicks


def test_url_variables_become_links_and_other_values_are_escaped() -> None:
    body = template_html(7, {"url": WEB_URL, "name": "<b>Anna & Co</b>", "ftp": "ftp://x.example"})
    shown = variables_shown(body)
    assert shown["url"] == f'<a href="{html.escape(WEB_URL)}">{html.escape(WEB_URL)}</a>'
    assert shown["name"] == "&lt;b&gt;Anna &amp; Co&lt;/b&gt;"
    assert shown["ftp"] == "ftp://x.example"


def test_neither_parts_nor_template_is_mailjets_send_0003() -> None:
    msg = template_message()
    del msg["TemplateID"]
    errors = checked(msg)
    assert codes(errors) == [("send-0003", ["HTMLPart", "TextPart"])]
    assert isinstance(errors, list)
    assert errors[0]["ErrorMessage"] == (
        'At least "HTMLPart", "TextPart" or "TemplateID" must be provided.'
    )


def test_variables_must_be_an_object_even_when_empty_or_falsy() -> None:
    for bad in ([], "", ["a"], 0):
        assert codes(checked(template_message(Variables=bad))) == [("mj-0004", ["Variables"])]


def test_template_flags_are_booleans_and_error_reporting_an_address() -> None:
    assert codes(checked(template_message(TemplateLanguage="true"))) == [
        ("mj-0004", ["TemplateLanguage"])
    ]
    assert codes(checked(template_message(TemplateErrorDeliver="deliver"))) == [
        ("mj-0004", ["TemplateErrorDeliver"])
    ]
    assert codes(checked(template_message(TemplateErrorReporting={"Email": "it@"}))) == [
        ("mj-0013", ["TemplateErrorReporting.Email"])
    ]
    ok = checked(
        template_message(
            TemplateErrorReporting={"Email": "it@company.example"}, TemplateErrorDeliver=False
        )
    )
    assert isinstance(ok, Message)


def test_template_type_errors_need_an_integer_id() -> None:
    assert codes(checked(template_message(TemplateID="4082179"))) == [
        ("mj-0004", ["TemplateID"]),
        ("send-0003", ["HTMLPart", "TextPart"]),
    ]


def _eml(outbox: Path, message_id: int) -> EmailMessage:
    mail = email.message_from_bytes(find_eml(outbox, message_id).read_bytes(), policy=default)
    assert isinstance(mail, EmailMessage)
    return mail


def test_sent_template_shows_its_variables_and_tracks_the_link_click(
    sandbox: SandboxServer, send_client: Client, receiver: WebhookReceiver, outbox: Path
) -> None:
    response = send_client.send.create(data={"Messages": [template_message(CustomID="tpl-1")]})
    assert response.status_code == 200
    message_id = response.json()["Messages"][0]["To"][0]["MessageID"]

    mail = _eml(outbox, message_id)
    assert mail["X-MJ-TemplateID"] == "4082179"
    body = mail.get_body(("html",))
    assert body is not None
    shown = variables_shown(body.get_content())
    assert shown["invoice_number"] == "INV/2026/00017"
    link = re.search(r'href="([^"]+)"', shown["invoice_url"])
    assert link is not None
    click_url = html.unescape(link.group(1))
    assert click_url.startswith(f"{sandbox.url}t/c/")
    assert unquote(click_url.split("?u=", 1)[1]) == WEB_URL
    assert f"{sandbox.url}t/o/" in body.get_content()

    clicked = requests.get(click_url, allow_redirects=False, timeout=5)
    assert clicked.status_code == 302
    assert clicked.headers["Location"] == WEB_URL
    events = wait_until(lambda: len(receiver.events()) >= 2 and receiver.events())
    assert [e["event"] for e in events] == ["sent", "click"]
    assert events[1]["url"] == WEB_URL
    assert events[1]["CustomID"] == "tpl-1"
