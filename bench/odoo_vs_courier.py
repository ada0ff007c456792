"""Odoo 18's own batch Send against invoice_courier, through the same real Odoo (prints figures).

One run, one database (the fixtures of tests/support/odoo.py install the addon
in a fresh database and serve it, threaded; that takes a few minutes):

1. Odoo's own Send: BENCH_COUNT posted invoices without a stored PDF are sent
   with the batch "Send" wizard (account.move.send.batch.wizard, as from the
   invoice list). Odoo 18 defers the work to the cron "Send invoices
   automatically", which the bench runs at once, again and again, until every
   invoice is done (PDF rendered, email queued); then Odoo's mail queue
   (mail.mail process_email_queue) hands the emails to an SMTP sink on
   loopback. Measured: from the click to the last email received by the sink.
2. invoice_courier: for each setting of BENCH_CONCURRENCY x BENCH_ODOO_WORKERS,
   BENCH_COUNT other posted invoices without a stored PDF are queued with the
   addon's bulk send (courier.bulk.send), and a real `courierd run` subprocess
   (talking to the Mailjet sandbox) has their PDFs rendered by Odoo, sends and
   reports them. Measured: from the click to the last dispatch transmitted.
   courierd's RPC calls are counted by a loopback proxy in front of Odoo, its
   peak RSS sampled with psutil.
3. The render limit, on each Odoo courierd runs against: BENCH_COUNT other
   invoices' dispatches claimed at once (as admin), then nothing but
   courier_render_pdfs calls, BENCH_PDF_BATCH invoices a call, for each
   BENCH_RENDER_CONCURRENCY calls side by side; the best rate is the machine's
   render limit, and each courierd row is printed as a share of it.
4. Link only (the company's "Send the link only"): BENCH_LINK_COUNT other invoices
   sent by courierd as in 2, no PDF rendered; printed against Odoo's own Send.

    .venv/bin/python -m pytest -p tests.support.odoo bench/odoo_vs_courier.py -q -s

BENCH_COUNT (default 80) invoices per measurement; BENCH_CONCURRENCY (default
"4,8,12") the COURIER_PDF_CONCURRENCY values to try; BENCH_ODOO_WORKERS
(default "0") the Odoo servers to try them on: 0 is the fixture's threaded
server, N > 0 a second odoo-bin with --workers=N started on the same database;
BENCH_PDF_BATCH (default "1") the COURIER_PDF_BATCH_SIZE values to try with each
(1: one invoice per courier_render_pdf call; N: N per courier_render_pdfs call).
BENCH_RENDER_CONCURRENCY (default "2,4") the parallel render calls of the render
limit; BENCH_LINK_COUNT (default 500) the invoices of the link-only run (0: none).
Without an Odoo 18 it skips with one line, like the tests.
"""

from __future__ import annotations

import http.client
import json
import os
import queue
import shutil
import socketserver
import subprocess
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from send_throughput import (
    API_KEY,
    API_SECRET,
    RssSampler,
    _free_port,
    _get,
    _start,
    _stop,
    start_sandbox,
)

from tests.support.odoo import ADMIN_LOGIN, ADMIN_PASSWORD, OdooServer
from tests.support.processes import artifact_path, http_get, wait_until
from tools.odoo_local import rpc_login

ODOO_MEASURED_IN_DESIGN = 41.0  # invoices per minute, DESIGN.md "Speed facts"
TARGET_FACTOR = 10.0
FINAL_STATES = ("transmitted", "failed")
TIMEOUT = 900.0
WARM_UP_COUNT = 12


# ------------------------------------------------------------------ SMTP sink


class _SmtpHandler(socketserver.StreamRequestHandler):
    """Just enough SMTP for smtplib: accepts every message, keeps only when it came."""

    server: SmtpSink

    def _reply(self, line: str) -> None:
        self.wfile.write(line.encode() + b"\r\n")

    def handle(self) -> None:
        self._reply("220 sink ESMTP")
        while line := self.rfile.readline():
            verb = line[:4].upper()
            if verb == b"EHLO":
                self._reply("250-sink")
                self._reply("250 8BITMIME")
            elif verb == b"DATA":
                self._reply("354 end with <CRLF>.<CRLF>")
                size = 0
                while (chunk := self.rfile.readline()) not in (b".\r\n", b".\n", b""):
                    size += len(chunk)
                self.server.received(size)
                self._reply("250 queued")
            elif verb == b"QUIT":
                self._reply("221 bye")
                return
            else:  # HELO, MAIL, RCPT, RSET, NOOP
                self._reply("250 ok")


