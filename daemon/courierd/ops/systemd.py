"""systemd notifications (Type=notify): READY, WATCHDOG, STOPPING, STATUS.

Without NOTIFY_SOCKET (not started by systemd, tests) every call does nothing.
The send loop pings WATCHDOG=1 at each turn. Between turns (idle waits, Odoo
back-off, a batch of slow PDF renders, bounded by their timeouts) `WatchdogKeeper`
pings from a timer thread, but only while the loop has shown progress within
`stall_seconds`: a loop that is really stuck stops the pings and systemd
restarts the service, which is what the watchdog is for.
"""

from __future__ import annotations

import os
import threading
import time

import sdnotify


class Notifier:
    def __init__(self, environ: dict[str, str] | None = None) -> None:
        environ = dict(os.environ) if environ is None else environ
        self.enabled = bool(environ.get("NOTIFY_SOCKET"))
        self._notifier = sdnotify.SystemdNotifier() if self.enabled else None

    def _send(self, line: str) -> None:
        if self._notifier is not None:
            self._notifier.notify(line)

    def ready(self, status: str) -> None:
        self._send(f"READY=1\nSTATUS={status}")

    def watchdog(self) -> None:
        self._send("WATCHDOG=1")

    def status(self, text: str) -> None:
        self._send(f"STATUS={text}")

    def stopping(self) -> None:
        self._send("STOPPING=1\nSTATUS=stopping: finishing the batch in flight")


class WatchdogKeeper:
    def __init__(self, notifier: Notifier, interval_seconds: float, stall_seconds: float) -> None:
        self._notifier = notifier
        self._interval = interval_seconds
        self._stall = stall_seconds
        self._last_progress = time.monotonic()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="watchdog", daemon=True)

    def progress(self) -> None:
        """The loop made progress (a turn ended, a wait slice passed): ping now."""
        self._last_progress = time.monotonic()
        self._notifier.watchdog()

    def start(self) -> None:
        if self._notifier.enabled:
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            if time.monotonic() - self._last_progress < self._stall:
                self._notifier.watchdog()


def watchdog_interval(environ: dict[str, str] | None = None, default: float = 20.0) -> float:
    """Half of systemd's WatchdogSec (WATCHDOG_USEC), as systemd recommends."""
    environ = dict(os.environ) if environ is None else environ
    try:
        return max(1.0, int(environ["WATCHDOG_USEC"]) / 2_000_000)
    except (KeyError, ValueError):
        return default
