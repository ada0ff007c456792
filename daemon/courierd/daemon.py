"""`courierd run`: wires the parts together from Settings and runs the send loop until a signal.

Besides the send loop: the event spool, the webhook receiver (its own server,
only with a password), the event forwarder thread and, when
COURIER_POLL_INTERVAL_SECONDS > 0, the poller thread.
"""

from __future__ import annotations

import signal
import sqlite3
import threading
from collections.abc import Callable
from types import FrameType

from courierd import __version__
from courierd.config import Settings
from courierd.mailjet.client import MailjetClient
from courierd.mailjet.event_mapping import EventMapping, load_event_mapping
from courierd.mailjet.mapping_files import MappingError
from courierd.mailjet.message_mapping import load_message_mapping, make_message_builder
from courierd.mailjet.send_results import RetryPolicy
from courierd.mailjet.webhook_receiver import WebhookReceiver
from courierd.odoo.client import ErpClient
from courierd.odoo.pdf_renderer import PdfRenderer
from courierd.ops.http_server import HttpServer, Route, RouteServer
from courierd.ops.logs import get_logger
from courierd.ops.metrics import Health, Metrics
from courierd.ops.systemd import Notifier, WatchdogKeeper, watchdog_interval
from courierd.storage.event_spool import EventSpool
from courierd.storage.report_spool import ReportSpool
from courierd.workers.event_forwarder import EventForwarder
from courierd.workers.poller import Poller
from courierd.workers.send_loop import LoopSettings, SendLoop

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
        event_mapping = load_event_mapping(settings.event_mapping)
        build_message = make_message_builder(load_message_mapping(settings.message_mapping))
    except MappingError as exc:
        log.error(
            "a mapping file cannot be used; check it with `courierd mappings check FILE`, "
            "fix it, then start",
            problems=exc.problems,
        )
        return 2
    try:
        spool = ReportSpool(settings.state_dir)
    except (OSError, sqlite3.Error) as exc:
        log.error(
            f"cannot open the report spool in {settings.state_dir}: {exc}; "
            "check COURIER_STATE_DIR exists and is writable by this user"
        )
        return 1
    try:
        events = EventSpool(settings.state_dir)
    except (OSError, sqlite3.Error) as exc:
        log.error(
            f"cannot open the event spool in {settings.state_dir}: {exc}; "
            "check COURIER_STATE_DIR exists and is writable by this user"
        )
        spool.close()
        return 1
    metrics = Metrics()
    metrics.event_spool_depth.set_function(events.depth)
    health = Health(settings.health_max_age_seconds, event_spool_depth=events.depth)
    try:
        http = HttpServer(
            settings.http_host, settings.http_port, health, metrics, extra_routes or []
        )
    except OSError as exc:
        log.error(
            f"cannot listen on {settings.http_host}:{settings.http_port}: {exc}; "
            "check COURIER_HTTP_HOST / COURIER_HTTP_PORT"
        )
        events.close()
        spool.close()
        return 1

    erp = ErpClient(
        url=settings.odoo_url,
        db=settings.odoo_db,
        login=settings.odoo_login,
        password=settings.odoo_password,
        api_key=settings.odoo_api_key,
        transport=settings.odoo_transport,
        timeout=settings.odoo_timeout,
    )

    def mailjet_client() -> MailjetClient:
        return MailjetClient(
            api_key=settings.mailjet_api_key,
            api_secret=settings.mailjet_api_secret,
            api_url=settings.mailjet_api_url,
            timeout=settings.mailjet_timeout,
            sandbox_mode=settings.mailjet_sandbox_mode,
        )

    mailjet = mailjet_client()
    forwarder = EventForwarder(
        spool=events,
        erp=erp.clone(),
        metrics=metrics,
        batch_size=settings.forward_batch_size,
        reports_pending=spool.depth,
    )
    try:
        webhook = start_webhook(settings, events, event_mapping, metrics, forwarder.wake)
    except OSError as exc:
        log.error(
            f"cannot listen on {settings.webhook_host}:{settings.webhook_port}: {exc}; "
            "check COURIER_WEBHOOK_HOST / COURIER_WEBHOOK_PORT"
        )
        http.stop()
        events.close()
        spool.close()
        return 1
    pdfs = PdfRenderer(erp.clone, settings.pdf_concurrency, settings.pdf_batch_size)
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
        build=build_message,
    )
    poll_stop = threading.Event()
    poll_mailjet = mailjet_client() if settings.poll_interval_seconds > 0 else None
    poll_thread = None
    if poll_mailjet is not None:
        # Its own connections: the send loop's are not shared across threads.
        poller = Poller(
            erp.clone(),
            poll_mailjet,
            events,
            event_mapping,
            interval_seconds=settings.poll_interval_seconds,
            max_age_days=settings.poll_max_age_days,
            batch_size=settings.poll_batch_size,
            metrics=metrics,
        )
        poll_thread = threading.Thread(
            target=poller.run, args=(poll_stop,), name="poller", daemon=True
        )

    http.start()
    forwarder.start()
    if poll_thread is not None:
        poll_thread.start()
    keeper.start()
    log.info(
        "courierd started",
        version=__version__,
        worker_id=settings.worker_id,
        odoo_url=settings.odoo_url,
        mailjet_api_url=settings.mailjet_api_url,
        http=f"http://{settings.http_host}:{http.port}",
        spool_depth=spool.depth(),
        event_spool_depth=events.depth(),
    )
    notifier.ready(f"sending as {settings.worker_id}")
    try:
        loop.run(stop)
    finally:
        notifier.stopping()
        keeper.stop()
        pdfs.close()
        if webhook is not None:
            webhook.stop()
        if poll_thread is not None:
            poll_stop.set()
            poll_thread.join(timeout=60)
        forwarder.stop()
        forwarder.flush()
        http.stop()
        mailjet.close()
        if poll_mailjet is not None:
            poll_mailjet.close()
        depth, event_depth = spool.depth(), events.depth()
        events.close()
        spool.close()
        log.info("courierd stopped", spool_depth=depth, event_spool_depth=event_depth)
    return 0


def start_webhook(
    settings: Settings,
    events: EventSpool,
    mapping: EventMapping,
    metrics: Metrics,
    on_stored: Callable[[], None],
) -> RouteServer | None:
    """The webhook receiver on its own server, or None (with a warning) without a password."""
    if settings.webhook_password is None:
        log.warning(
            "webhook receiver off: set COURIER_WEBHOOK_PASSWORD to receive Mailjet's events, "
            "or use the poller (COURIER_POLL_INTERVAL_SECONDS)"
        )
        return None
    receiver = WebhookReceiver(
        path=settings.webhook_path,
        user=settings.webhook_user,
        password=settings.webhook_password,
        spool=events,
        mapping=mapping,
        metrics=metrics,
        on_stored=on_stored,
    )
    server = RouteServer(
        settings.webhook_host, settings.webhook_port, receiver.routes(), "webhook", quiet=True
    )
    server.start()
    host = settings.webhook_host
    log.info(
        "webhook receiver listening; point Mailjet's event URL (behind your HTTPS proxy) here",
        url=f"http://{f'[{host}]' if ':' in host else host}:{server.port}{settings.webhook_path}",
        user=settings.webhook_user,
    )
    return server