class SmtpSink(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _SmtpHandler)
        self.port = int(self.server_address[1])
        self.count = 0
        self.bytes = 0
        self.last_at = 0.0
        self._lock = threading.Lock()
        threading.Thread(target=self.serve_forever, name="smtp-sink", daemon=True).start()

    def received(self, size: int) -> None:
        with self._lock:
            self.count += 1
            self.bytes += size
            self.last_at = time.monotonic()

    def close(self) -> None:
        self.shutdown()
        self.server_close()


# ---------------------------------------------------- RPC counting proxy


class RpcCounter(ThreadingHTTPServer):
    """A loopback HTTP proxy in front of Odoo counting the calls by `model.method`."""

    daemon_threads = True

    def __init__(self, upstream_port: int) -> None:
        super().__init__(("127.0.0.1", 0), _ProxyHandler)
        self.upstream_port = upstream_port
        self.url = f"http://127.0.0.1:{self.server_address[1]}"
        self.calls: Counter[str] = Counter()
        self._lock = threading.Lock()
        threading.Thread(target=self.serve_forever, name="rpc-proxy", daemon=True).start()

    def count(self, path: str, body: bytes) -> None:
        name = path
        try:
            params = json.loads(body).get("params", {})
            if params.get("method") == "execute_kw":
                name = f"{params['args'][3]}.{params['args'][4]}"
            elif "service" in params:
                name = f"{params['service']}.{params['method']}"
            elif "model" in params:
                name = f"{params['model']}.{params['method']}"
        except (ValueError, KeyError, IndexError, AttributeError, TypeError):
            pass
        with self._lock:
            self.calls[name] += 1

    def take(self) -> Counter[str]:
        with self._lock:
            calls, self.calls = self.calls, Counter()
        return calls

    def close(self) -> None:
        self.shutdown()
        self.server_close()


class _ProxyHandler(BaseHTTPRequestHandler):
    server: RpcCounter
    protocol_version = "HTTP/1.1"
    HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "host"}

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _forward(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.command == "POST":
            self.server.count(self.path, body)
        upstream = http.client.HTTPConnection("127.0.0.1", self.server.upstream_port, timeout=600)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in self.HOP}
        upstream.request(self.command, self.path, body=body or None, headers=headers)
        response = upstream.getresponse()
        data = response.read()
        upstream.close()
        self.send_response(response.status)
        for key, value in response.getheaders():
            if key.lower() not in self.HOP:
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = _forward


# ------------------------------------------------------------------ helpers


def _minutes_rate(count: int, seconds: float) -> float:
    return count * 60.0 / seconds if seconds else 0.0


def _load() -> str:
    # The machine may be shared: each figure is printed with the load it ran under.
    one, five, _ = os.getloadavg()
    return f"load average {one:.1f} / {five:.1f}"


def _int_list(name: str, default: str) -> list[int]:
    return [int(item) for item in os.environ.get(name, default).split(",") if item.strip()]


def _post_invoices(admin: Any, customer_id: int, count: int, label: str) -> list[int]:
    """`count` posted customer invoices without a stored PDF."""
    line = {"name": f"Consulting ({label})", "quantity": 1}
    move_ids = admin.execute(
        "account.move",
        "create",
        [
            {
                "move_type": "out_invoice",
                "partner_id": customer_id,
                "invoice_line_ids": [(0, 0, dict(line, price_unit=100.0 + i))],
            }
            for i in range(count)
        ],
    )
    admin.execute("account.move", "action_post", move_ids)
    return move_ids


def _set_base_urls(admin: Any, url: str) -> None:
    # Links, and the assets wkhtmltopdf fetches, come from the server doing the work.
    params = admin.env["ir.config_parameter"]
    for key in ("web.base.url", "report.url"):
        params.set_param(key, url)


# -------------------------------------------------------- Odoo's own Send


@dataclass
class OdooFigures:
    count: int
    emails: int
    email_bytes: int
    documents_seconds: float  # click -> every PDF made and email queued
    seconds: float  # click -> last email received by the SMTP sink
    cron_runs: int
    load: str = ""

    @property
    def per_minute(self) -> float:
        return _minutes_rate(self.count, self.seconds)


