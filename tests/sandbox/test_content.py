"""Link rewriting, the open pixel, MIME building and event payloads, without HTTP."""

from __future__ import annotations

import email
from datetime import UTC, datetime
from email.policy import default
from urllib.parse import parse_qs, urlsplit

from mailjet_sandbox import events, tracking
from mailjet_sandbox.mime import build_email
from mailjet_sandbox.validation import Message, check_send_payload

from .conftest import message

PUBLIC = "http://127.0.0.1:8025/"


def test_rewrite_links_keeps_non_http_links_and_unescapes_targets() -> None:
    html = (
        '<a href="https://erp.example.com/inv?id=1&amp;t=2">doc</a>'
        "<a href='mailto:x@example.com'>mail</a>"
        '<link href="https://cdn.example.com/s.css"><A HREF="http://x.example/">x</A>'
    )
    out, links = tracking.rewrite_links(html, PUBLIC, "tok")
    assert links == ["https://erp.example.com/inv?id=1&t=2", "http://x.example/"]
    assert "mailto:x@example.com" in out
    assert 'href="https://cdn.example.com/s.css"' in out
    first = out.split('"')[1]
    parts = urlsplit(first.replace("&amp;", "&"))
    assert first.startswith(f"{PUBLIC}t/c/tok?u=")
    assert parse_qs(parts.query)["u"] == ["https://erp.example.com/inv?id=1&t=2"]


def test_open_pixel_goes_inside_body() -> None:
    out = tracking.add_open_pixel("<html><body><p>x</p></body></html>", PUBLIC, "tok")
    assert out.endswith(
        f'<img src="{PUBLIC}t/o/tok.gif" width="1" height="1" alt="" '
        'style="border:0;width:1px;height:1px" /></body></html>'
    )
    assert tracking.add_open_pixel("<p>x</p>", PUBLIC, "t").startswith("<p>x</p><img")


def _parsed(**extra: object) -> Message:
    result = check_send_payload({"Messages": [message(**extra)]}).results[0]
    assert isinstance(result, Message)
    return result


def test_mime_has_alternatives_attachments_and_mailjet_headers() -> None:
    msg = _parsed(
        CustomID="c-1",
        EventPayload='{"dispatch": 42}',
        Cc=[{"Email": "cc@customer.example"}],
        Bcc=[{"Email": "hidden@customer.example"}],
        ReplyTo={"Email": "reply@company.example"},
        Headers={"X-Invoice": "INV/2026/00017"},
        Attachments=[
            {"ContentType": "application/pdf", "Filename": "inv.pdf", "Base64Content": "JVBERi0="}
        ],
    )
    bcc = msg.of_kind("Bcc")[0]
    mail = build_email(
        msg,
        bcc,
        message_id=1152921504606846977,
        message_uuid="0c2a",
        html="<p>hi</p>",
        sent_at=datetime(2026, 11, 27, 8, 15, 2, tzinfo=UTC),
    )
    parsed = email.message_from_bytes(mail.as_bytes(), policy=default)
    assert parsed["From"] == "Billing <billing@company.example>"
    assert parsed["To"] == "Anna <anna@customer.example>"
    assert parsed["Cc"] == "cc@customer.example"
    assert parsed["Bcc"] is None
    assert parsed["Delivered-To"] == "hidden@customer.example"
    assert parsed["Reply-To"] == "reply@company.example"
    assert parsed["Subject"] == "Invoice INV/2026/00017"
    assert parsed["Date"] == "Fri, 27 Nov 2026 08:15:02 +0000"
    assert parsed["Message-ID"] == "<0c2a@mailjet-sandbox.invalid>"
    assert parsed["X-MJ-CustomID"] == "c-1"
    assert parsed["X-MJ-EventPayload"] == '{"dispatch": 42}'
    assert parsed["X-Mailjet-MessageID"] == "1152921504606846977"
    assert parsed["X-Invoice"] == "INV/2026/00017"
    assert parsed.get_content_type() == "multipart/mixed"
    body = parsed.get_body(("html",))
    assert body is not None and body.get_content().strip() == "<p>hi</p>"
    text = parsed.get_body(("plain",))
    assert text is not None and text.get_content().strip() == "Your invoice is attached."
    (att,) = list(parsed.iter_attachments())
    assert att.get_filename() == "inv.pdf"
    assert att.get_content() == b"%PDF-"


