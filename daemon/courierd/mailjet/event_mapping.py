"""The events mapping (mappings/events.yaml): statuses, web-document links, scanner guard.

For the scanner guard it holds only the settings; the rule is provider-neutral
(courierd.domain.scanner_guard).

The defaults of `EventMapping` are the shipped mappings/events.yaml (a test keeps
them equal), so courierd works without a file.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from courierd.domain.scanner_guard import (
    DEFAULT_MIN_SECONDS_AFTER_DELIVERY,
    DEFAULT_SCANNER_AGENTS,
    ScannerGuard,
)
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


class ScannerGuardSettings(_Strict):
    """Which clicks are a link scanner's (the rule: courierd.domain.scanner_guard)."""

    user_agents: list[str] = Field(default_factory=lambda: list(DEFAULT_SCANNER_AGENTS))
    min_seconds_after_delivery: int = Field(DEFAULT_MIN_SECONDS_AFTER_DELIVERY, ge=0, le=3600)

    def rule(self) -> ScannerGuard:
        return ScannerGuard(tuple(self.user_agents), self.min_seconds_after_delivery)


class EventMapping(_Strict):
    statuses: dict[str, MappedStatus] = Field(default_factory=lambda: dict(DEFAULT_STATUSES))
    web_document: WebDocument = Field(default_factory=WebDocument)
    scanner_guard: ScannerGuardSettings = Field(default_factory=ScannerGuardSettings)

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
