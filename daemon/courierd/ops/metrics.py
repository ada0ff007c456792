"""Prometheus metrics of the send loop, the webhook receiver and the event forwarder,
and the loop's health, shared with the HTTP server."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class Metrics:
    """The daemon's metrics in their own registry (several daemons can live in one test)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.sent = Counter(
            "courier_dispatches_sent",
            "Dispatches Mailjet accepted (transmitted), including ones found by CustomID",
            registry=self.registry,
        )
        self.failed = Counter(
            "courier_dispatches_failed",
            "Dispatches Mailjet refused for good (reported failed)",
            registry=self.registry,
        )
        self.given_up = Counter(
            "courier_dispatches_given_up",
            "Dispatches courierd stopped retrying (attempts or age bound), reported failed",
            registry=self.registry,
        )
        self.test_sent = Counter(
            "courier_dispatches_test_sent",
            "Dispatches Mailjet checked in sandbox mode and did not send (test sends)",
            registry=self.registry,
        )
        self.retried = Counter(
            "courier_dispatches_retried",
            "Dispatches handed back to Odoo to be tried again later",
            registry=self.registry,
        )
        self.send_errors = Counter(
            "courier_send_errors",
            "Mailjet calls that failed as a whole, by kind",
            ["kind"],
            registry=self.registry,
        )
        self.batch_seconds = Histogram(
            "courier_batch_seconds",
            "Time from claim to report of one batch",
            buckets=(0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 30, 60, 120),
            registry=self.registry,
        )
        self.queue_lag = Gauge(
            "courier_queue_lag_seconds",
            "Age of the oldest dispatch of the last batch when it was sent",
            registry=self.registry,
        )
        self.spool_depth = Gauge(
            "courier_report_spool_depth",
            "Results waiting in the local spool for Odoo to acknowledge them",
            registry=self.registry,
        )
        self.webhook_requests = Counter(
            "courier_webhook_requests",
            "Webhook POSTs answered, by HTTP status code",
            ["status"],
            registry=self.registry,
        )
        self.webhook_events = Counter(
            "courier_webhook_events",
            "Events received by the webhook, by outcome (stored, duplicate, ignored, rejected)",
            ["outcome"],
            registry=self.registry,
        )
        self.event_spool_depth = Gauge(
            "courier_event_spool_depth",
            "Tracking events waiting in the local spool to be forwarded to Odoo",
            registry=self.registry,
        )
        self.events_forwarded = Counter(
            "courier_events_forwarded",
            "Events Odoo's courier_ingest answered for, by result (created, duplicate, unmatched)",
            ["result"],
            registry=self.registry,
        )
        self.forward_failures = Counter(
            "courier_event_forward_failures",
            "courier_ingest calls that failed, by kind (unavailable: Odoo down; refused)",
            ["kind"],
            registry=self.registry,
        )
        self.events_refused = Counter(
            "courier_events_refused",
            "Events Odoo refused for good, kept in the spool's rejected_event table",
            registry=self.registry,
        )
        self.poll_rounds = Counter(
            "courier_poll_rounds", "Polling rounds that ran to the end", registry=self.registry
        )
        self.poll_events = Counter(
            "courier_poll_events", "New tracking events the poller spooled", registry=self.registry
        )
        self.poll_mailjet_calls = Counter(
            "courier_poll_mailjet_calls",
            "Mailjet REST calls made by the poller",
            registry=self.registry,
        )
        self.poll_errors = Counter(
            "courier_poll_errors",
            "Polling rounds stopped by a failure, by kind",
            ["kind"],
            registry=self.registry,
        )


@dataclass
class HealthSnapshot:
    last_turn_at: float | None  # time.time() of the last loop turn that completed
    spool_depth: int
    healthy: bool
    event_spool_depth: int | None = None  # None: no event spool in this process


class Health:
    """What /healthz reports: when the loop last turned successfully, and the spool depth."""

    def __init__(
        self, max_age_seconds: float, event_spool_depth: Callable[[], int] | None = None
    ) -> None:
        self._max_age = max_age_seconds
        self._event_spool_depth = event_spool_depth
        self._lock = threading.Lock()
        self._started_at = time.time()
        self._last_turn_at: float | None = None
        self._spool_depth = 0

    def turned(self, spool_depth: int) -> None:
        with self._lock:
            self._last_turn_at = time.time()
            self._spool_depth = spool_depth

    def spool(self, depth: int) -> None:
        with self._lock:
            self._spool_depth = depth

    def snapshot(self) -> HealthSnapshot:
        events = self._event_spool_depth() if self._event_spool_depth else None
        with self._lock:
            reference = self._last_turn_at or self._started_at
            return HealthSnapshot(
                last_turn_at=self._last_turn_at,
                spool_depth=self._spool_depth,
                healthy=time.time() - reference <= self._max_age,
                event_spool_depth=events,
            )
