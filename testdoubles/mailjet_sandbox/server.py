"""``SandboxServer``: the sandbox in a background thread, for tests and the CLI."""

from __future__ import annotations

import threading
from pathlib import Path
from types import TracebackType

import structlog
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from mailjet_sandbox.app import SandboxApp
from mailjet_sandbox.faults import FaultList
from mailjet_sandbox.service import MailjetSandbox
from mailjet_sandbox.stats import Stats
from mailjet_sandbox.store import Store
from mailjet_sandbox.webhook import RetryPolicy, WebhookSender

log = structlog.get_logger(__name__)


class _QuietHandler(WSGIRequestHandler):
    """Werkzeug's per-request access lines go away; the app logs through structlog."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return None


class SandboxServer:
    """A Mailjet stand-in listening on ``host:port`` (port 0: any free port).

    ``url`` is the base to give mailjet-rest as ``api_url`` (trailing slash).
    """

    def __init__(
        self,
        outbox: Path,
        api_key: str,
        api_secret: str,
        host: str = "127.0.0.1",
        port: int = 0,
        webhook_url: str | None = None,
        webhook_auth: tuple[str, str] | None = None,
        sent_delay: float = 0.2,
        public_url: str | None = None,
        webhook_retry_seconds: float = 24 * 3600.0,
        tls: tuple[Path, Path] | None = None,
    ) -> None:
        if not api_key or not api_secret:
            raise ValueError("the sandbox needs an API key and secret")
        self.outbox = Path(outbox)
        self.host = host
        self._port = port
        self._public_url = public_url
        self._api_key = api_key
        self._api_secret = api_secret
        self._webhook_url = webhook_url
        self._webhook_auth = webhook_auth
        self._sent_delay = sent_delay
        self._retry = RetryPolicy(window_seconds=webhook_retry_seconds)
        # (certificate, key) files: serve HTTPS, which is the only transport on
        # which mailjet-rest mounts its retrying adapter (see docs/sandbox.md).
        self._tls = (str(tls[0]), str(tls[1])) if tls else None
        self._httpd: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self._store: Store | None = None
        self._webhook: WebhookSender | None = None
        self.stats = Stats()
        self.faults = FaultList()

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("the sandbox is not started")
        return int(self._httpd.server_port)

    @property
    def url(self) -> str:
        # Bound to every interface: clients on this machine use loopback, the
        # only non-Mailjet host mailjet-rest accepts.
        host = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(self.host, self.host)
        host = f"[{host}]" if ":" in host else host
        scheme = "https" if self._tls else "http"
        return f"{scheme}://{host}:{self.port}/"

    @property
    def public_url(self) -> str:
        base = self._public_url or self.url
        return base if base.endswith("/") else base + "/"

    def start(self) -> SandboxServer:
        """Bind, start serving and delivering; returns once the port is listening."""
        self._store = Store(self.outbox)
        # Bound first: with port 0 the public URL is only known after binding.
        self._httpd = make_server(
            self.host,
            self._port,
            _placeholder_app,
            threaded=True,
            request_handler=_QuietHandler,
            ssl_context=self._tls,
        )
        self._webhook = WebhookSender(
            self._store, self.stats, self._webhook_url, self._webhook_auth, self._retry
        )
        sandbox = MailjetSandbox(
            self.outbox,
            self._store,
            self.stats,
            public_url=self.public_url,
            sent_delay=self._sent_delay,
            on_events=self._webhook.wake,
        )
        self._httpd.app = SandboxApp(sandbox, self.faults, self._api_key, self._api_secret)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},  # stop() returns promptly
            name="sandbox-http",
            daemon=True,
        )
        self._thread.start()
        self._webhook.start()
        log.info(
            "sandbox_started",
            url=self.url,
            outbox=str(self.outbox),
            webhook=bool(self._webhook_url),
        )
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self._webhook is not None:
            self._webhook.stop()
        if self._store is not None:
            self._store.close()
        self._httpd = self._thread = self._webhook = self._store = None
        log.info("sandbox_stopped")

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def _placeholder_app(environ: dict, start_response: object) -> list[bytes]:
    raise RuntimeError("replaced by SandboxApp before serving starts")
