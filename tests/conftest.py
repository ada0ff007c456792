"""Fixtures shared by the whole suite: the ERP backends the contract and e2e tests use.

`erp_backend` runs a test once against the stand-in ERP and once against the
real addon in Odoo 18 (`odoo_backend` from tests/support/odoo.py, which skips
with one line when no Odoo is found).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from standin_erp import StandinErp
from tests.support.erp_backends import ErpBackend, StandinBackend


def pytest_configure(config: pytest.Config) -> None:
    # The real-Odoo fixtures (odoo_install, odoo_server, odoo_backend) live in
    # their own module; as a plugin they are known to every test.
    config.pluginmanager.import_plugin("tests.support.odoo")


@pytest.fixture
def standin_erp() -> Iterator[StandinErp]:
    """A fresh stand-in ERP per test (in-memory state, any free port)."""
    with StandinErp(password="courierd-test-password") as erp:
        yield erp


@pytest.fixture
def standin_backend(standin_erp: StandinErp) -> StandinBackend:
    return StandinBackend(standin_erp)


@pytest.fixture(params=["standin", "odoo"])
def erp_backend(request: pytest.FixtureRequest) -> ErpBackend:
    return request.getfixturevalue(f"{request.param}_backend")
