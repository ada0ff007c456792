"""``courierd sandbox``: options and the blocking entry point."""

from __future__ import annotations

import argparse
import os
import signal
import threading
from pathlib import Path

import structlog

from courierd.ops import logs
from mailjet_sandbox.server import SandboxServer

log = structlog.get_logger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=8025, help="port to listen on (0: any free)")
    parser.add_argument(
        "--outbox", type=Path, required=True, help="folder for the .eml files and the index"
    )
    parser.add_argument(
        "--api-key",
        default=os.environ.get("COURIER_MAILJET_API_KEY"),
        help="API key clients must use (default: $COURIER_MAILJET_API_KEY)",
    )
    parser.add_argument(
        "--api-secret",
        default=os.environ.get("COURIER_MAILJET_API_SECRET"),
        help="API secret clients must use (default: $COURIER_MAILJET_API_SECRET)",
    )
    parser.add_argument("--webhook-url", help="where events are POSTed (Event API version 2)")
    parser.add_argument("--webhook-user", help="Basic auth user for the webhook")
    parser.add_argument(
        "--webhook-password",
        default=os.environ.get("COURIER_WEBHOOK_PASSWORD"),
        help="Basic auth password for the webhook (default: $COURIER_WEBHOOK_PASSWORD)",
    )
    parser.add_argument(
        "--webhook-retry-seconds",
        type=float,
        default=24 * 3600.0,
        help="how long a failing event batch is retried before it is dropped (Mailjet: 24 h)",
    )
    parser.add_argument(
        "--sent-delay",
        type=float,
        default=0.2,
        help="seconds between acceptance and the sent/bounce/blocked event",
    )
    parser.add_argument("--tls-cert", type=Path, help="serve HTTPS with this certificate (PEM)")
    parser.add_argument("--tls-key", type=Path, help="private key of --tls-cert (PEM)")
    parser.add_argument(
        "--log-level",
        default=os.environ.get("COURIER_LOG_LEVEL", "info"),
        choices=("debug", "info", "warning", "error"),
        help="debug also logs every request (default: $COURIER_LOG_LEVEL or info)",
    )
    parser.add_argument(
        "--public-url",
        help="base URL written into tracking links (default: http://HOST:PORT/)",
    )


def run(args: argparse.Namespace) -> int:
    """Serve until SIGTERM or SIGINT; 0 on a clean stop, 2 on bad options."""
    logs.configure(args.log_level)
    if not args.api_key or not args.api_secret:
        log.error("sandbox_missing_credentials", hint="--api-key/--api-secret or the env vars")
        return 2
    if (args.tls_cert is None) != (args.tls_key is None):
        log.error("sandbox_tls_options", hint="--tls-cert and --tls-key go together")
        return 2
    webhook_auth = None
    if args.webhook_user is not None:
        webhook_auth = (args.webhook_user, args.webhook_password or "")
    server = SandboxServer(
        Path(args.outbox),
        args.api_key,
        args.api_secret,
        host=args.host,
        port=args.port,
        webhook_url=args.webhook_url,
        webhook_auth=webhook_auth,
        sent_delay=args.sent_delay,
        public_url=args.public_url,
        webhook_retry_seconds=args.webhook_retry_seconds,
        tls=(args.tls_cert, args.tls_key) if args.tls_cert else None,
    )
    stop = threading.Event()

    def on_signal(signum: int, _frame: object) -> None:
        log.info("sandbox_signal", signal=signal.Signals(signum).name)
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        server.start()
        while not stop.wait(1.0):
            pass
    finally:
        server.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0
