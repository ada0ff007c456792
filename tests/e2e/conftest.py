"""End to end: stand-in ERP + Mailjet sandbox + a real `courierd run` subprocess.

Every test here that uses the stand-in runs twice (`standin`): against the
stand-in as Odoo 18, courierd speaking JSON-RPC, and as Odoo 19, courierd
speaking JSON-2 with the API key. The tests written for `erp_backend` run on
every backend (tests/conftest.py), real Odoos included.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

import pytest

from mailjet_sandbox import SandboxServer
from mailjet_sandbox.faults import Fault
from standin_erp import StandinErp
from tests.support.erp_backends import (
    STANDIN_BACKENDS,
    TRANSPORTS,
    StandinBackend,
    courierd_odoo_env,
)
from tests.support.processes import free_port, http_get

API_KEY = "e2e-api-key"
API_SECRET = "e2e-api-secret"


class Mailjet:
    """The sandbox seen through its admin endpoints and its outbox."""

    def __init__(self, server: SandboxServer) -> None:
        self.server = server
        self.url = server.url
        self.outbox = server.outbox

    def stats(self) -> dict[str, Any]:
        status, body = http_get(self.url + "_sandbox/stats")
        assert status == 200, body
        return json.loads(body)

    def emails(self) -> list[Path]:
        return sorted(self.outbox.rglob("*.eml"))

    def inject(self, path_prefix: str, status: int | None, times: int | None = 1) -> None:
        self.server.faults.add(_sandbox_fault(path_prefix, status, times))


def _sandbox_fault(path_prefix: str, status: int | None, times: int | None) -> Fault:
    return Fault.from_json({"path_prefix": path_prefix, "status": status, "times": times})


@pytest.fixture
def mailjet(tmp_path: Path) -> Iterator[Mailjet]:
    with SandboxServer(tmp_path / "outbox", API_KEY, API_SECRET, sent_delay=0.0) as server:
        yield Mailjet(server)


class _ErpLogin(Protocol):
    url: str
    db: str
    login: str
    password: str
    api_key: str | None
    transport: str


@pytest.fixture(params=STANDIN_BACKENDS)
def standin(request: pytest.FixtureRequest) -> str:
    """Which stand-in (tests/support/erp_backends.py STANDIN_BACKENDS) this run uses."""
    return str(request.param)


@pytest.fixture
def standin_erp(standin: str) -> Iterator[StandinErp]:
    """A fresh stand-in ERP per test, as Odoo 18 or as Odoo 19 (`standin`)."""
    with StandinErp(
        password="courierd-test-password", odoo_version=STANDIN_BACKENDS[standin]
    ) as erp:
        yield erp


@pytest.fixture
def standin_backend(standin_erp: StandinErp, standin: str) -> StandinBackend:
    return StandinBackend(standin_erp, TRANSPORTS[standin])


def daemon_env(erp: _ErpLogin, mailjet_url: str, state_dir: Path, worker_id: str) -> dict[str, str]:
    """`courierd run`'s environment against an ERP and the sandbox, with quick turns."""
    return courierd_odoo_env(erp) | {
        "COURIER_MAILJET_API_KEY": API_KEY,
        "COURIER_MAILJET_API_SECRET": API_SECRET,
        "COURIER_MAILJET_API_URL": mailjet_url,
        "COURIER_WORKER_ID": worker_id,
        "COURIER_IDLE_SECONDS": "0.2",
        # A short long poll: an idle courierd stops within a second at the test's end.
        "COURIER_CLAIM_WAIT_SECONDS": "1",
        "COURIER_HTTP_PORT": str(free_port()),
        "COURIER_STATE_DIR": str(state_dir),
        "COURIER_LOG_FORMAT": "json",
    }


@pytest.fixture
def courier_env(
    standin_backend: StandinBackend, mailjet: Mailjet, tmp_path: Path
) -> dict[str, str]:
    """The daemon's environment: our ERP and sandbox, quick turns and short retries."""
    return daemon_env(standin_backend, mailjet.url, tmp_path / "state", "e2e-worker") | {
        "COURIER_BATCH_SIZE": "50",
        "COURIER_LEASE_SECONDS": "30",
        "COURIER_RETRY_BASE_SECONDS": "1",
        "COURIER_RETRY_MAX_SECONDS": "2",
    }
