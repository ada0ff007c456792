"""The HTTP layer: routes requests to the sandbox, speaks Mailjet's HTTP."""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import time
from http import HTTPStatus
from typing import Any

import structlog
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from mailjet_sandbox import errors
from mailjet_sandbox.faults import Fault, FaultList
from mailjet_sandbox.service import MailjetSandbox
from mailjet_sandbox.tracking import PIXEL_GIF

log = structlog.get_logger(__name__)

# Base64 of a 15 MB attachment plus room for the rest of a 50-message call.
MAX_BODY_BYTES = 64 * 1024 * 1024
LOOPBACK = ("127.0.0.1", "::1", "localhost")

_URLS = Map(
    [
        Rule("/v3.1/send", endpoint="send", methods=["POST"]),
        Rule("/v3/REST/message", endpoint="message_list", methods=["GET"]),
        Rule("/v3/REST/message/<message_id>", endpoint="message_one", methods=["GET"]),
        Rule("/v3/REST/messagehistory/<message_id>", endpoint="history", methods=["GET"]),
        Rule("/v3/REST/clickstatistics", endpoint="click_statistics", methods=["GET"]),
        Rule("/t/o/<token>.gif", endpoint="open", methods=["GET"]),
        Rule("/t/c/<token>", endpoint="click", methods=["GET"]),
        Rule("/_sandbox/health", endpoint="health", methods=["GET"]),
        Rule("/_sandbox/stats", endpoint="stats", methods=["GET"]),
        Rule("/_sandbox/messages", endpoint="messages", methods=["GET"]),
        Rule("/_sandbox/faults", endpoint="faults", methods=["GET", "POST", "DELETE"]),
    ],
    strict_slashes=False,
)


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


# Query parameters of /v3/REST/message that fill a field left empty otherwise.
SHOW_FIELDS = {"ShowContactAlt": "ContactAlt", "ShowCustomID": "CustomID", "ShowSubject": "Subject"}


def _shown(request: Request) -> frozenset[str]:
    """The fields whose Show* parameter is true (mailjet-rest sends "true" or "True")."""
    return frozenset(
        field
        for param, field in SHOW_FIELDS.items()
        if request.args.get(param, "").strip().lower() in ("true", "1")
    )


def _json(body: Any, status: int = 200) -> Response:
    return Response(json.dumps(body), status=status, mimetype="application/json")


