"""Injected faults: answers with a given status and/or latency, for tests."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any


@dataclass
class Fault:
    path_prefix: str
    status: int | None
    times: int | None  # None: every matching request until cleared
    delay_seconds: float

    @classmethod
    def from_json(cls, data: Any) -> Fault:
        """Parse ``POST /_sandbox/faults``; raises ValueError on a bad rule."""
        if not isinstance(data, dict):
            raise ValueError("expected a JSON object")
        prefix = data.get("path_prefix", "/")
        status = data.get("status")
        times = data.get("times", 1)
        delay = data.get("delay_seconds", 0.0)
        if not isinstance(prefix, str) or not prefix.startswith("/"):
            raise ValueError("path_prefix must be a path starting with /")
        if status is not None and (
            isinstance(status, bool) or not isinstance(status, int) or not 400 <= status <= 599
        ):
            raise ValueError("status must be an HTTP error status (400-599) or null")
        if times is not None and (
            isinstance(times, bool) or not isinstance(times, int) or times < 1
        ):
            raise ValueError("times must be a positive integer or null (always)")
        if isinstance(delay, bool) or not isinstance(delay, int | float) or not 0 <= delay <= 600:
            raise ValueError("delay_seconds must be between 0 and 600")
        if status is None and not delay:
            raise ValueError("give a status, a delay_seconds, or both")
        return cls(prefix, status, times, float(delay))

    def to_json(self) -> dict[str, Any]:
        return {
            "path_prefix": self.path_prefix,
            "status": self.status,
            "times": self.times,
            "delay_seconds": self.delay_seconds,
        }


class FaultList:
    """Rules in the order they were added; the first matching one is used up."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []

    def add(self, fault: Fault) -> None:
        with self._lock:
            self._faults.append(fault)

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def list(self) -> list[dict[str, Any]]:
        with self._lock:
            return [f.to_json() for f in self._faults]

    def take(self, path: str) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if path.startswith(fault.path_prefix):
                    if fault.times is not None:
                        fault.times -= 1
                        if fault.times == 0:
                            self._faults.remove(fault)
                    return fault
        return None
