"""Delivering events to the webhook URL, Event API version 2 style.

One thread POSTs a JSON array of every event that is due (Mailjet groups the
events of the last second), oldest first. A batch that fails (connection
error or non-2xx answer) is retried with backoff, and nothing after it is sent
before it goes through, so each message's events keep their order. After the
retry window (24 hours at Mailjet) the batch is dropped and counted.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

import requests
import structlog

from mailjet_sandbox.stats import Stats
from mailjet_sandbox.store import DELIVERED, DROPPED, Store

log = structlog.get_logger(__name__)

MAX_BATCH = 500
POST_TIMEOUT_SECONDS = 10.0


@dataclass(frozen=True)
class RetryPolicy:
    first_delay: float = 0.2
    max_delay: float = 5.0
    window_seconds: float = 24 * 3600.0

    def delay(self, failures: int) -> float:
        return min(self.first_delay * (2 ** max(failures - 1, 0)), self.max_delay)


class WebhookSender:
    """Background delivery of due events; also idles cheaply without a URL."""

    def __init__(
        self,
        store: Store,
        stats: Stats,
        url: str | None,
        auth: tuple[str, str] | None = None,
        policy: RetryPolicy | None = None,
    ) -> None:
        self._store = store
        self._stats = stats
        self._url = url
        self._auth = auth
        self._policy = policy or RetryPolicy()
        self._wake = threading.Condition()
        self._stopping = False
        self._session = requests.Session()
        self._thread = threading.Thread(target=self._run, name="sandbox-webhook", daemon=True)

    def start(self) -> None:
        if self._url:
            self._thread.start()

    def stop(self) -> None:
        with self._wake:
            self._stopping = True
            self._wake.notify_all()
        if self._thread.is_alive():
            self._thread.join(timeout=POST_TIMEOUT_SECONDS + 1)
        self._session.close()

    def wake(self) -> None:
        """New events were scheduled: look again now rather than at the old due time."""
        with self._wake:
            self._wake.notify_all()

    def _sleep(self, seconds: float, *, interruptible: bool = True) -> bool:
        """Wait ``seconds`` (or until woken, if interruptible); False when stopping."""
        deadline = time.monotonic() + seconds
        with self._wake:
            while not self._stopping:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._wake.wait(left)
                if interruptible:
                    break
            return not self._stopping

    def _run(self) -> None:
        failures = 0
        first_failure = 0.0
        while not self._stopping:
            now = time.time()
            batch = self._store.due_undelivered(now, MAX_BATCH)
            if not batch:
                failures = 0
                next_due = self._store.next_due_at()
                wait = 1.0 if next_due is None else min(max(next_due - now, 0.0), 1.0)
                if not self._sleep(wait if wait > 0 else 0.01):
                    return
                continue
            seqs = [e.seq for e in batch]
            if self._post([e.body for e in batch]):
                self._store.mark(seqs, DELIVERED)
                failures = 0
                continue
            failures += 1
            if failures == 1:
                first_failure = now
            if now - first_failure >= self._policy.window_seconds:
                log.error("webhook_batch_dropped", events=len(batch), failures=failures)
                self._store.mark(seqs, DROPPED)
                self._stats.add("webhook_dropped")
                failures = 0
                continue
            if not self._sleep(self._policy.delay(failures), interruptible=False):
                return

    def _post(self, events: list[dict[str, Any]]) -> bool:
        try:
            response = self._session.post(
                self._url or "", json=events, auth=self._auth, timeout=POST_TIMEOUT_SECONDS
            )
        except requests.RequestException as exc:
            self._stats.add("webhook_failures")
            log.warning("webhook_post_failed", error=type(exc).__name__, events=len(events))
            return False
        if 200 <= response.status_code < 300:
            self._stats.add("webhook_posts")
            if response.status_code != 200:
                # Mailjet itself only accepts exactly 200 and would retry this.
                log.warning("webhook_not_200", status=response.status_code)
            return True
        self._stats.add("webhook_failures")
        log.warning("webhook_post_rejected", status=response.status_code, events=len(events))
        return False
