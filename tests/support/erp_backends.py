"""The ERP a contract or end-to-end test talks to, behind one protocol.

Tests are written once against `ErpBackend` and run against every backend of
`ERP_BACKENDS`: the stand-in (`StandinBackend`, always; as Odoo 18 over
JSON-RPC and as Odoo 19 over JSON-2) and the real addon in each Odoo of
`ODOO_BACKENDS` (tests/support/odoo.py), over each transport that Odoo has.
Each backend is driven over its transport (`TRANSPORTS`) as courierd drives
it: odoorpc for JSON-RPC, courierd's own JSON-2 client. The backend's key is
the test id's parameter (`[standin-json2]`, `[odoo19-jsonrpc]`), which the
summary at the end of a run (tests/support/run_summary.py) counts by.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable
from urllib.parse import urlsplit

import odoorpc
from pydantic import SecretStr

from courierd.odoo.client import ErpClient
from standin_erp import StandinErp

STANDIN = "standin"  # the variant of the stand-in tests that are not per backend
# The stand-in's backends: key -> the Odoo major version it stands for.
STANDIN_BACKENDS: dict[str, int] = {"standin-jsonrpc": 18, "standin-json2": 19}
# The real addon's backends: key -> the Odoo version (tools/odoo_local.ODOO_VERSIONS)
# it runs on. A version with several transports gets one key each.
ODOO_BACKENDS: dict[str, str] = {
    "odoo18-jsonrpc": "odoo18",
    "odoo19-json2": "odoo19",
    "odoo19-jsonrpc": "odoo19",
}
ERP_BACKENDS = (*STANDIN_BACKENDS, *ODOO_BACKENDS)
# How courierd (and the tests) speak to each backend: COURIER_ODOO_TRANSPORT.
TRANSPORTS: dict[str, str] = {key: key.rsplit("-", 1)[1] for key in ERP_BACKENDS}
# The Odoo versions the Odoo tests (tests/odoo, the browser test...) run on.
ODOO_TEST_VERSIONS = tuple(dict.fromkeys(ODOO_BACKENDS.values()))


@runtime_checkable
class ErpBackend(Protocol):
    """An ERP with the invoice_courier contract, and the test's view of its state.

    `url`, `db`, `login`, `password`, `api_key` are the Courier daemon user's
    credentials (`api_key` None where that Odoo has none made); `transport` is
    how to speak to it, "jsonrpc" or "json2".
    """

    url: str
    db: str
    login: str
    password: str
    api_key: str | None
    transport: str

    def seed_dispatches(
        self, count: int, emails: list[str] | None = None, *, with_pdf: bool = True
    ) -> list[int]:
        """`count` posted invoices with one queued dispatch each; their dispatch ids.

        `emails[i]` is the recipient of dispatch i (several comma-separated
        addresses make a multi-recipient dispatch); by default each gets its own
        unique address @customer.example. `with_pdf=False` leaves the invoices
        without a stored PDF (rendered by courier_render_pdf(s)).
        """
        ...

    def dispatches(self, ids: list[int]) -> list[dict[str, Any]]:
        """[{"id", "state", "attempts", "last_error", "error_code", "invoice_state",
        "recipients": [{"email", "status", "message_id", "message_uuid"}]}], in `ids` order."""
        ...

    def events(self, dispatch_id: int) -> list[dict[str, Any]]:
        """[{"type", "source", "dedupe_key"}] of the dispatch, oldest first."""
        ...

    def activities(self, dispatch_id: int) -> list[str]:
        """The texts of the activities the dispatch's invoice got for its sender."""
        ...


class StandinBackend:
    """`ErpBackend` over a `StandinErp` (which also offers faults and RPC counters)."""

    def __init__(self, erp: StandinErp, transport: str = "jsonrpc") -> None:
        self.erp = erp
        self.url = erp.url
        self.db = erp.db
        self.login = erp.login
        self.password = erp.password
        self.api_key: str | None = erp.api_key
        self.transport = transport

    def seed_dispatches(
        self, count: int, emails: list[str] | None = None, *, with_pdf: bool = True
    ) -> list[int]:
        return self.erp.seed_dispatches(count, emails, with_pdf=with_pdf)

    def dispatches(self, ids: list[int]) -> list[dict[str, Any]]:
        return self.erp.dispatches(ids)

    def events(self, dispatch_id: int) -> list[dict[str, Any]]:
        return self.erp.events(dispatch_id)

    def activities(self, dispatch_id: int) -> list[str]:
        return [n["body"] for n in self.erp.store.notes(dispatch_id) if n["kind"] == "activity"]


def erp_client(backend: ErpBackend, **options: Any) -> ErpClient:
    """courierd's ERP client on `backend`, over its transport (JSON-2 with the key only)."""
    json2 = backend.transport == "json2"
    return ErpClient(
        url=backend.url,
        db=backend.db,
        login=backend.login,
        password=None if json2 else SecretStr(backend.password),
        api_key=SecretStr(backend.api_key) if json2 and backend.api_key else None,
        transport="json2" if json2 else "jsonrpc",
        **options,
    )


def courierd_odoo_env(backend: ErpBackend) -> dict[str, str]:
    """The COURIER_ODOO_* settings of `courierd run` on `backend`, over its transport.

    JSON-2 gets the API key and no password (none is needed); JSON-RPC the password.
    """
    settings = {
        "COURIER_ODOO_URL": backend.url,
        "COURIER_ODOO_DB": backend.db,
        "COURIER_ODOO_LOGIN": backend.login,
        "COURIER_ODOO_TRANSPORT": backend.transport,
    }
    if backend.transport == "json2":
        return settings | {"COURIER_ODOO_API_KEY": backend.api_key or ""}
    return settings | {"COURIER_ODOO_PASSWORD": backend.password}


def connect(backend: ErpBackend, timeout: float = 60) -> odoorpc.ODOO:
    """A logged-in odoorpc connection as the Courier daemon user."""
    parts = urlsplit(backend.url)
    ssl = parts.scheme == "https"
    odoo = odoorpc.ODOO(
        parts.hostname or "127.0.0.1",
        protocol="jsonrpc+ssl" if ssl else "jsonrpc",
        port=parts.port or (443 if ssl else 80),
        timeout=timeout,
    )
    odoo.login(backend.db, backend.login, backend.password)
    return odoo
