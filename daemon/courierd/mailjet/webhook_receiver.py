"""Mailjet's Event API callbacks: POST webhook_path, Basic auth, into the event spool.

Version 1 posts one JSON object, version 2 a JSON array of them. The answer is
200 only once every valid event of the body is committed to the spool, so
Mailjet stops retrying only for events courierd cannot lose; 503 when the
spool cannot be written (Mailjet retries for 24 hours).

Each event is validated alone (mailjet/event_normalizer.py). A body with some
invalid events: the valid ones are stored and the answer is still 200, listing
the refused ones by index and reason (`rejected_events`); they are logged,
counted (courier_webhook_events_total{outcome="rejected"}) and recorded in the
spool's bounded `invalid_webhook_event` table. Not 400: Mailjet retries any
non-200 answer for 24 hours, and a retry cannot make an invalid event valid, it
would only post the good ones again and again.

A body that is not a list of events at all (not JSON, too deep, too large,
neither object nor array) is 400 or 413: nothing in it can be stored.
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
from courierd.domain.tracking import InvalidEvent, TrackingEvent
from courierd.mailjet.event_mapping import EventMapping
from courierd.mailjet.event_normalizer import normalize_mailjet_event
from courierd.mailjet.webhook_body import MAX_BODY_BYTES, UnreadableBody, event_objects
from courierd.ops.http_server import Route, body_too_large
from courierd.ops.logs import get_logger
from courierd.ops.metrics import Metrics

log = get_logger(__name__)

__all__ = ["MAX_BODY_BYTES", "WebhookReceiver"]

# The answer lists this many refused events at most (the count is always given).
MAX_LISTED_REJECTIONS = 1000
LOGGED_REJECTIONS = 20
EXCERPT_CHARS = 1000


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
        too_large = f"the body is over {MAX_BODY_BYTES} bytes"
        if body_too_large(request) or (request.content_length or 0) > MAX_BODY_BYTES:
            return self._refuse(413, too_large, request)
        request.max_content_length = MAX_BODY_BYTES
        try:
            data = request.get_data(cache=False)
        except RequestEntityTooLarge:
            return self._refuse(413, too_large, request)
        # A chunked body has no Content-Length; a stream may also give more than announced.
        if len(data) > MAX_BODY_BYTES:
            return self._refuse(413, too_large, request)
        try:
            objects = event_objects(data)
        except UnreadableBody as exc:
            return self._refuse(400, str(exc), request)
        return self._store(objects, request)

    def _store(self, objects: list[Any], request: Request) -> Response:
        events: list[TrackingEvent] = []
        invalid: list[InvalidEvent] = []
        ignored = 0
        for index, obj in enumerate(objects):
            try:
                event = normalize_mailjet_event(obj, self._mapping, "mailjet_webhook")
            except RejectedEvent as exc:
                invalid.append(InvalidEvent(index, str(exc), _excerpt(obj)))
                continue
            if event is None:
                ignored += 1
            else:
                events.append(event)
        events = self._guard.check_all(events)
        try:
            new = self._spool.add(events, invalid)
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
            "rejected": len(invalid),
        }
        for outcome, count in counts.items():
            if count:
                self._metrics.webhook_events.labels(outcome=outcome).inc(count)
        if not invalid:
            log.debug("webhook events accepted", **counts)
            return _answer(200, "ok", **counts)
        listed = [{"index": item.position, "reason": item.reason} for item in invalid]
        log.warning(
            "webhook events rejected, each alone: the valid ones of the same call are stored "
            "and Mailjet is answered 200 (a retry cannot make them valid); see the reasons, "
            "then Mailjet's event settings or the events mapping (statuses)",
            remote=request.remote_addr,
            rejected_events=listed[:LOGGED_REJECTIONS],
            **counts,
        )
        return _answer(
            200,
            "some events were rejected; the others are stored",
            **counts,
            rejected_events=listed[:MAX_LISTED_REJECTIONS],
        )

    def _refuse(self, status: int, reason: str, request: Request) -> Response:
        self._metrics.webhook_events.labels(outcome="rejected").inc()
        log.warning(
            "webhook call rejected; check what posts to this URL",
            status=status,
            reason=reason,
            remote=request.remote_addr,
        )
        return _answer(status, reason)


def _excerpt(obj: Any) -> str:
    """The start of a refused event as JSON, for the spool's record of refusals."""
    try:
        text = json.dumps(obj)
    except (ValueError, RecursionError):
        return "(not shown: it cannot be written as JSON)"
    return text if len(text) <= EXCERPT_CHARS else text[: EXCERPT_CHARS - 3] + "..."


def _answer(status: int, message: str, **extra: Any) -> Response:
    key = "status" if status == 200 else "error"
    return Response(json.dumps({key: message, **extra}), status=status, mimetype="application/json")
