"""The daemon's HTTP servers (werkzeug apps on ops/bounded_server.py): /healthz, /metrics.

Routes are a list of `Route(rule, handler)`. `RouteServer` serves any list of
routes; the webhook receiver runs on its own one (it sits behind a public proxy,
/metrics must not). Each server reads requests in full in one thread, under a
deadline and a body limit, and runs them on a few worker threads, so slow
clients never starve it (docs/daemon.md, "HTTP limits").
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule
from werkzeug.serving import LISTEN_QUEUE, get_sockaddr, select_address_family
from werkzeug.wrappers import Request, Response

from courierd.ops.bounded_server import BODY_TOO_LARGE, BoundedWSGIServer, BufferedRequestHandler
from courierd.ops.metrics import Health, Metrics

Handler = Callable[..., Response]
# Defaults of a server: the loopback one takes no body; the webhook's is set by its caller.
MAX_BODY_BYTES = 64 * 1024
WORKERS = 4
REQUEST_SECONDS = 30.0
IDLE_SECONDS = 10.0


def body_too_large(request: Request) -> bool:
    """The server did not read this request's body: it was over the server's limit (413)."""
    return bool(request.environ.get(BODY_TOO_LARGE))


@dataclass(frozen=True)
class Route:
    rule: Rule  # its endpoint must be unique among all routes
    handler: Handler  # called as handler(request, **rule_arguments)


def health_routes(health: Health, metrics: Metrics) -> list[Route]:
    def healthz(request: Request) -> Response:
        snap = health.snapshot()
        last = (
            datetime.fromtimestamp(snap.last_turn_at, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            if snap.last_turn_at
            else None
        )
        body = {
            "status": "ok" if snap.healthy else "stalled",
            "last_turn_at": last,
            "spool_depth": snap.spool_depth,
        }
        if snap.event_spool_depth is not None:
            body["event_spool_depth"] = snap.event_spool_depth
        return Response(
            json.dumps(body), status=200 if snap.healthy else 503, mimetype="application/json"
        )

    def metrics_page(request: Request) -> Response:
        return Response(generate_latest(metrics.registry), content_type=CONTENT_TYPE_LATEST)

    return [
        Route(Rule("/healthz", methods=["GET"], endpoint="healthz"), healthz),
        Route(Rule("/metrics", methods=["GET"], endpoint="metrics"), metrics_page),
    ]


class HttpApp:
    """A WSGI app dispatching a list of routes."""

    def __init__(self, routes: Sequence[Route]) -> None:
        self._map = Map([route.rule for route in routes])
        self._handlers = {route.rule.endpoint: route.handler for route in routes}

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        request = Request(environ)
        adapter = self._map.bind_to_environ(environ)
        try:
            endpoint, arguments = adapter.match()
            response = self._handlers[endpoint](request, **arguments)
        except HTTPException as exc:
            return exc(environ, start_response)
        return response(environ, start_response)


class _QuietRequestHandler(BufferedRequestHandler):
    """No werkzeug access line per request: the app logs what matters itself."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return None


def _listening_socket(host: str, port: int) -> socket.socket:
    """A socket bound to host:port and listening; OSError when the address cannot be had.

    werkzeug binds by itself only to print the error and call sys.exit(1), which would
    skip courierd's own message (which setting to check) and its orderly stop; handed
    a socket, it does not bind.
    """
    family = select_address_family(host, port)
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as werkzeug does
        sock.bind(get_sockaddr(host, port, family))
        sock.listen(LISTEN_QUEUE)
    except BaseException:
        sock.close()
        raise
    return sock


class RouteServer:
    """A server of some routes, serving from a background thread (ops/bounded_server.py).

    `max_body_bytes`: larger bodies get 413 (the route sees `body_too_large`);
    `workers`: threads running requests; `request_seconds`/`idle_seconds`: the
    read deadline of each connection.
    """

    def __init__(
        self,
        host: str,
        port: int,
        routes: Sequence[Route],
        name: str,
        quiet: bool = False,
        *,
        max_body_bytes: int = MAX_BODY_BYTES,
        workers: int = WORKERS,
        request_seconds: float = REQUEST_SECONDS,
        idle_seconds: float = IDLE_SECONDS,
    ) -> None:
        handler = _QuietRequestHandler if quiet else BufferedRequestHandler
        # werkzeug serves a duplicate of the socket (socket.fromfd): this one is closed.
        with _listening_socket(host, port) as listener:
            self._server = BoundedWSGIServer(
                host,
                port,
                HttpApp(routes),
                handler,
                listener.fileno(),
                name=name,
                max_body_bytes=max_body_bytes,
                workers=workers,
                request_seconds=request_seconds,
                idle_seconds=idle_seconds,
            )
        self.port = self._server.port
        self._thread = threading.Thread(target=self._server.serve_forever, name=name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        # shutdown() would wait forever for a serve_forever() that never ran.
        if self._thread.is_alive():
            self._server.shutdown()
        self._server.server_close()


class HttpServer(RouteServer):
    """The loopback server: /healthz, /metrics and any extra routes."""

    def __init__(
        self,
        host: str,
        port: int,
        health: Health,
        metrics: Metrics,
        extra_routes: Iterable[Route] = (),
    ) -> None:
        super().__init__(host, port, [*health_routes(health, metrics), *extra_routes], "http")