def measure_odoo_send(server: OdooServer, count: int) -> OdooFigures:
    admin = server.admin()
    sink = SmtpSink()
    try:
        admin.execute(
            "ir.mail_server",
            "create",
            {
                "name": "bench SMTP sink",
                "smtp_host": "127.0.0.1",
                "smtp_port": sink.port,
                "smtp_encryption": "none",
                "sequence": 1,
            },
        )
        move_ids = _post_invoices(admin, server.customer_id, count, "Odoo's Send")
        [cron_id] = admin.execute(
            "ir.model.data",
            "search_read",
            [("module", "=", "account"), ("name", "=", "ir_cron_account_move_send")],
            ["res_id"],
        )
        context = {"active_model": "account.move", "active_ids": move_ids}
        started = time.monotonic()
        # The user's click: the batch wizard on the selected invoices, "Send".
        wizard_id = admin.execute_kw(
            "account.move.send.batch.wizard",
            "create",
            [{"move_ids": [(6, 0, move_ids)]}],
            {"context": context},
        )
        admin.execute_kw(
            "account.move.send.batch.wizard",
            "action_send_and_print",
            [[wizard_id]],
            {"context": context},
        )
        # The click triggered the cron; run it back to back until nothing waits.
        cron_runs = 0
        pending = [("id", "in", move_ids), ("sending_data", "!=", False)]
        while admin.execute("account.move", "search_count", pending):
            admin.execute("ir.cron", "method_direct_trigger", [cron_id["res_id"]])
            cron_runs += 1
            if time.monotonic() - started > TIMEOUT:
                raise TimeoutError("Odoo's Send cron did not finish")
        documents_done = time.monotonic()
        outgoing = [("model", "=", "account.move"), ("res_id", "in", move_ids)]
        outgoing += [("state", "=", "outgoing")]
        while admin.execute("mail.mail", "search_count", outgoing):
            admin.execute("mail.mail", "process_email_queue")
            if time.monotonic() - started > TIMEOUT:
                raise TimeoutError("Odoo's mail queue did not empty")
        sent_moves = admin.execute(
            "account.move", "search_count", [("id", "in", move_ids), ("is_move_sent", "=", True)]
        )
        if sent_moves != count or sink.count < count:
            raise AssertionError(
                f"Odoo's Send: {sent_moves}/{count} invoices sent, {sink.count} emails received"
            )
        return OdooFigures(
            count=count,
            emails=sink.count,
            email_bytes=sink.bytes,
            documents_seconds=documents_done - started,
            seconds=sink.last_at - started,
            cron_runs=cron_runs,
        )
    finally:
        sink.close()


# ---------------------------------------------------------- invoice_courier


@dataclass
class CourierFigures:
    count: int
    concurrency: int
    pdf_batch: int
    odoo_workers: int
    transmitted: int
    seconds: float
    rpc_calls: Counter[str]
    peak_rss_bytes: int
    send_calls: int
    click_seconds: float = 0.0  # the bulk send's own time, within `seconds`
    load: str = ""
    paired_limit: RenderLimit | None = None  # the render limit measured right before

    @property
    def per_minute(self) -> float:
        return _minutes_rate(self.transmitted, self.seconds)

    @property
    def rpc_per_dispatch(self) -> float:
        return sum(self.rpc_calls.values()) / self.count if self.count else 0.0


