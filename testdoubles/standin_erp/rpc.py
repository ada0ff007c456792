"""Odoo's JSON-RPC surface as courierd (through odoorpc) uses it.

Routes: ``/web/webclient/version_info``, ``/jsonrpc`` (services ``common``,
``object``, ``db``), ``/web/session/authenticate``, ``get_session_info``,
``destroy``, ``/web/dataset/call_kw`` (session cookie), ``/web/health``; JSON-2
(standin_erp.json2) calls the same model methods through ``call_model``.
The Courier daemon user may call the contract methods, ``fields_get`` on the
three courier models and ``res.users.context_get``; anything else is an
``AccessError`` as for that user in Odoo.
"""

from __future__ import annotations

import inspect
import secrets
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from standin_erp.errors import (
    AccessDenied,
    AccessError,
    BadArguments,
    MissingDatabase,
    NotFound,
    SessionExpired,
    UserError,
)
from standin_erp.store import CourierStore


def server_version_info(major: int) -> dict[str, Any]:
    """What Odoo `major`.0 answers to version_info."""
    return {
        "server_version": f"{major}.0",
        "server_version_info": [major, 0, 0, "final", 0, ""],
        "server_serie": f"{major}.0",
        "protocol_version": 1,
    }


SERVER_VERSION_INFO = server_version_info(18)
DAEMON_UID = 7
USER_CONTEXT = {"lang": "en_US", "tz": "UTC"}

# What fields_get answers (odoorpc asks once per model to build its proxy).
MODEL_FIELDS: dict[str, dict[str, dict[str, Any]]] = {
    "courier.dispatch": {
        "state": {"type": "selection", "string": "State"},
        "custom_id": {"type": "char", "string": "Custom ID"},
        "move_id": {"type": "many2one", "string": "Invoice", "relation": "account.move"},
        "attempts": {"type": "integer", "string": "Attempts"},
        "lease_owner": {"type": "char", "string": "Lease owner"},
        "lease_expires_at": {"type": "datetime", "string": "Lease expires at"},
        "last_error": {"type": "text", "string": "Last error"},
    },
    "courier.recipient": {
        "email": {"type": "char", "string": "Email"},
        "status": {"type": "selection", "string": "Status"},
        "message_id": {"type": "char", "string": "Mailjet MessageID"},
        "dispatch_id": {"type": "many2one", "string": "Dispatch", "relation": "courier.dispatch"},
    },
    "courier.event": {
        "type": {"type": "selection", "string": "Type"},
        "dedupe_key": {"type": "char", "string": "Dedupe key"},
        "recipient_id": {
            "type": "many2one",
            "string": "Recipient",
            "relation": "courier.recipient",
        },
    },
}
# Models that exist in Odoo but that the daemon user may not touch.
FORBIDDEN_MODELS = frozenset(
    {"account.move", "res.partner", "ir.attachment", "mail.mail", "ir.model"}
)
# The ORM's public methods every model has; those called without records first.
ORM_METHODS = frozenset(
    {"search", "search_read", "search_count", "read", "write", "create", "unlink", "fields_get"}
)
ORM_MODEL_METHODS = frozenset({"search", "search_read", "search_count", "create", "fields_get"})


@dataclass(frozen=True)
class Credentials:
    db: str
    login: str
    password: str
    api_key: str | None = None  # Odoo takes an RPC API key in place of the password


