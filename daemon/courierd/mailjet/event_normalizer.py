"""Pure: a Mailjet Event API object -> one `TrackingEvent`, and the link-scanner guard.

Used for webhook callbacks (version 1: one object; version 2: an array of them)
and, by the poller, for history lines rebuilt in the same shape.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from courierd.domain.tracking import (
    EventSource,
    TrackingEvent,
    iso_from_unix,
    mailjet_dedupe_key,
    unix_from_iso,
)
from courierd.mailjet.event_mapping import EventMapping


class RejectedEvent(ValueError):
    """This object is not an event courierd can store; the message says why."""


def _text(value: Any) -> str | None:
    text = str(value).strip() if value is not None else ""
    return text or None


def _detail(obj: Mapping[str, Any]) -> str | None:
    kind = obj.get("event")
    if kind == "bounce":
        hard = "hard bounce" if obj.get("hard_bounce") else "soft bounce"
        reason = _text(obj.get("comment")) or _text(obj.get("error")) or "no reason given"
        return f"{hard}: {reason}"
    if kind == "blocked":
        return _text(obj.get("error")) or _text(obj.get("comment"))
    if kind == "spam":
        return _text(obj.get("source"))
    if kind == "sent":
        return _text(obj.get("smtp_reply"))
    return None


def normalize_mailjet_event(
    obj: Any, mapping: EventMapping, source: EventSource
) -> TrackingEvent | None:
    """The normalized event, or None when the mapping says to ignore this type.

    Raises RejectedEvent for anything that is not a Mailjet event courierd knows.
    """
    if not isinstance(obj, Mapping):
        raise RejectedEvent("an event must be a JSON object")
    kind = obj.get("event")
    if not isinstance(kind, str) or not kind:
        raise RejectedEvent("the event has no 'event' type")
    status = mapping.statuses.get(kind)
    if status is None:
        raise RejectedEvent(f"unknown event type {kind!r}")
    if status == "ignore":
        return None
    message_id = _text(obj.get("MessageID")) or _text(obj.get("mj_message_id"))
    if not message_id or not message_id.isdigit():
        raise RejectedEvent(f"the {kind!r} event has no numeric MessageID")
    raw_time = obj.get("time")
    if isinstance(raw_time, bool) or not isinstance(raw_time, int | float) or raw_time <= 0:
        raise RejectedEvent(f"the {kind!r} event has no Unix 'time'")
    url = _text(obj.get("url")) if kind == "click" else None
    return TrackingEvent(
        dedupe_key=mailjet_dedupe_key(kind, message_id, int(raw_time), url),
        type=status,
        time=iso_from_unix(raw_time),
        source=source,
        message_id=message_id,
        custom_id=_text(obj.get("CustomID")),
        email=_text(obj.get("email")),
        url=url,
        user_agent=_text(obj.get("agent")),
        detail=_detail(obj),
        web_document=kind == "click" and mapping.web_document.matches(url),
        payload=dict(obj),
    )


def guard_click(
    event: TrackingEvent, delivered_at: str | None, mapping: EventMapping
) -> TrackingEvent:
    """A web-document click from a link scanner stays a click but is not a view.

    A scanner is told by its user agent, or by clicking within
    `min_seconds_after_delivery` of the delivery (`delivered_at`, when known).
    """
    if not event.web_document:
        return event
    guard = mapping.scanner_guard
    agent = guard.scanner_agent(event.user_agent)
    if agent:
        reason = f"not counted as a view: the user agent looks like a link scanner ({agent})"
        return event.with_changes(web_document=False, detail=reason)
    if delivered_at is not None:
        delay = unix_from_iso(event.time) - unix_from_iso(delivered_at)
        if delay < guard.min_seconds_after_delivery:
            reason = (
                f"not counted as a view: clicked {max(delay, 0)} s after delivery, "
                f"under {guard.min_seconds_after_delivery} s (link scanner guard)"
            )
            return event.with_changes(web_document=False, detail=reason)
    return event


def guard_clicks(
    events: Sequence[TrackingEvent],
    known_delivery: Callable[[str], str | None],
    mapping: EventMapping,
) -> list[TrackingEvent]:
    """`guard_click` over a batch: a delivery in the same batch counts, else `known_delivery`.

    `known_delivery(message_id)` is the delivery time seen earlier (the event spool's).
    """
    delivered = {
        e.message_id: e.time for e in events if e.type == "delivered" and e.message_id is not None
    }
    guarded = []
    for event in events:
        if event.web_document and event.message_id is not None:
            at = delivered.get(event.message_id) or known_delivery(event.message_id)
            event = guard_click(event, at, mapping)
        guarded.append(event)
    return guarded
