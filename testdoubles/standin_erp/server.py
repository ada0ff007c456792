"""The stand-in ERP server: a threaded werkzeug server around the RPC handler.

Besides the JSON-RPC routes (and, as Odoo 19, the JSON-2 ones) it has switches
the tests need: take the "ERP" down (refuse connections or answer 502 like a
proxy in front of a dead Odoo), make chosen RPC methods fail, hang or slow
down, restart (sessions are lost, as with a restarted Odoo), and count every
RPC call by method.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Self

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from standin_erp.errors import OdooError
from standin_erp.json2 import JSON2_PATH, Json2Handler, not_found_page
from standin_erp.rpc import (
    Credentials,
    RpcCounter,
    RpcHandler,
    lookup_route,
    server_version_info,
)
from standin_erp.store import CourierStore

FaultMode = Literal["502", "hang", "delay"]
DownMode = Literal["refuse", "502"]
BAD_GATEWAY_PAGE = "<html><body><h1>502 Bad Gateway</h1></body></html>"


@dataclass
class Fault:
    """Makes calls of one RPC method (``None``: every call) misbehave.

    ``hang`` holds the request until the fault is cleared or the server stops,
    then answers 502 without running it; ``delay`` runs it after
    ``delay_seconds``; ``502`` answers Bad Gateway without running it.
    """

    method: str | None
    mode: FaultMode
    times: int | None = None
    delay_seconds: float = 0.0
    released: bool = False

    def matches(self, method: str) -> bool:
        return self.method is None or method == self.method or method.endswith("." + self.method)


class _QuietRequestHandler(WSGIRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """The tests and benchmark issue thousands of calls; no access log."""


class StandinErp:
    """A stand-in for Odoo with the invoice_courier addon, on loopback.

    `odoo_version=18` serves JSON-RPC only, as Odoo 18; `19` serves JSON-2 too
    (`POST /json/2/<model>/<method>`, `Authorization: bearer <api_key>`), as
    Odoo 19. The daemon user logs in with `password`, or `api_key` in its place.

    >>> erp = StandinErp(password="secret").start()
    >>> ids = erp.seed_dispatches(3)
    >>> erp.stop()
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        db: str = "courier",
        login: str = "courierd",
        password: str = "courierd-standin",
        database: Path | None = None,
        pdf_render_seconds: float = 0.0,
        api_key: str = "courierd-standin-api-key",
        odoo_version: Literal[18, 19] = 18,
    ) -> None:
        self.host = host
        self.port = port
        self.db = db
        self.login = login
        self.password = password
        self.api_key = api_key
        self.odoo_version = odoo_version
        self.store = CourierStore(database, render_seconds=pdf_render_seconds)
        self.counter = RpcCounter()
        self.handler = RpcHandler(
            self.store,
            Credentials(db, login, password, api_key),
            self.counter,
            server_version_info(odoo_version),
        )
        self.json2 = Json2Handler(self.handler, api_key) if odoo_version >= 19 else None
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self._state_lock = threading.Condition()
        self._down: DownMode | None = None
        self._faults: list[Fault] = []
        # Used-up hang faults still hold their requests until clear_faults().
        self._spent: list[Fault] = []
        self._hung = 0
        self._stopping = False

    # --------------------------------------------------------------- lifecycle

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> Self:
        self._stopping = False
        self._listen()
        return self

    def stop(self) -> None:
        with self._state_lock:
            self._stopping = True
            self._state_lock.notify_all()
        self._close_listener()
        self.store.close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _listen(self) -> None:
        server = make_server(
            self.host, self.port, self._wsgi, threaded=True, request_handler=_QuietRequestHandler
        )
        self.port = server.server_port
        self.store.base_url = self.url
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},  # stop() and go_down() return promptly
            name=f"standin-erp:{self.port}",
            daemon=True,
        )
        self._thread.start()

    def _close_listener(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    def restart(self) -> None:
        """Stop listening and listen again on the same port; sessions are lost."""
        self._close_listener()
        self.handler.forget_sessions()
        self._listen()

    # ------------------------------------------------------------ "ERP down"

    def go_down(self, mode: DownMode = "refuse") -> None:
        """``refuse``: nothing listens on the port; ``502``: a proxy answers Bad Gateway."""
        with self._state_lock:
            self._down = mode
        if mode == "refuse":
            self._close_listener()

    def come_back(self) -> None:
        with self._state_lock:
            was, self._down = self._down, None
        if was == "refuse":
            self._listen()

    def add_fault(
        self,
        method: str | None,
        mode: FaultMode,
        times: int | None = None,
        delay_seconds: float = 0.0,
    ) -> None:
        with self._state_lock:
            self._faults.append(Fault(method, mode, times, delay_seconds))

    def clear_faults(self) -> None:
        with self._state_lock:
            for fault in [*self._faults, *self._spent]:
                fault.released = True
            self._faults.clear()
            self._spent.clear()
            self._state_lock.notify_all()

    def wait_hung(self, timeout: float) -> bool:
        """Block until a request is held by a ``hang`` fault (True) or timeout (False)."""
        deadline = time.monotonic() + timeout
        with self._state_lock:
            while self._hung == 0:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._state_lock.wait(remaining)
            return True

    # ---------------------------------------------------------- test helpers

    def seed_dispatches(
        self,
        count: int,
        emails: list[str] | None = None,
        *,
        with_pdf: bool = True,
        pdf_base64: str | None = None,
    ) -> list[int]:
        """Queued dispatches (see CourierStore.seed); ``with_pdf=False``: ``pdf_pending``."""
        return self.store.seed(count, emails, with_pdf=with_pdf, pdf_base64=pdf_base64)

    def dispatches(self, ids: list[int]) -> list[dict[str, Any]]:
        return self.store.dispatches(ids)

    def events(self, dispatch_id: int) -> list[dict[str, Any]]:
        return self.store.events(dispatch_id)

    def event_count(self) -> int:
        """Tracking events stored, all dispatches together."""
        return self.store.event_count()

    def rpc_calls(self) -> dict[str, int]:
        return self.counter.snapshot()

    def reset_rpc_calls(self) -> None:
        self.counter.reset()

    # -------------------------------------------------------------------- WSGI

    def _wsgi(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        return self._respond(request)(environ, start_response)

    def _respond(self, request: Request) -> Response:
        if self._down == "502":
            return Response(BAD_GATEWAY_PAGE, status=502, mimetype="text/html")
        if request.path == "/web/health":
            return Response(json.dumps({"status": "pass"}), mimetype="application/json")
        if request.path == JSON2_PATH or request.path.startswith(JSON2_PATH + "/"):
            return self._respond_json2(request)
        if request.method != "POST":
            return Response("Method Not Allowed", status=405)
        try:
            body = json.loads(request.get_data() or b"null")
        except ValueError:
            return Response("Invalid JSON data", status=400)
        if not isinstance(body, dict) or not isinstance(body.get("params", {}), dict):
            return Response("Invalid JSON-RPC data", status=400)
        params = body.get("params") or {}
        fault = self._take_fault(self._method_name(request.path, params))
        if fault is not None and not self._survive(fault):
            return Response(BAD_GATEWAY_PAGE, status=502, mimetype="text/html")
        return self._dispatch(request, body.get("id"), params)

    def _respond_json2(self, request: Request) -> Response:
        if self.json2 is None:
            return not_found_page()  # Odoo 18 has no /json/2
        fault = self._take_fault(request.path.removeprefix(JSON2_PATH + "/").replace("/", "."))
        if fault is not None and not self._survive(fault):
            return Response(BAD_GATEWAY_PAGE, status=502, mimetype="text/html")
        return self.json2.respond(request)

    def _dispatch(self, request: Request, request_id: Any, params: dict[str, Any]) -> Response:
        session_id = request.cookies.get("session_id")
        new_session = None
        try:
            if request.path == "/web/session/authenticate":
                result, new_session = self.handler.authenticate(params)
            else:
                result = lookup_route(self.handler, request.path)(params, session_id)
            payload: dict[str, Any] = {"jsonrpc": "2.0", "id": request_id, "result": result}
        except OdooError as exc:
            payload = {"jsonrpc": "2.0", "id": request_id, "error": exc.to_rpc_error()}
        except Exception as exc:  # Odoo serialises any server-side exception the same way
            payload = {"jsonrpc": "2.0", "id": request_id, "error": _builtin_error(exc)}
        response = Response(json.dumps(payload), mimetype="application/json")
        if new_session:
            response.set_cookie("session_id", new_session, httponly=True, samesite="Lax")
        return response

    @staticmethod
    def _method_name(path: str, params: dict[str, Any]) -> str:
        if path == "/jsonrpc" and params.get("service") == "object":
            args = params.get("args") or []
            if isinstance(args, list) and len(args) >= 5:
                return f"{args[3]}.{args[4]}"
        if path.startswith("/web/dataset/call_kw"):
            return f"{params.get('model')}.{params.get('method')}"
        if path == "/jsonrpc":
            return f"{params.get('service')}.{params.get('method')}"
        return path

    def _take_fault(self, method: str) -> Fault | None:
        with self._state_lock:
            for fault in self._faults:
                if fault.matches(method):
                    if fault.times is not None:
                        fault.times -= 1
                        if fault.times <= 0:
                            self._faults.remove(fault)
                            self._spent.append(fault)
                    return fault
        return None

    def _survive(self, fault: Fault) -> bool:
        """Apply a fault; True when the call should then run normally."""
        if fault.mode == "delay":
            time.sleep(fault.delay_seconds)
            return True
        if fault.mode == "hang":
            with self._state_lock:
                self._hung += 1
                self._state_lock.notify_all()
                # Held until clear_faults() or stop().
                while not self._stopping and not fault.released:
                    self._state_lock.wait(0.5)
                self._hung -= 1
        return False


def _builtin_error(exc: Exception) -> dict[str, Any]:
    error = OdooError(str(exc))
    error.odoo_name = f"builtins.{type(exc).__name__}"
    return error.to_rpc_error()