class RpcCounter:
    """Counts every RPC by ``model.method`` (or ``service.method`` / route)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()

    def add(self, key: str) -> None:
        with self._lock:
            self._counts[key] += 1

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return dict(self._counts)

    def reset(self) -> None:
        with self._lock:
            self._counts.clear()


class RpcHandler:
    """Turns JSON-RPC requests into store calls, Odoo-style results and errors."""

    def __init__(
        self,
        store: CourierStore,
        credentials: Credentials,
        counter: RpcCounter,
        version_info: dict[str, Any] | None = None,
    ) -> None:
        self.store = store
        self.credentials = credentials
        self.counter = counter
        self.server_version = version_info or SERVER_VERSION_INFO
        self._sessions: dict[str, int] = {}
        self._sessions_lock = threading.Lock()
        self._methods: dict[tuple[str, str], Callable[..., Any]] = {
            ("courier.dispatch", "courier_claim"): store.claim,
            ("courier.dispatch", "courier_render_pdf"): store.render_pdf,
            ("courier.dispatch", "courier_render_pdfs"): store.render_pdfs,
            ("courier.dispatch", "courier_report"): store.report,
            ("courier.event", "courier_ingest"): store.ingest,
            ("courier.recipient", "courier_open_tracking"): store.open_tracking,
            ("res.users", "context_get"): lambda: dict(USER_CONTEXT),
        }

    def forget_sessions(self) -> None:
        """What a restarted Odoo without a shared session store does."""
        with self._sessions_lock:
            self._sessions.clear()

    # ------------------------------------------------------------- web routes

    def version_info(self, params: dict[str, Any], session_id: str | None) -> Any:
        self.counter.add("/web/webclient/version_info")
        return dict(self.server_version)

    def authenticate(self, params: dict[str, Any]) -> tuple[dict[str, Any], str]:
        self.counter.add("/web/session/authenticate")
        uid = self._login(params.get("db"), params.get("login"), params.get("password"))
        if not uid:
            raise AccessDenied()
        session_id = secrets.token_hex(20)
        with self._sessions_lock:
            self._sessions[session_id] = uid
        return self._session_info(uid), session_id

    def session_info(self, params: dict[str, Any], session_id: str | None) -> Any:
        self.counter.add("/web/session/get_session_info")
        return self._session_info(self._session_uid(session_id))

    def destroy(self, params: dict[str, Any], session_id: str | None) -> Any:
        self.counter.add("/web/session/destroy")
        self._session_uid(session_id)
        with self._sessions_lock:
            self._sessions.pop(session_id or "", None)
        return None

    def call_kw(self, params: dict[str, Any], session_id: str | None) -> Any:
        self._session_uid(session_id)
        return self.call_model(
            params.get("model"), params.get("method"), params.get("args"), params.get("kwargs")
        )

    def _session_uid(self, session_id: str | None) -> int:
        with self._sessions_lock:
            uid = self._sessions.get(session_id or "")
        if uid is None:
            raise SessionExpired()
        return uid

    def _session_info(self, uid: int) -> dict[str, Any]:
        return {
            "uid": uid,
            "is_system": False,
            "is_admin": False,
            "user_context": dict(USER_CONTEXT),
            "db": self.credentials.db,
            "username": self.credentials.login,
            "name": "Courier daemon",
            "partner_id": 3,
            "company_id": 1,
            "server_version": self.server_version["server_version"],
            "server_version_info": self.server_version["server_version_info"],
        }

    # ---------------------------------------------------------------- /jsonrpc

    def jsonrpc(self, params: dict[str, Any], session_id: str | None) -> Any:
        service, method = params.get("service"), params.get("method")
        args = params.get("args") or []
        if not isinstance(args, list):
            raise BadArguments("args must be a list")
        if service == "common":
            self.counter.add(f"common.{method}")
            if method == "version":
                return dict(self.server_version)
            if method in ("login", "authenticate"):
                # Odoo answers False, not an error, to a wrong login here.
                return self._login(*args[:3]) or False
            raise UserError(f"Method not found: {method}")
        if service == "db":
            self.counter.add(f"db.{method}")
            if method == "list":
                return [self.credentials.db]
            if method == "server_version":
                return self.server_version["server_version"]
            raise AccessDenied()
        if service == "object":
            if method not in ("execute", "execute_kw"):
                raise NameError(f"Method not available {method}")
            if len(args) < 5:
                raise BadArguments(f"{method}() needs db, uid, password, model and method")
            db, uid, password, model, model_method = args[:5]
            self._check_db(db)
            if _as_uid(uid) != DAEMON_UID or not self._secret_ok(password):
                raise AccessDenied()
            if method == "execute_kw":
                call_args = args[5] if len(args) > 5 else []
                call_kwargs = args[6] if len(args) > 6 else {}
            else:
                call_args, call_kwargs = args[5:], {}
            return self.call_model(model, model_method, call_args, call_kwargs)
        raise UserError(f"Service not found: {service}")

    def _check_db(self, db: Any) -> None:
        if db != self.credentials.db:
            raise MissingDatabase(str(db))

    def _login(self, db: Any = None, login: Any = None, password: Any = None) -> int | None:
        self._check_db(db)
        if login == self.credentials.login and self._secret_ok(password):
            return DAEMON_UID
        return None

    def _secret_ok(self, secret: Any) -> bool:
        return secret == self.credentials.password or (
            self.credentials.api_key is not None and secret == self.credentials.api_key
        )

    # ----------------------------------------------------------- model methods

    def knows_model(self, model: str) -> bool:
        return model in MODEL_FIELDS or model in FORBIDDEN_MODELS or model == "res.users"

    def has_method(self, model: str, method: str) -> bool:
        return (model, method) in self._methods or method in ORM_METHODS

    def is_model_method(self, model: str, method: str) -> bool:
        """An @api.model method: called without records (JSON-2 refuses `ids` for it)."""
        return (model, method) in self._methods or method in ORM_MODEL_METHODS

    def call_model(self, model: Any, method: Any, args: Any, kwargs: Any) -> Any:
        if not isinstance(model, str) or not isinstance(method, str):
            raise BadArguments("model and method must be strings")
        self.counter.add(f"{model}.{method}")
        args = list(args or [])
        kwargs = dict(kwargs or {})
        kwargs.pop("context", None)  # Odoo's call_kw takes the context out of kwargs
        if method.startswith("_"):
            raise AccessError(
                f"Private methods (such as '{model}.{method}') cannot be called remotely."
            )
        if method == "fields_get" and model in MODEL_FIELDS:
            return {name: dict(data) for name, data in MODEL_FIELDS[model].items()}
        target = self._methods.get((model, method))
        if target is None:
            if model in MODEL_FIELDS or model in FORBIDDEN_MODELS or model == "res.users":
                raise AccessError(
                    f"You are not allowed to access '{model}' ({method}). "
                    "This operation is allowed for the following groups:\n"
                    "\t- Administration/Settings"
                )
            raise UserError(f"Object {model} doesn't exist")
        try:
            bound = inspect.signature(target).bind(*args, **kwargs)
        except TypeError as exc:
            raise BadArguments(f"{model}.{method}() {exc}", str(exc)) from exc
        return target(*bound.args, **bound.kwargs)


def _as_uid(value: Any) -> int | None:
    try:
        return int(value)  # Odoo takes int(params[1])
    except (TypeError, ValueError):
        return None


def lookup_route(handler: RpcHandler, path: str) -> Callable[[dict[str, Any], str | None], Any]:
    routes: dict[str, Callable[[dict[str, Any], str | None], Any]] = {
        "/web/webclient/version_info": handler.version_info,
        "/jsonrpc": handler.jsonrpc,
        "/web/session/get_session_info": handler.session_info,
        "/web/session/destroy": handler.destroy,
        "/web/dataset/call_kw": handler.call_kw,
    }
    if path.startswith("/web/dataset/call_kw/"):
        path = "/web/dataset/call_kw"
    if path not in routes:
        raise NotFound(
            "The requested URL was not found on the server. If you entered the URL manually "
            "please check your spelling and try again."
        )
    return routes[path]
