"""The events mapping (mappings/events.yaml): statuses, web-document links, scanner guard.

The defaults of `EventMapping` are the shipped mappings/events.yaml (a test keeps
them equal), so courierd works without a file.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from courierd.mailjet.mapping_files import load_mapping

# The Event API's types (version 1 and 2 use the same names).
MAILJET_EVENTS = ("sent", "open", "click", "bounce", "blocked", "spam", "unsub")

# What a Mailjet event may become: a contract type, or "ignore" (accepted, not stored).
MappedStatus = Literal[
    "delivered", "opened", "clicked", "deferred", "bounced", "blocked", "spam", "unsubscribed",
    "ignore",
]  # fmt: skip

DEFAULT_STATUSES: dict[str, MappedStatus] = {
    "sent": "delivered",
    "open": "opened",
    "click": "clicked",
    "bounce": "bounced",
    "blocked": "blocked",
    "spam": "spam",
    "unsub": "unsubscribed",
}

DEFAULT_SCANNER_AGENTS = [
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
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class WebDocument(_Strict):
    """Which clicked URLs are the invoice's web document (Odoo's portal page)."""

    url_patterns: list[str] = Field(default_factory=lambda: [r"/my/invoices/\d+"], min_length=1)

    @field_validator("url_patterns")
    @classmethod
    def _compile(cls, patterns: list[str]) -> list[str]:
        for index, pattern in enumerate(patterns):
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(
                    f"pattern {index} ({pattern!r}) is not a valid regex: {exc}"
                ) from None
        return patterns

    def matches(self, url: str | None) -> bool:
        return bool(url) and any(re.search(p, url or "") for p in self.url_patterns)


class ScannerGuard(_Strict):
    """Clicks that do not count as a view: known link scanners, or too soon after delivery."""

    user_agents: list[str] = Field(default_factory=lambda: list(DEFAULT_SCANNER_AGENTS))
    min_seconds_after_delivery: int = Field(10, ge=0, le=3600)

    def scanner_agent(self, user_agent: str | None) -> str | None:
        """The listed fragment found in `user_agent` (case-insensitive), if any."""
        agent = (user_agent or "").lower()
        return next((f for f in self.user_agents if f.lower() in agent), None)


class EventMapping(_Strict):
    statuses: dict[str, MappedStatus] = Field(default_factory=lambda: dict(DEFAULT_STATUSES))
    web_document: WebDocument = Field(default_factory=WebDocument)
    scanner_guard: ScannerGuard = Field(default_factory=ScannerGuard)

    @field_validator("statuses")
    @classmethod
    def _known_events(cls, statuses: dict[str, MappedStatus]) -> dict[str, MappedStatus]:
        unknown = sorted(set(statuses) - set(MAILJET_EVENTS))
        if unknown:
            raise ValueError(
                f"{', '.join(map(repr, unknown))} not a Mailjet event type; "
                f"known: {', '.join(MAILJET_EVENTS)}"
            )
        # Events the file leaves out keep their default status.
        return {**DEFAULT_STATUSES, **statuses}


def load_event_mapping(path: Path | None) -> EventMapping:
    return EventMapping() if path is None else load_mapping(path, EventMapping)
