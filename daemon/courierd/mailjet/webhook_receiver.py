"""Mailjet's Event API callbacks: POST webhook_path, Basic auth, into the event spool.

Version 1 posts one JSON object, version 2 a JSON array of them. The answer is
200 only once every storable event of the body is committed to the spool, so
Mailjet stops retrying only for events courierd cannot lose.

A version-2 array with some events courierd rejects: the valid ones are stored,
and the answer is 400 naming the rejected indexes. Mailjet then retries the
whole array; the events already stored come back as duplicates, which the
spool (while they wait) and Odoo's dedupe key (once forwarded) absorb.
"""

from __future__ import annotations

import hmac
import json
import sqlite3
from collections.abc import Callable
from typing import Any

from pydantic import SecretStr
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from courierd.domain.errors import RejectedEvent
from courierd.domain.ports import TrackingSpool
from courierd.domain.tracking import TrackingEvent
from courierd.mailjet.event_mapping import EventMapping
from courierd.mailjet.event_normalizer import normalize_mailjet_event
from courierd.ops.http_server import Route
from courierd.ops.logs import get_logger
from courierd.ops.metrics import Metrics

log = get_logger(__name__)

# Mailjet groups events of about one second per version-2 POST; 5 MB is thousands.
MAX_BODY_BYTES = 5 * 1024 * 1024


class WebhookReceiver:
    def __init__(
        self,
        *,
        path: str,
        user: str,
        password: SecretStr,
        spool: TrackingSpool,
        mapping: EventMapping,
        metrics: Metrics,
        on_stored: Callable[[], None] | None = None,
    ) -> None:
        self.path = path
        self._user = user.encode("utf-8")
        self._password = password.get_secret_value().encode("utf-8")
        self._spool = spool
        self._mapping = mapping
        self._guard = mapping.scanner_guard.rule()
        self._metrics = metrics
        self._on_stored = on_stored

    def routes(self) -> list[Route]:
        return [Route(Rule(self.path, methods=["POST"], endpoint="mailjet_webhook"), self.handle)]

    def handle(self, request: Request) -> Response:
        response = self._handle(request)
        self._metrics.webhook_requests.labels(status=str(response.status_code)).inc()
        return response

    def _authorized(self, request: Request) -> bool:
        auth = request.authorization
        user = (auth.username or "") if auth and auth.type == "basic" else ""
        password = (auth.password or "") if auth and auth.type == "basic" else ""
        # Both compared every time, so the answer time does not tell which one was wrong.
        user_ok = hmac.compare_digest(user.encode("utf-8"), self._user)
        password_ok = hmac.compare_digest(password.encode("utf-8"), self._password)
        return user_ok and password_ok

    def _handle(self, request: Request) -> Response:
        if not self._authorized(request):
            auth = request.authorization
            log.warning(
                "webhook call refused: wrong or missing Basic auth; check the credentials of "
                "the webhook URL in Mailjet's event settings against COURIER_WEBHOOK_USER "
                "and COURIER_WEBHOOK_PASSWORD",
                remote=request.remote_addr,
                # Never the user name received: with swapped credentials it is the password.
                auth="missing or unreadable"
                if auth is None
                else (
                    "wrong user or password" if auth.type == "basic" else f"{auth.type}, not basic"
                ),
            )
            response = _answer(401, "wrong or missing credentials (Basic auth)")
            response.headers["WWW-Authenticate"] = 'Basic realm="courierd webhook"'
            return response
        if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
            return self._refuse(413, f"the body is over {MAX_BODY_BYTES} bytes", request)
        request.max_content_length = MAX_BODY_BYTES
        try:
            body = json.loads(request.get_data(cache=False))
        except RequestEntityTooLarge:
            # A chunked body gives no Content-Length: the limit trips while reading.
            return self._refuse(413, f"the body is over {MAX_BODY_BYTES} bytes", request)
        except ValueError as exc:
            return self._refuse(400, f"the body is not valid JSON: {exc}", request)
        if isinstance(body, dict):
            objects: list[Any] = [body]
        elif isinstance(body, list):
            objects = body
        else:
            reason = "the body must be one event object (version 1) or an array (version 2)"
            return self._refuse(400, reason, request)
        return self._store(objects, request)

    def _store(self, objects: list[Any], request: Request) -> Response:
        events: list[TrackingEvent] = []
        rejected: list[dict[str, Any]] = []
        ignored = 0
        for index, obj in enumerate(objects):
            try:
                event = normalize_mailjet_event(obj, self._mapping, "mailjet_webhook")
            except RejectedEvent as exc:
                rejected.append({"index": index, "reason": str(exc)})
                continue
            if event is None:
                ignored += 1
            else:
                events.append(event)
        events = self._guard.check_all(events, self._spool.delivered_at)
        try:
            new = self._spool.add(events)
        except (OSError, sqlite3.Error) as exc:
            log.error(
                f"cannot store webhook events in the event spool: {exc}; Mailjet will retry; "
                "check the disk and COURIER_STATE_DIR",
                events=len(events),
            )
            return _answer(503, "the events cannot be stored right now; retry later")
        if new and self._on_stored is not None:
            self._on_stored()
        counts = {
            "stored": new,
            "duplicate": len(events) - new,
            "ignored": ignored,
            "rejected": len(rejected),
        }
        for outcome, count in counts.items():
            if count:
                self._metrics.webhook_events.labels(outcome=outcome).inc(count)
        if rejected:
            log.warning(
                "webhook events rejected; the valid ones of the same call are stored; "
                "check Mailjet's event settings or the events mapping (statuses)",
                remote=request.remote_addr,
                rejected=rejected[:20],
                stored=new,
                duplicate=counts["duplicate"],
                ignored=ignored,
            )
            accepted = {k: v for k, v in counts.items() if k != "rejected"}
            return _answer(400, "some events were rejected", rejected=rejected, **accepted)
        log.debug("webhook events accepted", **counts)
        return _answer(200, "ok", **counts)

    def _refuse(self, status: int, reason: str, request: Request) -> Response:
        self._metrics.webhook_events.labels(outcome="rejected").inc()
        log.warning(
            "webhook call rejected; check what posts to this URL",
            status=status,
            reason=reason,
            remote=request.remote_addr,
        )
        return _answer(status, reason)


def _answer(status: int, message: str, **extra: Any) -> Response:
    key = "status" if status == 200 else "error"
    return Response(json.dumps({key: message, **extra}), status=status, mimetype="application/json")
