"""Mailjet Event API objects -> normalized tracking events, and the link-scanner guard."""

from __future__ import annotations

from typing import Any

import pytest

from courierd.domain.errors import RejectedEvent
from courierd.domain.tracking import TrackingEvent
from courierd.mailjet.event_mapping import EventMapping, ScannerGuardSettings
from courierd.mailjet.event_normalizer import mailjet_dedupe_key, normalize_mailjet_event

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
        "user_agent", "detail", "web_document", "payload",
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
        (["not", "an", "object"], "an event must be a JSON object"),
        ({"time": T0, "MessageID": 1}, "the event has no 'event' type"),
        (mailjet("forward"), "unknown event type 'forward'"),
        (mailjet("sent", MessageID=None), "the 'sent' event has no numeric MessageID"),
        (mailjet("sent", MessageID="12ab"), "the 'sent' event has no numeric MessageID"),
        (mailjet("open", time="yesterday"), "the 'open' event has no Unix 'time'"),
        (mailjet("open", time=True), "the 'open' event has no Unix 'time'"),
        (mailjet("open", time=-5), "the 'open' event has no Unix 'time'"),
    ],
)
def test_what_is_not_a_mailjet_event_is_rejected_with_the_reason(obj: Any, reason: str) -> None:
    with pytest.raises(RejectedEvent) as raised:
        normalize(obj)
    assert str(raised.value) == reason


def test_scanner_user_agent_keeps_the_click_but_not_the_view() -> None:
    event = normalize(mailjet("click", url=WEB_URL, agent="Mozilla/5.0 (Barracuda Sentinel)"))
    assert event is not None
    guarded = EventMapping().scanner_guard.rule().check(event, None)
    assert guarded.type == "clicked"
    assert guarded.web_document is False
    assert guarded.detail is not None and "Barracuda" in guarded.detail


def test_a_click_too_soon_after_delivery_is_not_a_view() -> None:
    mapping = EventMapping(scanner_guard=ScannerGuardSettings(min_seconds_after_delivery=30))
    guard = mapping.scanner_guard.rule()
    delivered = normalize(mailjet("sent", at=T0))
    soon = normalize(mailjet("click", at=T0 + 29, url=WEB_URL, agent=FIREFOX))
    late = normalize(mailjet("click", at=T0 + 30, url=WEB_URL, agent=FIREFOX))
    assert delivered is not None and soon is not None and late is not None
    assert guard.check(soon, delivered.time).web_document is False
    assert "29 s after delivery" in (guard.check(soon, delivered.time).detail or "")
    assert guard.check(late, delivered.time).web_document is True
    # Delivery time unknown: only the user-agent rule can apply.
    assert guard.check(soon, None).web_document is True


def test_guard_clicks_uses_a_delivery_of_the_same_batch_before_the_spool() -> None:
    mapping = EventMapping(scanner_guard=ScannerGuardSettings(min_seconds_after_delivery=30))
    guard = mapping.scanner_guard.rule()
    batch = [
        normalize(mailjet("sent", at=T0)),
        normalize(mailjet("click", at=T0 + 5, url=WEB_URL, agent=FIREFOX)),
    ]
    asked: list[str] = []

    def known(message_id: str) -> str | None:
        asked.append(message_id)
        return None

    guarded = guard.check_all([e for e in batch if e], known)
    assert [e.web_document for e in guarded] == [False, False]
    assert asked == []

    alone = normalize(mailjet("click", at=T0 + 5, url=WEB_URL, agent=FIREFOX))
    assert alone is not None
    [from_spool] = guard.check_all([alone], lambda _id: "2026-09-21T14:13:20Z")
    assert from_spool.web_document is False


def test_mapping_rejects_unknown_mailjet_events_and_bad_patterns() -> None:
    with pytest.raises(ValueError, match="'forward' not a Mailjet event type"):
        EventMapping.model_validate({"statuses": {"forward": "clicked"}})
    with pytest.raises(ValueError, match="is not a valid regex"):
        EventMapping.model_validate({"web_document": {"url_patterns": ["(unclosed"]}})
    with pytest.raises(ValueError, match="Input should be"):
        EventMapping.model_validate({"statuses": {"open": "read"}})
