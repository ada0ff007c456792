"""Mailjet Event API objects -> normalized tracking events, and the link-scanner guard."""

from __future__ import annotations

import re
from typing import Any

import pytest

from courierd.domain.errors import RejectedEvent
from courierd.domain.tracking import TrackingEvent
from courierd.mailjet.event_mapping import EventMapping, ScannerGuardSettings
from courierd.mailjet.event_normalizer import (
    OversizedNumber,
    mailjet_dedupe_key,
    normalize_mailjet_event,
)

MESSAGE_ID = 1152921504606846976
T0 = 1790000000  # 2026-09-21T14:13:20Z
WEB_URL = "https://erp.example.com/my/invoices/17?access_token=abc"
FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"


def mailjet(event: str, at: int = T0, **fields: Any) -> dict[str, Any]:
    return {
        "event": event,
        "time": at,
        "MessageID": MESSAGE_ID,
        "Message_GUID": "0c2a-guid",
        "email": "anna@customer.example",
        "CustomID": "9f1c",
        "Payload": '{"dispatch_id":42}',
        **fields,
    }


def normalize(obj: Any, mapping: EventMapping | None = None) -> TrackingEvent | None:
    return normalize_mailjet_event(obj, mapping or EventMapping(), "mailjet_webhook")


@pytest.mark.parametrize(
    ("mailjet_type", "status"),
    [
        ("sent", "delivered"),
        ("open", "opened"),
        ("click", "clicked"),
        ("bounce", "bounced"),
        ("blocked", "blocked"),
        ("spam", "spam"),
        ("unsub", "unsubscribed"),
    ],
)
def test_every_mailjet_type_has_its_default_status(mailjet_type: str, status: str) -> None:
    event = normalize(mailjet(mailjet_type))
    assert event is not None
    assert event.type == status
    assert event.message_id == str(MESSAGE_ID)  # above 2^32: kept as text
    assert event.custom_id == "9f1c"
    assert event.email == "anna@customer.example"
    assert event.time == "2026-09-21T14:13:20Z"
    assert event.source == "mailjet_webhook"
    assert event.payload == mailjet(mailjet_type)


def test_the_contract_shape_round_trips() -> None:
    event = normalize(mailjet("click", url=WEB_URL, agent=FIREFOX))
    assert event is not None
    contract = event.to_contract()
    assert set(contract) == {
        "dedupe_key", "type", "time", "source", "message_id", "custom_id", "email", "url",
        "user_agent", "detail", "web_document", "min_seconds_after_delivery", "payload",
    }  # fmt: skip
    assert TrackingEvent.from_contract(contract) == event


def test_a_click_on_the_web_document_counts_as_a_view() -> None:
    event = normalize(mailjet("click", url=WEB_URL, agent=FIREFOX))
    other = normalize(mailjet("click", url="https://example.com/terms", agent=FIREFOX))
    assert event is not None and other is not None
    assert (event.web_document, event.url, event.user_agent) == (True, WEB_URL, FIREFOX)
    assert other.web_document is False


def test_dedupe_keys_tell_facts_apart_and_repeat_for_the_same_fact() -> None:
    first = normalize(mailjet("click", url=WEB_URL))
    again = normalize(mailjet("click", url=WEB_URL))
    other_link = normalize(mailjet("click", url="https://example.com/terms"))
    later = normalize(mailjet("click", at=T0 + 1, url=WEB_URL))
    assert first is not None and again is not None
    assert first.dedupe_key == again.dedupe_key
    keys = {e.dedupe_key for e in (first, other_link, later) if e}
    assert len(keys) == 3
    # Keys stored in Odoo must stay the same across releases: the format pinned as text
    # (a click's key ends with the first 12 hex digits of the SHA-1 of its URL).
    assert first.dedupe_key == "mj:click:1152921504606846976:1790000000:e3a8763685d5"
    opened = normalize(mailjet("open"))
    assert opened is not None
    assert opened.dedupe_key == "mj:open:1152921504606846976:1790000000"
    assert mailjet_dedupe_key("open", "123", 1700000000, None) == "mj:open:123:1700000000"


def test_bounce_and_block_details_say_why() -> None:
    hard = normalize(mailjet("bounce", hard_bounce=True, comment="550 5.1.1 User unknown"))
    soft = normalize(mailjet("bounce", hard_bounce=False, error="quota exceeded"))
    blocked = normalize(mailjet("blocked", error="preblocked"))
    assert hard is not None and soft is not None and blocked is not None
    assert hard.detail == "hard bounce: 550 5.1.1 User unknown"
    assert soft.detail == "soft bounce: quota exceeded"
    assert blocked.detail == "preblocked"


