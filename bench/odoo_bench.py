"""What the real-Odoo benchmarks of issue 13 share: courierd and the sandbox as processes,
the load average printed beside every figure, percentiles, SQL on the test database.

Not a benchmark itself (pytest collects only `test_*` functions of the bench files).
"""

from __future__ import annotations

import math
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from send_throughput import API_KEY, API_SECRET, _free_port, _start, _stop, start_sandbox

from tests.support.odoo import OdooServer
from tests.support.processes import artifact_path


def load() -> str:
    """The load average (1 / 5 min): the machine is shared, every figure says what it ran under."""
    one, five, _ = os.getloadavg()
    return f"load {one:.1f} / {five:.1f}"


def percentile(values: list[float], share: float) -> float:
    """Nearest-rank percentile (p95 of 30 values is the 29th smallest)."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def sql_rows(server: OdooServer, statement: str) -> list[list[str]]:
    """Rows of one statement on the test database (Odoo's own psycopg2, autocommit)."""
    done = server.install.env.sql(statement, db=server.db)
    if done.returncode:
        raise RuntimeError(f"SQL failed: {done.stderr.strip()[-2000:]}")
    return [line.split("\t") for line in done.stdout.splitlines() if line]


def post_invoices(
    admin: Any, customer_id: int, count: int, label: str, chunk: int = 200
) -> list[int]:
    """`count` posted customer invoices without a stored PDF, created in batches."""
    move_ids: list[int] = []
    for start in range(0, count, chunk):
        ids = admin.execute(
            "account.move",
            "create",
            [
                {
                    "move_type": "out_invoice",
                    "partner_id": customer_id,
                    "invoice_line_ids": [
                        (0, 0, {"name": f"Consulting ({label})", "quantity": 1,
                                "price_unit": 100.0 + i})
                    ],
                }
                for i in range(start, min(count, start + chunk))
            ],
        )  # fmt: skip
        admin.execute("account.move", "action_post", ids)
        move_ids += ids
    return move_ids


@dataclass
class Sandbox:
    url: str
    outbox: Path
    pid: int


@contextmanager
def sandbox() -> Iterator[Sandbox]:
    """`courierd sandbox` (the Mailjet sandbox) in its own process, with its outbox."""
    workdir = Path(tempfile.mkdtemp(prefix="courier-bench-sandbox-"))
    process, url = start_sandbox(workdir, _base_env())
    try:
        yield Sandbox(url, workdir / "outbox", process.pid)
    finally:
        _stop(process)
        shutil.rmtree(workdir, ignore_errors=True)


@contextmanager
def courierd(
    server: OdooServer, odoo_url: str, mailjet: Sandbox, name: str, **settings: str
) -> Iterator[subprocess.Popen[bytes]]:
    """`courierd run` against `odoo_url` and the sandbox; `settings`: COURIER_* overrides
    by key without the prefix (claim_wait_seconds="0"). Stopped with SIGTERM at the end."""
    workdir = Path(tempfile.mkdtemp(prefix=f"courier-bench-{name}-"))
    http_port = _free_port()
    env = _base_env() | {
        "COURIER_ODOO_URL": odoo_url,
        "COURIER_ODOO_DB": server.db,
        "COURIER_ODOO_LOGIN": server.daemon_login,
        "COURIER_ODOO_PASSWORD": server.daemon_password,
        "COURIER_MAILJET_API_KEY": API_KEY,
        "COURIER_MAILJET_API_SECRET": API_SECRET,
        "COURIER_MAILJET_API_URL": mailjet.url,
        "COURIER_WORKER_ID": f"bench-{name}",
        "COURIER_HTTP_PORT": str(http_port),
        "COURIER_STATE_DIR": str(workdir / "state"),
        "COURIER_LOG_LEVEL": "warning",
    }
    env |= {f"COURIER_{key.upper()}": value for key, value in settings.items()}
    log_path = artifact_path(f"bench-courierd-{name}.log")
    process = _start(["run"], env, log_path, f"http://127.0.0.1:{http_port}/healthz")
    try:
        yield process
    finally:
        _stop(process)
        shutil.rmtree(workdir, ignore_errors=True)


def _base_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("COURIER_")}
