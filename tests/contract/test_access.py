"""Who may call what: the Courier daemon user and nothing else."""

from __future__ import annotations

import odoorpc
import pytest

from tests.contract.client import Contract
from tests.support.erp_backends import ErpBackend, connect


def test_wrong_password_is_refused(erp_backend: ErpBackend) -> None:
    class WrongPassword:
        url, db, login = erp_backend.url, erp_backend.db, erp_backend.login
        password = erp_backend.password + "-wrong"

    with pytest.raises(odoorpc.error.RPCError):
        connect(WrongPassword())


def test_daemon_user_cannot_read_invoices(contract: Contract) -> None:
    with pytest.raises(odoorpc.error.RPCError) as refused:
        contract.odoo.execute_kw("account.move", "search_read", [[]], {"limit": 1})
    assert "AccessError" in str(refused.value.info["data"]["name"])
