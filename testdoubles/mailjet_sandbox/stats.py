"""Counters shown by ``GET /_sandbox/stats`` (since this sandbox process started)."""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

_COUNTERS = (
    "send_calls",
    "messages_accepted",
    "emails_written",
    "webhook_posts",
    "webhook_failures",
    "webhook_dropped",
)


class Stats:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()
        self._by_status: Counter[str] = Counter()

    def add(self, name: str, amount: int = 1) -> None:
        with self._lock:
            self._counts[name] += amount

    def send_call(self, status: int) -> None:
        with self._lock:
            self._counts["send_calls"] += 1
            self._by_status[str(status)] += 1

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            data: dict[str, Any] = {name: self._counts[name] for name in _COUNTERS}
            data["send_calls_by_status"] = dict(sorted(self._by_status.items()))
            return data
