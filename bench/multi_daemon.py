"""Several courierd on one Odoo 18 with workers: 1, 2 and 3 instances on the same invoices.

BENCH_MULTI_COUNT (1000) posted invoices, each to its own customer (its own
address), each with a stored PDF (one real invoice PDF rendered once, stored as
every invoice's PDF, so the payloads have a real size and no render is timed).
For each count in BENCH_MULTI_DAEMONS ("1,2,3"): that many `courierd run`
processes (own WORKER_ID, ports and state directory, as courierd@.service gives
them) wait in their claims; the bulk send queues the invoices again (one
click); measured from the click returning to the last dispatch transmitted in
Odoo. Then the round's sandbox outbox is counted: one .eml per recipient
expected, duplicates and lost ones printed.

Where the time goes: the CPU seconds of Odoo's processes, PostgreSQL's and
courierd's (with the sandbox) during each round, from psutil, as cores busy.

    .venv/bin/python -m pytest -p tests.support.odoo bench/multi_daemon.py -q -s

BENCH_MULTI_WORKERS (6): the odoo-bin --workers=N started on the test database.
"""

from __future__ import annotations

import email
import email.policy
import os
import time
from collections import Counter
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil
import pytest
from odoo_bench import courierd, load, sandbox
from odoo_vs_courier import _int_list, odoo_with_workers

from tests.support.odoo import OdooServer

TIMEOUT = 1800.0
WARM_UP = 50


@dataclass
class Round:
    daemons: int
    count: int
    click_seconds: float
    seconds: float
    transmitted: int
    emails: int
    duplicates: int
    lost: int
    cores: dict[str, float]
    load: str

    @property
    def per_minute(self) -> float:
        return self.transmitted * 60.0 / self.seconds

    def row(self) -> str:
        busy = ", ".join(f"{name} {value:.2f}" for name, value in self.cores.items())
        return (
            f"  {self.daemons:>7} {self.count:>6} {self.click_seconds:>6.1f} {self.seconds:>8.1f} "
            f"{self.per_minute:>8.0f} {self.per_minute / 60:>6.1f} {self.emails:>6} "
            f"{self.duplicates:>4} {self.lost:>4}   cores: {busy}   {self.load}"
        )


def customers(admin: Any, count: int) -> list[int]:
    return admin.execute(
        "res.partner",
        "create",
        [{"name": f"Multi {i}", "email": f"multi-{i}@customer.example"} for i in range(count)],
    )


def invoices_with_pdf(admin: Any, partner_ids: list[int], chunk: int = 100) -> list[int]:
    """One posted invoice per customer, each with a copy of one real invoice PDF stored."""
    move_ids: list[int] = []
    for start in range(0, len(partner_ids), chunk):
        ids = admin.execute(
            "account.move",
            "create",
            [
                {
                    "move_type": "out_invoice",
                    "partner_id": partner_id,
                    "invoice_line_ids": [(0, 0, {"name": "Consulting", "quantity": 1,
                                                 "price_unit": 120.0})],
                }
                for partner_id in partner_ids[start : start + chunk]
            ],
        )  # fmt: skip
        admin.execute("account.move", "action_post", ids)
        move_ids += ids
    # A real PDF: the first invoice's, made the way Odoo's Send makes it.
    sample = _render_one(admin, move_ids[0])
    names = {m["id"]: m["name"] for m in admin.execute("account.move", "read", move_ids, ["name"])}
    for start in range(1, len(move_ids), chunk):
        admin.execute(
            "ir.attachment",
            "create",
            [
                {
                    "name": names[move_id].replace("/", "_") + ".pdf",
                    "datas": sample,
                    "mimetype": "application/pdf",
                    "res_model": "account.move",
                    "res_id": move_id,
                    "res_field": "invoice_pdf_report_file",
                }
                for move_id in move_ids[start : start + chunk]
            ],
        )
    return move_ids


def _render_one(admin: Any, move_id: int) -> str:
    """The invoice's PDF (base64), rendered by Odoo and stored on it, through one send."""
    wizard_id = admin.execute("courier.bulk.send", "create", {"move_ids": [(6, 0, [move_id])]})
    admin.execute("courier.bulk.send", "action_send", [wizard_id])
    [claimed] = admin.execute("courier.dispatch", "courier_claim", "bench-multi-setup", 1, 600)
    pdf = admin.execute("courier.dispatch", "courier_render_pdf", claimed["id"])
    admin.execute(
        "courier.dispatch",
        "courier_report",
        [{"id": claimed["id"], "custom_id": claimed["custom_id"], "outcome": "failed",
          "error": {"code": "bench", "message": "setup: PDF rendered"}}],
    )  # fmt: skip
    return str(pdf["base64"])


