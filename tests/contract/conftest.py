"""The `contract` fixture: a logged-in contract client on each ERP backend."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.contract.client import Contract
from tests.support.erp_backends import ErpBackend


@pytest.fixture
def contract(erp_backend: ErpBackend) -> Iterator[Contract]:
    client = Contract(erp_backend)
    yield client
    client.close()
