"""`courierd run`: wires the parts together from Settings and runs the send loop until a signal.

Besides the send loop: the event spool, the webhook receiver (its own server,
only with a password), the event forwarder thread and, when
COURIER_POLL_INTERVAL_SECONDS > 0, the poller thread.

Every piece is started inside one `ExitStack` right after it is made, and its
stop is pushed at once: whatever fails (a port in use, the loop itself, a
signal), what was started is stopped in reverse order, so the forwarder stops
after the webhook and the poller that feed it, and the spools close last.
"""

from __future__ import annotations

import signal
import sqlite3
import threading
from collections.abc import Callable
from contextlib import ExitStack, closing
from datetime import timedelta
from types import FrameType
from typing import TypeVar

from courierd import __version__
from courierd.config import Settings
from courierd.domain.backoff import RetryPolicy
from courierd.domain.errors import CannotStart, MappingError
from courierd.domain.retry_bound import RetryBound
from courierd.mailjet.client import MailjetClient
from courierd.mailjet.event_mapping import EventMapping, load_event_mapping
from courierd.mailjet.message_mapping import load_message_mapping, make_message_builder
from courierd.mailjet.messages import MessageBuilder
from courierd.mailjet.provider import MailjetHistory, MailjetSender
from courierd.mailjet.webhook_body import MAX_BODY_BYTES
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
STATE_DIR_HINT = "check COURIER_STATE_DIR exists and is writable by this user"

T = TypeVar("T")


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
    try:
        event_mapping = load_event_mapping(settings.event_mapping)
        build = make_message_builder(load_message_mapping(settings.message_mapping))
    except MappingError as exc:
        log.error(
            "a mapping file cannot be used; check it with `courierd mappings check FILE`, "
            "fix it, then start",
            problems=exc.problems,
        )
        return 2
    with ExitStack() as stack:
        try:
            loop = _start(settings, stack, event_mapping, build, extra_routes or [])
        except CannotStart as exc:
            log.error(str(exc))
            return 1
        loop.run(stop)
    return 0


def _opened(make: Callable[[], T], what: str, hint: str) -> T:
    """`make()`, or CannotStart saying what could not be opened and what to check."""
    try:
        return make()
    except (OSError, sqlite3.Error) as exc:
        raise CannotStart(f"cannot {what}: {exc}; {hint}") from exc


def _start(
    settings: Settings,
    stack: ExitStack,
    event_mapping: EventMapping,
    build: MessageBuilder,
    extra_routes: list[Route],
) -> SendLoop:
    """Start every piece, each one's stop pushed on `stack`; the send loop, ready to run."""
    state_dir = settings.state_dir
    reports = _opened(
        lambda: ReportSpool(state_dir), f"open the report spool in {state_dir}", STATE_DIR_HINT
    )
    stack.callback(reports.close)
    events = _opened(
        lambda: EventSpool(state_dir), f"open the event spool in {state_dir}", STATE_DIR_HINT
    )
    stack.callback(events.close)
    stack.callback(_log_stopped, reports, events)

    metrics = Metrics()
    metrics.event_spool_depth.set_function(events.depth)
    health = Health(settings.health_max_age_seconds, event_spool_depth=events.depth)
    http = _opened(
        lambda: HttpServer(settings.http_host, settings.http_port, health, metrics, extra_routes),
        f"listen on {settings.http_host}:{settings.http_port}",
        "check COURIER_HTTP_HOST / COURIER_HTTP_PORT",
    )
    stack.callback(http.stop)  # serving from the end of the start: up means all is up

    erp = ErpClient(
        url=settings.odoo_url,
        db=settings.odoo_db,
        login=settings.odoo_login,
        password=settings.odoo_password,
        api_key=settings.odoo_api_key,
        transport=settings.odoo_transport,
        timeout=settings.odoo_timeout,
    )
    mailjet = stack.enter_context(closing(_mailjet_client(settings)))
    forwarder = EventForwarder(
        spool=events,
        erp=erp.clone(),
        metrics=metrics,
        batch_size=settings.forward_batch_size,
        reports_pending=reports.depth,
    )
    forwarder.start()
    stack.callback(forwarder.flush)  # after the stop: what waits goes to Odoo while it answers
    stack.callback(forwarder.stop)
    _start_webhook(settings, stack, events, event_mapping, metrics, forwarder.wake)
    if settings.poll_interval_seconds > 0:
        _start_poller(settings, stack, erp, events, event_mapping, metrics)

    pdfs = PdfRenderer(erp.clone, settings.pdf_concurrency, settings.pdf_batch_size)
    stack.callback(pdfs.close)
    notifier = Notifier()
    keeper = WatchdogKeeper(notifier, watchdog_interval(), STALL_SECONDS)
    keeper.start()
    stack.callback(keeper.stop)
    stack.callback(notifier.stopping)
    http.start()
    log.info(
        "courierd started",
        version=__version__,
        worker_id=settings.worker_id,
        odoo_url=settings.odoo_url,
        mailjet_api_url=settings.mailjet_api_url,
        http=f"http://{settings.http_host}:{http.port}",
        spool_depth=reports.depth(),
        event_spool_depth=events.depth(),
    )
    notifier.ready(f"sending as {settings.worker_id}")
    return SendLoop(
        LoopSettings(
            worker_id=settings.worker_id,
            batch_size=settings.batch_size,
            lease_seconds=settings.lease_seconds,
            idle_seconds=settings.idle_seconds,
            claim_wait_seconds=settings.claim_wait_seconds,
            retry_policy=RetryPolicy(settings.retry_base_seconds, settings.retry_max_seconds),
            retry_bound=RetryBound(settings.max_attempts, timedelta(hours=settings.max_age_hours)),
        ),
        erp=erp,
        mail=MailjetSender(mailjet, build),
        pdfs=pdfs,
        spool=reports,
        metrics=metrics,
        health=health,
        on_progress=keeper.progress,
        on_status=notifier.status,
    )


