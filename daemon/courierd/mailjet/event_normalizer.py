"""Pure: a Mailjet Event API object -> one `TrackingEvent`, with Mailjet's dedupe key.

Used for webhook callbacks (version 1: one object; version 2: an array of them)
and, by the poller, for history lines rebuilt in the same shape.

Every object is checked before anything is made of it, so nothing that fails
is stored or forwarded: a MessageID is a positive ASCII integer below 2^63, the
time a whole number of Unix seconds within `EARLIEST_TIME`..`LATEST_TIME`, each
field courierd reads a string (or bool) of bounded length that PostgreSQL can
hold, and the object as a whole small, shallow and made of finite JSON values
(it is kept as the event's payload). A failure raises `RejectedEvent` naming
the field and the reason; docs/daemon.md lists the rules.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Mapping
from typing import Any

from courierd.domain.contract import EventSource
from courierd.domain.errors import RejectedEvent
from courierd.domain.tracking import TrackingEvent, iso_from_unix
from courierd.mailjet.event_mapping import EventMapping

MAX_MESSAGE_ID = 2**63 - 1
# 2000-01-01 .. 2100-01-01 (exclusive), UTC: fixed, so a replay is judged as the original.
EARLIEST_TIME = 946_684_800
LATEST_TIME = 4_102_444_800
# The longest text courierd takes from each field it reads (characters).
TEXT_LIMITS: dict[str, int] = {
    "CustomID": 255,
    "email": 320,
    "url": 4096,
    "agent": 1024,
    "comment": 2000,
    "error": 2000,
    "source": 255,
    "smtp_reply": 2000,
}
# Identifiers: no control character at all. Texts may hold tabs and line breaks.
_IDENTIFIERS = frozenset({"CustomID", "email", "url"})
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_TEXT_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_ASCII_ID = re.compile(r"[1-9][0-9]{0,18}")
# A Mailjet event is a flat object of a few hundred bytes; the raw object is kept.
MAX_EVENT_DEPTH = 4
MAX_EVENT_SIZE = 16_384
MAX_EVENT_VALUES = 256


class OversizedNumber(str):
    """A JSON integer too long to be one Mailjet sends: kept as its digits, never converted.

    The webhook's JSON reader makes these (Python refuses to convert more than
    4,300 digits, which would fail the whole body); `check_event_shape` rejects
    the event holding one.
    """


def mailjet_dedupe_key(mailjet_event: str, message_id: str, unix_time: int, url: str | None) -> str:
    """The same Mailjet fact gets the same key whether it came by webhook or by poll.

    Two clicks on different links within one second are two facts: the URL's hash
    tells them apart.
    """
    key = f"mj:{mailjet_event}:{message_id}:{unix_time}"
    if url:
        key += ":" + hashlib.sha1(url.encode("utf-8")).hexdigest()[:12]
    return key


def _show(value: Any) -> str:
    """`value` for an error message: repr, cut short (a rejected value can be megabytes)."""
    text = repr(value) if not isinstance(value, OversizedNumber) else f"a {len(value)}-digit number"
    return text if len(text) <= 40 else text[:37] + "..."


def valid_message_id(value: Any) -> str | None:
    """`value` as a MessageID (an int, or its canonical ASCII digits), else None.

    Positive and below 2^63; no sign, space, leading zero or non-ASCII digit
    (str.isdigit would take "²" and "١٢٣").
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value) if 0 < value <= MAX_MESSAGE_ID else None
    if isinstance(value, str) and _ASCII_ID.fullmatch(value) and int(value) <= MAX_MESSAGE_ID:
        return value
    return None


def check_event_shape(obj: Mapping[str, Any]) -> None:
    """The whole object: at most MAX_EVENT_DEPTH levels, MAX_EVENT_VALUES values and
    about MAX_EVENT_SIZE characters, every number finite and convertible.

    Iterative: a deep object must not cost a recursion.
    """
    stack: list[tuple[Any, int]] = [(obj, 1)]
    values = size = 0
    while stack:
        value, depth = stack.pop()
        values += 1
        if values > MAX_EVENT_VALUES:
            raise RejectedEvent(f"the event holds more than {MAX_EVENT_VALUES} values")
        if isinstance(value, Mapping | list):
            if depth > MAX_EVENT_DEPTH:
                raise RejectedEvent(f"the event is nested more than {MAX_EVENT_DEPTH} levels")
            items = value.items() if isinstance(value, Mapping) else enumerate(value)
            for key, item in items:
                size += len(key) + 4 if isinstance(key, str) else 1
                stack.append((item, depth + 1))
        elif isinstance(value, OversizedNumber):
            raise RejectedEvent(f"the event holds {_show(value)}")
        elif isinstance(value, float) and not math.isfinite(value):
            raise RejectedEvent(f"the event holds {value}, which JSON cannot carry")
        else:
            size += len(value) + 2 if isinstance(value, str) else 8
        if size > MAX_EVENT_SIZE:
            raise RejectedEvent(f"the event is over {MAX_EVENT_SIZE} characters")


