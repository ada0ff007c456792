"""The polling fallback for installations whose Mailjet cannot reach a webhook.

A round asks Odoo which recipients still have open tracking (`courier_open_tracking`),
reads each message's history from Mailjet (and its click statistics when it was
clicked), and spools the facts as the same normalized events the webhook gives.
Calls to Mailjet are sequential, optionally spaced, and stop at the first sign of
trouble (429, 5xx, Mailjet or Odoo unreachable): the loop then backs off. Rounds
that find nothing space themselves out, up to 8 times the interval.

It works through the ports of courierd.domain.ports (`OpenTracking`,
`TrackingHistory`, `TrackingSpool`); Mailjet's side is courierd.mailjet.provider.
"""

from __future__ import annotations

import random
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence

from courierd.domain.backoff import Backoff
from courierd.domain.contract import OpenRecipient
from courierd.domain.errors import (
    ErpCallError,
    ErpUnavailable,
    FailureKind,
    MailProviderCallFailed,
)
from courierd.domain.ports import OpenTracking, TrackingHistory, TrackingSpool
from courierd.domain.scanner_guard import ScannerGuard
from courierd.domain.tracking import TrackingEvent
from courierd.ops.logs import get_logger
from courierd.ops.metrics import Metrics

log = get_logger(__name__)

# After a round stopped by trouble: 10, 20, 40 s ... 15 min.
BACKOFF = Backoff(base_seconds=10.0, max_seconds=900.0)
MAX_QUIET_FACTOR = 8

# Failures that say Mailjet (or our access to it) is in trouble: stop the round.
# Anything else (a 400 about one message) skips that message only.
ROUND_STOPPERS = frozenset(
    {
        FailureKind.RATE_LIMITED,
        FailureKind.SERVER_ERROR,
        FailureKind.TIMEOUT,
        FailureKind.CONNECTION,
        FailureKind.AUTH,
        FailureKind.BAD_RESPONSE,
    }
)

_MAILJET_HINTS = {
    FailureKind.RATE_LIMITED: "Mailjet rate-limits this API key: poll less often (a longer "
    "interval, a smaller batch, a delay between recipients) or receive webhooks instead",
    FailureKind.AUTH: "check COURIER_MAILJET_API_KEY and COURIER_MAILJET_API_SECRET",
    FailureKind.BAD_RESPONSE: "check COURIER_MAILJET_API_URL points at Mailjet's API",
}
_DEFAULT_MAILJET_HINT = "check Mailjet's status page and this host's network access to it"


class SeenKeys:
    """Dedupe keys this poller already spooled, the oldest forgotten first.

    The spool forgets an event once Odoo has it, and a recipient stays open (and is
    read again) until its tracking ends: without this memory every round would send
    Odoo the same facts again. After a restart the first rounds do send them again
    once; Odoo's ingest deduplicates by key, so nothing is stored twice.
    """

    def __init__(self, capacity: int = 200_000) -> None:
        self._capacity = capacity
        self._keys: OrderedDict[str, None] = OrderedDict()

    def __contains__(self, key: object) -> bool:
        return key in self._keys

    def remember(self, keys: Sequence[str]) -> None:
        for key in keys:
            self._keys[key] = None
            self._keys.move_to_end(key)
        while len(self._keys) > self._capacity:
            self._keys.popitem(last=False)


def _stop_wait(stop: threading.Event, seconds: float) -> None:
    stop.wait(seconds)


