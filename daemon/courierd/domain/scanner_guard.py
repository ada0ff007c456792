"""The link-scanner guard: a web-document click from a scanner stays a click but is not a view.

Mail security gateways open every link of an email before (or instead of) the
customer, which would make each invoice "Viewed" at delivery. A click is a
scanner's when its user agent holds a listed fragment, or when it comes within
`min_seconds_after_delivery` of the delivery. The events mapping
(mappings/events.yaml, `scanner_guard`) sets both; the rule is the same for
every source, webhook or poll.

The user agent is a property of the click itself, so it is decided here. The
delivery time is not: Mailjet may post the `sent` event after the click, or
never post it to courierd at all while the ERP has it. So courierd stamps each
web-document click with the window (`min_seconds_after_delivery`) and the ERP,
which holds every event of the recipient, decides from the delivery time it
has, again whenever a delivery arrives (docs/architecture.md, "Tracking"). The
result then follows from the set of events, whatever their order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from courierd.domain.tracking import TrackingEvent

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

    def check(self, event: TrackingEvent) -> TrackingEvent:
        """`event`, no longer a view (saying why) when a scanner's user agent made it.

        A web-document click that passes carries the delivery window for the ERP.
        """
        if not event.web_document:
            return event
        agent = self.scanner_agent(event.user_agent)
        if agent:
            reason = f"not counted as a view: the user agent looks like a link scanner ({agent})"
            return event.with_changes(web_document=False, detail=reason)
        return event.with_changes(min_seconds_after_delivery=self.min_seconds_after_delivery)

    def check_all(self, events: Sequence[TrackingEvent]) -> list[TrackingEvent]:
        return [self.check(event) for event in events]
