"""What the sandbox does, apart from HTTP: accept sends, track, answer lookups."""

from __future__ import annotations

import os
import secrets
import time
import uuid
import zlib
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import structlog

from mailjet_sandbox import events, tracking
from mailjet_sandbox.mime import build_email, eml_name
from mailjet_sandbox.stats import Stats
from mailjet_sandbox.store import Store, StoredMessage
from mailjet_sandbox.validation import Message, Recipient, check_send_payload

log = structlog.get_logger(__name__)


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _click_statistic(seq: int, arrived_at: float, body: dict[str, Any]) -> dict[str, Any]:
    """One Data item of /v3/REST/clickstatistics, with the fields of Mailjet's reference.

    The resource carries the user agent's ID only, not its text (messagehistory has that).
    """
    agent = str(body.get("agent", ""))
    return {
        "ClickedAt": _iso(body["time"]),
        "ClickedDelay": max(int(body["time"] - arrived_at), 0),
        "ContactID": events.contact_id(body["email"]),
        "ID": seq,
        "MessageID": body["MessageID"],
        "Url": body["url"],
        "UserAgentID": zlib.crc32(agent.encode("utf-8")) if agent else 0,
    }


class MailjetSandbox:
    """The Mailjet behaviour; ``on_events`` is called when new events were stored."""

    def __init__(
        self,
        outbox: Path,
        store: Store,
        stats: Stats,
        *,
        public_url: str,
        sent_delay: float,
        on_events: Callable[[], None],
    ) -> None:
        self.outbox = outbox
        self.store = store
        self.stats = stats
        self.public_url = public_url
        self.sent_delay = sent_delay
        self._on_events = on_events

    # -- Send API v3.1 ---------------------------------------------------

    def send(self, payload: Any) -> tuple[int, dict[str, Any]]:
        """Validate and process a decoded send body: (HTTP status, response body).

        Valid messages are sent even when others in the same call fail.
        """
        checked = check_send_payload(payload)
        if checked.global_error is not None:
            return checked.http_status, checked.global_error
        answers: list[dict[str, Any]] = []
        for result in checked.results:
            if isinstance(result, list):
                answers.append({"Errors": result, "Status": "error"})
            elif checked.sandbox_mode:
                answers.append(self._sandbox_mode_answer(result))
            else:
                answers.append(self._deliver(result))
        if any(not isinstance(r, list) for r in checked.results) and not checked.sandbox_mode:
            self._on_events()
        return checked.http_status, {"Messages": answers}

    def _sandbox_mode_answer(self, message: Message) -> dict[str, Any]:
        """SandboxMode: validated, nothing sent; IDs are empty as in Mailjet's sample."""

        def entry(r: Recipient) -> dict[str, Any]:
            return {
                "Email": r.email,
                "MessageUUID": "",
                "MessageID": 0,
                "MessageHref": f"{self.public_url}v3/message/0",
            }

        return {
            "Status": "success",
            "CustomID": message.custom_id,
            **{kind: [entry(r) for r in message.of_kind(kind)] for kind in ("To", "Cc", "Bcc")},
        }

    def _deliver(self, message: Message) -> dict[str, Any]:
        answer: dict[str, Any] = {
            "Status": "success",
            "CustomID": message.custom_id,
            "To": [],
            "Cc": [],
            "Bcc": [],
        }
        seen: set[str] = set()
        for recipient in message.recipients:
            # One address listed twice (To and Cc...) counts and receives once.
            if recipient.email.lower() in seen:
                continue
            seen.add(recipient.email.lower())
            answer[recipient.kind].append(self._deliver_one(message, recipient))
        self.stats.add("messages_accepted")
        return answer

    def _deliver_one(self, message: Message, recipient: Recipient) -> dict[str, Any]:
        now = time.time()
        message_id = self.store.next_message_id()
        message_uuid = str(uuid.uuid4())
        tracked = message.track_opens or message.track_clicks
        token = secrets.token_urlsafe(16) if tracked else None
        html = message.html
        links: list[str] = []
        if html is not None and token is not None:
            if message.track_clicks:
                html, links = tracking.rewrite_links(html, self.public_url, token)
            if message.track_opens:
                html = tracking.add_open_pixel(html, self.public_url, token)
        mail = build_email(
            message,
            recipient,
            message_id=message_id,
            message_uuid=message_uuid,
            html=html,
            sent_at=datetime.fromtimestamp(now, UTC),
        )
        data = mail.as_bytes()
        eml = self.outbox / eml_name(datetime.fromtimestamp(now, UTC), recipient.email, message_id)
        tmp = eml.with_suffix(".eml.tmp")
        tmp.write_bytes(data)
        os.replace(tmp, eml)
        self.stats.add("emails_written")
        facts = events.MessageFacts(
            message_id=message_id,
            message_uuid=message_uuid,
            email=recipient.email,
            custom_id=message.custom_id,
            payload=message.event_payload,
            custom_campaign=message.custom_campaign,
        )
        outcome = events.outcome_for(recipient.email)
        self.store.add_message(
            StoredMessage(
                message_id=message_id,
                uuid=message_uuid,
                custom_id=message.custom_id,
                email=recipient.email,
                kind=recipient.kind,
                subject=message.subject,
                arrived_at=now,
                eml=str(eml),
                token=token,
                links=links,
                facts={
                    "payload": message.event_payload,
                    "campaign": message.custom_campaign,
                    "attachments": len(message.attachments) + len(message.inline_attachments),
                    "size": len(data),
                    "has_text": message.text is not None,
                    "has_html": message.html is not None,
                    "open_tracked": message.track_opens,
                    "click_tracked": message.track_clicks,
                    "scenario": outcome.scenario,
                },
            )
        )
        due = now + self.sent_delay
        for details in outcome.events:
            self.store.add_event(message_id, due, events.event_body(facts, int(due), details))
        log.info("sandbox_email_written", message_id=message_id, scenario=outcome.scenario)
        return {
            "Email": recipient.email,
            "MessageUUID": message_uuid,
            "MessageID": message_id,
            "MessageHref": f"{self.public_url}v3/REST/message/{message_id}",
        }

    # -- tracking --------------------------------------------------------

    def _record(self, msg: StoredMessage, details: dict[str, Any]) -> None:
        now = time.time()
        # Never ahead of the message's own delivery events: order per message holds.
        earlier = self.store.events_of(msg.message_id, float("inf"))
        due = max([now, *(e.due_at for e in earlier)])
        facts = events.MessageFacts(
            message_id=msg.message_id,
            message_uuid=msg.uuid,
            email=msg.email,
            custom_id=msg.custom_id,
            payload=msg.facts.get("payload", ""),
            custom_campaign=msg.facts.get("campaign", ""),
        )
        self.store.add_event(msg.message_id, due, events.event_body(facts, int(due), details))
        self._on_events()

    def record_open(self, token: str, agent: str, ip: str) -> bool:
        msg = self.store.message_by_token(token)
        if msg is None or not msg.facts.get("open_tracked"):
            return False
        self._record(msg, {"event": "open", "ip": ip, "geo": "", "agent": agent})
        return True

    def record_click(self, token: str, url: str, agent: str, ip: str) -> str | None:
        """The redirect target, or None when the token or the link is unknown."""
        msg = self.store.message_by_token(token)
        if msg is None or url not in msg.links:
            return None
        self._record(msg, {"event": "click", "url": url, "ip": ip, "geo": "", "agent": agent})
        return url

    # -- REST lookups (/v3/REST/message, /v3/REST/messagehistory) ---------

    def message_resource(self, msg: StoredMessage, shown: frozenset[str]) -> dict[str, Any]:
        """One item of /v3/REST/message; `shown` holds the Show* fields asked for.

        Mailjet leaves ContactAlt, Subject and CustomID empty unless the call sets
        ShowContactAlt, ShowSubject or ShowCustomID to true.
        """
        now = time.time()
        happened = [e.body["event"] for e in self.store.events_of(msg.message_id, now)]
        facts = msg.facts
        return {
            "ArrivedAt": _iso(msg.arrived_at),
            "AttachmentCount": facts.get("attachments", 0),
            "AttemptCount": 0,
            "CampaignID": events.campaign_id(facts.get("campaign", "")),
            "ContactAlt": msg.email if "ContactAlt" in shown else "",
            "ContactID": events.contact_id(msg.email),
            "CustomID": msg.custom_id if "CustomID" in shown else "",
            "Delay": 0,
            "DestinationID": 0,
            "FilterTime": 0,
            "ID": msg.message_id,
            "IsClickTracked": bool(facts.get("click_tracked")),
            "IsHTMLPartIncluded": bool(facts.get("has_html")),
            "IsOpenTracked": bool(facts.get("open_tracked")),
            "IsTextPartIncluded": bool(facts.get("has_text")),
            "IsUnsubTracked": False,
            "MessageSize": facts.get("size", 0),
            "SenderID": 0,
            "SpamassassinScore": 0,
            "SpamassRules": "",
            "StatePermanent": events.message_status(happened) in ("bounce", "blocked"),
            "Status": events.message_status(happened),
            "Subject": msg.subject if "Subject" in shown else "",
            "UUID": msg.uuid,
        }

    def history(self, message_id: int) -> list[dict[str, Any]]:
        return [events.history_entry(e.body) for e in self.store.events_of(message_id, time.time())]

    def click_statistics(self, message_id: int | None) -> list[dict[str, Any]]:
        """``GET /v3/REST/clickstatistics``: one item per recorded click, oldest first."""
        if message_id is None:
            found = self.store.all_messages()
        else:
            one = self.store.get_message(message_id)
            found = [] if one is None else [one]
        now = time.time()
        return [
            _click_statistic(e.seq, m.arrived_at, e.body)
            for m in found
            for e in self.store.events_of(m.message_id, now)
            if e.body["event"] == "click"
        ]

    def overview(self) -> list[dict[str, Any]]:
        """``GET /_sandbox/messages``: every message with the events that happened."""
        now = time.time()
        return [
            {
                "message_id": m.message_id,
                "message_uuid": m.uuid,
                "custom_id": m.custom_id,
                "email": m.email,
                "subject": m.subject,
                "eml": m.eml,
                "events": [e.body for e in self.store.events_of(m.message_id, now)],
            }
            for m in self.store.all_messages()
        ]