class SandboxApp:
    """WSGI application; credentials are compared in constant time, never logged."""

    def __init__(self, sandbox: MailjetSandbox, faults: FaultList, api_key: str, api_secret: str):
        self.sandbox = sandbox
        self.faults = faults
        self._api_key = api_key
        self._api_secret = api_secret

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        request.max_content_length = MAX_BODY_BYTES
        try:
            response = self._dispatch(request)
        except RequestEntityTooLarge:
            response = _json(
                errors.send_error("mj-0011", "The payload size is over the limit."), 413
            )
        except HTTPException as exc:
            response = _json(
                errors.rest_error(exc.code or 500, exc.description or ""), exc.code or 500
            )
        log.debug(
            "sandbox_request", method=request.method, path=request.path, status=response.status_code
        )
        return response(environ, start_response)

    def _dispatch(self, request: Request) -> Response:
        adapter = _URLS.bind_to_environ(request.environ)
        endpoint, values = adapter.match()
        if endpoint in ("health", "stats", "messages", "faults"):
            if request.remote_addr not in LOOPBACK:
                return _json({"error": "admin endpoints answer loopback clients only"}, 403)
            return getattr(self, f"_admin_{endpoint}")(request)
        injected = self._injected_fault(request)
        if injected is not None:
            if endpoint == "send":
                self.sandbox.stats.send_call(injected.status_code)
            return injected
        return getattr(self, f"_on_{endpoint}")(request, **values)

    # -- faults and auth -------------------------------------------------

    def _injected_fault(self, request: Request) -> Response | None:
        fault = self.faults.take(request.path)
        if fault is None:
            return None
        if fault.delay_seconds:
            time.sleep(fault.delay_seconds)
        if fault.status is None:
            return None
        reason = _reason(fault.status)
        if fault.status == 429:
            return Response(errors.THROTTLED_HTML, status=429, mimetype="text/html")
        if fault.status >= 500:
            return _json(errors.server_error(fault.status, reason), fault.status)
        return _json(errors.rest_error(fault.status, reason), fault.status)

    def _authorized(self, request: Request) -> bool:
        header = request.headers.get("Authorization", "")
        scheme, _, encoded = header.partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            decoded = base64.b64decode(encoded, validate=True).decode("latin-1")
        except (binascii.Error, ValueError):
            return False
        key, sep, secret = decoded.partition(":")
        ok_key = hmac.compare_digest(key.encode(), self._api_key.encode())
        ok_secret = hmac.compare_digest(secret.encode(), self._api_secret.encode())
        return bool(sep) and ok_key and ok_secret

    @staticmethod
    def _unauthorized(body: dict[str, Any]) -> Response:
        response = _json(body, 401)
        response.headers["WWW-Authenticate"] = 'Basic realm="Provide an apikey and secretkey"'
        return response

    # -- Mailjet endpoints -----------------------------------------------

    def _on_send(self, request: Request) -> Response:
        if not self._authorized(request):
            self.sandbox.stats.send_call(401)
            return self._unauthorized(errors.send_auth_error())
        try:
            payload = json.loads(request.get_data(cache=False) or b"null")
        except (ValueError, UnicodeDecodeError):
            payload = None
        status, body = self.sandbox.send(payload)
        self.sandbox.stats.send_call(status)
        return _json(body, status)

    def _rest_auth_failure(self, request: Request) -> Response | None:
        if self._authorized(request):
            return None
        return self._unauthorized(errors.rest_error(401, errors.AUTH_FAILURE_TEXT))

    @staticmethod
    def _listing(items: list[dict[str, Any]], request: Request) -> Response:
        try:
            offset = max(int(request.args.get("Offset", 0)), 0)
            limit = min(max(int(request.args.get("Limit", 10)), 0), 1000)
        except ValueError:
            return _json(errors.rest_error(400, "Invalid Limit or Offset"), 400)
        page = items[offset : offset + limit] if limit else items[offset:]
        return _json({"Count": len(page), "Data": page, "Total": len(page)})

    def _on_message_list(self, request: Request) -> Response:
        denied = self._rest_auth_failure(request)
        if denied is not None:
            return denied
        found = self.sandbox.store.find_messages(
            custom_id=request.args.get("CustomID"), email=request.args.get("ContactAlt")
        )
        shown = _shown(request)
        return self._listing([self.sandbox.message_resource(m, shown) for m in found], request)

    def _on_message_one(self, request: Request, message_id: str) -> Response:
        denied = self._rest_auth_failure(request)
        if denied is not None:
            return denied
        msg = self.sandbox.store.get_message(int(message_id)) if message_id.isdigit() else None
        if msg is None:
            return _json(errors.rest_error(404, "Object not found"), 404)
        item = self.sandbox.message_resource(msg, _shown(request))
        return _json({"Count": 1, "Data": [item], "Total": 1})

    def _on_history(self, request: Request, message_id: str) -> Response:
        denied = self._rest_auth_failure(request)
        if denied is not None:
            return denied
        msg = self.sandbox.store.get_message(int(message_id)) if message_id.isdigit() else None
        if msg is None:
            return _json(errors.rest_error(404, "Object not found"), 404)
        data = self.sandbox.history(msg.message_id)
        return _json({"Count": len(data), "Data": data, "Total": len(data)})

    def _on_click_statistics(self, request: Request) -> Response:
        denied = self._rest_auth_failure(request)
        if denied is not None:
            return denied
        raw_id = request.args.get("MessageID")
        if raw_id is not None and not raw_id.isdigit():
            return _json(errors.rest_error(400, "Invalid MessageID"), 400)
        clicks = self.sandbox.click_statistics(None if raw_id is None else int(raw_id))
        return self._listing(clicks, request)

    # -- tracking endpoints (no auth: the recipient's mail client calls them) --

    def _on_open(self, request: Request, token: str) -> Response:
        self.sandbox.record_open(token, request.user_agent.string, request.remote_addr or "")
        response = Response(PIXEL_GIF, mimetype="image/gif")
        response.headers["Cache-Control"] = "no-store"
        return response

    def _on_click(self, request: Request, token: str) -> Response:
        url = request.args.get("u", "")
        target = self.sandbox.record_click(
            token, url, request.user_agent.string, request.remote_addr or ""
        )
        if target is None:
            return Response("Unknown tracking link\n", status=404, mimetype="text/plain")
        response = Response("", status=302)
        response.headers["Location"] = target
        response.headers["Cache-Control"] = "no-store"
        return response

    # -- admin endpoints ---------------------------------------------------

    def _admin_health(self, request: Request) -> Response:
        return _json({"status": "ok"})

    def _admin_stats(self, request: Request) -> Response:
        return _json(self.sandbox.stats.snapshot())

    def _admin_messages(self, request: Request) -> Response:
        return _json(self.sandbox.overview())

    def _admin_faults(self, request: Request) -> Response:
        if request.method == "DELETE":
            self.faults.clear()
            return _json({"faults": []})
        if request.method == "POST":
            try:
                fault = Fault.from_json(request.get_json(force=True, silent=True))
            except ValueError as exc:
                return _json({"error": str(exc)}, 400)
            self.faults.add(fault)
        return _json({"faults": self.faults.list()})
