"""Recipient status ranking (docs/architecture.md, "Status ranking").

A recipient's status is the highest-ranked type among its events, because
events arrive late, twice and out of order.
"""

from __future__ import annotations

STATUS_RANK: dict[str, int] = {
    "queued": 0,
    "transmitted": 10,
    "deferred": 15,
    "delivered": 20,
    "opened": 30,
    "clicked": 40,
    "unsubscribed": 50,
    "spam": 60,
    "blocked": 70,
    "bounced": 80,
}

# Unsubscribed and worse: statuses whose event detail is the recipient's error text.
NEGATIVE_RANK = STATUS_RANK["unsubscribed"]

# `viewed` is an invoice-level fact: stored against the recipient, never ranked.
EVENT_TYPES = frozenset(STATUS_RANK) - {"queued"} | {"viewed"}
EVENT_SOURCES = frozenset({"mailjet_webhook", "mailjet_poll", "portal", "daemon"})

# Statuses the poller still has to follow (courier_open_tracking).
OPEN_STATUSES = ("transmitted", "delivered", "opened", "deferred")

# A dispatch whose recipients all ended here reached nobody: the invoice is "bounced".
UNDELIVERABLE_STATUSES = frozenset({"bounced", "blocked"})


def top_status(event_types: list[str]) -> str:
    """The highest-ranked status among event types (``queued`` without any)."""
    ranked = [t for t in event_types if t in STATUS_RANK]
    return max(ranked, key=STATUS_RANK.__getitem__, default="queued")
