"""The sandbox refuses what Mailjet refuses (issue 11): one test per case.

Through the real mailjet-rest client over loopback, so each case is what
courierd would see. docs/sandbox.md cites Mailjet's documentation for each rule.
"""

from __future__ import annotations

import email
import json
from email.policy import default
from pathlib import Path
from typing import Any

import pytest
from mailjet_rest import Client, MailjetAuthError, ValidationError

from mailjet_sandbox import SandboxServer
from mailjet_sandbox.validation import Message, check_send_payload

from .conftest import admin, message


def emls(outbox: Path) -> list[Path]:
    return sorted(outbox.glob("*.eml"))


def refused(send_client: Client, payload: dict[str, Any]) -> dict[str, Any]:
    """The whole-call error body of a refused send (mailjet-rest raises on any 4xx)."""
    with pytest.raises(ValidationError) as caught:
        send_client.send.create(data=payload)
    assert caught.value.status_code == 400
    body: dict[str, Any] = json.loads(caught.value.response_body)
    assert "Messages" not in body
    return body


def recipients(count: int, start: int = 0) -> list[dict[str, str]]:
    return [{"Email": f"r{i}@customer.example"} for i in range(start, start + count)]


# -- unknown or misplaced properties: mj-0002 for the whole call, naming the path --


@pytest.mark.parametrize(
    ("payload", "path"),
    [
        ({"Messages": [message(Foo="bar")]}, "Messages[0].Foo"),
        ({"Messages": [message(), message(SandboxMode=True)]}, "Messages[1].SandboxMode"),
        ({"Messages": [message(Globals={"Subject": "x"})]}, "Messages[0].Globals"),
        ({"Message": [message()]}, "Message"),
        ({"Messages": [message()], "Globals": {"To": [{"Email": "a@b.example"}]}}, "Globals.To"),
        ({"Messages": [message()], "Globals": {"SandboxMode": True}}, "Globals.SandboxMode"),
        ({"Messages": [message(To=[{"Mail": "a@b.example"}])]}, "Messages[0].To[0].Mail"),
        (
            {"Messages": [message(From={"Email": "b@c.example", "Nom": "B"})]},
            "Messages[0].From.Nom",
        ),
        (
            {
                "Messages": [
                    message(Attachments=[{"ContentType": "a/b", "Filename": "f", "Data": "eA=="}])
                ]
            },
            "Messages[0].Attachments[0].Data",
        ),
    ],
    ids=[
        "unknown-in-message",
        "sandboxmode-in-message",
        "globals-in-message",
        "misspelt-top-level",
        "to-in-globals",
        "sandboxmode-in-globals",
        "unknown-in-recipient",
        "unknown-in-from",
        "unknown-in-attachment",
    ],
)
def test_unknown_or_misplaced_property_is_mj_0002_naming_its_path(
    sandbox: SandboxServer,
    send_client: Client,
    outbox: Path,
    payload: dict[str, Any],
    path: str,
) -> None:
    body = refused(send_client, payload)

    assert body["ErrorCode"] == "mj-0002"
    assert body["ErrorMessage"] == "Malformed JSON, please review the syntax and properties types."
    assert body["ErrorRelatedTo"] == [path]
    assert emls(outbox) == []
    assert admin(sandbox, "messages") == []


def test_every_documented_property_is_accepted(send_client: Client, outbox: Path) -> None:
    full = message(
        Sender={"Email": "billing@company.example", "Name": "Billing"},
        Cc=[{"Email": "cc@customer.example", "Name": "Cc"}],
        Bcc=[{"Email": "bcc@customer.example"}],
        ReplyTo={"Email": "help@company.example", "Name": "Help"},
        TemplateLanguage=False,
        Attachments=[{"ContentType": "text/plain", "Filename": "a.txt", "Base64Content": "eA=="}],
        InlinedAttachments=[
            {
                "ContentType": "image/png",
                "Filename": "logo.png",
                "ContentID": "logo",
                "Base64Content": "eA==",
            }
        ],
        Priority=2,
        CustomCampaign="invoices",
        DeduplicateCampaign=False,
        TrackOpens="enabled",
        TrackClicks="disabled",
        CustomID="all-props",
        EventPayload="p",
        MonitoringCategory="invoices",
        URLTags="utm_source=courier",
        Headers={"X-Invoice": "17"},
        Variables={"name": "Anna"},
    )
    response = send_client.send.create(
        data={"Messages": [full], "SandboxMode": False, "AdvanceErrorHandling": True}
    )

    assert response.status_code == 200
    assert response.json()["Messages"][0]["Status"] == "success"
    assert len(emls(outbox)) == 3


