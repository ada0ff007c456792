"""The stand-in's own surface: Odoo-shaped JSON-RPC, its switches, claims across processes.

The contract itself is checked on both backends by the other modules; these
tests cover what only the stand-in has, or what courierd relies on seeing
exactly as Odoo shows it (error names, session expiry).
"""

from __future__ import annotations

import base64
import json
import threading
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from standin_erp import StandinErp
from tests.contract.client import Contract, ContractRefused
from tests.support.erp_backends import StandinBackend
from tests.support.processes import DaemonProcess, free_port, launch, run_courierd


def _post(
    url: str, params: dict[str, Any], cookie: str | None = None
) -> tuple[dict[str, Any], str | None]:
    request = urllib.request.Request(
        url,
        data=json.dumps({"jsonrpc": "2.0", "method": "call", "params": params, "id": 7}).encode(),
        headers={"Content-Type": "application/json"} | ({"Cookie": cookie} if cookie else {}),
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read()), response.headers.get("Set-Cookie")


def test_version_info_is_odoo_18(standin_erp: StandinErp) -> None:
    answer, _ = _post(standin_erp.url + "/web/webclient/version_info", {})

    assert answer["result"]["server_version"] == "18.0"
    assert answer["result"]["server_version_info"][:2] == [18, 0]
    assert answer["id"] == 7


def test_session_login_call_kw_and_expiry_after_restart(standin_erp: StandinErp) -> None:
    standin_erp.seed_dispatches(1)
    credentials = {
        "db": standin_erp.db,
        "login": standin_erp.login,
        "password": standin_erp.password,
    }
    auth, set_cookie = _post(standin_erp.url + "/web/session/authenticate", credentials)
    assert auth["result"]["uid"] and set_cookie
    cookie = set_cookie.split(";")[0]
    call = {
        "model": "courier.dispatch",
        "method": "courier_claim",
        "args": ["w", 5, 300],
        "kwargs": {},
    }

    claimed, _ = _post(standin_erp.url + "/web/dataset/call_kw", call, cookie)
    standin_erp.restart()
    expired, _ = _post(standin_erp.url + "/web/dataset/call_kw", call, cookie)

    assert len(claimed["result"]) == 1
    assert expired["error"]["code"] == 100
    assert expired["error"]["data"]["name"] == "odoo.http.SessionExpiredException"


def test_errors_are_shaped_like_odoos(standin_erp: StandinErp) -> None:
    bad_login, _ = _post(
        standin_erp.url + "/web/session/authenticate",
        {"db": standin_erp.db, "login": standin_erp.login, "password": "wrong"},
    )
    bad_object_call, _ = _post(
        standin_erp.url + "/jsonrpc",
        {
            "service": "object",
            "method": "execute_kw",
            "args": [standin_erp.db, 7, "wrong", "courier.dispatch", "courier_claim", ["w", 1, 60]],
        },
    )
    common_login, _ = _post(
        standin_erp.url + "/jsonrpc",
        {"service": "common", "method": "login", "args": [standin_erp.db, standin_erp.login, "x"]},
    )

    for answer in (bad_login, bad_object_call):
        assert answer["error"]["message"] == "Odoo Server Error"
        assert answer["error"]["data"]["name"] == "odoo.exceptions.AccessDenied"
        assert answer["error"]["data"]["message"] == "Access Denied"
    assert common_login["result"] is False  # Odoo answers False here, odoorpc raises


def test_unknown_model_and_bad_arguments(standin_backend: StandinBackend) -> None:
    contract = Contract(standin_backend)
    with pytest.raises(ContractRefused) as unknown:
        contract.call("no.such.model", "search", [])
    with pytest.raises(ContractRefused) as missing:
        contract.call("courier.dispatch", "courier_claim", "w")

    assert unknown.value.name == "odoo.exceptions.UserError"
    assert missing.value.name == "builtins.TypeError"


def test_down_refuses_or_answers_502_then_comes_back(standin_backend: StandinBackend) -> None:
    erp = standin_backend.erp
    contract = Contract(standin_backend)

    erp.go_down("502")
    with pytest.raises(urllib.error.HTTPError) as bad_gateway:
        contract.claim("w", 1, 60)
    erp.come_back()
    erp.go_down("refuse")
    with pytest.raises(urllib.error.URLError) as refused:
        contract.claim("w", 1, 60)
    erp.come_back()

    assert bad_gateway.value.code == 502
    assert isinstance(refused.value.reason, ConnectionRefusedError)
    assert contract.claim("w", 1, 60) == []


def test_faults_hold_or_fail_one_method_and_calls_are_counted(
    standin_backend: StandinBackend,
) -> None:
    erp = standin_backend.erp
    [dispatch_id] = erp.seed_dispatches(1)
    contract = Contract(standin_backend)
    [claimed] = contract.claim("w", 1, 300)
    report = {"id": dispatch_id, "custom_id": claimed["custom_id"], "outcome": "failed",
              "error": {"code": "x", "message": "y"}}  # fmt: skip
    erp.add_fault("courier_report", "502", times=1)
    with pytest.raises(urllib.error.HTTPError):
        contract.report([report])
    assert erp.dispatches([dispatch_id])[0]["state"] == "sending"  # a 502 never ran the call

    erp.add_fault("courier_report", "hang")
    outcome: list[BaseException] = []
    caller = threading.Thread(target=lambda: _capture(outcome, contract.report, [report]))
    caller.start()
    assert erp.wait_hung(10)
    assert contract.claim("w", 1, 300) == []  # other methods still answer
    erp.clear_faults()
    caller.join(10)

    assert isinstance(outcome[0], urllib.error.HTTPError)  # released with a 502, not run
    assert erp.dispatches([dispatch_id])[0]["state"] == "sending"
    assert contract.report([report])["failed"] == 1
    calls = erp.rpc_calls()
    assert calls["courier.dispatch.courier_claim"] == 2
    assert calls["courier.dispatch.courier_report"] == 1  # only the call that ran


