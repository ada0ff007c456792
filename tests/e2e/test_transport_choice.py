"""`COURIER_ODOO_TRANSPORT=auto` picks JSON-2 where the server serves it, JSON-RPC elsewhere.

`courierd check-config` asks the server as `courierd run` does on its first
call (courierd/odoo/transport.py) and says what it picked and why: on each
backend, the transport that backend's tests speak (Odoo 18 and the stand-in
as 18: JSON-RPC; Odoo 19 and the stand-in as 19: JSON-2).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.conftest import daemon_env
from tests.support.erp_backends import STANDIN_BACKENDS, TRANSPORTS, ErpBackend
from tests.support.processes import run_courierd

# Odoo 19 with JSON-RPC forced: auto would pick JSON-2 there, its json2 twin checks that.
AUTO_BACKENDS = [key for key in TRANSPORTS if key in STANDIN_BACKENDS or key != "odoo19-jsonrpc"]


@pytest.mark.parametrize("erp_backend", AUTO_BACKENDS, indirect=True)
def test_auto_picks_the_transport_the_server_offers(
    erp_backend: ErpBackend, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    expected = TRANSPORTS[request.node.callspec.params["erp_backend"]]
    env = daemon_env(erp_backend, "http://127.0.0.1:9/", tmp_path / "state", "e2e-auto") | {
        "COURIER_ODOO_TRANSPORT": "auto",
        # A key on every backend: where the server has no JSON-2, auto must not take it.
        "COURIER_ODOO_API_KEY": erp_backend.api_key or "a-key-odoo-18-never-sees",
    }

    result = run_courierd(["check-config"], env)

    assert result.returncode == 0, result.stderr
    assert f"Odoo transport: {expected}: COURIER_ODOO_TRANSPORT=auto" in result.stdout
    assert (
        "serves JSON-2" in result.stdout
        if expected == "json2"
        else "does not serve" in result.stdout
    )
    assert env["COURIER_ODOO_API_KEY"] not in result.stdout
