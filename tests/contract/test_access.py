"""Who may call what: the Courier daemon user and nothing else."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from tests.contract.client import Contract, ContractRefused
from tests.support.erp_backends import ErpBackend


@dataclass
class _WrongSecret:
    """The daemon user's login with a wrong password and a wrong API key."""

    url: str
    db: str
    login: str
    transport: str
    password: str = "wrong-password"
    api_key: str = "wrong-api-key"


def test_wrong_password_or_key_is_refused(erp_backend: ErpBackend) -> None:
    wrong = _WrongSecret(erp_backend.url, erp_backend.db, erp_backend.login, erp_backend.transport)

    with pytest.raises(ContractRefused) as refused:
        Contract(wrong).claim("w", 1, 300)  # type: ignore[arg-type]

    if erp_backend.transport == "json2":
        assert refused.value.status == 401
    else:  # odoorpc's login turns Odoo's AccessDenied into this
        assert refused.value.message == "Wrong login ID or password"


def test_daemon_user_cannot_read_invoices(contract: Contract) -> None:
    with pytest.raises(ContractRefused) as refused:
        contract.call("account.move", "search_count", domain=[])
    assert refused.value.name == "odoo.exceptions.AccessError"
    if contract.transport == "json2":
        assert refused.value.status == 403
