"""Send throughput through real Odoo 18 with invoice_courier (prints figures).

The same measurement as send_throughput.py, with the ERP being the addon in
a real Odoo 18 (the fixtures of tests/support/odoo.py install it in a fresh
database and serve it; that takes a few minutes). Run it explicitly:

    .venv/bin/python -m pytest -p tests.support.odoo bench/odoo_throughput.py -q -s

BENCH_COUNT (default 1000) and BENCH_BATCH_SIZE (50) change the run. Without
an Odoo 18 it skips with one line, like the tests.
"""

from __future__ import annotations

import os
from typing import Any

from send_throughput import measure, print_figures


def test_send_throughput_through_odoo(odoo_backend: Any) -> None:
    # The addon's backend has the ErpTarget shape; its invoices get a stored PDF.
    figures = measure(
        odoo_backend,
        count=int(os.environ.get("BENCH_COUNT", "1000")),
        batch_size=int(os.environ.get("BENCH_BATCH_SIZE", "50")),
    )
    print()
    print_figures(figures, "real Odoo 18 with invoice_courier and the Mailjet sandbox")
