"""Tracking throughput: Mailjet webhook -> courierd's event spool -> the ERP. Prints figures.

Two phases, each with a real `courierd run` subprocess on the same state directory:

1. **Accepted into the spool.** courierd is pointed at an ERP address where
   nothing listens, so nothing is forwarded:
   client threads POST Event API callbacks to the webhook receiver, version 2
   arrays (Mailjet groups events) and, separately, version 1 single objects.
   Each 200 means the events are durably stored (SQLite, WAL, fsync). Target:
   at least 2,000 events/s.
2. **Applied to the ERP.** courierd is restarted on the same spool with the
   ERP's real address; the clock runs from its launch until the spool is empty
   (every event acknowledged by the ERP: stored once, statuses ranked). Target:
   at least 500 events/s, batched.

The events are real facts of real recipients: the dispatches are seeded and
reported transmitted through the contract first (fake MessageIDs), then each
recipient gets a delivery, an open and a click.

    .venv/bin/python bench/tracking_throughput.py [--dispatches 4000] [--array 100] [--clients 4]

`measure()` takes any ErpBackend-shaped target; bench/odoo_tracking_throughput.py
runs it through real Odoo 18 with the addon.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import shutil
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import SecretStr
from send_throughput import ErpTarget, StandinTarget, _free_port, _get, _start, _stop

from courierd.odoo.client import ErpClient
from standin_erp import StandinErp

TARGET_ACCEPT_RATE = 2000.0
TARGET_APPLY_RATE = 500.0
PASSWORD = "bench-webhook-password"
FIRST_MESSAGE_ID = 1152921504606846976  # Mailjet's MessageIDs exceed 2^32
EVENT_TIME = 1790000000


@dataclass
class Figures:
    events: int
    array_size: int
    clients: int
    accept_seconds: float
    single_events: int
    single_seconds: float
    apply_seconds: float
    stored: int

    @property
    def accept_rate(self) -> float:
        return self.events / self.accept_seconds

    @property
    def single_rate(self) -> float:
        return self.single_events / self.single_seconds if self.single_seconds else 0.0

    @property
    def apply_rate(self) -> float:
        return self.stored / self.apply_seconds


def mark_transmitted(target: ErpTarget, ids: list[int]) -> list[dict[str, Any]]:
    """Claim and report the seeded dispatches as Mailjet-accepted; their recipients."""
    erp = ErpClient(
        url=target.url, db=target.db, login=target.login, password=SecretStr(target.password)
    )
    recipients: list[dict[str, Any]] = []
    wanted = set(ids)
    while wanted:
        claimed = [d for d in erp.claim("bench", 200, 600) if d["id"] in wanted]
        if not claimed:
            raise RuntimeError("the seeded dispatches could not all be claimed")
        results = []
        for dispatch in claimed:
            wanted.discard(dispatch["id"])
            sent = []
            for r in dispatch["recipients"]:
                message_id = str(FIRST_MESSAGE_ID + len(recipients))
                recipients.append({"email": r["email"], "message_id": message_id})
                sent.append({"email": r["email"], "message_id": message_id, "message_uuid": ""})
            results.append(
                {
                    "id": dispatch["id"],
                    "custom_id": dispatch["custom_id"],
                    "outcome": "transmitted",
                    "time": "2026-11-27T08:00:00Z",
                    "recipients": sent,
                }
            )
        erp.report(results)
    return recipients


def callbacks(recipients: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A delivery, an open and a click per recipient, as Mailjet posts them."""
    events = []
    for r in recipients:
        common = {"MessageID": int(r["message_id"]), "email": r["email"], "CustomID": ""}
        agent = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
        events.append(common | {"event": "sent", "time": EVENT_TIME, "smtp_reply": "250 OK"})
        events.append(common | {"event": "open", "time": EVENT_TIME + 60, "agent": agent})
        events.append(
            common
            | {
                "event": "click",
                "time": EVENT_TIME + 90,
                "agent": agent,
                "url": "https://erp.example.com/my/invoices/1?access_token=x",
            }
        )
    return events


