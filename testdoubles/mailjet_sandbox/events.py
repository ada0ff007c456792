"""Mailjet Event API payloads (version 2 objects) and what each address triggers.

Field names follow the samples of Mailjet's "Event API" guide. The REST side
(message Status, messagehistory EventType) uses Mailjet's other vocabulary.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import Any

# Event API type -> /v3/REST/messagehistory EventType.
HISTORY_TYPES = {
    "sent": "sent",
    "open": "opened",
    "click": "clicked",
    "bounce": "bounce",
    "blocked": "blocked",
    "spam": "spam",
    "unsub": "unsub",
}

# /v3/REST/message Status: the furthest state reached (an open after a click
# leaves the message "clicked"; a bounce or block wins over everything).
_STATUS_RANK = {
    "queued": 0,
    "sent": 10,
    "opened": 20,
    "clicked": 30,
    "unsub": 40,
    "spam": 50,
    "blocked": 60,
    "bounce": 70,
}


def message_status(event_types: list[str]) -> str:
    """Mailjet's message Status from the Event API types that happened."""
    status = "queued"
    for event_type in event_types:
        candidate = HISTORY_TYPES.get(event_type, "queued")
        if _STATUS_RANK[candidate] > _STATUS_RANK[status]:
            status = candidate
    return status


def contact_id(email: str) -> int:
    """A stable stand-in for Mailjet's contact ID."""
    return zlib.crc32(email.lower().encode("utf-8")) or 1


def campaign_id(custom_campaign: str) -> int:
    return zlib.crc32(custom_campaign.encode("utf-8")) if custom_campaign else 0


@dataclass(frozen=True)
class Outcome:
    """The delivery events one recipient address triggers, in order."""

    scenario: str
    events: tuple[dict[str, Any], ...]


def outcome_for(email: str) -> Outcome:
    """Recognisable local parts decide what the receiving side does."""
    local = email.split("@", 1)[0].lower()
    if local.startswith("softbounce"):
        return Outcome(
            "softbounce",
            (
                {
                    "event": "bounce",
                    "blocked": False,
                    "hard_bounce": False,
                    "error_related_to": "recipient",
                    "error": "quota exceeded",
                    "comment": "452 4.2.2 Mailbox full (Mailjet sandbox)",
                },
            ),
        )
    if local.startswith("bounce"):
        return Outcome(
            "bounce",
            (
                {
                    "event": "bounce",
                    "blocked": False,
                    "hard_bounce": True,
                    "error_related_to": "recipient",
                    "error": "user unknown",
                    "comment": f"550 5.1.1 <{email}>: Recipient address rejected: User unknown",
                },
            ),
        )
    if local.startswith("blocked"):
        return Outcome(
            "blocked",
            ({"event": "blocked", "error_related_to": "mailjet", "error": "preblocked"},),
        )
    sent = {"event": "sent", "smtp_reply": "sent (250 2.0.0 OK queued by the Mailjet sandbox)"}
    if local.startswith("spam"):
        return Outcome("spam", (sent, {"event": "spam", "source": "JMRPP"}))
    if local.startswith("unsub"):
        return Outcome(
            "unsub",
            (
                sent,
                {
                    "event": "unsub",
                    "mj_list_id": 0,
                    "ip": "127.0.0.1",
                    "geo": "",
                    "agent": "Mailjet sandbox",
                },
            ),
        )
    return Outcome("deliver", (sent,))


@dataclass(frozen=True)
class MessageFacts:
    """What every event of one message carries."""

    message_id: int
    message_uuid: str
    email: str
    custom_id: str
    payload: str
    custom_campaign: str


def event_body(facts: MessageFacts, time: int, details: dict[str, Any]) -> dict[str, Any]:
    """A complete version-2 event object: the common fields, then the type's own."""
    body: dict[str, Any] = {
        "event": details["event"],
        "time": time,
        "MessageID": facts.message_id,
        "Message_GUID": facts.message_uuid,
        "email": facts.email,
        "mj_campaign_id": campaign_id(facts.custom_campaign),
        "mj_contact_id": contact_id(facts.email),
        "customcampaign": facts.custom_campaign,
        "CustomID": facts.custom_id,
        "Payload": facts.payload,
    }
    if details["event"] == "sent":
        body["mj_message_id"] = str(facts.message_id)
    body.update({k: v for k, v in details.items() if k != "event"})
    return body


def history_entry(body: dict[str, Any]) -> dict[str, Any]:
    """One Data item of /v3/REST/messagehistory for a stored event."""
    agent = str(body.get("agent", ""))
    comment = body.get("comment") or body.get("error") or body.get("url") or ""
    return {
        "Comment": str(comment),
        "EventAt": int(body["time"]),
        "EventType": HISTORY_TYPES.get(body["event"], body["event"]),
        "State": str(body.get("error", "")),
        "Useragent": agent,
        "UseragentID": zlib.crc32(agent.encode("utf-8")) if agent else 0,
    }
