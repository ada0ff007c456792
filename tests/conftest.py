"""Fixtures shared by the whole suite: the ERP backends the contract and e2e tests use.

`erp_backend` runs a test once against the stand-in ERP and once against the
real addon in Odoo 18 (`odoo_backend` from tests/support/odoo.py, which skips
with one line when no Odoo is found).
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Iterator

import pytest
from courierd.standin_erp import StandinErp

from tests.support.erp_backends import ErpBackend, StandinBackend

ODOO_SUPPORT_MODULE = "tests.support.odoo"


def _odoo_support_available() -> bool:
    return importlib.util.find_spec(ODOO_SUPPORT_MODULE) is not None


def pytest_configure(config: pytest.Config) -> None:
    # The real-Odoo fixtures live in their own module; registering it as a plugin
    # makes `odoo_backend` (and whatever it depends on) known to every test.
    if _odoo_support_available():
        config.pluginmanager.import_plugin(ODOO_SUPPORT_MODULE)


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
    if request.param == "standin":
        return request.getfixturevalue("standin_backend")
    if not _odoo_support_available() or not hasattr(
        importlib.import_module(ODOO_SUPPORT_MODULE), "odoo_backend"
    ):
        pytest.skip("no real Odoo backend fixture yet")
    return request.getfixturevalue("odoo_backend")