def test_advance_error_handling_must_be_a_boolean(send_client: Client, outbox: Path) -> None:
    body = refused(send_client, {"Messages": [message()], "AdvanceErrorHandling": "yes"})

    assert body["ErrorCode"] == "mj-0004"
    assert body["ErrorRelatedTo"] == ["AdvanceErrorHandling"]
    assert emls(outbox) == []


def test_priority_outside_its_four_levels_is_mj_0005() -> None:
    checked = check_send_payload({"Messages": [message(Priority=4), message(Priority="1")]})

    high, text = checked.results
    assert isinstance(high, list) and [e["ErrorCode"] for e in high] == ["mj-0005"]
    assert isinstance(text, list) and [e["ErrorCode"] for e in text] == ["mj-0004"]


# -- Globals: a top-level key whose properties apply to every message --


def test_globals_apply_to_every_message(send_client: Client, outbox: Path) -> None:
    payload = {
        "Globals": {
            "From": {"Email": "billing@company.example", "Name": "Billing"},
            "Subject": "Your invoice",
        },
        "Messages": [
            {"To": [{"Email": "anna@customer.example"}], "TextPart": "One"},
            {"To": [{"Email": "bob@customer.example"}], "TextPart": "Two", "Subject": "Yours"},
        ],
    }
    answers = send_client.send.create(data=payload).json()["Messages"]

    assert [a["Status"] for a in answers] == ["success", "success"]
    mails = {
        m["Delivered-To"]: m
        for m in (email.message_from_bytes(p.read_bytes(), policy=default) for p in emls(outbox))
    }
    assert mails["anna@customer.example"]["Subject"] == "Your invoice"
    assert mails["bob@customer.example"]["Subject"] == "Yours"  # the message's own value wins
    assert all("billing@company.example" in str(m["From"]) for m in mails.values())


def test_globals_merge_objects_and_append_arrays() -> None:
    payload = {
        "Globals": {
            "Variables": {"var1": "value1", "var2": "value2"},
            "Cc": [{"Email": "passenger@customer.example"}],
            "Headers": {"X-Shop": "1"},
        },
        "Messages": [
            message(
                Variables={"var1": "value1_bis", "var3": "value3"},
                Cc=[{"Email": "passenger2@customer.example"}],
            )
        ],
    }
    (parsed,) = check_send_payload(payload).results

    # The three rules of Mailjet's guide ("Set global payload properties").
    assert isinstance(parsed, Message)
    assert parsed.variables == {"var1": "value1_bis", "var2": "value2", "var3": "value3"}
    assert [r.email for r in parsed.of_kind("Cc")] == [
        "passenger@customer.example",
        "passenger2@customer.example",
    ]
    assert parsed.headers == {"X-Shop": "1"}


def test_globals_must_be_an_object(send_client: Client) -> None:
    body = refused(send_client, {"Globals": ["From"], "Messages": [message()]})

    assert body["ErrorCode"] == "mj-0004"
    assert body["ErrorRelatedTo"] == ["Globals"]


# -- recipients: 50 per call, To + Cc + Bcc of all messages, a whole-call send-0015 --


def test_two_messages_of_30_recipients_are_over_the_limit_of_the_call(
    sandbox: SandboxServer, send_client: Client, outbox: Path
) -> None:
    # Mailjet's limit is per call (mailjet/api-documentation#12: 77 messages of one
    # recipient; Mailjet's own TransactionalEmailBuilderIT: 51): docs/sandbox.md.
    payload = {
        "Messages": [message() | {"To": recipients(30)}, message() | {"To": recipients(30, 30)}]
    }
    body = refused(send_client, payload)

    assert body["ErrorCode"] == "send-0015"
    assert body["ErrorMessage"] == "Total number of recipients exceeded. Max allowed - 50."
    assert body["ErrorRelatedTo"] == ["To", "Bcc", "Cc"]
    assert emls(outbox) == []
    assert admin(sandbox, "stats")["send_calls_by_status"] == {"400": 1}


