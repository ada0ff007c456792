"""One normalized tracking event for every source (webhook, poll, daemon, portal).

`TrackingEvent` is the `courier_ingest` shape of docs/contract.md: whatever
the mail provider sent (a webhook callback, a history line, a click statistic)
becomes one of these before it is spooled and forwarded to Odoo. Its
`dedupe_key` is the provider adapter's to make (the same fact, the same key).
`InvalidEvent` is what is kept of one the adapter refused.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from datetime import UTC, datetime
from typing import Any, cast

from courierd.domain.contract import EventSource, EventType, TrackingEventJson


def iso_from_unix(seconds: float) -> str:
    return datetime.fromtimestamp(int(seconds), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def unix_from_iso(value: str) -> int:
    return int(datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp())


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
    # For a web-document click: within this many seconds of the delivery, the ERP
    # takes it for a link scanner's (domain/scanner_guard.py).
    min_seconds_after_delivery: int = 0
    payload: dict[str, Any] | None = None

    def to_contract(self) -> TrackingEventJson:
        # Shallow on purpose: asdict() would deep-copy the raw payload of every event.
        return cast(TrackingEventJson, {f.name: getattr(self, f.name) for f in fields(self)})

    @classmethod
    def from_contract(cls, data: TrackingEventJson) -> TrackingEvent:
        return cls(**data)

    def with_changes(self, **changes: Any) -> TrackingEvent:
        return replace(self, **changes)


@dataclass(frozen=True)
class InvalidEvent:
    """A provider event refused by validation: its index in the body, why, and its start.

    Never a `TrackingEvent`: only this record of it is kept (bounded), for an operator.
    """

    position: int
    reason: str
    excerpt: str
