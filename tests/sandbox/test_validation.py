"""Send API v3.1 validation, without HTTP."""

from __future__ import annotations

import base64

import pytest

from mailjet_sandbox.validation import (
    MAX_ATTACHMENT_BYTES,
    Message,
    check_send_payload,
    is_valid_email,
)

from .conftest import message


def codes(result: object) -> list[str]:
    assert isinstance(result, list), result
    return [err["ErrorCode"] for err in result]


def test_valid_message_is_parsed_with_tracking_defaults() -> None:
    checked = check_send_payload({"Messages": [message(CustomID="c1", EventPayload="p")]})
    assert checked.global_error is None
    assert checked.http_status == 200
    (parsed,) = checked.results
    assert isinstance(parsed, Message)
    assert parsed.custom_id == "c1"
    assert parsed.event_payload == "p"
    assert parsed.track_opens and parsed.track_clicks
    assert [r.email for r in parsed.of_kind("To")] == ["anna@customer.example"]


@pytest.mark.parametrize(
    "email", ["a@b.example", "first.last+tag@sub.domain.example", "o'neil@example.com"]
)
def test_valid_emails(email: str) -> None:
    assert is_valid_email(email)


@pytest.mark.parametrize(
    "email", ["x@", "@example.com", "a b@example.com", "a..b@example.com", "a@example", ".a@ex.com"]
)
def test_invalid_emails(email: str) -> None:
    assert not is_valid_email(email)


def test_invalid_recipient_gives_mj_0013_with_its_path() -> None:
    checked = check_send_payload({"Messages": [message(to="x@")]})
    (errors,) = checked.results
    assert codes(errors) == ["mj-0013"]
    assert errors[0]["ErrorRelatedTo"] == ["To[0].Email"]
    assert errors[0]["ErrorMessage"] == '"x@" is an invalid email address.'
    assert errors[0]["StatusCode"] == 400
    assert checked.http_status == 400


def test_missing_from_and_recipients() -> None:
    msg = message()
    del msg["From"], msg["To"]
    (errors,) = check_send_payload({"Messages": [msg]}).results
    assert codes(errors) == ["mj-0003", "mj-0003"]
    assert [e["ErrorRelatedTo"] for e in errors] == [["From"], ["To"]]


def test_only_bcc_is_enough() -> None:
    msg = message()
    msg["Bcc"] = msg.pop("To")
    (parsed,) = check_send_payload({"Messages": [msg]}).results
    assert isinstance(parsed, Message)
    assert parsed.recipients[0].kind == "Bcc"


def test_empty_to_gives_mj_0007() -> None:
    (errors,) = check_send_payload({"Messages": [message() | {"To": []}]}).results
    assert codes(errors) == ["mj-0007"]


def test_no_content_gives_send_0003() -> None:
    msg = message()
    del msg["TextPart"], msg["HTMLPart"]
    (errors,) = check_send_payload({"Messages": [msg]}).results
    assert codes(errors) == ["send-0003"]
    assert errors[0]["ErrorRelatedTo"] == ["HTMLPart", "TextPart"]


def test_template_id_is_content_enough() -> None:
    msg = message(TemplateID=4082179, Variables={"name": "Anna"})
    del msg["TextPart"], msg["HTMLPart"]
    (parsed,) = check_send_payload({"Messages": [msg]}).results
    assert isinstance(parsed, Message)
    assert parsed.template_id == 4082179
    assert parsed.track_opens  # the HTML standing in for the template is tracked


def test_subject_limit_is_255() -> None:
    ok = check_send_payload({"Messages": [message(Subject="s" * 255)]}).results[0]
    assert isinstance(ok, Message)
    (errors,) = check_send_payload({"Messages": [message(Subject="s" * 256)]}).results
    assert codes(errors) == ["mj-0006"]
    assert errors[0]["ErrorRelatedTo"] == ["Subject"]


@pytest.mark.parametrize("prop", ["TrackOpens", "TrackClicks"])
def test_tracking_values(prop: str) -> None:
    disabled = check_send_payload({"Messages": [message(**{prop: "disabled"})]}).results[0]
    assert isinstance(disabled, Message)
    assert not (disabled.track_opens if prop == "TrackOpens" else disabled.track_clicks)
    (errors,) = check_send_payload({"Messages": [message(**{prop: "yes"})]}).results
    assert codes(errors) == ["mj-0005"]
    assert errors[0]["ErrorRelatedTo"] == [prop]


