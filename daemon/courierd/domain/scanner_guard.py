"""The link-scanner guard: a web-document click from a scanner stays a click but is not a view.

Mail security gateways open every link of an email before (or instead of) the
customer, which would make each invoice "Viewed" at delivery. A click is a
scanner's when its user agent holds a listed fragment, or when it comes within
`min_seconds_after_delivery` of the delivery. The events mapping
(mappings/events.yaml, `scanner_guard`) sets both; the rule is the same for
every source, webhook or poll.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from courierd.domain.tracking import TrackingEvent, unix_from_iso

DEFAULT_SCANNER_AGENTS = (
    "Barracuda",
    "Mimecast",
    "Proofpoint",
    "urldefense",
    "Symantec",
    "Trend Micro",
    "SafeLinks",
    "Safe Links",
    "FireEye",
    "Sophos",
    "Forcepoint",
    "Cisco",
    "HeadlessChrome",
    "python-requests",
    "Go-http-client",
    "curl/",
    "bot",
    "spider",
    "crawler",
)
DEFAULT_MIN_SECONDS_AFTER_DELIVERY = 10


@dataclass(frozen=True)
class ScannerGuard:
    user_agents: Sequence[str] = DEFAULT_SCANNER_AGENTS
    min_seconds_after_delivery: int = DEFAULT_MIN_SECONDS_AFTER_DELIVERY

    def scanner_agent(self, user_agent: str | None) -> str | None:
        """The listed fragment found in `user_agent` (case-insensitive), if any."""
        agent = (user_agent or "").lower()
        return next((f for f in self.user_agents if f.lower() in agent), None)

    def check(self, event: TrackingEvent, delivered_at: str | None) -> TrackingEvent:
        """`event`, no longer a view (and saying why) when a scanner made it.

        `delivered_at` is the delivery time of the event's message, when known.
        """
        if not event.web_document:
            return event
        agent = self.scanner_agent(event.user_agent)
        if agent:
            reason = f"not counted as a view: the user agent looks like a link scanner ({agent})"
            return event.with_changes(web_document=False, detail=reason)
        if delivered_at is not None:
            delay = unix_from_iso(event.time) - unix_from_iso(delivered_at)
            if delay < self.min_seconds_after_delivery:
                reason = (
                    f"not counted as a view: clicked {max(delay, 0)} s after delivery, "
                    f"under {self.min_seconds_after_delivery} s (link scanner guard)"
                )
                return event.with_changes(web_document=False, detail=reason)
        return event

    def check_all(
        self, events: Sequence[TrackingEvent], known_delivery: Callable[[str], str | None]
    ) -> list[TrackingEvent]:
        """`check` over a batch: a delivery in the same batch counts, else `known_delivery`.

        `known_delivery(message_id)` is the delivery time seen earlier (the event spool's).
        """
        delivered = {
            e.message_id: e.time
            for e in events
            if e.type == "delivered" and e.message_id is not None
        }
        checked = []
        for event in events:
            if event.web_document and event.message_id is not None:
                at = delivered.get(event.message_id) or known_delivery(event.message_id)
                event = self.check(event, at)
            checked.append(event)
        return checked
