"""Calls and reports of the RPC contract, made as courierd makes them (daemon user).

Over the backend's transport: JSON-RPC through odoorpc (the values in order, as
courierd's ErpClient passes them), or JSON-2 through courierd's own
`Json2Connection` (the same values by name: the names are the contract's).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import odoorpc
from pydantic import SecretStr

from courierd.odoo.json2 import Json2Connection, Json2Error
from tests.support.erp_backends import ErpBackend, connect


class ContractRefused(Exception):
    """Odoo answered a call (or the login) with an error; `name` is its exception's.

    `status` is the HTTP status over JSON-2, None over JSON-RPC (always 200 there).
    """

    def __init__(self, name: str, message: str, status: int | None = None) -> None:
        super().__init__(f"{name}: {message}")
        self.name = name
        self.message = message
        self.status = status


class Contract:
    """The contract calls as the Courier daemon user, over the backend's transport."""

    def __init__(self, backend: ErpBackend) -> None:
        self.backend = backend
        self.transport = backend.transport
        self.odoo: odoorpc.ODOO | None = None
        self._json2: Json2Connection | None = None
        if self.transport == "json2":
            key = SecretStr(backend.api_key or "")
            self._json2 = Json2Connection(backend.url, backend.db, key, timeout=300)
        else:
            try:
                self.odoo = connect(backend)
            except odoorpc.error.RPCError as exc:
                raise _refused(exc) from exc

    def close(self) -> None:
        if self.odoo is not None:
            self.odoo.logout()

    def call(self, model: str, method: str, *args: Any, **named: Any) -> Any:
        """`method` with `named` arguments, as courierd calls it.

        Positional `args` (JSON-RPC only) reach Odoo as they are: for calls
        outside the contract, or malformed on purpose.
        """
        try:
            if self._json2 is not None:
                if args:
                    raise TypeError("JSON-2 takes named arguments only")
                return self._json2.call(model, method, named)
            assert self.odoo is not None
            return self.odoo.execute_kw(model, method, [*args, *named.values()])
        except odoorpc.error.RPCError as exc:
            raise _refused(exc) from exc
        except Json2Error as exc:
            raise ContractRefused(exc.name, exc.message, exc.status) from exc

    def claim(self, worker_id: str, limit: int, lease_seconds: int) -> list[dict[str, Any]]:
        return self.call(
            "courier.dispatch",
            "courier_claim",
            worker_id=worker_id,
            limit=limit,
            lease_seconds=lease_seconds,
        )

    def render_pdf(self, dispatch_id: int) -> dict[str, Any]:
        return self.call("courier.dispatch", "courier_render_pdf", dispatch_id=dispatch_id)

    def render_pdfs(self, dispatch_ids: list[int]) -> dict[str, dict[str, Any]]:
        return self.call("courier.dispatch", "courier_render_pdfs", dispatch_ids=dispatch_ids)

    def report(self, results: list[dict[str, Any]]) -> dict[str, int]:
        return self.call("courier.dispatch", "courier_report", results=results)

    def ingest(self, events: list[dict[str, Any]]) -> dict[str, int]:
        return self.call("courier.event", "courier_ingest", events=events)

    def open_tracking(self, limit: int, max_age_days: int) -> list[dict[str, Any]]:
        return self.call(
            "courier.recipient", "courier_open_tracking", limit=limit, max_age_days=max_age_days
        )

    def claim_ours(
        self, ours: list[int], worker_id: str = "worker-a", lease_seconds: int = 300
    ) -> list[dict[str, Any]]:
        """Claim until every dispatch of `ours` that is claimable is claimed.

        A real Odoo database is shared by the whole session: a dispatch an
        earlier test left claimable is claimed too, and reported failed so it
        stays out of the way of later tests.
        """
        wanted = set(ours)
        mine: list[dict[str, Any]] = []
        while True:
            batch = self.claim(worker_id, 50, lease_seconds)
            if not batch:
                return mine
            foreign = [d for d in batch if d["id"] not in wanted]
            mine += [d for d in batch if d["id"] in wanted]
            if foreign:
                self.report(
                    [failed(d, "left-over", "left over by an earlier test") for d in foreign]
                )
            if {d["id"] for d in mine} >= wanted:
                return mine


def _refused(exc: odoorpc.error.RPCError) -> ContractRefused:
    info = exc.info if isinstance(exc.info, dict) else {}
    data = info.get("data") if isinstance(info.get("data"), dict) else {}
    return ContractRefused(str(data.get("name", "")), str(data.get("message", exc)))


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def now_iso(offset_seconds: float = 0) -> str:
    return iso(datetime.now(UTC) + timedelta(seconds=offset_seconds))


def new_message_id() -> str:
    """A Mailjet-sized MessageID (beyond 32 bits), unique across the session."""
    return str(2**60 + uuid.uuid4().int % 10**15)


def transmitted(
    dispatch: dict[str, Any], message_ids: dict[str, str] | None = None
) -> dict[str, Any]:
    """A transmitted report for a claimed dispatch, one new MessageID per recipient."""
    ids = message_ids or {r["email"]: new_message_id() for r in dispatch["recipients"]}
    return {
        "id": dispatch["id"],
        "custom_id": dispatch["custom_id"],
        "outcome": "transmitted",
        "time": now_iso(),
        "recipients": [
            {
                "email": r["email"],
                "message_id": ids[r["email"]],
                "message_uuid": str(uuid.uuid4()),
                "message_href": f"https://api.mailjet.com/v3/REST/message/{ids[r['email']]}",
            }
            for r in dispatch["recipients"]
        ],
    }


def retry(dispatch: dict[str, Any], retry_after: int, code: str = "mj-0004") -> dict[str, Any]:
    return {
        "id": dispatch["id"],
        "custom_id": dispatch["custom_id"],
        "outcome": "retry",
        "time": now_iso(),
        "error": {"code": code, "message": "Too many requests", "status": 429},
        "retry_after": retry_after,
    }


def failed(dispatch: dict[str, Any], code: str, message: str) -> dict[str, Any]:
    return {
        "id": dispatch["id"],
        "custom_id": dispatch["custom_id"],
        "outcome": "failed",
        "time": now_iso(),
        "error": {"code": code, "message": message, "status": 400, "related_to": ["To[0].Email"]},
    }


def event(
    event_type: str,
    message_id: str | None,
    *,
    at: str | None = None,
    key: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """A normalized event as courierd's webhook receiver forwards it."""
    return {
        "dedupe_key": key or f"test:{event_type}:{message_id}:{uuid.uuid4().hex}",
        "type": event_type,
        "time": at or now_iso(),
        "source": "mailjet_webhook",
        "message_id": message_id,
        "custom_id": None,
        "email": None,
        "url": None,
        "user_agent": None,
        "detail": None,
        "web_document": False,
        "payload": None,
    } | extra


def unique_email(label: str) -> str:
    return f"{label}-{uuid.uuid4().hex[:10]}@customer.example"