def test_two_messages_of_25_recipients_fill_a_call(send_client: Client, outbox: Path) -> None:
    payload = {
        "Messages": [message() | {"To": recipients(25)}, message() | {"To": recipients(25, 25)}]
    }
    answers = send_client.send.create(data=payload).json()["Messages"]

    assert [len(a["To"]) for a in answers] == [25, 25]
    assert len(emls(outbox)) == 50


def test_recipients_from_globals_count_in_every_message(send_client: Client) -> None:
    payload = {
        "Globals": {"Bcc": recipients(21, 100)},
        "Messages": [message() | {"To": recipients(5)}, message() | {"To": recipients(5, 5)}],
    }
    body = refused(send_client, payload)  # each message has 5 + 21: 52 in the call

    assert body["ErrorCode"] == "send-0015"


# -- a mixed batch with an unauthorized sender --


def test_unauthorized_sender_in_a_batch_is_403_with_per_message_results(
    sandbox: SandboxServer, send_client: Client, outbox: Path
) -> None:
    batch = [
        message(CustomID="a"),
        message(CustomID="b", From={"Email": "unauthorized@company.example"}),
        message(CustomID="c"),
    ]
    # mailjet-rest 1.9.1 raises its authentication error on any 403: the
    # per-message answers are only in response_body.
    with pytest.raises(MailjetAuthError) as caught:
        send_client.send.create(data={"Messages": batch})

    assert caught.value.status_code == 403
    body = json.loads(caught.value.response_body)
    assert [m["Status"] for m in body["Messages"]] == ["success", "error", "success"]
    (error,) = body["Messages"][1]["Errors"]
    assert error["ErrorCode"] == "send-0008"
    assert error["StatusCode"] == 403
    assert error["ErrorRelatedTo"] == ["From"]
    sent = {body["Messages"][i]["To"][0]["MessageID"] for i in (0, 2)}
    assert {int(p.stem.rsplit("-", 1)[1]) for p in emls(outbox)} == sent
    assert admin(sandbox, "stats")["send_calls_by_status"] == {"403": 1}


def test_batch_with_400_and_403_errors_answers_403() -> None:
    checked = check_send_payload(
        {"Messages": [message(to="bad@"), message(From={"Email": "Unauthorized.x@co.example"})]}
    )

    assert checked.http_status == 403


# -- /v3/REST/message: ContactAlt, Subject and CustomID only when asked for --


def test_message_lookup_hides_contact_subject_and_custom_id_unless_shown(
    send_client: Client, rest_client: Client
) -> None:
    sent = send_client.send.create(data={"Messages": [message(CustomID="show-1")]}).json()
    message_id = sent["Messages"][0]["To"][0]["MessageID"]

    plain = rest_client.message.get(id=message_id).json()["Data"][0]
    listed = rest_client.message.get(filters={"CustomID": "show-1"}).json()["Data"][0]
    for item in (plain, listed):
        assert (item["ContactAlt"], item["Subject"], item["CustomID"]) == ("", "", "")
        assert item["ID"] == message_id

    shown = rest_client.message.get(
        filters={
            "CustomID": "show-1",
            "ShowContactAlt": "true",
            "ShowSubject": True,
            "ShowCustomID": "true",
        }
    ).json()["Data"][0]
    assert shown["ContactAlt"] == "anna@customer.example"
    assert shown["Subject"] == "Invoice INV/2026/00017"
    assert shown["CustomID"] == "show-1"
    only_contact = rest_client.message.get(id=message_id, filters={"ShowContactAlt": "true"})
    item = only_contact.json()["Data"][0]
    assert (item["ContactAlt"], item["Subject"]) == ("anna@customer.example", "")