def test_a_type_mapped_to_ignore_is_accepted_and_dropped() -> None:
    mapping = EventMapping.model_validate({"statuses": {"open": "ignore"}})
    assert normalize(mailjet("open"), mapping) is None
    # The types the file leaves out keep their defaults.
    kept = normalize(mailjet("sent"), mapping)
    assert kept is not None and kept.type == "delivered"


@pytest.mark.parametrize(
    ("obj", "reason"),
    [
        (["not", "an", "object"], "an event must be a JSON object, got ['not', 'an', 'object']"),
        ({"time": T0, "MessageID": 1}, "the event has no 'event' type (got None)"),
        (mailjet("forward"), "unknown event type 'forward'"),
        (mailjet("sent", MessageID=None), "the 'sent' event has no MessageID"),
        (
            mailjet("sent", MessageID="12ab"),
            "the 'sent' event's MessageID must be a positive integer below 2^63, got '12ab'",
        ),
        (
            mailjet("open", time="yesterday"),
            "the 'open' event's time must be a whole number of Unix seconds, got 'yesterday'",
        ),
        (
            mailjet("open", time=True),
            "the 'open' event's time must be a whole number of Unix seconds, got True",
        ),
        (
            mailjet("open", time=-5),
            "the 'open' event's time -5 is not between 2000 and 2100 (946684800 to 4102444799)",
        ),
    ],
)
def test_what_is_not_a_mailjet_event_is_rejected_with_the_reason(obj: Any, reason: str) -> None:
    with pytest.raises(RejectedEvent) as raised:
        normalize(obj)
    assert str(raised.value) == reason


@pytest.mark.parametrize(
    "message_id",
    ["\u0661\u0662\u0663", "\u00b2", 0, -7, "0", "0123", " 123 ", "+123", "1e3", 12.0, True,
     10**400, 2**63, str(2**63), [1], {"id": 1}, ""],
    ids=["arabic-indic", "superscript", "zero", "negative", "zero-text", "leading-zero",
         "spaces", "plus", "exponent", "float", "bool", "400-digits", "2^63", "2^63-text", "list",
         "object", "empty"],
)  # fmt: skip
def test_a_message_id_is_a_positive_ascii_integer_below_2_63(message_id: Any) -> None:
    with pytest.raises(RejectedEvent, match="MessageID"):
        normalize(mailjet("open", MessageID=message_id))


def test_the_largest_message_ids_and_the_text_form_are_taken() -> None:
    for raw, expected in [(2**63 - 1, str(2**63 - 1)), ("98765", "98765"), (1, "1")]:
        event = normalize(mailjet("open", MessageID=raw))
        assert event is not None and event.message_id == expected
    # Without MessageID, a `sent` event's mj_message_id (text) is read the same way.
    sent = {k: v for k, v in mailjet("sent").items() if k != "MessageID"}
    event = normalize(sent | {"mj_message_id": "1152921504606846976"})
    assert event is not None and event.message_id == "1152921504606846976"
    with pytest.raises(RejectedEvent, match="mj_message_id"):
        normalize(sent | {"mj_message_id": "\u00b3"})


@pytest.mark.parametrize(
    "time",
    [0.5, 1790000000.0, 1e20, float("nan"), float("inf"), float("-inf"), 1e300, 253402300800,
     0, 946684799, 4102444800, "1790000000", None, 10**400],
)  # fmt: skip
def test_a_time_is_a_whole_number_of_seconds_within_2000_to_2100(time: Any) -> None:
    with pytest.raises(RejectedEvent, match="time"):
        normalize(mailjet("open", time=time))


def test_the_edges_of_the_time_window_are_taken() -> None:
    first, last = (
        normalize(mailjet("open", time=946684800)),
        normalize(mailjet("open", time=4102444799)),
    )
    assert first is not None and first.time == "2000-01-01T00:00:00Z"
    assert last is not None and last.time == "2099-12-31T23:59:59Z"


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("email", 42, "email must be a string, got 42"),
        ("email", ["a@b.example"], "email must be a string"),
        ("email", {"a": 1}, "email must be a string"),
        ("email", "a" * 321, "email is over 320 characters (321)"),
        ("email", "a\x00@b.example", "email holds a control character"),
        ("CustomID", 17, "CustomID must be a string, got 17"),
        ("CustomID", "x" * 256, "CustomID is over 255 characters"),
        ("CustomID", "9f1c\n", "CustomID holds a control character"),
        ("agent", "A" * 1025, "agent is over 1024 characters"),
        ("agent", False, "agent must be a string, got False"),
        ("agent", "Mozilla\ud800", "agent holds a lone surrogate"),
        ("agent", "Mozilla\x00", "agent holds a control character"),
    ],
)
def test_strings_are_strings_of_bounded_length(field: str, value: Any, reason: str) -> None:
    with pytest.raises(RejectedEvent, match=re.escape(reason)):
        normalize(mailjet("open", **{field: value}))


