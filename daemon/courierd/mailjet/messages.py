"""Pure: a claimed dispatch (docs/contract.md shape) -> its Mailjet Send API v3.1 messages.

`build_message` is the single place that knows the message's shape;
`template_message` turns its result into a Mailjet-template message. The mapping
layer (courierd.mailjet.message_mapping, mappings/messages.yaml) chooses between the two
per company and hands the send loop a function of the same signature.
`dispatch_messages` then makes one message per recipient (each sees only their
own address and gets their own MessageID), unless the dispatch says
`one_email_to_all`. `split_into_calls` keeps each dispatch's messages in one call.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from courierd.domain.contract import Address, ClaimedDispatch, OdooText
from courierd.domain.ports import Message

SUBJECT_MAX = 255
MESSAGES_PER_CALL = 50
# Mailjet also caps the recipients of one call (To + Cc + Bcc of all its messages):
# more and it refuses the whole call (send-0015).
RECIPIENTS_PER_CALL = 50
ELLIPSIS = "\u2026"

T = TypeVar("T")

MessageBuilder = Callable[[ClaimedDispatch], Message]


def truncate_subject(subject: str) -> str:
    """Mailjet refuses subjects over 255 characters; cut and mark the cut."""
    subject = " ".join(subject.split())  # folded header lines and tabs are not wanted here
    if len(subject) <= SUBJECT_MAX:
        return subject
    return subject[: SUBJECT_MAX - 1].rstrip() + ELLIPSIS


def _address(email: str, name: OdooText | None) -> dict[str, str]:
    address = {"Email": email}
    if name:
        address["Name"] = name
    return address


def _tracking(flag: Any) -> str:
    return "enabled" if flag else "disabled"


def event_payload(dispatch: ClaimedDispatch) -> str:
    """What Mailjet hands back on every event of this message (EventPayload)."""
    return json.dumps(
        {"dispatch_id": dispatch["id"], "invoice_id": dispatch.get("invoice_id")},
        separators=(",", ":"),
    )


def build_message(dispatch: ClaimedDispatch) -> Message:
    """The v3.1 message for one dispatch; raises ValueError when it cannot be sent as is."""
    recipients = dispatch.get("recipients") or []
    if not recipients:
        raise ValueError("the dispatch has no recipient")
    sender = dispatch.get("sender") or Address(email=False)
    sender_email = sender.get("email")
    if not sender_email:
        raise ValueError("the dispatch has no sender email")
    if dispatch.get("pdf_pending"):
        raise ValueError("the invoice PDF has not been rendered")

    message: Message = {
        "From": _address(sender_email, sender.get("name")),
        "To": [_address(r["email"], r.get("name")) for r in recipients],
        "Subject": truncate_subject(dispatch.get("subject") or ""),
        "CustomID": dispatch["custom_id"],
        "EventPayload": event_payload(dispatch),
        "TrackOpens": _tracking(dispatch.get("track_opens", True)),
        "TrackClicks": _tracking(dispatch.get("track_clicks", True)),
    }
    if dispatch.get("reply_to"):
        message["ReplyTo"] = {"Email": dispatch["reply_to"]}
    if dispatch.get("html"):
        message["HTMLPart"] = dispatch["html"]
    if dispatch.get("text"):
        message["TextPart"] = dispatch["text"]
    attachments = [
        {
            "ContentType": a.get("content_type") or "application/octet-stream",
            "Filename": a["filename"],
            "Base64Content": a["base64"],
        }
        for a in dispatch.get("attachments") or []
    ]
    if attachments:
        message["Attachments"] = attachments
    return message


def per_recipient(message: Message) -> list[Message]:
    """One copy of `message` per To address: each recipient sees only their own."""
    to = message.get("To") or []
    if len(to) <= 1:
        return [message]
    return [{**message, "To": [address]} for address in to]


def dispatch_messages(dispatch: ClaimedDispatch, build: MessageBuilder) -> list[Message]:
    """The messages of one dispatch, all in one Send call; ValueError when they cannot be.

    One per recipient, or one to all when the dispatch says `one_email_to_all`
    (an addon without the setting sends them one each: nobody sees another's address).
    """
    message = build(dispatch)
    messages = [message] if dispatch.get("one_email_to_all") else per_recipient(message)
    if len(messages) > MESSAGES_PER_CALL:
        raise ValueError(
            f"{len(messages)} recipients each get their own email, more than one Send call "
            f"carries ({MESSAGES_PER_CALL}); send the invoice to fewer recipients at a time"
        )
    return messages


def template_message(
    message: Mapping[str, Any],
    template_id: int,
    variables: Mapping[str, Any],
    *,
    keep_subject: bool = True,
    error_reporting: str | None = None,
    error_deliver: bool | None = None,
) -> Message:
    """`message` (from build_message) sent through a Mailjet template instead of its parts.

    Addresses, CustomID, EventPayload, tracking and attachments stay. Mailjet
    takes the body from the template; Subject, when kept and not empty,
    overrides the template's own subject.
    """
    templated: Message = {k: v for k, v in message.items() if k not in ("HTMLPart", "TextPart")}
    if not keep_subject or not templated.get("Subject"):
        templated.pop("Subject", None)
    templated["TemplateID"] = template_id
    templated["TemplateLanguage"] = True
    templated["Variables"] = dict(variables)
    if error_reporting:
        # Mailjet sends a copy explaining the template error to this address.
        templated["TemplateErrorReporting"] = {"Email": error_reporting}
    if error_deliver is not None:
        templated["TemplateErrorDeliver"] = error_deliver
    return templated


def count_recipients(message: Mapping[str, Any]) -> int:
    return sum(len(message.get(kind) or []) for kind in ("To", "Cc", "Bcc"))


def split_into_calls(
    items: Sequence[T],
    recipients_of: Callable[[T], int],
    messages_of: Callable[[T], int] = lambda _item: 1,
) -> list[list[T]]:
    """Consecutive groups that each fit one Send call (messages and recipients).

    An item (a dispatch, with all its messages) is never cut. One with more
    recipients than a call allows goes alone, so Mailjet's own error fails only
    that dispatch.
    """
    calls: list[list[T]] = []
    current: list[T] = []
    recipients = messages = 0
    for item in items:
        count, size = recipients_of(item), messages_of(item)
        if current and (
            messages + size > MESSAGES_PER_CALL or recipients + count > RECIPIENTS_PER_CALL
        ):
            calls.append(current)
            current, recipients, messages = [], 0, 0
        current.append(item)
        recipients += count
        messages += size
    if current:
        calls.append(current)
    return calls


def build_send_payload(messages: Sequence[Mapping[str, Any]], sandbox_mode: bool) -> dict[str, Any]:
    """The body of one POST /v3.1/send (at most 50 messages)."""
    if not 0 < len(messages) <= MESSAGES_PER_CALL:
        raise ValueError(f"a Send API call carries 1 to {MESSAGES_PER_CALL} messages")
    payload: dict[str, Any] = {"Messages": list(messages)}
    if sandbox_mode:
        payload["SandboxMode"] = True
    return payload
