"""`courierd run`: wires the parts together from Settings and runs the send loop until a signal."""

from __future__ import annotations

import signal
import sqlite3
import threading
from types import FrameType

from courierd import __version__
from courierd.config import Settings
from courierd.erp_client import ErpClient
from courierd.http_server import HttpServer, Route
from courierd.logs import get_logger
from courierd.mailjet_client import MailjetClient
from courierd.metrics import Health, Metrics
from courierd.pdf_renderer import PdfRenderer
from courierd.report_spool import ReportSpool
from courierd.send_loop import LoopSettings, SendLoop
from courierd.send_results import RetryPolicy
from courierd.systemd import Notifier, WatchdogKeeper, watchdog_interval

log = get_logger(__name__)

# Longest time the loop may go without progress before the watchdog stops being fed:
# far above any bounded call (Odoo and Mailjet calls all have timeouts), so only a
# real hang gets the service restarted.
STALL_SECONDS = 900.0


def install_signal_handlers(stop: threading.Event) -> None:
    def request_stop(signum: int, _frame: FrameType | None) -> None:
        if not stop.is_set():
            log.info(
                "stop requested: finishing the batch in flight, then exiting",
                signal=signal.Signals(signum).name,
            )
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)


def run_daemon(
    settings: Settings, stop: threading.Event | None = None, extra_routes: list[Route] | None = None
) -> int:
    stop = stop or threading.Event()
    notifier = Notifier()
    try:
        spool = ReportSpool(settings.state_dir)
    except (OSError, sqlite3.Error) as exc:
        log.error(
            f"cannot open the report spool in {settings.state_dir}: {exc}; "
            "check COURIER_STATE_DIR exists and is writable by this user"
        )
        return 1
    metrics = Metrics()
    health = Health(settings.health_max_age_seconds)
    try:
        http = HttpServer(
            settings.http_host, settings.http_port, health, metrics, extra_routes or []
        )
    except OSError as exc:
        log.error(
            f"cannot listen on {settings.http_host}:{settings.http_port}: {exc}; "
            "check COURIER_HTTP_HOST / COURIER_HTTP_PORT"
        )
        spool.close()
        return 1

    erp = ErpClient(
        url=settings.odoo_url,
        db=settings.odoo_db,
        login=settings.odoo_login,
        password=settings.odoo_password,
        timeout=settings.odoo_timeout,
    )
    mailjet = MailjetClient(
        api_key=settings.mailjet_api_key,
        api_secret=settings.mailjet_api_secret,
        api_url=settings.mailjet_api_url,
        timeout=settings.mailjet_timeout,
        sandbox_mode=settings.mailjet_sandbox_mode,
    )
    pdfs = PdfRenderer(erp.clone, settings.pdf_concurrency)
    keeper = WatchdogKeeper(notifier, watchdog_interval(), STALL_SECONDS)
    loop = SendLoop(
        LoopSettings(
            worker_id=settings.worker_id,
            batch_size=settings.batch_size,
            lease_seconds=settings.lease_seconds,
            idle_seconds=settings.idle_seconds,
            retry_policy=RetryPolicy(settings.retry_base_seconds, settings.retry_max_seconds),
        ),
        erp=erp,
        mailjet=mailjet,
        pdfs=pdfs,
        spool=spool,
        metrics=metrics,
        health=health,
        on_progress=keeper.progress,
        on_status=notifier.status,
    )

    http.start()
    keeper.start()
    log.info(
        "courierd started",
        version=__version__,
        worker_id=settings.worker_id,
        odoo_url=settings.odoo_url,
        mailjet_api_url=settings.mailjet_api_url,
        http=f"http://{settings.http_host}:{http.port}",
        spool_depth=spool.depth(),
    )
    notifier.ready(f"sending as {settings.worker_id}")
    try:
        loop.run(stop)
    finally:
        notifier.stopping()
        keeper.stop()
        pdfs.close()
        http.stop()
        mailjet.close()
        depth = spool.depth()
        spool.close()
        log.info("courierd stopped", spool_depth=depth)
    return 0
