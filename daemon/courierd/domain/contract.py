"""The JSON shapes of the RPC contract (docs/contract.md), as types.

What crosses a module boundary (a claimed dispatch, a send result, a tracking
event, an open recipient) has one of these types rather than `dict[str, Any]`.
They are TypedDicts: at run time they are the plain dicts that go over the wire,
so typing them changes nothing in the JSON. Odoo writes an empty field as
`false`, hence `OdooText`.
"""

from __future__ import annotations

from typing import Any, Literal, NotRequired, Required, TypedDict

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
EventSource = Literal["mailjet_webhook", "mailjet_poll", "portal", "daemon"]

# A text field of Odoo's: the text, or False when the field is empty.
OdooText = str | Literal[False]


class Address(TypedDict, total=False):
    email: Required[OdooText]
    name: OdooText


class DispatchRecipient(TypedDict, total=False):
    id: int
    email: Required[str]
    name: OdooText


class Attachment(TypedDict):
    filename: str
    content_type: str
    base64: str


class RenderFailure(TypedDict):
    """One dispatch's entry of `courier_render_pdfs` when its PDF cannot be made."""

    error: str


class ClaimedDispatch(TypedDict, total=False):
    """One entry of `courier_claim`'s answer. Only `id` and `custom_id` are relied on
    being there; the rest is read with defaults (an older addon may leave some out)."""

    id: Required[int]
    custom_id: Required[str]
    attempts: int
    check_mailjet_first: bool
    company_id: int
    invoice_id: int
    sender: Address
    reply_to: OdooText
    recipients: list[DispatchRecipient]
    subject: OdooText
    html: str
    text: str
    attachments: list[Attachment]
    pdf_pending: bool
    link_only: bool  # the email carries the web document's link, not the PDF
    web_url: OdooText
    track_opens: bool
    track_clicks: bool
    queued_at: str  # when it was queued: the age bound (domain/retry_bound.py) reads it
    last_error: OdooText  # the previous attempt's error, kept when courierd gives up
    error_code: OdooText
    invoice: dict[str, Any]  # the template variables' fields (messages mapping)
    # True: one email lists every recipient in To:. False or absent: one email per
    # recipient (own MessageID and tracking, no other address shown).
    one_email_to_all: bool


# test_sent: the provider checked the email and sent nothing (Mailjet's sandbox mode).
Outcome = Literal["transmitted", "retry", "failed", "test_sent"]


class SentRecipient(TypedDict):
    email: str
    message_id: str  # MessageIDs exceed 32 bits (and JavaScript's 53): always strings
    message_uuid: str
    message_href: str


class SendError(TypedDict):
    code: str
    message: str
    status: int | None
    related_to: NotRequired[list[str]]  # failed only: the message fields at fault


class RefusedRecipient(TypedDict):
    """A recipient whose own email the provider refused while it took the others'."""

    email: str
    code: str
    message: str


class SendResult(TypedDict):
    """One entry of `courier_report(results)`."""

    id: int
    custom_id: str
    outcome: Outcome
    time: str
    recipients: NotRequired[list[SentRecipient]]  # transmitted
    # transmitted: when the provider accepted the email (`time` is when the send began)
    transmitted_at: NotRequired[str]
    refused: NotRequired[list[RefusedRecipient]]  # transmitted, one email per recipient
    error: NotRequired[SendError]  # retry, failed
    retry_after: NotRequired[int]  # retry: seconds before the next attempt
    # retry: False when this claim was no attempt (the provider refused our credentials
    # before looking at the email): Odoo gives the attempt back.
    attempted: NotRequired[bool]


class TrackingEventJson(TypedDict):
    """One entry of `courier_ingest(events)`: `TrackingEvent.to_contract()`."""

    dedupe_key: str
    type: EventType
    time: str
    source: EventSource
    message_id: str | None
    custom_id: str | None
    email: str | None
    url: str | None
    user_agent: str | None
    detail: str | None
    web_document: bool
    min_seconds_after_delivery: NotRequired[int]
    payload: dict[str, Any] | None


class IngestCounts(TypedDict, total=False):
    created: int
    duplicate: int
    unmatched: int


class OpenRecipient(TypedDict, total=False):
    """One entry of `courier_open_tracking`: a recipient whose tracking is still open."""

    recipient_id: int
    message_id: Required[OdooText]
    custom_id: OdooText
    email: OdooText
    status: str
    status_time: str
