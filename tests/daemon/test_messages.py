import json

import pytest

from courierd.mailjet.messages import (
    MESSAGES_PER_CALL,
    SUBJECT_MAX,
    build_message,
    build_send_payload,
    count_recipients,
    dispatch_messages,
    per_recipient,
    split_into_calls,
    truncate_subject,
)
from tests.daemon.factories import make_dispatch


def test_build_message_maps_every_field():
    message = build_message(make_dispatch(42))
    assert message == {
        "From": {"Email": "billing@example.com", "Name": "My Company"},
        "To": [{"Email": "anna@customer.example", "Name": "Anna"}],
        "ReplyTo": {"Email": "accounts@example.com"},
        "Subject": "Invoice INV/2026/00042",
        "HTMLPart": "<p>Your invoice</p>",
        "TextPart": "Your invoice",
        "Attachments": [
            {"ContentType": "application/pdf", "Filename": "INV.pdf", "Base64Content": "JVBERi0="}
        ],
        "CustomID": "cid0042",
        "EventPayload": message["EventPayload"],
        "TrackOpens": "enabled",
        "TrackClicks": "disabled",
    }
    assert json.loads(message["EventPayload"]) == {"dispatch_id": 42, "invoice_id": 142}


def test_optional_parts_are_left_out_when_empty():
    dispatch = make_dispatch(
        reply_to=False,
        text="",
        attachments=[],
        recipients=[{"id": 1, "email": "a@x.example", "name": False}],
        sender={"email": "s@x.example", "name": ""},
    )
    message = build_message(dispatch)
    assert "ReplyTo" not in message
    assert "TextPart" not in message
    assert "Attachments" not in message
    assert message["To"] == [{"Email": "a@x.example"}]
    assert message["From"] == {"Email": "s@x.example"}


def test_several_recipients_keep_their_order():
    recipients = [{"id": i, "email": f"r{i}@x.example", "name": f"R{i}"} for i in range(3)]
    message = build_message(make_dispatch(recipients=recipients))
    assert [to["Email"] for to in message["To"]] == ["r0@x.example", "r1@x.example", "r2@x.example"]


def test_long_subject_is_cut_at_255_with_an_ellipsis():
    subject = "Facture " + "x" * 400
    cut = truncate_subject(subject)
    assert len(cut) == SUBJECT_MAX
    assert cut.endswith("\u2026")
    assert cut.startswith("Facture xxx")
    assert truncate_subject("a" * SUBJECT_MAX) == "a" * SUBJECT_MAX


def test_subject_whitespace_is_folded():
    assert truncate_subject("Invoice\n  INV/1\t") == "Invoice INV/1"


@pytest.mark.parametrize(
    "overrides",
    [{"recipients": []}, {"sender": {"email": ""}}, {"pdf_pending": True}],
)
def test_undeliverable_dispatch_raises_value_error(overrides):
    with pytest.raises(ValueError):
        build_message(make_dispatch(**overrides))


def test_send_payload_sets_sandbox_mode_and_limits_messages():
    messages = [build_message(make_dispatch(i)) for i in range(2)]
    assert build_send_payload(messages, sandbox_mode=False) == {"Messages": messages}
    assert build_send_payload(messages, sandbox_mode=True)["SandboxMode"] is True
    with pytest.raises(ValueError):
        build_send_payload(messages * MESSAGES_PER_CALL, sandbox_mode=False)
    with pytest.raises(ValueError):
        build_send_payload([], sandbox_mode=False)


def test_calls_are_split_by_messages_and_by_recipients() -> None:
    def sizes(recipient_counts: list[int]) -> list[list[int]]:
        return split_into_calls(recipient_counts, lambda count: count)

    assert [len(call) for call in sizes([1] * 120)] == [50, 50, 20]
    # Two recipients each: Mailjet's 50 recipients per call come first.
    assert [len(call) for call in sizes([2] * 30)] == [25, 5]
    assert sizes([30, 30, 1]) == [[30], [30, 1]]
    # Too many for any call: alone, so Mailjet's error fails that dispatch only.
    assert sizes([1, 60, 1]) == [[1], [60], [1]]
    assert sizes([]) == []


def test_recipients_of_a_message_count_to_cc_and_bcc() -> None:
    message = {
        "To": [{"Email": "a@x.example"}, {"Email": "b@x.example"}],
        "Bcc": [{"Email": "c@x.example"}],
    }
    assert count_recipients(message) == 3
    assert count_recipients({"To": [{"Email": "a@x.example"}]}) == 1


TWO = [
    {"id": 1, "email": "anna@customer.example", "name": "Anna"},
    {"id": 2, "email": "typed@elsewhere.example", "name": ""},
]


def test_each_recipient_gets_their_own_message_by_default():
    messages = dispatch_messages(make_dispatch(7, recipients=TWO), build_message)
    assert [m["To"] for m in messages] == [
        [{"Email": "anna@customer.example", "Name": "Anna"}],
        [{"Email": "typed@elsewhere.example"}],
    ]
    # Everything else is the same email: one CustomID finds them all at Mailjet.
    assert {m["CustomID"] for m in messages} == {"cid0007"}
    assert messages[0] | {"To": None} == messages[1] | {"To": None}


def test_one_email_to_all_when_the_dispatch_says_so():
    dispatch = make_dispatch(7, recipients=TWO, one_email_to_all=True)
    [message] = dispatch_messages(dispatch, build_message)
    assert [a["Email"] for a in message["To"]] == [r["email"] for r in TWO]
    assert per_recipient(message) == dispatch_messages(
        make_dispatch(7, recipients=TWO, one_email_to_all=False), build_message
    )


def test_more_private_messages_than_one_call_carries_cannot_be_built():
    crowd = [{"id": i, "email": f"c{i}@customer.example"} for i in range(MESSAGES_PER_CALL + 1)]
    with pytest.raises(ValueError, match="51 recipients each get their own email"):
        dispatch_messages(make_dispatch(1, recipients=crowd), build_message)
    assert len(dispatch_messages(make_dispatch(1, recipients=crowd[:50]), build_message)) == 50


def test_a_dispatchs_messages_stay_in_one_call():
    # (messages, recipients) per dispatch: 20 private emails, then 40, then 1.
    items = [(20, 20), (40, 40), (1, 1)]
    calls = split_into_calls(items, lambda item: item[1], lambda item: item[0])
    assert calls == [[(20, 20)], [(40, 40), (1, 1)]]
    # 50 messages per call: 25 dispatches of two private emails each.
    assert [len(c) for c in split_into_calls([(2, 2)] * 30, lambda i: i[1], lambda i: i[0])] == [
        25,
        5,
    ]
