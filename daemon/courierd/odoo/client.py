"""The ERP client: the calls of the RPC contract of docs/contract.md, over either transport.

The transport is Odoo's JSON-RPC through odoorpc, or JSON-2 (courierd.odoo.json2,
Odoo 19 and later), as COURIER_ODOO_TRANSPORT and the server decide
(courierd.odoo.transport). The contract calls name their arguments: JSON-2 takes
only named ones, JSON-RPC gets the same values in the same order.

Both transports share what follows. Each call is retried a few times (exponential
backoff with jitter, bounded) on transient failures, reconnecting with a fresh
login each time: that covers an Odoo restart (connection refused, reset, 502/503
from a proxy, expired session).
When the retries are spent the call raises `ErpUnavailable`, which the send loop
turns into a wait; nothing here ever ends the daemon. A refused login or API key
is an `ErpUnavailable` at once (its hint names the setting to check); a method
that raises (a UserError, an AccessError) is an `ErpCallError`.

An `ErpClient` holds one odoorpc connection and is not thread-safe (neither is
odoorpc's ODOO object): threads get their own through `clone()`, which shares the
choice of transport.
"""

from __future__ import annotations

import http.client
import json
import random
from collections.abc import Callable
from typing import Any, cast
from urllib.parse import urlsplit

import odoorpc
from pydantic import SecretStr
from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt

from courierd.domain.backoff import Backoff
from courierd.domain.contract import (
    Attachment,
    ClaimedDispatch,
    IngestCounts,
    OpenRecipient,
    RenderFailure,
    SendResult,
    TrackingEventJson,
)
from courierd.domain.errors import ErpCallError, ErpUnavailable
from courierd.odoo.json2 import JSON2_PATH, Json2Connection, Json2Error
from courierd.odoo.transport import TransportSelector, TransportSetting
from courierd.ops.logs import get_logger, mask_url

log = get_logger(__name__)

DISPATCH_MODEL = "courier.dispatch"
EVENT_MODEL = "courier.event"
RECIPIENT_MODEL = "courier.recipient"

# Server-side errors that go away by themselves (restart, concurrent update, DB restore).
_TRANSIENT_RPC_ERRORS = {
    "odoo.http.SessionExpiredException",
    "odoo.service.model.RetryableError",
    "psycopg2.OperationalError",
    "psycopg2.errors.SerializationFailure",
    "psycopg2.errors.LockNotAvailable",
    "werkzeug.exceptions.ServiceUnavailable",
}


class _Transient(Exception):
    pass


def parse_odoo_url(url: str) -> tuple[str, int, str]:
    """(host, port, odoorpc protocol) from COURIER_ODOO_URL."""
    parts = urlsplit(url)
    ssl = parts.scheme == "https"
    port = parts.port or (443 if ssl else 80)
    return parts.hostname or "", port, "jsonrpc+ssl" if ssl else "jsonrpc"


def _rpc_error_name(exc: odoorpc.error.RPCError) -> str:
    info = exc.info if isinstance(exc.info, dict) else {}
    data = info.get("data")
    return str(data.get("name", "")) if isinstance(data, dict) else ""


def _names_missing_database(exc: odoorpc.error.RPCError) -> bool:
    """Whether a login failed on a database that does not exist (not a passing outage).

    Odoo 18 answers it with psycopg2's OperationalError 'database "x" does not
    exist' (a name that otherwise means a passing outage), or with "Database not
    found." when a dbfilter hides it.
    """
    text = str(exc)
    if isinstance(exc.info, dict):
        data = exc.info.get("data")
        if isinstance(data, dict):
            text += f" {data.get('message', '')}"
    return ("does not exist" in text and "database" in text) or "Database not found" in text


def _is_transient(exc: BaseException) -> bool:
    if isinstance(exc, odoorpc.error.RPCError):
        return _rpc_error_name(exc) in _TRANSIENT_RPC_ERRORS
    if isinstance(exc, Json2Error):
        # Odoo's own error body names the exception; any other 5xx page is a proxy's.
        return exc.name in _TRANSIENT_RPC_ERRORS or (not exc.name and exc.status >= 500)
    # URLError/HTTPError, refused/reset connections and socket timeouts are all OSErrors.
    return isinstance(exc, OSError | http.client.HTTPException | json.JSONDecodeError)