def _field_text(obj: Mapping[str, Any], name: str, kind: str) -> str | None:
    """The field as stripped text (None when absent, null or empty), checked."""
    value = obj.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise RejectedEvent(f"the {kind!r} event's {name} must be a string, got {_show(value)}")
    if len(value) > TEXT_LIMITS[name]:
        raise RejectedEvent(
            f"the {kind!r} event's {name} is over {TEXT_LIMITS[name]} characters ({len(value)})"
        )
    control = _CONTROL if name in _IDENTIFIERS else _TEXT_CONTROL
    if control.search(value):
        raise RejectedEvent(f"the {kind!r} event's {name} holds a control character")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise RejectedEvent(f"the {kind!r} event's {name} holds a lone surrogate") from None
    return value.strip() or None


def _message_id(obj: Mapping[str, Any], kind: str) -> str:
    if obj.get("MessageID") is not None:
        raw = obj["MessageID"]
        field = "MessageID"
    else:
        raw = obj.get("mj_message_id")
        field = "mj_message_id"
    if raw is None:
        raise RejectedEvent(f"the {kind!r} event has no MessageID")
    message_id = valid_message_id(raw)
    if message_id is None:
        raise RejectedEvent(
            f"the {kind!r} event's {field} must be a positive integer below 2^63, got {_show(raw)}"
        )
    return message_id


def _unix_time(obj: Mapping[str, Any], kind: str) -> int:
    raw = obj.get("time")
    if isinstance(raw, bool) or not isinstance(raw, int):
        raise RejectedEvent(
            f"the {kind!r} event's time must be a whole number of Unix seconds, got {_show(raw)}"
        )
    if not EARLIEST_TIME <= raw < LATEST_TIME:
        raise RejectedEvent(
            f"the {kind!r} event's time {raw} is not between 2000 and 2100 "
            f"({EARLIEST_TIME} to {LATEST_TIME - 1})"
        )
    return raw


def _detail(obj: Mapping[str, Any], kind: str) -> str | None:
    if kind == "bounce":
        hard_bounce = obj.get("hard_bounce")
        if hard_bounce is not None and not isinstance(hard_bounce, bool):
            raise RejectedEvent(
                f"the 'bounce' event's hard_bounce must be true or false, got {_show(hard_bounce)}"
            )
        comment, error = _field_text(obj, "comment", kind), _field_text(obj, "error", kind)
        hard = "hard bounce" if hard_bounce else "soft bounce"
        return f"{hard}: {comment or error or 'no reason given'}"
    if kind == "blocked":
        return _field_text(obj, "error", kind) or _field_text(obj, "comment", kind)
    if kind == "spam":
        return _field_text(obj, "source", kind)
    if kind == "sent":
        return _field_text(obj, "smtp_reply", kind)
    return None


def normalize_mailjet_event(
    obj: Any, mapping: EventMapping, source: EventSource
) -> TrackingEvent | None:
    """The normalized event, or None when the mapping says to ignore this type.

    Raises RejectedEvent for anything that is not a Mailjet event courierd can
    store, saying which field is wrong and why.
    """
    if not isinstance(obj, Mapping):
        raise RejectedEvent(f"an event must be a JSON object, got {_show(obj)}")
    kind = obj.get("event")
    if not isinstance(kind, str) or not kind:
        raise RejectedEvent(f"the event has no 'event' type (got {_show(kind)})")
    status = mapping.statuses.get(kind)
    if status is None:
        raise RejectedEvent(f"unknown event type {_show(kind)}")
    if status == "ignore":
        return None
    message_id = _message_id(obj, kind)
    unix_time = _unix_time(obj, kind)
    url = _field_text(obj, "url", kind) if kind == "click" else None
    custom_id = _field_text(obj, "CustomID", kind)
    email = _field_text(obj, "email", kind)
    user_agent = _field_text(obj, "agent", kind)
    detail = _detail(obj, kind)
    # Last: the fields' own reasons say more than the whole object's.
    check_event_shape(obj)
    return TrackingEvent(
        dedupe_key=mailjet_dedupe_key(kind, message_id, unix_time, url),
        type=status,
        time=iso_from_unix(unix_time),
        source=source,
        message_id=message_id,
        custom_id=custom_id,
        email=email,
        url=url,
        user_agent=user_agent,
        detail=detail,
        web_document=kind == "click" and mapping.web_document.matches(url),
        payload=dict(obj),
    )
