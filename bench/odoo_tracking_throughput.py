"""Tracking throughput through real Odoo 18 with invoice_courier (prints figures).

The measurement of tracking_throughput.py with the ERP being the addon in a
real Odoo 18 (the fixtures of tests/support/odoo.py install it in a fresh
database and serve it). Run it explicitly:

    .venv/bin/python -m pytest -p tests.support.odoo bench/odoo_tracking_throughput.py -q -s

BENCH_DISPATCHES (default 2000: 6000 events) and BENCH_ARRAY (100) change the
run. Without an Odoo 18 it skips with one line, like the tests.
"""

from __future__ import annotations

import os
from typing import Any

from tracking_throughput import measure, print_figures

SEED_CHUNK = 250


class _WithoutPdf:
    """The backend, seeding invoices without a stored PDF (tracking never needs one)."""

    def __init__(self, backend: Any) -> None:
        self.backend = backend
        self.url, self.db = backend.url, backend.db
        self.login, self.password = backend.login, backend.password

    def seed_dispatches(self, count: int, emails: list[str] | None = None) -> list[int]:
        # Posting thousands of invoices in one call outlasts Odoo's request time limit.
        ids: list[int] = []
        for start in range(0, count, SEED_CHUNK):
            size = min(SEED_CHUNK, count - start)
            chunk = emails[start : start + size] if emails else None
            ids += self.backend.seed_dispatches(size, chunk, with_pdf=False)
        return ids

    def dispatches(self, ids: list[int]) -> list[dict[str, Any]]:
        return self.backend.dispatches(ids)


def test_tracking_throughput_through_odoo(odoo_backend: Any) -> None:
    figures = measure(
        _WithoutPdf(odoo_backend),
        dispatches=int(os.environ.get("BENCH_DISPATCHES", "2000")),
        array_size=int(os.environ.get("BENCH_ARRAY", "100")),
        clients=4,
        singles=0,
        stored_count=odoo_backend.event_count,
    )
    print()
    print_figures(figures, "real Odoo 18 with invoice_courier")
