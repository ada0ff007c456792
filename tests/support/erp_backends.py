"""The ERP a contract or end-to-end test talks to, behind one protocol.

Tests are written once against `ErpBackend` and run against every backend of
`ERP_BACKENDS`: the stand-in (`StandinBackend`, always) and the real addon in
each Odoo of `ODOO_BACKENDS` (tests/support/odoo.py). All are driven through
the real odoorpc client, as courierd drives them. The backend's key is the
test id's parameter (`[standin]`, `[odoo18]`), which the summary at the end of
a run (tests/support/run_summary.py) counts by.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable
from urllib.parse import urlsplit

import odoorpc

from standin_erp import StandinErp

STANDIN = "standin"
# The real addon's backends: key -> the Odoo version (tools/odoo_local.ODOO_VERSIONS)
# it runs on. A version with several transports gets one key each ("odoo19-json2").
ODOO_BACKENDS: dict[str, str] = {"odoo18": "odoo18"}
ERP_BACKENDS = (STANDIN, *ODOO_BACKENDS)
# The Odoo versions the Odoo tests (tests/odoo, the browser test...) run on.
ODOO_TEST_VERSIONS = tuple(dict.fromkeys(ODOO_BACKENDS.values()))


@runtime_checkable
class ErpBackend(Protocol):
    """An ERP with the invoice_courier contract, and the test's view of its state.

    `url`, `db`, `login`, `password` are the Courier daemon user's credentials.
    """

    url: str
    db: str
    login: str
    password: str

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

    def __init__(self, erp: StandinErp) -> None:
        self.erp = erp
        self.url = erp.url
        self.db = erp.db
        self.login = erp.login
        self.password = erp.password

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
