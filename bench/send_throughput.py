"""Send throughput end to end: ERP -> courierd (a real `courierd run`) -> Mailjet sandbox.

Prints figures, asserts nothing:

- dispatches per second, from the daemon being ready to the last dispatch
  reported transmitted in the ERP (target >= 50/s);
- RPC calls per dispatch, counted by the stand-in ERP (target <= 0.1);
- the daemon's peak RSS, sampled with psutil (target <= 100 MB).

    .venv/bin/python bench/send_throughput.py [--count 1000] [--batch-size 50]
        [--pending-pdfs [--pdf-render-seconds 1.3]]

`measure()` takes any ERP target with the tests' ErpBackend shape (url, db,
login, password, seed_dispatches, dispatches) plus an optional
`rpc_calls()`; the stand-in is the default. bench/odoo_throughput.py runs the
same measurement through real Odoo 18 with the addon (there the RPC figure
shows n/a: only the stand-in counts calls).
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import psutil

from standin_erp import StandinErp
from standin_erp.values import minimal_pdf

TARGET_RATE = 50.0  # dispatches per second
TARGET_RPC_PER_DISPATCH = 0.1
TARGET_RSS_MB = 100.0
API_KEY, API_SECRET = "bench-key", "bench-secret"
FINAL_STATES = ("transmitted", "failed")


class ErpTarget(Protocol):
    url: str
    db: str
    login: str
    password: str

    def seed_dispatches(self, count: int, emails: list[str] | None = None) -> list[int]: ...
    def dispatches(self, ids: list[int]) -> list[dict[str, Any]]: ...


class StandinTarget:
    """The stand-in ERP as a benchmark target, with its RPC counters."""

    def __init__(self, erp: StandinErp, with_pdf: bool = True) -> None:
        self.erp = erp
        self.with_pdf = with_pdf
        self.url, self.db, self.login, self.password = erp.url, erp.db, erp.login, erp.password

    def seed_dispatches(self, count: int, emails: list[str] | None = None) -> list[int]:
        return self.erp.seed_dispatches(count, emails, with_pdf=self.with_pdf)

    def dispatches(self, ids: list[int]) -> list[dict[str, Any]]:
        return self.erp.dispatches(ids)

    def rpc_calls(self) -> dict[str, int]:
        return self.erp.rpc_calls()


@dataclass
class Figures:
    count: int
    batch_size: int
    transmitted: int
    seconds: float
    seconds_with_startup: float
    rpc_calls: dict[str, int] | None
    peak_rss_bytes: int
    send_calls: int
    sandbox_send_seconds: float  # one Send call of `batch_size` messages, timed alone

    @property
    def rate(self) -> float:
        return self.transmitted / self.seconds if self.seconds else 0.0

    @property
    def rpc_per_dispatch(self) -> float | None:
        if self.rpc_calls is None or not self.count:
            return None
        return sum(self.rpc_calls.values()) / self.count


class RssSampler(threading.Thread):
    """Peak resident memory of one process, sampled every `interval` seconds."""

    def __init__(self, pid: int, interval: float = 0.05) -> None:
        super().__init__(name="rss-sampler", daemon=True)
        self.process = psutil.Process(pid)
        self.interval = interval
        self.peak = 0
        self._done = threading.Event()

    def run(self) -> None:
        while not self._done.is_set():
            try:
                self.peak = max(self.peak, self.process.memory_info().rss)
            except psutil.Error:
                return
            self._done.wait(self.interval)

    def stop(self) -> int:
        self._done.set()
        self.join()
        return self.peak


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, b""
    except OSError:
        return 0, b""


def _courierd() -> list[str]:
    script = Path(sys.executable).with_name("courierd")
    return [str(script)] if script.exists() else [sys.executable, "-m", "courierd.cli"]


def _start(args: list[str], env: dict[str, str], log: Path, health_url: str) -> subprocess.Popen:
    """A `courierd` subprocess, returned once `health_url` answers 200."""
    process = subprocess.Popen(
        [*_courierd(), *args], env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT
    )
    while _get(health_url)[0] != 200:
        if process.poll() is not None:
            raise RuntimeError(f"courierd {args[0]} exited: {log.read_text()[-2000:]}")
        time.sleep(0.01)
    return process


def _stop(process: subprocess.Popen) -> None:
    process.terminate()
    process.wait(30)


def _finished(target: ErpTarget, ids: list[int]) -> tuple[bool, int]:
    """(all reported, how many transmitted); the stand-in answers from one count query."""
    if isinstance(target, StandinTarget):
        counts = target.erp.store.state_counts()
        done = sum(counts.get(state, 0) for state in FINAL_STATES) >= len(ids)
        return done, counts.get("transmitted", 0)
    # Reading every dispatch loads a real Odoo: look at the newest one (claimed
    # last, oldest first) and read them all only once it is reported.
    if target.dispatches(ids[-1:])[0]["state"] not in FINAL_STATES:
        return False, 0
    states = [d["state"] for d in target.dispatches(ids)]
    return all(s in FINAL_STATES for s in states), states.count("transmitted")


def _time_one_send(sandbox_url: str, messages: int) -> float:
    """Seconds the sandbox takes for one Send call like courierd's (HTML, text, a PDF)."""
    pdf = base64.b64encode(minimal_pdf("INV/PROBE")).decode()
    body = {
        "Messages": [
            {
                "From": {"Email": "billing@company.example", "Name": "Probe"},
                "To": [{"Email": f"probe-{i}@customer.example"}],
                "Subject": "Invoice INV/PROBE",
                "TextPart": "Dear customer, here is your invoice.",
                "HTMLPart": '<p>Dear customer, <a href="https://erp.example/my">view it</a></p>',
                "CustomID": f"probe-{i}-{time.time_ns()}",
                "TrackOpens": "enabled",
                "TrackClicks": "enabled",
                "Attachments": [
                    {
                        "ContentType": "application/pdf",
                        "Filename": "probe.pdf",
                        "Base64Content": pdf,
                    }
                ],
            }
            for i in range(messages)
        ]
    }
    token = base64.b64encode(f"{API_KEY}:{API_SECRET}".encode()).decode()
    request = urllib.request.Request(
        sandbox_url + "v3.1/send",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "Authorization": f"Basic {token}"},
    )
    started = time.monotonic()
    with urllib.request.urlopen(request, timeout=120) as response:
        response.read()
    return time.monotonic() - started


