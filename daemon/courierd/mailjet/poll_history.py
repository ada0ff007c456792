"""Pure: what Mailjet's REST lookups say about one message -> the webhook's events.

The poller reads `GET /v3/REST/messagehistory/{id}` (EventAt, EventType, Comment,
State, Useragent) and, when the history holds a click, `GET /v3/REST/clickstatistics
?MessageID=` (Url, ClickedAt, UserAgentID): the history does not say which link was
clicked, and the web-document rule needs the URL. Each fact is rebuilt as the Event
API object the webhook would have posted, then goes through the same normalizer, so
the dedupe key of a fact seen by both paths is the same and Odoo stores it once.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from courierd.domain.contract import OpenRecipient
from courierd.domain.errors import RejectedEvent
from courierd.domain.ports import History
from courierd.mailjet.event_mapping import EventMapping
from courierd.mailjet.event_normalizer import normalize_mailjet_event, valid_message_id

# messagehistory EventType -> Event API type. Mailjet's documents spell bounces in
# several ways; the two explicit ones also say whether the bounce is permanent.
HISTORY_TO_EVENT = {
    "sent": "sent",
    "opened": "open",
    "clicked": "click",
    "bounce": "bounce",
    "bounced": "bounce",
    "hardbounced": "bounce",
    "softbounced": "bounce",
    "blocked": "blocked",
    "spam": "spam",
    "unsub": "unsub",
}
_HARD_BOUNCE = {"hardbounced": True, "softbounced": False}


@dataclass(frozen=True)
class PolledMessage:
    """One row of `courier_open_tracking`: the message to look up and whose it is."""

    message_id: str
    custom_id: str | None = None
    email: str | None = None

    @classmethod
    def from_open_tracking(cls, row: OpenRecipient) -> PolledMessage:
        return cls(
            message_id=str(row.get("message_id") or "").strip(),
            custom_id=_text(row.get("custom_id")),
            email=_text(row.get("email")),
        )


def _text(value: Any) -> str | None:
    text = str(value).strip() if value is not None else ""
    return text or None


def _unix(value: Any) -> int | None:
    """EventAt (Unix seconds) or ClickedAt (RFC 3339) -> Unix seconds."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return int(value) if math.isfinite(value) and value > 0 else None
    text = _text(value)
    if text is None:
        return None
    if text.isascii() and text.isdigit():
        return int(text) or None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp())


def history_has_click(history: Sequence[Mapping[str, Any]]) -> bool:
    """Whether the click statistics are worth a call."""
    return any(str(line.get("EventType", "")).lower() == "clicked" for line in history)


def _common(message: PolledMessage, kind: str, unix_time: int) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "event": kind,
        "time": unix_time,
        "MessageID": int(message.message_id),
        "email": message.email or "",
        "CustomID": message.custom_id or "",
    }
    if kind == "sent":
        obj["mj_message_id"] = message.message_id
    return obj


def _from_history_line(
    message: PolledMessage, line: Mapping[str, Any], history_type: str, unix_time: int
) -> dict[str, Any]:
    kind = HISTORY_TO_EVENT[history_type]
    obj = _common(message, kind, unix_time)
    comment = _text(line.get("Comment"))
    state = _text(line.get("State"))
    agent = _text(line.get("Useragent"))
    if kind in ("open", "unsub") and agent:
        obj["agent"] = agent
    elif kind == "sent" and comment:
        obj["smtp_reply"] = comment
    elif kind == "bounce":
        obj.update(comment=comment or "", error=state or "")
        if history_type in _HARD_BOUNCE:
            obj["hard_bounce"] = _HARD_BOUNCE[history_type]
    elif kind == "blocked":
        obj.update(error=state or comment or "", comment=comment or "")
    elif kind == "spam" and comment:
        obj["source"] = comment
    return obj


def _click_objects(
    message: PolledMessage,
    clicked_lines: list[tuple[int, Mapping[str, Any]]],
    clicks: Sequence[Mapping[str, Any]],
    outcome: History,
) -> list[dict[str, Any]]:
    """One click object per click statistic; the user agent's text comes from the history.

    A history click at the same second (the same fact) lends its Useragent. A history
    click with no statistic yet is left for a later round rather than stored without
    its URL (which would give it another dedupe key than the webhook's).
    """
    unused = list(clicked_lines)
    objects = []
    for click in clicks:
        url = _text(click.get("Url"))
        unix_time = _unix(click.get("ClickedAt"))
        if url is None or unix_time is None:
            outcome.skipped.append(f"a click statistic without Url or ClickedAt: {dict(click)}")
            continue
        obj = _common(message, "click", unix_time)
        obj["url"] = url
        same = next((pair for pair in unused if pair[0] == unix_time), None)
        if same is not None:
            unused.remove(same)
            agent = _text(same[1].get("Useragent"))
            if agent:
                obj["agent"] = agent
        objects.append(obj)
    if unused:
        outcome.skipped.append(
            f"{len(unused)} click(s) in the history have no click statistic yet; "
            "they are read again on a later round"
        )
    return objects


def event_objects(
    message: PolledMessage,
    history: Sequence[Mapping[str, Any]],
    clicks: Sequence[Mapping[str, Any]],
    outcome: History | None = None,
) -> list[dict[str, Any]]:
    """The Event API objects (version-2 field names) the history and clicks stand for."""
    outcome = outcome if outcome is not None else History()
    objects: list[dict[str, Any]] = []
    clicked_lines: list[tuple[int, Mapping[str, Any]]] = []
    for line in history:
        history_type = str(line.get("EventType", "")).strip().lower()
        unix_time = _unix(line.get("EventAt"))
        if history_type not in HISTORY_TO_EVENT:
            outcome.skipped.append(f"history EventType {history_type!r} is not tracked")
            continue
        if unix_time is None:
            outcome.skipped.append(f"a {history_type!r} history line has no EventAt")
            continue
        if history_type == "clicked":
            clicked_lines.append((unix_time, line))
            continue
        objects.append(_from_history_line(message, line, history_type, unix_time))
    objects.extend(_click_objects(message, clicked_lines, clicks, outcome))
    return sorted(objects, key=lambda o: o["time"])


def polled_events(
    message: PolledMessage,
    history: Sequence[Mapping[str, Any]],
    clicks: Sequence[Mapping[str, Any]],
    mapping: EventMapping,
) -> History:
    """The normalized events (source "mailjet_poll"), the scanner guard not yet applied."""
    outcome = History()
    if valid_message_id(message.message_id) is None:
        outcome.skipped.append(f"message ID {message.message_id!r} is not a Mailjet MessageID")
        return outcome
    for obj in event_objects(message, history, clicks, outcome):
        try:
            event = normalize_mailjet_event(obj, mapping, "mailjet_poll")
        except RejectedEvent as exc:
            outcome.skipped.append(str(exc))
            continue
        if event is None:
            continue
        if obj["event"] == "bounce" and "hard_bounce" not in obj:
            # The history does not say whether the bounce is permanent: say no more than it does.
            reason = obj["comment"] or obj["error"] or "no reason given"
            event = event.with_changes(detail=f"bounce: {reason}")
        outcome.events.append(event)
    return outcome
