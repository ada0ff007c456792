"""Pure: a Mailjet Event API object -> one `TrackingEvent`, with Mailjet's dedupe key.

Used for webhook callbacks (version 1: one object; version 2: an array of them)
and, by the poller, for history lines rebuilt in the same shape.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from courierd.domain.contract import EventSource
from courierd.domain.errors import RejectedEvent
from courierd.domain.tracking import TrackingEvent, iso_from_unix
from courierd.mailjet.event_mapping import EventMapping


def mailjet_dedupe_key(mailjet_event: str, message_id: str, unix_time: int, url: str | None) -> str:
    """The same Mailjet fact gets the same key whether it came by webhook or by poll.

    Two clicks on different links within one second are two facts: the URL's hash
    tells them apart.
    """
    key = f"mj:{mailjet_event}:{message_id}:{unix_time}"
    if url:
        key += ":" + hashlib.sha1(url.encode("utf-8")).hexdigest()[:12]
    return key


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