def measure_courier(
    server: OdooServer,
    odoo_url: str,
    count: int,
    concurrency: int,
    odoo_workers: int,
    pdf_batch: int = 1,
    link_only: bool = False,
) -> CourierFigures:
    admin = server.admin()
    label = f"courier c{concurrency} b{pdf_batch}" + (" link" if link_only else "")
    move_ids = _post_invoices(admin, server.customer_id, count, label)
    company_id = admin.env.user.company_id.id
    workdir = Path(tempfile.mkdtemp(prefix="courier-vs-odoo-"))
    proxy = RpcCounter(int(odoo_url.rsplit(":", 1)[1]))
    base_env = {k: v for k, v in os.environ.items() if not k.startswith("COURIER_")}
    http_port = _free_port()
    sandbox, sandbox_url = start_sandbox(workdir, base_env)
    env = base_env | {
        "COURIER_ODOO_URL": proxy.url,
        "COURIER_ODOO_DB": server.db,
        "COURIER_ODOO_LOGIN": server.daemon_login,
        "COURIER_ODOO_PASSWORD": server.daemon_password,
        "COURIER_MAILJET_API_KEY": API_KEY,
        "COURIER_MAILJET_API_SECRET": API_SECRET,
        "COURIER_MAILJET_API_URL": sandbox_url,
        "COURIER_PDF_CONCURRENCY": str(concurrency),
        "COURIER_PDF_BATCH_SIZE": str(pdf_batch),
        "COURIER_HTTP_PORT": str(http_port),
        "COURIER_STATE_DIR": str(workdir / "state"),
        "COURIER_LOG_LEVEL": "warning",
    }
    log_path = artifact_path(f"bench-courierd-c{concurrency}-b{pdf_batch}-w{odoo_workers}.log")
    try:
        daemon = _start(["run"], env, log_path, f"http://127.0.0.1:{http_port}/healthz")
        sampler = RssSampler(daemon.pid)
        sampler.start()
        try:
            proxy.take()  # the start's login and version calls are not per dispatch
            if link_only:
                admin.execute("res.company", "write", [company_id], {"courier_link_only": True})
            started = time.monotonic()
            # The user's click: the addon's bulk send on the selected invoices.
            wizard_id = admin.execute(
                "courier.bulk.send", "create", {"move_ids": [(6, 0, move_ids)]}
            )
            admin.execute("courier.bulk.send", "action_send", [wizard_id])
            clicked = time.monotonic()
            mine = [("move_id", "in", move_ids)]
            done = [*mine, ("state", "in", list(FINAL_STATES))]
            while admin.execute("courier.dispatch", "search_count", done) < count:
                if daemon.poll() is not None:
                    raise RuntimeError(f"courierd exited; log: {log_path}")
                if time.monotonic() - started > TIMEOUT:
                    raise TimeoutError(f"courierd did not finish; log: {log_path}")
                time.sleep(0.1)
            finished = time.monotonic()
            transmitted = admin.execute(
                "courier.dispatch", "search_count", [*mine, ("state", "=", "transmitted")]
            )
        finally:
            if link_only:
                admin.execute("res.company", "write", [company_id], {"courier_link_only": False})
            _stop(daemon)
            peak = sampler.stop()
        calls = proxy.take()
        stats = json.loads(_get(sandbox_url + "_sandbox/stats")[1] or b"{}")
    finally:
        _stop(sandbox)
        proxy.close()
        shutil.rmtree(workdir, ignore_errors=True)
    return CourierFigures(
        count=count,
        concurrency=concurrency,
        pdf_batch=pdf_batch if not link_only else 0,
        odoo_workers=odoo_workers,
        transmitted=transmitted,
        seconds=finished - started,
        click_seconds=clicked - started,
        rpc_calls=calls,
        peak_rss_bytes=peak,
        send_calls=int(stats.get("send_calls", 0)),
    )


@dataclass
class RenderLimit:
    count: int
    batch: int
    concurrency: int
    odoo_workers: int
    seconds: float
    load: str

    @property
    def per_minute(self) -> float:
        return _minutes_rate(self.count, self.seconds)


def measure_render_limit(
    server: OdooServer, odoo_url: str, count: int, batch: int, concurrency: int, workers: int
) -> RenderLimit:
    """Invoices per minute when Odoo does nothing but render PDFs, `concurrency` calls of
    `batch` invoices side by side: `count` dispatches claimed at once, rendered, given up."""
    admin = server.admin()
    move_ids = _post_invoices(admin, server.customer_id, count, f"render c{concurrency}")
    wizard_id = admin.execute("courier.bulk.send", "create", {"move_ids": [(6, 0, move_ids)]})
    admin.execute("courier.bulk.send", "action_send", [wizard_id])
    claimed = []
    while batch_claimed := admin.execute(
        "courier.dispatch", "courier_claim", "bench-render-limit", 200, 3600
    ):
        claimed += batch_claimed
    ids = [d["id"] for d in claimed]
    groups = [ids[i : i + batch] for i in range(0, len(ids), batch)]
    # Logged in before the clock starts; a render call takes whichever is free.
    connections: queue.Queue[Any] = queue.Queue()
    for _ in range(concurrency):
        connections.put(rpc_login(odoo_url, server.db, ADMIN_LOGIN, ADMIN_PASSWORD))

    def render(group: list[int]) -> int:
        odoo = connections.get()
        try:
            answer = odoo.execute("courier.dispatch", "courier_render_pdfs", group)
        finally:
            connections.put(odoo)
        return sum(1 for value in answer.values() if "base64" in value)

    with ThreadPoolExecutor(concurrency) as pool:
        started = time.monotonic()
        rendered = sum(pool.map(render, groups))
        seconds = time.monotonic() - started
    admin.execute(
        "courier.dispatch",
        "courier_report",
        [
            {"id": d["id"], "custom_id": d["custom_id"], "outcome": "failed",
             "error": {"code": "bench", "message": "render-limit benchmark"}}
            for d in claimed
        ],
    )  # fmt: skip
    if rendered != len(ids):
        raise AssertionError(f"render limit: {rendered}/{len(ids)} PDFs rendered")
    return RenderLimit(len(ids), batch, concurrency, workers, seconds, _load())