def test_custom_id_and_payload_must_be_strings() -> None:
    (errors,) = check_send_payload({"Messages": [message(CustomID=5, EventPayload={})]}).results
    assert codes(errors) == ["mj-0004", "mj-0004"]


def test_attachments_decoded_and_checked() -> None:
    good = {"ContentType": "application/pdf", "Filename": "a.pdf", "Base64Content": "JVBERi0="}
    parsed = check_send_payload({"Messages": [message(Attachments=[good])]}).results[0]
    assert isinstance(parsed, Message)
    assert parsed.attachments[0].data == b"%PDF-"
    bad = good | {"Base64Content": "not base64!"}
    empty = good | {"Filename": ""}
    (errors,) = check_send_payload({"Messages": [message(Attachments=[bad, empty])]}).results
    assert codes(errors) == ["mj-0004", "mj-0012"]
    assert errors[0]["ErrorRelatedTo"] == ["Attachments[0].Base64Content"]


def test_attachments_over_15_mb_rejected() -> None:
    data = base64.b64encode(b"\0" * (MAX_ATTACHMENT_BYTES + 1)).decode()
    att = {"ContentType": "application/octet-stream", "Filename": "big.bin", "Base64Content": data}
    (errors,) = check_send_payload({"Messages": [message(Attachments=[att])]}).results
    assert codes(errors) == ["mj-0011"]


def test_forbidden_header_gives_send_0011() -> None:
    msg = message(Headers={"X-Invoice": "17", "Subject": "sneaky"})
    (errors,) = check_send_payload({"Messages": [msg]}).results
    assert codes(errors) == ["send-0011"]


def test_deduplicate_campaign_needs_custom_campaign() -> None:
    (errors,) = check_send_payload({"Messages": [message(DeduplicateCampaign=True)]}).results
    assert codes(errors) == ["send-0012"]


def test_whole_call_errors() -> None:
    assert check_send_payload("x").global_error["ErrorCode"] == "mj-0002"  # type: ignore[index]
    assert check_send_payload({}).global_error["ErrorCode"] == "mj-0003"  # type: ignore[index]
    empty = check_send_payload({"Messages": []}).global_error
    assert empty is not None and empty["ErrorCode"] == "mj-0007"
    sandbox = check_send_payload({"Messages": [message()], "SandboxMode": "yes"}).global_error
    assert sandbox is not None and sandbox["ErrorRelatedTo"] == ["SandboxMode"]


def test_51_messages_rejected_as_a_whole() -> None:
    # Each without recipients, so only the message count is over its limit.
    checked = check_send_payload({"Messages": [message() | {"To": []} for _ in range(51)]})
    assert checked.global_error is not None
    assert checked.global_error["ErrorCode"] == "mj-0008"
    assert checked.global_error["ErrorRelatedTo"] == ["Messages"]
    assert checked.http_status == 400
    assert checked.results == []


def test_recipients_are_counted_before_messages() -> None:
    # Mailjet's own integration test (TransactionalEmailBuilderIT): 51 messages of
    # one recipient each get send-0015, not mj-0008.
    checked = check_send_payload({"Messages": [message() for _ in range(51)]})
    assert checked.global_error is not None
    assert checked.global_error["ErrorCode"] == "send-0015"


def test_recipients_limit_is_per_call() -> None:
    many = [{"Email": f"r{i}@customer.example"} for i in range(51)]
    checked = check_send_payload({"Messages": [message() | {"To": many}]})
    assert checked.global_error is not None
    assert checked.global_error["ErrorCode"] == "send-0015"
    assert checked.global_error["ErrorMessage"] == (
        "Total number of recipients exceeded. Max allowed - 50."
    )
    # 50 messages of one recipient each is the most a call can carry.
    assert check_send_payload({"Messages": [message() for _ in range(50)]}).global_error is None
    # The same address in To and Cc counts once.
    dup = message() | {"Cc": [{"Email": "anna@customer.example"}]}
    assert check_send_payload({"Messages": [dup] * 50}).global_error is None


def test_mixed_batch_status_is_400() -> None:
    checked = check_send_payload({"Messages": [message(), message(to="bad"), message()]})
    assert [isinstance(r, Message) for r in checked.results] == [True, False, True]
    assert checked.http_status == 400