def _capture(into: list[BaseException], call: Any, *args: Any) -> None:
    try:
        call(*args)
    except BaseException as exc:
        into.append(exc)


def test_two_processes_sharing_a_database_file_never_claim_the_same(tmp_path: Path) -> None:
    database = tmp_path / "standin.sqlite3"
    with StandinErp(password="pw", database=database) as seeder:
        ours = set(seeder.seed_dispatches(60))
    ports = [free_port(), free_port()]
    servers = [
        start_standin_process(database, port, f"standin-process-{i}.log")
        for i, port in enumerate(ports)
    ]
    try:
        backends = [_RemoteStandin(f"http://127.0.0.1:{port}") for port in ports]
        clients = [Contract(backend) for backend in backends]
        claimed: list[list[int]] = [[], []]
        failures: list[BaseException] = []

        def worker(index: int) -> None:
            try:
                while batch := clients[index].claim(f"worker-{index}", 2, 300):
                    claimed[index].extend(d["id"] for d in batch)
            except BaseException as exc:
                failures.append(exc)

        threads = [threading.Thread(target=worker, args=(i,)) for i in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
    finally:
        for server in servers:
            assert server.terminate() == 0
            server.close_log()

    assert failures == []
    # Each dispatch claimed exactly once across both processes, none twice. How the
    # 60 split between them is up to the scheduler: on a loaded machine one process
    # may claim them all, which proves nothing wrong.
    assert sorted(claimed[0] + claimed[1]) == sorted(ours)
    with StandinErp(password="pw", database=database) as reader:
        leases = {d["id"]: (d["state"], d["lease_owner"]) for d in reader.dispatches(sorted(ours))}
    assert leases == {i: ("sending", f"worker-{w}") for w in (0, 1) for i in claimed[w]}


class _RemoteStandin:
    db, login, password, api_key, transport = "courier", "courierd", "pw", None, "jsonrpc"

    def __init__(self, url: str) -> None:
        self.url = url


def start_standin_process(database: Path, port: int, log_name: str) -> DaemonProcess:
    args = ["standin-erp", "--port", str(port), "--password", "pw", "--database", str(database)]
    return launch(args, {}, log_name, f"http://127.0.0.1:{port}", "/web/health")


def test_cli_help_lists_the_options() -> None:
    result = run_courierd(["standin-erp", "--help"], {})

    assert result.returncode == 0
    for option in ("--host", "--port", "--db", "--login", "--password", "--database"):
        assert option in result.stdout


def test_seeded_pdf_is_the_claimed_attachment(standin_backend: StandinBackend) -> None:
    erp = standin_backend.erp
    pdf = base64.b64encode(b"%PDF-1.4 seeded").decode()
    [stored] = erp.seed_dispatches(1, pdf_base64=pdf)
    [pending] = erp.seed_dispatches(1, with_pdf=False)

    claimed = {d["id"]: d for d in Contract(standin_backend).claim("w", 5, 60)}

    assert claimed[stored]["pdf_pending"] is False
    assert [a["base64"] for a in claimed[stored]["attachments"]] == [pdf]
    assert claimed[pending]["pdf_pending"] is True
    assert claimed[pending]["attachments"] == []


def test_as_odoo_19_it_serves_json2_and_as_odoo_18_it_does_not() -> None:
    with StandinErp(password="pw", odoo_version=19) as odoo19, StandinErp(password="pw") as odoo18:
        answer, _ = _post(odoo19.url + "/web/webclient/version_info", {})
        assert answer["result"]["server_version_info"][:2] == [19, 0]
        probe = urllib.request.Request(
            odoo18.url + "/json/2", headers={"X-Odoo-Database": "courier"}
        )
        with pytest.raises(urllib.error.HTTPError) as on_18:
            urllib.request.urlopen(probe, timeout=10)
        assert on_18.value.code == 404
        assert on_18.value.headers["Content-Type"].startswith("text/html")
        # Odoo takes an API key in place of the password over JSON-RPC too.
        keyed = StandinBackend(odoo19)
        keyed.password = odoo19.api_key
        assert Contract(keyed).claim("w", 1, 60) == []


def test_json2_calls_meet_the_faults_and_are_counted() -> None:
    with StandinErp(password="pw", odoo_version=19) as erp:
        backend = StandinBackend(erp, "json2")
        erp.seed_dispatches(1)
        erp.add_fault("courier_claim", "502", times=1)
        contract = Contract(backend)
        with pytest.raises(ContractRefused) as failed:
            contract.claim("w", 5, 60)
        assert failed.value.status == 502
        assert len(contract.claim("w", 5, 60)) == 1
        assert erp.rpc_calls()["courier.dispatch.courier_claim"] == 1  # the 502 never ran it