def _mailjet_client(settings: Settings) -> MailjetClient:
    return MailjetClient(
        api_key=settings.mailjet_api_key,
        api_secret=settings.mailjet_api_secret,
        api_url=settings.mailjet_api_url,
        timeout=settings.mailjet_timeout,
        sandbox_mode=settings.mailjet_sandbox_mode,
    )


def _start_webhook(
    settings: Settings,
    stack: ExitStack,
    events: EventSpool,
    mapping: EventMapping,
    metrics: Metrics,
    on_stored: Callable[[], None],
) -> None:
    """The webhook receiver on its own server, or a warning without a password."""
    if settings.webhook_password is None:
        log.warning(
            "webhook receiver off: set COURIER_WEBHOOK_PASSWORD to receive Mailjet's events, "
            "or use the poller (COURIER_POLL_INTERVAL_SECONDS)"
        )
        return
    receiver = WebhookReceiver(
        path=settings.webhook_path,
        user=settings.webhook_user,
        password=settings.webhook_password,
        spool=events,
        mapping=mapping,
        metrics=metrics,
        on_stored=on_stored,
    )
    host, port = settings.webhook_host, settings.webhook_port
    server = _opened(
        lambda: RouteServer(
            host, port, receiver.routes(), "webhook", quiet=True, max_body_bytes=MAX_BODY_BYTES
        ),
        f"listen on {host}:{port}",
        "check COURIER_WEBHOOK_HOST / COURIER_WEBHOOK_PORT",
    )
    server.start()
    stack.callback(server.stop)
    log.info(
        "webhook receiver listening; point Mailjet's event URL (behind your HTTPS proxy) here",
        url=f"http://{f'[{host}]' if ':' in host else host}:{server.port}{settings.webhook_path}",
        user=settings.webhook_user,
    )


def _start_poller(
    settings: Settings,
    stack: ExitStack,
    erp: ErpClient,
    events: EventSpool,
    mapping: EventMapping,
    metrics: Metrics,
) -> None:
    """The poller in its own thread, with its own connections (not shared across threads)."""
    mailjet = stack.enter_context(closing(_mailjet_client(settings)))
    poller = Poller(
        erp.clone(),
        MailjetHistory(mailjet, mapping),
        events,
        mapping.scanner_guard.rule(),
        interval_seconds=settings.poll_interval_seconds,
        max_age_days=settings.poll_max_age_days,
        batch_size=settings.poll_batch_size,
        metrics=metrics,
    )
    stop = threading.Event()
    thread = threading.Thread(target=poller.run, args=(stop,), name="poller", daemon=True)
    thread.start()
    stack.callback(thread.join, timeout=60)
    stack.callback(stop.set)


def _log_stopped(reports: ReportSpool, events: EventSpool) -> None:
    log.info("courierd stopped", spool_depth=reports.depth(), event_spool_depth=events.depth())
