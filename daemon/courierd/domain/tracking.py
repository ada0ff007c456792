"""One normalized tracking event for every source (webhook, poll, daemon, portal).

`TrackingEvent` is the `courier_ingest` shape of docs/contract.md: whatever
Mailjet sent (an Event API object, a messagehistory line, a click statistic)
becomes one of these before it is spooled and forwarded to Odoo.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, fields, replace
from datetime import UTC, datetime
from typing import Any, Literal

EventType = Literal[
    "transmitted",
    "delivered",
    "opened",
    "clicked",
    "deferred",
    "bounced",
    "blocked",
    "spam",
    "unsubscribed",
    "viewed",
]
EVENT_TYPES: tuple[str, ...] = EventType.__args__  # type: ignore[attr-defined]
EventSource = Literal["mailjet_webhook", "mailjet_poll", "portal", "daemon"]


def iso_from_unix(seconds: float) -> str:
    return datetime.fromtimestamp(int(seconds), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def unix_from_iso(value: str) -> int:
    return int(datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp())


def mailjet_dedupe_key(mailjet_event: str, message_id: str, unix_time: int, url: str | None) -> str:
    """The same Mailjet fact gets the same key whether it came by webhook or by poll.

    Two clicks on different links within one second are two facts: the URL's hash
    tells them apart.
    """
    key = f"mj:{mailjet_event}:{message_id}:{unix_time}"
    if url:
        key += ":" + hashlib.sha1(url.encode("utf-8")).hexdigest()[:12]
    return key


@dataclass(frozen=True)
class TrackingEvent:
    dedupe_key: str
    type: EventType
    time: str  # UTC ISO-8601 with seconds, "2026-11-27T08:15:02Z"
    source: EventSource
    message_id: str | None = None
    custom_id: str | None = None
    email: str | None = None
    url: str | None = None
    user_agent: str | None = None
    detail: str | None = None
    web_document: bool = False
    payload: dict[str, Any] | None = None

    def to_contract(self) -> dict[str, Any]:
        # Shallow on purpose: asdict() would deep-copy the raw payload of every event.
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_contract(cls, data: dict[str, Any]) -> TrackingEvent:
        return cls(**data)

    def with_changes(self, **changes: Any) -> TrackingEvent:
        return replace(self, **changes)