class ErpClient:
    def __init__(
        self,
        *,
        url: str,
        db: str,
        login: str,
        password: SecretStr | None = None,
        api_key: SecretStr | None = None,
        transport: TransportSetting | TransportSelector = "auto",
        timeout: float = 60.0,
        attempts: int = 3,
        max_wait: float = 8.0,
        connect: Callable[..., Any] = odoorpc.ODOO,
    ) -> None:
        self._url = url
        self._db = db
        self._login = login
        self._password = password
        self._api_key = api_key
        self._timeout = timeout
        self._attempts = attempts
        self._max_wait = max_wait
        self._connect = connect
        self._odoo: Any = None
        self._json2: Json2Connection | None = None
        self.transport = (
            transport
            if isinstance(transport, TransportSelector)
            else TransportSelector(
                transport,
                url=url,
                db=db,
                has_password=password is not None,
                api_key=api_key,
                timeout=min(timeout, 10.0),
            )
        )

    def clone(self) -> ErpClient:
        """A client with the same settings and its own connection (one per thread)."""
        return ErpClient(
            url=self._url,
            db=self._db,
            login=self._login,
            password=self._password,
            api_key=self._api_key,
            transport=self.transport,
            timeout=self._timeout,
            attempts=self._attempts,
            max_wait=self._max_wait,
            connect=self._connect,
        )

    # The contract's calls; the argument names are the contract's (docs/contract.md).

    # The answers are taken as docs/contract.md describes them (the casts say so): the
    # addon and the stand-in ERP are held to it by the contract tests.

    def claim(
        self, worker_id: str, limit: int, lease_seconds: int, wait_seconds: float = 0.0
    ) -> list[ClaimedDispatch]:
        # wait_seconds only when waiting: an addon older than the long poll takes three.
        waiting = {"wait_seconds": wait_seconds} if wait_seconds > 0 else {}
        answer = self._call(
            DISPATCH_MODEL,
            "courier_claim",
            worker_id=worker_id,
            limit=limit,
            lease_seconds=lease_seconds,
            **waiting,
        )
        return cast(list[ClaimedDispatch], answer)

    def render_pdf(self, dispatch_id: int) -> Attachment:
        answer = self._call(DISPATCH_MODEL, "courier_render_pdf", dispatch_id=dispatch_id)
        return cast(Attachment, answer)

    def render_pdfs(self, dispatch_ids: list[int]) -> dict[str, Attachment | RenderFailure]:
        answer = self._call(DISPATCH_MODEL, "courier_render_pdfs", dispatch_ids=dispatch_ids)
        return cast(dict[str, Attachment | RenderFailure], answer)

    def report(self, results: list[SendResult]) -> dict[str, int]:
        answer = self._call(DISPATCH_MODEL, "courier_report", results=results)
        return cast(dict[str, int], answer)

    def ingest(self, events: list[TrackingEventJson]) -> IngestCounts:
        return cast(IngestCounts, self._call(EVENT_MODEL, "courier_ingest", events=events))

    def open_tracking(self, limit: int, max_age_days: int) -> list[OpenRecipient]:
        answer = self._call(
            RECIPIENT_MODEL, "courier_open_tracking", limit=limit, max_age_days=max_age_days
        )
        return cast(list[OpenRecipient], answer)

    # Plumbing.

    def _call(self, model: str, method: str, **arguments: Any) -> Any:
        backoff = Backoff(base_seconds=min(1.0, self._max_wait), max_seconds=self._max_wait)
        retrying = Retrying(
            stop=stop_after_attempt(self._attempts),
            wait=lambda state: backoff.delay(state.attempt_number, random.random()),
            retry=retry_if_exception_type(_Transient),
            before_sleep=self._log_retry,
            reraise=True,
        )
        try:
            for attempt in retrying:
                with attempt:
                    return self._call_once(model, method, arguments)
        except _Transient as exc:
            cause = exc.__cause__
            raise ErpUnavailable(
                f"Odoo unreachable at {mask_url(self._url)} ({method}): {cause}",
                "check that Odoo runs and COURIER_ODOO_URL points at it",
            ) from cause
        raise AssertionError("unreachable: tenacity either returns or raises")

    def _call_once(self, model: str, method: str, arguments: dict[str, Any]) -> Any:
        try:
            transport = self.transport.choice().name
        except Exception as exc:
            if _is_transient(exc):
                raise _Transient(f"asking which API Odoo serves: {exc}") from exc
            raise
        if transport == "json2":
            return self._call_json2(model, method, arguments)
        odoo = self._connection()
        try:
            return odoo.execute_kw(model, method, list(arguments.values()))
        except Exception as exc:
            if _is_transient(exc):
                self._odoo = None  # next attempt logs in again: Odoo may have restarted
                raise _Transient(str(exc)) from exc
            if isinstance(exc, odoorpc.error.RPCError):
                raise ErpCallError(f"Odoo refused {model}.{method}: {exc}") from exc
            raise

    def _connection(self) -> Any:
        if self._odoo is not None:
            return self._odoo
        host, port, protocol = parse_odoo_url(self._url)
        secret = self._password or self._api_key  # Odoo takes an API key as the password
        if secret is None:
            raise ErpUnavailable(
                "JSON-RPC needs a password or an API key",
                "set COURIER_ODOO_PASSWORD or COURIER_ODOO_API_KEY",
            )
        try:
            odoo = self._connect(host, protocol=protocol, port=port, timeout=self._timeout)
            odoo.login(self._db, self._login, secret.get_secret_value())
        except odoorpc.error.RPCError as exc:
            if _names_missing_database(exc):
                raise ErpUnavailable(
                    f"Odoo has no database {self._db!r}",
                    "the database does not exist: check COURIER_ODOO_DB against the databases "
                    "this Odoo serves (its database selector, /web/database/selector)",
                ) from exc
            if _is_transient(exc):
                raise _Transient(str(exc)) from exc
            setting = "COURIER_ODOO_PASSWORD" if self._password else "COURIER_ODOO_API_KEY"
            raise ErpUnavailable(
                f"Odoo refused the login of {self._login!r} on database {self._db!r}: {exc}",
                f"check COURIER_ODOO_DB, COURIER_ODOO_LOGIN and {setting}",
            ) from exc
        except Exception as exc:
            if _is_transient(exc):
                raise _Transient(str(exc)) from exc
            raise
        self._odoo = odoo
        return odoo

    def _call_json2(self, model: str, method: str, arguments: dict[str, Any]) -> Any:
        if self._api_key is None:
            raise ErpUnavailable(
                "JSON-2 needs the API key of the Courier daemon user",
                "set COURIER_ODOO_API_KEY, or COURIER_ODOO_TRANSPORT=jsonrpc with a password",
            )
        if self._json2 is None:
            self._json2 = Json2Connection(self._url, self._db, self._api_key, self._timeout)
        try:
            return self._json2.call(model, method, arguments)
        except Json2Error as exc:
            if _is_transient(exc):
                raise _Transient(str(exc)) from exc
            if exc.status == 401 or exc.name == "odoo.exceptions.AccessDenied":
                raise ErpUnavailable(
                    f"Odoo refused the API key on database {self._db!r}: {exc.message}",
                    "check COURIER_ODOO_API_KEY (a key of the Courier daemon user, made for it "
                    "by an administrator: docs/odoo-versions.md) and COURIER_ODOO_DB",
                ) from exc
            if exc.status == 404 and not exc.name:
                raise ErpUnavailable(
                    f"Odoo at {mask_url(self._url)} does not serve JSON-2 ({JSON2_PATH}) for "
                    "database "
                    f"{self._db!r}",
                    "JSON-2 needs Odoo 19 or later: check COURIER_ODOO_DB, or set "
                    "COURIER_ODOO_TRANSPORT=auto or jsonrpc for an older Odoo",
                ) from exc
            raise ErpCallError(f"Odoo refused {model}.{method}: {exc}") from exc
        except Exception as exc:
            if _is_transient(exc):
                raise _Transient(str(exc)) from exc
            raise

    def _log_retry(self, state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        wait = state.next_action.sleep if state.next_action else 0.0
        # Info: the caller's one warning per wait says what to check when the retries are spent.
        log.info(
            f"Odoo call failed, reconnecting in {wait:.1f}s; check COURIER_ODOO_URL if it persists",
            attempt=state.attempt_number,
            error=str(exc.__cause__ if exc and exc.__cause__ else exc),
        )