def _post(url: str, body: Any) -> int:
    token = base64.b64encode(f"mailjet:{PASSWORD}".encode()).decode()
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "Authorization": f"Basic {token}"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def post_all(url: str, bodies: list[Any], clients: int) -> float:
    """POST every body from `clients` threads; seconds taken. Any non-200 aborts."""
    queue = list(reversed(bodies))
    lock = threading.Lock()
    failures: list[int] = []

    def worker() -> None:
        while True:
            with lock:
                if not queue or failures:
                    return
                body = queue.pop()
            status = _post(url, body)
            if status != 200:
                failures.append(status)

    threads = [threading.Thread(target=worker) for _ in range(clients)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise RuntimeError(f"the webhook answered {failures[0]}; see the courierd log")
    return time.monotonic() - started


def _metric(base_url: str, name: str) -> float | None:
    for line in _get(base_url + "/metrics")[1].decode().splitlines():
        sample, _, value = line.partition(" ")
        if sample == name:
            return float(value)
    return None


def measure(
    target: ErpTarget,
    *,
    dispatches: int,
    array_size: int,
    clients: int,
    singles: int,
    stored_count: Callable[[], int],
    timeout: float = 900,
) -> Figures:
    """Run both phases; `stored_count()` is how many tracking events the ERP holds."""
    ids = target.seed_dispatches(dispatches)
    recipients = mark_transmitted(target, ids)
    events = callbacks(recipients)
    arrays = [events[i : i + array_size] for i in range(0, len(events), array_size)]
    single_bodies = [dict(e, time=e["time"] + 1000) for e in events[:singles]]
    before = stored_count()

    workdir = Path(tempfile.mkdtemp(prefix="courier-tracking-bench-"))
    http_port, webhook_port = _free_port(), _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("COURIER_")} | {
        "COURIER_ODOO_URL": f"http://127.0.0.1:{_free_port()}",
        "COURIER_ODOO_DB": target.db,
        "COURIER_ODOO_LOGIN": target.login,
        "COURIER_ODOO_PASSWORD": target.password,
        "COURIER_MAILJET_API_KEY": "bench-key",
        "COURIER_MAILJET_API_SECRET": "bench-secret",
        "COURIER_MAILJET_API_URL": f"http://127.0.0.1:{_free_port()}/",
        "COURIER_IDLE_SECONDS": "5",
        "COURIER_HTTP_PORT": str(http_port),
        "COURIER_WEBHOOK_PORT": str(webhook_port),
        "COURIER_WEBHOOK_PASSWORD": PASSWORD,
        "COURIER_STATE_DIR": str(workdir / "state"),
        "COURIER_LOG_LEVEL": "warning",
    }
    base_url = f"http://127.0.0.1:{http_port}"
    webhook = f"http://127.0.0.1:{webhook_port}/webhooks/mailjet"
    try:
        daemon = _start(["run"], env, workdir / "courierd.log", base_url + "/healthz")
        try:
            accept_seconds = post_all(webhook, arrays, clients)
            single_seconds = post_all(webhook, single_bodies, clients) if singles else 0.0
            spooled = _metric(base_url, "courier_event_spool_depth")
        finally:
            _stop(daemon)
        expected = len(events) + len(single_bodies)
        if spooled != expected:
            raise RuntimeError(f"the spool holds {spooled} events, {expected} were posted")

        started = time.monotonic()
        env["COURIER_ODOO_URL"] = target.url
        daemon = _start(["run"], env, workdir / "courierd.log", base_url + "/healthz")
        try:
            while time.monotonic() - started < timeout:
                if _metric(base_url, "courier_event_spool_depth") == 0:
                    break
                time.sleep(0.05)
            apply_seconds = time.monotonic() - started
        finally:
            _stop(daemon)
        stored = stored_count() - before
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return Figures(
        events=len(events),
        array_size=array_size,
        clients=clients,
        accept_seconds=accept_seconds,
        single_events=len(single_bodies),
        single_seconds=single_seconds,
        apply_seconds=apply_seconds,
        stored=stored,
    )


def print_figures(figures: Figures, label: str) -> None:
    def verdict(value: float, target: float) -> str:
        return "met" if value >= target else "NOT met"

    print(f"Tracking throughput, {label}")
    print(
        f"  accepted into the spool: {figures.accept_rate:,.0f} events/s "
        f"({figures.events} events in arrays of {figures.array_size}, {figures.clients} clients, "
        f"{figures.accept_seconds:.2f} s; target >= {TARGET_ACCEPT_RATE:,.0f}/s: "
        f"{verdict(figures.accept_rate, TARGET_ACCEPT_RATE)})"
    )
    if figures.single_events:
        print(
            f"  version-1 single events: {figures.single_rate:,.0f} events/s "
            f"({figures.single_events} POSTs, {figures.single_seconds:.2f} s)"
        )
    print(
        f"  applied to the ERP: {figures.apply_rate:,.0f} events/s "
        f"({figures.stored} events stored in {figures.apply_seconds:.2f} s; "
        f"target >= {TARGET_APPLY_RATE:,.0f}/s: {verdict(figures.apply_rate, TARGET_APPLY_RATE)})"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dispatches", type=int, default=4000)
    parser.add_argument("--array", type=int, default=100, help="events per version-2 POST")
    parser.add_argument("--clients", type=int, default=4, help="concurrent webhook POSTs")
    parser.add_argument("--singles", type=int, default=2000, help="version-1 POSTs")
    args = parser.parse_args(argv)
    with StandinErp() as erp:
        target = StandinTarget(erp)
        figures = measure(
            target,
            dispatches=args.dispatches,
            array_size=args.array,
            clients=args.clients,
            singles=args.singles,
            stored_count=erp.event_count,
        )
    print_figures(figures, "stand-in ERP")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
