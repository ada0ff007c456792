"""Forwards the event spool to Odoo's `courier_ingest`, in batches, from its own thread.

Events leave the spool only once Odoo answered for them. Odoo down: the
forwarder waits about 1, 2, 4 ... 60 s (the domain's backoff, jittered) and
tries again, forever. Odoo refusing a
batch (ErpCallError): the batch is split in halves until the refused events are
found; those move to the spool's `rejected_event` table and the rest goes on.

Events wait while send results are still waiting to be reported
(`reports_pending`): a `delivered` event forwarded before its `transmitted`
report would find no recipient with that MessageID, and Odoo drops unmatched
events.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable, Sequence

from courierd.domain.backoff import Backoff
from courierd.domain.errors import ErpCallError, ErpUnavailable
from courierd.domain.ports import EventSink, TrackingSpool
from courierd.domain.tracking import TrackingEvent
from courierd.ops.logs import get_logger
from courierd.ops.metrics import Metrics

log = get_logger(__name__)

MAX_BACKOFF_SECONDS = 60.0
IDLE_SECONDS = 1.0
REPORTS_PENDING_WAIT_SECONDS = 0.1


class EventForwarder:
    def __init__(
        self,
        *,
        spool: TrackingSpool,
        erp: EventSink,
        metrics: Metrics,
        batch_size: int,
        reports_pending: Callable[[], int] = lambda: 0,
        idle_seconds: float = IDLE_SECONDS,
        max_backoff_seconds: float = MAX_BACKOFF_SECONDS,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self._spool = spool
        self._erp = erp
        self._metrics = metrics
        self._batch_size = batch_size
        self._reports_pending = reports_pending
        self._idle = idle_seconds
        self._backoff = Backoff(base_seconds=1.0, max_seconds=max_backoff_seconds)
        self._jitter = jitter
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread = threading.Thread(target=self.run, name="event-forwarder", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def wake(self) -> None:
        """New events are in the spool: forward now rather than after the idle pause."""
        self._wake.set()

    def stop(self, timeout: float = 120.0) -> None:
        """Let the call in flight finish, then end the thread."""
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def run(self) -> None:
        failures = 0
        while not self._stop.is_set():
            if self._reports_pending():
                # Usually a batch between Mailjet's answer and its report: milliseconds.
                self._stop.wait(REPORTS_PENDING_WAIT_SECONDS)
                continue
            # Cleared before looking, so a wake() during the batch is not lost.
            self._wake.clear()
            try:
                forwarded = self.forward_batch()
            except ErpUnavailable as exc:
                failures += 1
                delay = self._backoff.delay(failures, self._jitter())
                self._metrics.forward_failures.labels(kind="unavailable").inc()
                log.warning(
                    f"cannot forward tracking events: Odoo unavailable, retrying in {delay:.0f}s; "
                    f"{exc.hint}; the events wait in the event spool",
                    error=str(exc),
                    event_spool_depth=self._spool.depth(),
                )
                self._stop.wait(delay)
                continue
            failures = 0
            if forwarded == 0:
                self._wake.wait(self._idle)

    def flush(self) -> None:
        """At shutdown: forward what is waiting while Odoo answers; keep the rest."""
        try:
            while self.forward_batch():
                pass
        except ErpUnavailable as exc:
            log.warning(
                "tracking events kept in the event spool for the next start: Odoo unavailable",
                hint=exc.hint,
                event_spool_depth=self._spool.depth(),
            )

    def forward_batch(self) -> int:
        """Forward the oldest batch; how many events left the spool (0: nothing to do now)."""
        if self._reports_pending():
            return 0
        batch = self._spool.pending(self._batch_size)
        if batch:
            self._forward(batch)
        return len(batch)

    def _forward(self, batch: Sequence[tuple[int, TrackingEvent]]) -> None:
        try:
            counts = self._erp.ingest([event.to_contract() for _, event in batch])
        except ErpCallError as exc:
            self._metrics.forward_failures.labels(kind="refused").inc()
            if len(batch) == 1:
                self._refused(*batch[0], reason=str(exc))
                return
            middle = len(batch) // 2
            self._forward(batch[:middle])
            self._forward(batch[middle:])
            return
        self._spool.remove([key for key, _ in batch])
        for result in ("created", "duplicate", "unmatched"):
            if counts.get(result):
                self._metrics.events_forwarded.labels(result=result).inc(counts[result])
        if counts.get("unmatched"):
            log.warning(
                "Odoo matched no recipient for some tracking events (not stored there); "
                "events of emails not sent by this Odoo database are expected here",
                unmatched=counts["unmatched"],
                events=len(batch),
            )
        log.debug("tracking events forwarded", events=len(batch), **counts)

    def _refused(self, key: int, event: TrackingEvent, reason: str) -> None:
        self._spool.reject(key, reason)
        self._metrics.events_refused.inc()
        log.error(
            "Odoo refused a tracking event; it is kept in the event spool's rejected_event "
            "table; check Odoo's log for the error",
            dedupe_key=event.dedupe_key,
            type=event.type,
            message_id=event.message_id,
            odoo_error=reason,
        )
