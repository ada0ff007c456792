"""Fixtures shared by the whole suite: the ERP backends the contract and e2e tests use.

`erp_backend` runs a test once per backend of tests/support/erp_backends.py:
the stand-in ERP (as Odoo 18 over JSON-RPC, as Odoo 19 over JSON-2), and the
real addon in each Odoo version over each of its transports
(tests/support/odoo.py skips those with one line when that Odoo is absent,
and fails them when it is there but broken). tests/support/run_summary.py ends
each run with what ran.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from standin_erp import StandinErp
from tests.support.erp_backends import (
    ERP_BACKENDS,
    STANDIN_BACKENDS,
    TRANSPORTS,
    ErpBackend,
    StandinBackend,
)

if TYPE_CHECKING:  # imported by pytest_configure below, as a plugin (its asserts rewritten)
    from tests.support.odoo import OdooStacks


def pytest_configure(config: pytest.Config) -> None:
    # The real-Odoo fixtures (odoo_install, odoo_server, odoo_backend) live in
    # their own module; as a plugin they are known to every test. The summary
    # of what ran (per part, backend, Odoo version) is a plugin too.
    config.pluginmanager.import_plugin("tests.support.odoo")
    config.pluginmanager.import_plugin("tests.support.run_summary")


@pytest.fixture
def standin_erp() -> Iterator[StandinErp]:
    """A fresh stand-in ERP per test (in-memory state, any free port)."""
    with StandinErp(password="courierd-test-password") as erp:
        yield erp


@pytest.fixture
def standin_backend(standin_erp: StandinErp) -> StandinBackend:
    return StandinBackend(standin_erp)


@pytest.fixture(params=ERP_BACKENDS)
def erp_backend(request: pytest.FixtureRequest) -> Iterator[ErpBackend]:
    key = request.param
    if key in STANDIN_BACKENDS:
        version = STANDIN_BACKENDS[key]
        with StandinErp(password="courierd-test-password", odoo_version=version) as erp:
            yield StandinBackend(erp, TRANSPORTS[key])
        return
    stacks: OdooStacks = request.getfixturevalue("odoo_stacks")
    yield stacks.backend(key)