def test_click_url_and_error_texts_are_checked_too() -> None:
    with pytest.raises(RejectedEvent, match="url must be a string"):
        normalize(mailjet("click", url=1))
    with pytest.raises(RejectedEvent, match="url is over 4096 characters"):
        normalize(mailjet("click", url="https://x.example/" + "a" * 4096))
    with pytest.raises(RejectedEvent, match="comment is over 2000 characters"):
        normalize(mailjet("bounce", comment="c" * 2001))
    with pytest.raises(RejectedEvent, match="error must be a string"):
        normalize(mailjet("blocked", error=["preblocked"]))
    with pytest.raises(RejectedEvent, match="hard_bounce must be true or false"):
        normalize(mailjet("bounce", hard_bounce="yes"))
    with pytest.raises(RejectedEvent, match="source must be a string"):
        normalize(mailjet("spam", source=7))
    with pytest.raises(RejectedEvent, match="smtp_reply is over 2000"):
        normalize(mailjet("sent", smtp_reply="2" * 2001))
    # Texts may hold line breaks and tabs (multi-line SMTP replies).
    event = normalize(mailjet("sent", smtp_reply="250 OK\r\n\tqueued"))
    assert event is not None and event.detail == "250 OK\r\n\tqueued"


@pytest.mark.parametrize(
    ("extra", "reason"),
    [
        ({"geo": {"a": {"b": {"c": {"d": 1}}}}}, "nested more than 4 levels"),
        ({"Payload": "p" * 20_000}, "over 16384 characters"),
        ({"list": list(range(300))}, "more than 256 values"),
        ({"score": float("nan")}, "nan, which JSON cannot carry"),
        ({"score": float("inf")}, "inf, which JSON cannot carry"),
        ({"mj_campaign_id": OversizedNumber("9" * 5000)}, "a 5000-digit number"),
    ],
)
def test_the_whole_object_is_small_shallow_and_finite(extra: dict[str, Any], reason: str) -> None:
    with pytest.raises(RejectedEvent, match=re.escape(reason)):
        normalize(mailjet("open", **extra))


def test_an_ignored_type_is_not_checked_further() -> None:
    mapping = EventMapping.model_validate({"statuses": {"open": "ignore"}})
    assert normalize(mailjet("open", MessageID="bad", time=0.5), mapping) is None


def test_scanner_user_agent_keeps_the_click_but_not_the_view() -> None:
    event = normalize(mailjet("click", url=WEB_URL, agent="Mozilla/5.0 (Barracuda Sentinel)"))
    assert event is not None
    guarded = EventMapping().scanner_guard.rule().check(event)
    assert guarded.type == "clicked"
    assert guarded.web_document is False
    assert guarded.detail is not None and "Barracuda" in guarded.detail
    assert guarded.min_seconds_after_delivery == 0


def test_a_web_document_click_carries_the_delivery_window_for_the_erp() -> None:
    # Whether it came too soon after the delivery is the ERP's to decide: it holds the
    # delivery time, which may arrive after the click (docs/architecture.md, "Tracking").
    mapping = EventMapping(scanner_guard=ScannerGuardSettings(min_seconds_after_delivery=30))
    guard = mapping.scanner_guard.rule()
    click = normalize(mailjet("click", at=T0 + 5, url=WEB_URL, agent=FIREFOX))
    other = normalize(mailjet("click", at=T0 + 5, url="https://example.com/terms", agent=FIREFOX))
    opened = normalize(mailjet("open", agent=FIREFOX))
    assert click is not None and other is not None and opened is not None
    guarded, plain, untouched = guard.check_all([click, other, opened])
    assert (guarded.web_document, guarded.min_seconds_after_delivery) == (True, 30)
    assert guarded.detail is None
    assert plain == other and untouched == opened
    assert guarded.to_contract()["min_seconds_after_delivery"] == 30


def test_mapping_rejects_unknown_mailjet_events_and_bad_patterns() -> None:
    with pytest.raises(ValueError, match="'forward' not a Mailjet event type"):
        EventMapping.model_validate({"statuses": {"forward": "clicked"}})
    with pytest.raises(ValueError, match="is not a valid regex"):
        EventMapping.model_validate({"web_document": {"url_patterns": ["(unclosed"]}})
    with pytest.raises(ValueError, match="Input should be"):
        EventMapping.model_validate({"statuses": {"open": "read"}})