def start_sandbox(workdir: Path, env: dict[str, str]) -> tuple[subprocess.Popen, str]:
    """`courierd sandbox` in its own process, as in staging; returns it and its URL."""
    port = _free_port()
    url = f"http://127.0.0.1:{port}/"
    args = ["sandbox", "--port", str(port), "--outbox", str(workdir / "outbox")]
    args += ["--api-key", API_KEY, "--api-secret", API_SECRET]
    args += ["--sent-delay", "0", "--log-level", "warning"]
    return _start(args, env, workdir / "sandbox.log", url + "_sandbox/health"), url


def measure(
    target: ErpTarget, *, count: int = 1000, batch_size: int = 50, timeout: float = 600
) -> Figures:
    """Seed `count` dispatches in `target`, run courierd until all are reported, measure.

    The Mailjet sandbox and courierd each run as their own `courierd` process,
    as in production; only the stand-in ERP (when it is the target) shares
    this process.
    """
    workdir = Path(tempfile.mkdtemp(prefix="courier-bench-"))
    ids = target.seed_dispatches(count)
    if isinstance(target, StandinTarget):
        target.erp.reset_rpc_calls()
    base_env = {k: v for k, v in os.environ.items() if not k.startswith("COURIER_")}
    http_port = _free_port()
    sandbox, sandbox_url = start_sandbox(workdir, base_env)
    env = base_env | {
        "COURIER_ODOO_URL": target.url,
        "COURIER_ODOO_DB": target.db,
        "COURIER_ODOO_LOGIN": target.login,
        "COURIER_ODOO_PASSWORD": target.password,
        "COURIER_MAILJET_API_KEY": API_KEY,
        "COURIER_MAILJET_API_SECRET": API_SECRET,
        "COURIER_MAILJET_API_URL": sandbox_url,
        "COURIER_BATCH_SIZE": str(batch_size),
        "COURIER_IDLE_SECONDS": "0.5",
        "COURIER_HTTP_PORT": str(http_port),
        "COURIER_STATE_DIR": str(workdir / "state"),
        "COURIER_LOG_LEVEL": "warning",
    }
    try:
        launched = time.monotonic()
        daemon = _start(
            ["run"], env, workdir / "courierd.log", f"http://127.0.0.1:{http_port}/healthz"
        )
        sampler = RssSampler(daemon.pid)
        sampler.start()
        ready = time.monotonic()
        try:
            done, transmitted = False, 0
            poll = 0.05 if isinstance(target, StandinTarget) else 0.25
            while not done and time.monotonic() - ready < timeout:
                time.sleep(poll)
                done, transmitted = _finished(target, ids)
            finished = time.monotonic()
        finally:
            _stop(daemon)
            peak = sampler.stop()
        stats = json.loads(_get(sandbox_url + "_sandbox/stats")[1] or b"{}")
        sandbox_send_seconds = _time_one_send(sandbox_url, batch_size)
    finally:
        _stop(sandbox)
        shutil.rmtree(workdir, ignore_errors=True)
    return Figures(
        count=count,
        batch_size=batch_size,
        transmitted=transmitted,
        seconds=finished - ready,
        seconds_with_startup=finished - launched,
        rpc_calls=target.rpc_calls() if isinstance(target, StandinTarget) else None,
        peak_rss_bytes=peak,
        send_calls=int(stats.get("send_calls", 0)),
        sandbox_send_seconds=sandbox_send_seconds,
    )