@contextmanager
def odoo_with_workers(server: OdooServer, workers: int) -> Iterator[str]:
    """The URL of an Odoo serving the test database: the fixture's, or one with workers."""
    if workers == 0:
        yield server.url
        return
    env, port = server.install.env, _free_port()
    log_path = artifact_path(f"bench-odoo-workers{workers}-{server.db}.log")
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            [
                *env.base_args(server.db, server.install.data_dir),
                f"--db-filter=^{server.db}$",
                "--http-interface=127.0.0.1",
                f"--http-port={port}",
                f"--gevent-port={_free_port()}",
                f"--workers={workers}",
                "--max-cron-threads=0",
                "--limit-time-real=600",
                "--limit-time-cpu=300",
                "--log-level=warn",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env.environ(),
        )
        url = f"http://127.0.0.1:{port}"
        admin = server.admin()
        try:
            wait_until(
                lambda: process.poll() is not None or http_get(url + "/web/health")[0] == 200,
                120,
                f"Odoo with {workers} workers at {url} (log: {log_path})",
                interval=0.2,
            )
            if process.poll() is not None:
                raise RuntimeError(f"odoo-bin --workers={workers} exited; log: {log_path}")
            _set_base_urls(admin, url)
            yield url
        finally:
            _set_base_urls(admin, server.url)
            process.terminate()
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(30)


# ------------------------------------------------------------------ report


def print_figures(
    odoo: OdooFigures, runs: list[CourierFigures], limits: dict[int, RenderLimit]
) -> None:
    target = TARGET_FACTOR * odoo.per_minute
    print()
    print(f"Odoo 18 own batch Send vs invoice_courier, {odoo.count} invoices each, same database")
    print(
        f"  Odoo's own Send: {odoo.per_minute:.1f} invoices/min end to end "
        f"({odoo.seconds:.1f} s from the click to the last of {odoo.emails} emails at the "
        f"SMTP sink; PDFs made and emails queued after {odoo.documents_seconds:.1f} s, "
        f"{odoo.cron_runs} cron runs; DESIGN.md measured about {ODOO_MEASURED_IN_DESIGN:.0f}; "
        f"{odoo.load})"
    )
    for workers, limit in limits.items():
        print(
            f"  render limit, Odoo {_server(workers)}: {limit.per_minute:.1f} invoices/min "
            f"(only courier_render_pdfs, {limit.concurrency} calls of {limit.batch} side by "
            f"side, {limit.count} invoices in {limit.seconds:.1f} s; {limit.load})"
        )
    print(f"  target for invoice_courier: {TARGET_FACTOR:.0f}x = {target:.0f} invoices/min")
    header = f"  {'PDF conc.':>9} {'batch':>5} {'Odoo':>10} {'count':>5} {'seconds':>8}"
    print(
        header + f" {'per min':>8} {'ratio':>6} {'of limit':>8} {'RPC/disp.':>9} {'RSS MB':>7}"
        f" {'Send calls':>10}  load average"
    )
    for run in runs:
        ratio = run.per_minute / odoo.per_minute if odoo.per_minute else 0.0
        limit = run.paired_limit
        share = (
            f"{100 * run.per_minute / limit.per_minute:>7.0f}%"
            if limit and run.pdf_batch
            else f"{'link':>8}"
        )
        batch = run.pdf_batch or "link"
        print(
            f"  {run.concurrency:>9} {batch:>5} {_server(run.odoo_workers):>10} {run.count:>5} "
            f"{run.seconds:>8.1f} {run.per_minute:>8.1f} {ratio:>5.1f}x {share} "
            f"{run.rpc_per_dispatch:>9.2f} {run.peak_rss_bytes / 2**20:>7.1f} "
            f"{run.send_calls:>10}  {run.load}"
        )
        print(f"    of which the click (the bulk send queuing them): {run.click_seconds:.1f} s")
        if limit and run.pdf_batch:
            print(
                f"    render limit measured just before: {limit.per_minute:.1f}/min "
                f"({limit.concurrency} calls of {limit.batch}; {limit.load})"
            )
        if run.transmitted != run.count:
            print(f"    only {run.transmitted}/{run.count} transmitted")
        calls = ", ".join(f"{name} {n}" for name, n in sorted(run.rpc_calls.items()))
        print(f"    RPC calls: {calls}")
    rendered = [run for run in runs if run.pdf_batch]
    if rendered:
        best = max(rendered, key=lambda r: r.per_minute)
        print(
            f"  best with PDFs: {best.per_minute:.1f}/min = "
            f"{best.per_minute / odoo.per_minute:.1f}x Odoo's own Send"
            + (
                f", {100 * best.per_minute / best.paired_limit.per_minute:.0f}% of the render "
                "limit measured just before it"
                if best.paired_limit
                else ""
            )
            + f" (COURIER_PDF_CONCURRENCY={best.concurrency}, "
            f"COURIER_PDF_BATCH_SIZE={best.pdf_batch}, Odoo {_server(best.odoo_workers)})"
        )
    for run in runs:
        if not run.pdf_batch:
            print(
                f"  link only: {run.per_minute:.1f}/min = {run.per_minute / odoo.per_minute:.1f}x "
                f"Odoo's own Send (aim: 20x), Odoo {_server(run.odoo_workers)}"
            )


