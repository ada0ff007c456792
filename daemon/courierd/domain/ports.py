"""The ports: what the workers (and the PDF renderer) need from the world, as Protocols.

One Protocol per need, grouped by what stands behind it. The adapters implement
them: `courierd.odoo.client.ErpClient` every ERP port, `courierd.mailjet.provider`
the two mail provider ports, `courierd.odoo.pdf_renderer.PdfRenderer` the PDF
queue, the two spools of `courierd.storage` theirs. `courierd.daemon` hands the
adapters to the workers. What a port raises is in `courierd.domain.errors`:
`ErpUnavailable` and `ErpCallError` from the ERP, `MailProviderCallFailed` from
the mail provider.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from courierd.domain.backoff import RetryPolicy
from courierd.domain.contract import (
    Attachment,
    ClaimedDispatch,
    IngestCounts,
    OpenRecipient,
    RenderFailure,
    SendResult,
    TrackingEventJson,
)
from courierd.domain.tracking import InvalidEvent, TrackingEvent

# A message in the mail provider's own shape: the domain only passes it along.
Message = dict[str, Any]

# The ERP (Odoo, docs/contract.md).


class DispatchQueue(Protocol):
    """The send loop's ERP: `courier_claim` and `courier_report`."""

    def claim(
        self, worker_id: str, limit: int, lease_seconds: int, wait_seconds: float = 0.0
    ) -> list[ClaimedDispatch]:
        """Claim up to `limit`; with none queued, Odoo waits up to `wait_seconds` for one."""
        ...

    def report(self, results: list[SendResult]) -> dict[str, int]: ...


class EventSink(Protocol):
    """The event forwarder's ERP: `courier_ingest`."""

    def ingest(self, events: list[TrackingEventJson]) -> IngestCounts: ...


class OpenTracking(Protocol):
    """The poller's ERP: `courier_open_tracking`."""

    def open_tracking(self, limit: int, max_age_days: int) -> list[OpenRecipient]: ...


class PdfSource(Protocol):
    """The PDF renderer's ERP: `courier_render_pdf` and `courier_render_pdfs`."""

    def render_pdf(self, dispatch_id: int) -> Attachment: ...

    def render_pdfs(self, dispatch_ids: list[int]) -> dict[str, Attachment | RenderFailure]: ...


# The PDF renderer.


class PdfQueue(Protocol):
    """Renders invoice PDFs ahead (`start`) and hands them over (`render`)."""

    def start(self, dispatch_ids: Sequence[int]) -> None: ...

    def forget(self, dispatch_ids: Sequence[int]) -> None: ...

    def render(self, dispatch_ids: Sequence[int]) -> dict[int, Attachment | Exception]: ...


# The mail provider (Mailjet).


class MailSender(Protocol):
    """The send loop's mail provider. `find_sent` and `send` raise `MailProviderCallFailed`
    when the provider's call failed as a whole."""

    def find_sent(self, dispatch: ClaimedDispatch, *, time: str) -> SendResult | None:
        """The transmitted result when an earlier attempt reached the provider, else None."""
        ...

    def messages(self, dispatch: ClaimedDispatch) -> list[Message]:
        """The provider's messages of one dispatch (one per recipient, or one to all);
        ValueError (KeyError, TypeError) when they cannot be built."""
        ...

    def calls(
        self, ready: Sequence[tuple[ClaimedDispatch, list[Message]]]
    ) -> list[list[tuple[ClaimedDispatch, list[Message]]]]:
        """`ready` cut into consecutive groups that each fit one send call, a dispatch's
        messages never apart."""
        ...

    def send(
        self,
        call: Sequence[tuple[ClaimedDispatch, list[Message]]],
        *,
        time: str,
        policy: RetryPolicy,
        jitter: float,
    ) -> list[SendResult]:
        """One send call; each dispatch's result, in order."""
        ...


@dataclass
class History:
    """What the provider's history says about one message: its events, and what it could
    not use (why, one line each)."""

    events: list[TrackingEvent] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


class TrackingHistory(Protocol):
    """The poller's mail provider: the tracking facts of one sent message."""

    def read(self, recipient: OpenRecipient, on_call: Callable[[], None]) -> History:
        """`on_call()` before each call to the provider (the poller counts them)."""
        ...


# The spools (courierd.storage).


class ResultSpool(Protocol):
    """Send results waiting for Odoo's acknowledgement."""

    def add(self, results: list[SendResult]) -> list[int]: ...

    def pending(self, limit: int = ...) -> list[tuple[int, SendResult]]: ...

    def remove(self, keys: list[int]) -> None: ...

    def depth(self) -> int: ...


class TrackingSpool(Protocol):
    """Tracking events waiting to be forwarded to Odoo (and a bounded record of invalid ones)."""

    def add(self, events: Sequence[TrackingEvent], invalid: Sequence[InvalidEvent] = ()) -> int: ...

    def pending(self, limit: int) -> list[tuple[int, TrackingEvent]]: ...

    def remove(self, keys: Sequence[int]) -> None: ...

    def reject(self, key: int, reason: str) -> None: ...

    def depth(self) -> int: ...
