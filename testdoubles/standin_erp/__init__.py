"""A stand-in for Odoo 18 or 19 with the invoice_courier addon, for tests and benchmarks.

It speaks Odoo's JSON-RPC well enough for the real odoorpc client to log in
and call the contract methods of docs/contract.md, and as Odoo 19 its JSON-2
API too (`--odoo-version 19`), with the addon's semantics, on state kept in
SQLite. ``courierd standin-erp`` runs it
(``add_arguments``/``run``); tests use ``StandinErp`` directly.
"""

from __future__ import annotations

import argparse
import signal
import threading
from pathlib import Path
from types import FrameType

import structlog

from standin_erp.server import Fault, StandinErp

__all__ = ["Fault", "StandinErp", "add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=8069, help="port (0: any free port)")
    parser.add_argument("--db", default="courier", help="database name courierd logs in to")
    parser.add_argument("--login", default="courierd", help="the Courier daemon user's login")
    parser.add_argument(
        "--password", default="courierd-standin", help="the Courier daemon user's password"
    )
    parser.add_argument(
        "--api-key",
        default="courierd-standin-api-key",
        help="the Courier daemon user's API key (JSON-2, or JSON-RPC in place of the password)",
    )
    parser.add_argument(
        "--odoo-version",
        type=int,
        choices=(18, 19),
        default=18,
        help="the Odoo it stands for: 19 serves JSON-2 (/json/2) besides JSON-RPC",
    )
    parser.add_argument(
        "--database",
        type=Path,
        default=None,
        metavar="FILE",
        help="SQLite file holding the state (default: in memory, lost on exit)",
    )
    parser.add_argument(
        "--seed", type=int, default=0, metavar="N", help="queue N dispatches at start"
    )
    parser.add_argument(
        "--pdf-render-seconds",
        type=float,
        default=0.0,
        help="time a PDF render takes (real Odoo: about 1.3)",
    )


def run(args: argparse.Namespace) -> int:
    log = structlog.get_logger("standin_erp")
    erp = StandinErp(
        host=args.host,
        port=args.port,
        db=args.db,
        login=args.login,
        password=args.password,
        database=args.database,
        pdf_render_seconds=args.pdf_render_seconds,
        api_key=args.api_key,
        odoo_version=args.odoo_version,
    )
    erp.start()
    if args.seed:
        erp.seed_dispatches(args.seed)
    log.info(
        "standin_erp.listening",
        url=erp.url,
        db=erp.db,
        login=erp.login,
        odoo_version=erp.odoo_version,
        seeded=args.seed,
    )
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    stop.wait()
    erp.stop()
    log.info("standin_erp.stopped", rpc_calls=sum(erp.rpc_calls().values()))
    return 0