def _server(workers: int) -> str:
    return "threaded" if workers == 0 else f"{workers} workers"


@pytest.mark.timeout(3 * 3600)
def test_odoo_send_vs_courier(odoo_server: OdooServer) -> None:
    count = int(os.environ.get("BENCH_COUNT", "80"))
    concurrencies = _int_list("BENCH_CONCURRENCY", "4,8,12")
    batches = _int_list("BENCH_PDF_BATCH", "1")
    render_concurrencies = _int_list("BENCH_RENDER_CONCURRENCY", "2,4")
    link_count = int(os.environ.get("BENCH_LINK_COUNT", "500"))
    # Warm up first (report assets compiled, workers loaded): neither side pays for it.
    measure_courier(odoo_server, odoo_server.url, WARM_UP_COUNT, max(concurrencies), 0)
    odoo = measure_odoo_send(odoo_server, count)
    odoo.load = _load()
    print(
        f"\nOdoo's own Send: {odoo.per_minute:.1f}/min ({odoo.seconds:.1f} s, {odoo.load})",
        flush=True,
    )
    runs = []
    limits: dict[int, RenderLimit] = {}
    for workers in _int_list("BENCH_ODOO_WORKERS", "0"):
        with odoo_with_workers(odoo_server, workers) as url:
            if workers:
                measure_courier(odoo_server, url, WARM_UP_COUNT, max(concurrencies), workers)
            for render_concurrency in render_concurrencies:
                limit = measure_render_limit(
                    odoo_server, url, count, max(batches), render_concurrency, workers
                )
                print(
                    f"render limit c={render_concurrency} batch={limit.batch} "
                    f"workers={workers}: {limit.per_minute:.1f}/min ({limit.seconds:.1f} s, "
                    f"{limit.load})",
                    flush=True,
                )
                if workers not in limits or limit.per_minute > limits[workers].per_minute:
                    limits[workers] = limit
            best = limits[workers].concurrency if workers in limits else None
            for concurrency in concurrencies:
                for batch in batches:
                    # The machine is shared: the render limit is measured again right
                    # before each run, under the same load, and the run compared with it.
                    paired = (
                        measure_render_limit(odoo_server, url, count, batch, best, workers)
                        if best
                        else None
                    )
                    run = measure_courier(odoo_server, url, count, concurrency, workers, batch)
                    run.load = _load()
                    run.paired_limit = paired
                    runs.append(run)
                    print(
                        f"courierd c={concurrency} batch={batch} workers={workers}: "
                        f"{run.per_minute:.1f}/min ({run.seconds:.1f} s, {run.load})"
                        + (
                            f"; render limit just before: {paired.per_minute:.1f}/min "
                            f"({paired.load})"
                            if paired
                            else ""
                        ),
                        flush=True,
                    )
            if link_count:
                run = measure_courier(
                    odoo_server, url, link_count, max(concurrencies), workers, link_only=True
                )
                run.load = _load()
                runs.append(run)
                print(
                    f"courierd link only workers={workers}: {run.per_minute:.1f}/min "
                    f"({run.seconds:.1f} s, {run.load})",
                    flush=True,
                )
    print_figures(odoo, runs, limits)