def print_figures(figures: Figures, label: str) -> None:
    rpc = figures.rpc_per_dispatch
    rows = [
        ("dispatches per second", f"{figures.rate:.1f}", f">= {TARGET_RATE:.0f}"),
        (
            "RPC calls per dispatch",
            "n/a" if rpc is None else f"{rpc:.3f}",
            f"<= {TARGET_RPC_PER_DISPATCH}",
        ),
        (
            "peak RSS of courierd (MB)",
            f"{figures.peak_rss_bytes / 2**20:.1f}",
            f"<= {TARGET_RSS_MB:.0f}",
        ),
    ]
    print(
        f"send throughput through {label}: {figures.count} dispatches, batch {figures.batch_size}"
    )
    print(
        f"  transmitted {figures.transmitted}/{figures.count} in {figures.seconds:.2f} s "
        f"({figures.seconds_with_startup:.2f} s with courierd's start), "
        f"{figures.send_calls} Mailjet Send calls"
    )
    print(f"  {'figure':<28}{'measured':>12}{'target':>12}")
    for name, measured, target in rows:
        print(f"  {name:<28}{measured:>12}{target:>12}")
    ceiling = figures.batch_size / figures.sandbox_send_seconds
    print(
        f"  the sandbox alone takes {figures.sandbox_send_seconds:.2f} s per Send call of "
        f"{figures.batch_size} (about {ceiling:.0f} dispatches/s on its own)"
    )
    if figures.rpc_calls:
        calls = ", ".join(f"{k} {v}" for k, v in sorted(figures.rpc_calls.items()))
        print(f"  RPC calls by method: {calls}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1000, help="queued dispatches (1000)")
    parser.add_argument("--batch-size", type=int, default=50, help="COURIER_BATCH_SIZE (50)")
    parser.add_argument(
        "--pending-pdfs",
        action="store_true",
        help="invoices without a stored PDF: courierd has each one rendered",
    )
    parser.add_argument(
        "--pdf-render-seconds",
        type=float,
        default=0.0,
        help="time the stand-in takes per PDF render (real Odoo: about 1.3)",
    )
    args = parser.parse_args(argv)
    with StandinErp(password="bench-password", pdf_render_seconds=args.pdf_render_seconds) as erp:
        target = StandinTarget(erp, with_pdf=not args.pending_pdfs)
        figures = measure(target, count=args.count, batch_size=args.batch_size)
    label = "the stand-in ERP and the Mailjet sandbox"
    if args.pending_pdfs:
        label += f", every PDF rendered ({args.pdf_render_seconds:g} s each)"
    print_figures(figures, label)
    return 0


if __name__ == "__main__":
    sys.exit(main())
