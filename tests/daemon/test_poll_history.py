"""Mailjet's history and click statistics -> the same events, and keys, as the webhook's."""

from __future__ import annotations

from courierd.domain.tracking import iso_from_unix
from courierd.mailjet.event_mapping import EventMapping
from courierd.mailjet.event_normalizer import normalize_mailjet_event
from courierd.mailjet.poll_history import (
    PolledMessage,
    event_objects,
    history_has_click,
    polled_events,
)
from mailjet_sandbox.events import MessageFacts, event_body, history_entry

MESSAGE_ID = 1152921504606846977
SENT_AT = 1_795_000_000
PORTAL = "https://erp.example.com/my/invoices/17?access_token=secret"
TERMS = "https://company.example/terms"
BROWSER = "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0"

FACTS = MessageFacts(
    message_id=MESSAGE_ID,
    message_uuid="u-1",
    email="anna@customer.example",
    custom_id="cid-17",
    payload="",
    custom_campaign="",
)
POLLED = PolledMessage(str(MESSAGE_ID), "cid-17", "anna@customer.example")
MAPPING = EventMapping()


def _webhook(time: int, **details: object) -> dict:
    """The Event API object the sandbox posts (and Mailjet would) for one fact."""
    return event_body(FACTS, time, dict(details))


def _click_stat(time: int, url: str, ident: int = 1) -> dict:
    return {
        "ClickedAt": iso_from_unix(time),
        "ClickedDelay": time - SENT_AT,
        "ContactID": 7,
        "ID": ident,
        "MessageID": MESSAGE_ID,
        "Url": url,
        "UserAgentID": 692,
    }


def _webhook_keys(objects: list[dict]) -> list[str]:
    events = [normalize_mailjet_event(o, MAPPING, "mailjet_webhook") for o in objects]
    return [e.dedupe_key for e in events if e is not None]


def test_each_fact_gets_the_webhooks_dedupe_key() -> None:
    webhook = [
        _webhook(SENT_AT, event="sent", smtp_reply="250 OK"),
        _webhook(SENT_AT + 60, event="open", agent=BROWSER, ip="1.2.3.4", geo=""),
        _webhook(SENT_AT + 90, event="click", url=PORTAL, agent=BROWSER, ip="1.2.3.4", geo=""),
        _webhook(SENT_AT + 90, event="click", url=TERMS, agent=BROWSER, ip="1.2.3.4", geo=""),
    ]
    history = [history_entry(o) for o in webhook]
    clicks = [_click_stat(SENT_AT + 90, PORTAL, 1), _click_stat(SENT_AT + 90, TERMS, 2)]

    outcome = polled_events(POLLED, history, clicks, MAPPING)

    assert outcome.skipped == []
    assert sorted(e.dedupe_key for e in outcome.events) == sorted(_webhook_keys(webhook))
    assert {e.source for e in outcome.events} == {"mailjet_poll"}
    assert [e.type for e in outcome.events] == ["delivered", "opened", "clicked", "clicked"]


def test_a_click_carries_its_url_and_the_historys_user_agent() -> None:
    history = [
        {"EventAt": SENT_AT, "EventType": "sent", "Comment": "", "State": "", "Useragent": ""},
        {"EventAt": SENT_AT + 90, "EventType": "clicked", "Comment": "", "Useragent": BROWSER},
    ]

    events = polled_events(POLLED, history, [_click_stat(SENT_AT + 90, PORTAL)], MAPPING).events

    click = events[1]
    assert click.url == PORTAL
    assert click.user_agent == BROWSER
    assert click.web_document is True
    assert click.message_id == str(MESSAGE_ID)
    assert click.custom_id == "cid-17"
    assert click.email == "anna@customer.example"
    assert click.time == iso_from_unix(SENT_AT + 90)


def test_event_objects_have_the_event_api_shape() -> None:
    history = [{"EventAt": SENT_AT + 5, "EventType": "opened", "Useragent": BROWSER}]

    (obj,) = event_objects(POLLED, history, [])

    assert obj == {
        "event": "open",
        "time": SENT_AT + 5,
        "MessageID": MESSAGE_ID,
        "email": "anna@customer.example",
        "CustomID": "cid-17",
        "agent": BROWSER,
    }


def test_a_history_click_without_its_statistic_waits_for_a_later_round() -> None:
    history = [{"EventAt": SENT_AT + 90, "EventType": "clicked", "Useragent": BROWSER}]

    outcome = polled_events(POLLED, history, [], MAPPING)

    assert outcome.events == []
    assert "no click statistic yet" in outcome.skipped[0]


def test_a_bounce_keeps_mailjets_reason_without_inventing_its_kind() -> None:
    comment = "550 5.1.1 <bounce@customer.example>: Recipient address rejected"
    history = [{"EventAt": SENT_AT, "EventType": "bounce", "Comment": comment, "State": "user"}]

    (event,) = polled_events(POLLED, history, [], MAPPING).events

    assert event.type == "bounced"
    assert event.detail == f"bounce: {comment}"
    webhook = _webhook(SENT_AT, event="bounce", hard_bounce=True, comment=comment, error="user")
    assert [event.dedupe_key] == _webhook_keys([webhook])


def test_an_explicit_hard_bounce_says_so() -> None:
    history = [{"EventAt": SENT_AT, "EventType": "hardbounced", "Comment": "550 unknown"}]

    (event,) = polled_events(POLLED, history, [], MAPPING).events

    assert event.detail == "hard bounce: 550 unknown"


def test_unknown_and_broken_lines_are_skipped_with_a_reason_and_the_rest_kept() -> None:
    history = [
        {"EventAt": SENT_AT, "EventType": "queued"},
        {"EventType": "opened"},
        {"EventAt": SENT_AT + 1, "EventType": "sent"},
    ]

    outcome = polled_events(POLLED, history, [], MAPPING)

    assert [e.type for e in outcome.events] == ["delivered"]
    assert len(outcome.skipped) == 2
    assert "'queued' is not tracked" in outcome.skipped[0]
    assert "no EventAt" in outcome.skipped[1]


def test_a_type_the_mapping_ignores_gives_no_event() -> None:
    mapping = EventMapping(statuses={"open": "ignore"})
    history = [{"EventAt": SENT_AT + 5, "EventType": "opened", "Useragent": BROWSER}]

    assert polled_events(POLLED, history, [], mapping).events == []


def test_a_message_id_odoo_sent_wrong_is_skipped() -> None:
    outcome = polled_events(
        PolledMessage("abc"), [{"EventAt": 1, "EventType": "sent"}], [], MAPPING
    )

    assert outcome.events == []
    assert "is not a Mailjet MessageID" in outcome.skipped[0]
    for wrong in ("\u00b2", "0", " 12 ", str(2**63)):
        assert polled_events(PolledMessage(wrong), [], [], MAPPING).skipped


def test_history_has_click_and_open_tracking_rows() -> None:
    row = {"recipient_id": 88, "message_id": str(MESSAGE_ID), "custom_id": "c", "email": " a@b "}

    assert history_has_click([{"EventType": "sent"}, {"EventType": "clicked"}])
    assert not history_has_click([{"EventType": "opened"}])
    assert PolledMessage.from_open_tracking(row) == PolledMessage(str(MESSAGE_ID), "c", "a@b")
