"""The ERP adapter with a fake odoorpc connection factory (no network)."""

from __future__ import annotations

import urllib.error
from typing import Any

import odoorpc
import pytest
from pydantic import SecretStr

from courierd.domain.errors import ErpCallError, ErpUnavailable
from courierd.odoo.client import ErpClient, parse_odoo_url


class FakeOdoo:
    """Stands for odoorpc.ODOO; the script says what each execute_kw does."""

    def __init__(self, world: World, host: str, protocol: str, port: int, timeout: float) -> None:
        self.world = world
        world.connections.append((host, protocol, port, timeout))

    def login(self, db: str, login: str, password: str) -> None:
        if self.world.refuse_connect:
            self.world.refuse_connect -= 1
            raise urllib.error.URLError(ConnectionRefusedError(111, "Connection refused"))
        if password != "right":
            raise odoorpc.error.RPCError("Wrong login ID or password")
        self.world.logins += 1

    def execute_kw(self, model: str, method: str, args: list[Any]) -> Any:
        self.world.calls.append((model, method, args))
        outcome = self.world.script.pop(0) if self.world.script else []
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome


class World:
    def __init__(self) -> None:
        self.connections: list[tuple[str, str, int, float]] = []
        self.calls: list[tuple[str, str, list[Any]]] = []
        self.script: list[Any] = []
        self.logins = 0
        self.refuse_connect = 0

    def client(self, password: str = "right", url: str = "http://odoo.local:8069") -> ErpClient:
        return ErpClient(
            url=url,
            db="db",
            login="courierd",
            password=SecretStr(password),
            timeout=7.0,
            attempts=3,
            max_wait=0.01,
            connect=lambda host, **kw: FakeOdoo(self, host, **kw),
        )


def _rpc_error(name: str) -> odoorpc.error.RPCError:
    return odoorpc.error.RPCError("boom", {"code": 200, "data": {"name": name, "message": "x"}})


def test_parse_odoo_url():
    assert parse_odoo_url("http://127.0.0.1:8069") == ("127.0.0.1", 8069, "jsonrpc")
    assert parse_odoo_url("https://erp.example.com") == ("erp.example.com", 443, "jsonrpc+ssl")
    assert parse_odoo_url("http://erp.example.com/") == ("erp.example.com", 80, "jsonrpc")


def test_contract_calls_use_one_login_and_execute_kw():
    world = World()
    world.script = [[{"id": 1}], {"filename": "a.pdf"}, {"transmitted": 1}, {"created": 1}, []]
    client = world.client()
    assert client.claim("w1", 50, 300) == [{"id": 1}]
    assert client.render_pdf(1) == {"filename": "a.pdf"}
    assert client.report([{"id": 1}]) == {"transmitted": 1}
    assert client.ingest([{"dedupe_key": "k"}]) == {"created": 1}
    assert client.open_tracking(100, 30) == []
    assert world.calls == [
        ("courier.dispatch", "courier_claim", ["w1", 50, 300]),
        ("courier.dispatch", "courier_render_pdf", [1]),
        ("courier.dispatch", "courier_report", [[{"id": 1}]]),
        ("courier.event", "courier_ingest", [[{"dedupe_key": "k"}]]),
        ("courier.recipient", "courier_open_tracking", [100, 30]),
    ]
    assert world.logins == 1
    assert world.connections == [("odoo.local", "jsonrpc", 8069, 7.0)]


def test_odoo_restart_reconnects_with_a_fresh_login():
    world = World()
    world.script = [ConnectionRefusedError(111, "refused"), [{"id": 2}]]
    client = world.client()
    assert client.claim("w1", 50, 300) == [{"id": 2}]
    assert world.logins == 2  # dropped the dead connection and logged in again


def test_expired_session_is_transient():
    world = World()
    world.script = [_rpc_error("odoo.http.SessionExpiredException"), {"transmitted": 0}]
    assert world.client().report([]) == {"transmitted": 0}
    assert world.logins == 2


def test_odoo_down_raises_erp_unavailable_after_bounded_attempts():
    world = World()
    world.refuse_connect = 99
    with pytest.raises(ErpUnavailable) as caught:
        world.client().claim("w1", 50, 300)
    assert "COURIER_ODOO_URL" in caught.value.hint
    assert len(world.connections) == 3


def test_wrong_password_is_unavailable_with_a_credentials_hint_and_not_retried():
    world = World()
    with pytest.raises(ErpUnavailable) as caught:
        world.client(password="wrong").claim("w1", 50, 300)
    assert "COURIER_ODOO_PASSWORD" in caught.value.hint
    assert len(world.connections) == 1


def test_server_side_bug_is_a_call_error_not_retried():
    world = World()
    world.script = [_rpc_error("builtins.AttributeError")]
    with pytest.raises(ErpCallError):
        world.client().claim("w1", 50, 300)
    assert len(world.calls) == 1


def test_clone_has_its_own_connection():
    world = World()
    client = world.client()
    client.claim("w1", 1, 300)
    client.clone().claim("w1", 1, 300)
    assert world.logins == 2


def test_a_waiting_claim_passes_its_wait_and_a_plain_claim_stays_as_before():
    """wait_seconds only when asked: an addon older than the long poll takes three arguments."""
    world = World()
    world.script = [[], []]
    client = world.client()
    client.claim("w1", 50, 300, wait_seconds=10)
    client.claim("w1", 50, 300)
    assert world.calls == [
        ("courier.dispatch", "courier_claim", ["w1", 50, 300, 10]),
        ("courier.dispatch", "courier_claim", ["w1", 50, 300]),
    ]