class CpuShares:
    """CPU seconds of this database's Odoo and PostgreSQL processes and of courierd's
    (and the sandbox's) between start() and stop(): other sessions share the machine."""

    GROUPS = ("odoo", "postgres", "courierd")

    def __init__(self, db: str, courierd_pids: list[int]) -> None:
        self.db = db
        self.courierd_pids = set(courierd_pids)
        self._start: dict[int, tuple[str, float]] = {}
        self._started = 0.0

    def _group(self, process: psutil.Process) -> str | None:
        if process.pid in self.courierd_pids:
            return "courierd"
        try:
            line = " ".join(process.cmdline())
        except (psutil.Error, OSError):
            return None
        if self.db not in line:
            return None
        return "odoo" if "odoo-bin" in line else "postgres" if "postgres" in line else None

    def _sample(self) -> dict[int, tuple[str, float]]:
        seen = {}
        for process in psutil.process_iter():
            group = self._group(process)
            if group is None:
                continue
            try:
                times = process.cpu_times()
            except (psutil.Error, OSError):
                continue
            seen[process.pid] = (group, times.user + times.system)
        return seen

    def start(self) -> None:
        self._start = self._sample()
        self._started = time.monotonic()

    def stop(self) -> dict[str, float]:
        """Cores busy on average per group (a process that ended meanwhile is not counted)."""
        seconds = time.monotonic() - self._started
        totals = dict.fromkeys(self.GROUPS, 0.0)
        for pid, (group, cpu) in self._sample().items():
            totals[group] += cpu - self._start.get(pid, (group, 0.0))[1]
        return {group: max(0.0, total) / seconds for group, total in totals.items()}


def count_emails(outbox: Path, expected: set[str]) -> tuple[int, int, int]:
    """(emails, duplicates, lost) by recipient address in the sandbox's .eml files."""
    per_recipient: Counter[str] = Counter()
    files = sorted(outbox.rglob("*.eml"))
    for path in files:
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        for address in message.get_all("To") or []:
            per_recipient[str(address).split("<")[-1].rstrip(">").strip().lower()] += 1
    duplicates = sum(n - 1 for n in per_recipient.values() if n > 1)
    lost = len(expected - set(per_recipient))
    return len(files), duplicates, lost


def run_round(
    server: OdooServer, url: str, admin: Any, move_ids: list[int], daemons: int, first: int
) -> Round:
    """One round; `first`: the number of the first invoice's customer (its address)."""
    addresses = {f"multi-{i}@customer.example" for i in range(first, first + len(move_ids))}
    with sandbox() as mailjet, ExitStack() as stack:
        pids = [mailjet.pid]
        for index in range(daemons):
            process = stack.enter_context(
                courierd(server, url, mailjet, f"multi{daemons}-{index + 1}", pdf_concurrency="4")
            )
            pids.append(process.pid)
        before = admin.execute("courier.dispatch", "search", [], 0, 1, "id desc") or [0]
        mine = [("move_id", "in", move_ids), ("id", ">", before[0])]
        cpu = CpuShares(server.db, pids)
        cpu.start()
        clicked = time.monotonic()
        wizard_id = admin.execute("courier.bulk.send", "create", {"move_ids": [(6, 0, move_ids)]})
        admin.execute("courier.bulk.send", "action_send", [wizard_id])
        started = time.monotonic()
        done = [*mine, ("state", "in", ["transmitted", "failed"])]
        while admin.execute("courier.dispatch", "search_count", done) < len(move_ids):
            if time.monotonic() - started > TIMEOUT:
                raise TimeoutError(f"{daemons} courierd did not finish")
            time.sleep(0.2)
        seconds = time.monotonic() - started
        cores = cpu.stop()
        transmitted = admin.execute(
            "courier.dispatch", "search_count", [*mine, ("state", "=", "transmitted")]
        )
        emails, duplicates, lost = count_emails(mailjet.outbox, addresses)
    result = Round(
        daemons=daemons,
        count=len(move_ids),
        click_seconds=started - clicked,
        seconds=seconds,
        transmitted=transmitted,
        emails=emails,
        duplicates=duplicates,
        lost=lost,
        cores=cores,
        load=load(),
    )
    print(result.row(), flush=True)
    return result


@pytest.mark.timeout(3 * 3600)
def test_several_daemons_on_one_odoo(odoo_server: OdooServer) -> None:
    count = int(os.environ.get("BENCH_MULTI_COUNT", "1000"))
    workers = int(os.environ.get("BENCH_MULTI_WORKERS", "6"))
    admin = odoo_server.admin()
    print(f"\nseeding {count} invoices to {count} customers, each with a stored PDF ({load()})")
    # A warm-up round first: each Odoo worker loads the registry on its first request.
    every = invoices_with_pdf(admin, customers(admin, count + WARM_UP))
    warm_up, move_ids = every[:WARM_UP], every[WARM_UP:]
    print(
        f"several courierd on one Odoo 18 --workers={workers}, {count} invoices a round "
        f"(PDF stored; COURIER_PDF_CONCURRENCY=4)"
    )
    print(
        f"  {'daemons':>7} {'count':>6} {'click':>6} {'seconds':>8} {'per min':>8} {'per s':>6} "
        f"{'emails':>6} {'dup.':>4} {'lost':>4}   cores busy during the round   load average"
    )
    rounds = []
    counts = _int_list("BENCH_MULTI_DAEMONS", "1,2,3")
    with odoo_with_workers(odoo_server, workers) as url:
        print("  warm-up:")
        run_round(odoo_server, url, admin, warm_up, max(counts), first=0)
        for daemons in counts:
            rounds.append(run_round(odoo_server, url, admin, move_ids, daemons, first=WARM_UP))
    for made in rounds:
        assert made.transmitted == made.count, f"{made.daemons} daemons: not all transmitted"
    print(
        "  (click: the bulk send's own time, not in 'seconds'; cores: CPU seconds per second of "
        "Odoo's processes, PostgreSQL's and courierd's with the sandbox, on 2 cores)"
    )