def test_template_message_gets_a_stand_in_text_and_html() -> None:
    msg = _parsed(TemplateID=12, Variables={"amount": "1250.00"}, TextPart=None, HTMLPart=None)
    mail = build_email(
        msg,
        msg.recipients[0],
        message_id=1,
        message_uuid="u",
        html=msg.html,
        sent_at=datetime(2026, 11, 27, tzinfo=UTC),
    )
    text = mail.get_body(("plain",))
    assert mail.get_body(("html",)) is not None
    assert text is not None and "Mailjet template 12" in text.get_content()
    assert '"amount": "1250.00"' in text.get_content()


def test_outcomes_by_local_part() -> None:
    assert [e["event"] for e in events.outcome_for("anna@x.example").events] == ["sent"]
    hard = events.outcome_for("bounce.anna@x.example").events
    assert hard[0]["event"] == "bounce" and hard[0]["hard_bounce"] is True
    assert hard[0]["error"] == "user unknown"
    soft = events.outcome_for("SoftBounce@x.example").events
    assert soft[0]["event"] == "bounce" and soft[0]["hard_bounce"] is False
    blocked = events.outcome_for("blocked-1@x.example").events
    assert blocked[0]["event"] == "blocked" and blocked[0]["error"] == "preblocked"
    assert [e["event"] for e in events.outcome_for("spam@x.example").events] == ["sent", "spam"]
    assert [e["event"] for e in events.outcome_for("unsub@x.example").events] == ["sent", "unsub"]


def test_event_body_has_mailjet_common_fields() -> None:
    facts = events.MessageFacts(1152921504606846977, "uuid", "a@x.example", "c1", "p", "")
    body = events.event_body(facts, 1795766997, {"event": "sent", "smtp_reply": "250 OK"})
    assert body == {
        "event": "sent",
        "time": 1795766997,
        "MessageID": 1152921504606846977,
        "Message_GUID": "uuid",
        "email": "a@x.example",
        "mj_campaign_id": 0,
        "mj_contact_id": events.contact_id("a@x.example"),
        "customcampaign": "",
        "CustomID": "c1",
        "Payload": "p",
        "mj_message_id": "1152921504606846977",
        "smtp_reply": "250 OK",
    }


def test_message_status_is_the_furthest_state() -> None:
    assert events.message_status([]) == "queued"
    assert events.message_status(["sent", "click", "open"]) == "clicked"
    assert events.message_status(["sent", "spam"]) == "spam"
    assert events.message_status(["bounce"]) == "bounce"


def test_inline_attachments_are_related_to_the_html() -> None:
    logo = {
        "ContentType": "image/png",
        "Filename": "logo.png",
        "ContentID": "logo1",
        "Base64Content": "iVBORw0KGgo=",
    }
    msg = _parsed(InlinedAttachments=[logo], HTMLPart='<img src="cid:logo1">')
    mail = build_email(
        msg,
        msg.recipients[0],
        message_id=1,
        message_uuid="u",
        html=msg.html,
        sent_at=datetime(2026, 11, 27, tzinfo=UTC),
    )
    parsed = email.message_from_bytes(mail.as_bytes(), policy=default)
    assert parsed.get_content_type() == "multipart/alternative"
    related = parsed.get_payload()[1]
    assert related.get_content_type() == "multipart/related"
    image = related.get_payload()[1]
    assert image["Content-ID"] == "<logo1>"
    assert image.get_content() == b"\x89PNG\r\n\x1a\n"