class Poller:
    def __init__(
        self,
        erp: OpenTracking,
        history: TrackingHistory,
        spool: TrackingSpool,
        guard: ScannerGuard,
        *,
        interval_seconds: float,
        max_age_days: int,
        batch_size: int,
        metrics: Metrics | None = None,
        recipient_delay_seconds: float = 0.0,
        wait: Callable[[threading.Event, float], None] = _stop_wait,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self.erp = erp
        self.history = history
        self.spool = spool
        self.guard = guard
        self.interval_seconds = interval_seconds
        self.max_age_days = max_age_days
        self.batch_size = batch_size
        self.recipient_delay_seconds = recipient_delay_seconds
        self._metrics = metrics
        self._wait = wait
        self._jitter = jitter
        self._stop = threading.Event()
        self._seen = SeenKeys()

    # The loop.

    def run(self, stop: threading.Event) -> None:
        """Poll until `stop` is set; every failure becomes a wait, nothing raises out."""
        self._stop = stop
        failures = 0
        quiet_rounds = 0
        while not stop.is_set():
            try:
                found = self.poll_once()
            except Exception as exc:
                failures += 1
                self._wait(stop, self._after_failure(exc, failures))
                continue
            failures = 0
            quiet_rounds = 0 if found else quiet_rounds + 1
            self._wait(stop, self.next_interval(quiet_rounds))

    def next_interval(self, quiet_rounds: int) -> float:
        """The wait after a round: the interval, doubled per quiet round, at most 8 times it."""
        spacing = Backoff(self.interval_seconds, self.interval_seconds * MAX_QUIET_FACTOR)
        return spacing.delay(quiet_rounds + 1, jitter=1.0)

    def backoff(self, failures: int, retry_after: float | None = None) -> float:
        """The domain's backoff, never shorter than Mailjet's Retry-After, nor past the cap:
        a longer Retry-After is not waited out in one go, the next round asks again."""
        return min(BACKOFF.max_seconds, BACKOFF.delay(failures, self._jitter(), retry_after))

    def _after_failure(self, exc: Exception, failures: int) -> float:
        if isinstance(exc, MailProviderCallFailed):
            failure = exc.failure
            delay = self.backoff(failures, failure.retry_after)
            hint = _MAILJET_HINTS.get(failure.kind, _DEFAULT_MAILJET_HINT)
            log.warning(
                f"Mailjet lookups failed, polling again in {delay:.0f}s; {hint}",
                kind=str(failure.kind),
                status=failure.status,
                error=failure.message,
            )
            kind = str(failure.kind)
        elif isinstance(exc, ErpUnavailable):
            delay = self.backoff(failures)
            log.warning(f"Odoo unreachable, polling again in {delay:.0f}s; {exc.hint}")
            kind = "erp_unavailable"
        elif isinstance(exc, ErpCallError):
            delay = self.backoff(failures)
            log.error(
                f"Odoo refused courier_open_tracking, polling again in {delay:.0f}s; check that "
                "the invoice_courier addon is up to date and COURIER_ODOO_LOGIN is the Courier "
                "daemon user",
                error=str(exc),
            )
            kind = "erp_refused"
        else:
            delay = self.backoff(failures)
            log.exception(f"unexpected error while polling, polling again in {delay:.0f}s")
            kind = "unexpected"
        if self._metrics is not None:
            self._metrics.poll_errors.labels(kind=kind).inc()
        return delay

    # One round.

    def poll_once(self) -> int:
        """One round; the number of new events spooled.

        Events gathered before a failure are spooled before the failure is raised:
        a round cut short loses nothing it already read.
        """
        rows = self.erp.open_tracking(self.batch_size, self.max_age_days)
        gathered: list[TrackingEvent] = []
        try:
            for index, row in enumerate(rows):
                if index and self.recipient_delay_seconds > 0:
                    self._wait(self._stop, self.recipient_delay_seconds)
                if self._stop.is_set():
                    # Stopping: the rest stay open in Odoo and are read after the restart.
                    break
                gathered.extend(self._poll_recipient(row))
        finally:
            added = self._spool(gathered)
        if self._metrics is not None:
            self._metrics.poll_rounds.inc()
        log.debug("poll round done", recipients=len(rows), events=len(gathered), new=added)
        return added

    def _poll_recipient(self, row: OpenRecipient) -> list[TrackingEvent]:
        try:
            history = self.history.read(row, self._count_call)
        except MailProviderCallFailed as exc:
            if exc.failure.kind in ROUND_STOPPERS:
                raise
            log.warning(
                "Mailjet refused the lookup of one message; skipped this round",
                message_id=row.get("message_id"),
                custom_id=row.get("custom_id"),
                error=exc.failure.message,
            )
            return []
        for reason in history.skipped:
            log.info(
                f"a Mailjet history line was not used: {reason}",
                message_id=row.get("message_id"),
                custom_id=row.get("custom_id"),
            )
        return history.events

    def _count_call(self) -> None:
        if self._metrics is not None:
            self._metrics.poll_mailjet_calls.inc()

    def _spool(self, events: list[TrackingEvent]) -> int:
        fresh = [e for e in events if e.dedupe_key not in self._seen]
        if not fresh:
            return 0
        added = self.spool.add(self.guard.check_all(fresh))
        self._seen.remember([e.dedupe_key for e in fresh])
        if self._metrics is not None:
            self._metrics.poll_events.inc(added)
        return added
