"""The ERP client over JSON-2 against a scripted HTTP server, and how it picks a transport.

The stand-in ERP runs the contract over JSON-2 for real (tests/contract, tests/e2e);
here each answer Odoo 19 can give is scripted, to check the shared error mapping.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from pydantic import SecretStr
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from courierd.domain.errors import ErpCallError, ErpUnavailable
from courierd.odoo.client import ErpClient
from courierd.odoo.json2 import serves_json2
from courierd.odoo.transport import TransportSelector
from tests.daemon.test_erp_client import FakeOdoo, World
from tests.support.processes import free_port

API_KEY = "0123456789abcdef0123456789abcdef01234567"
HTML_404 = "<!doctype html><title>404 Not Found</title><h1>Not Found</h1>"


def odoo_error(status: int, name: str, message: str) -> Response:
    """An error as Odoo 19's Json2Dispatcher answers it (serialize_exception)."""
    body = {"name": name, "message": message, "arguments": [message], "context": {}, "debug": ""}
    return Response(json.dumps(body), status=status, mimetype="application/json")


def ok(result: Any) -> Response:
    return Response(json.dumps(result), mimetype="application/json")


class _Quiet(WSGIRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


@dataclass
class ScriptedOdoo:
    """Answers GET /json/2 like Odoo 19 (or 18), and POSTs from `script` in order."""

    serves_json2: bool = True
    script: list[Response] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)
    probes: int = 0
    server: BaseWSGIServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_port}"

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        if request.method == "GET" and request.path == "/json/2":
            self.probes += 1
            if self.serves_json2 and request.headers.get("X-Odoo-Database"):
                answer = odoo_error(
                    404,
                    "werkzeug.exceptions.NotFound",
                    "Did you mean POST /json/2/<model>/<method>?",
                )
            else:
                answer = Response(HTML_404, status=404, mimetype="text/html")
            return answer(environ, start_response)
        self.requests.append(
            {
                "path": request.path,
                "headers": dict(request.headers),
                "body": json.loads(request.get_data() or b"null"),
            }
        )
        answer = self.script.pop(0) if self.script else odoo_error(500, "builtins.IndexError", "")
        return answer(environ, start_response)

    def client(self, transport: str = "auto", api_key: str | None = API_KEY) -> ErpClient:
        return ErpClient(
            url=self.url,
            db="courier",
            login="courierd",
            api_key=SecretStr(api_key) if api_key else None,
            transport=transport,  # type: ignore[arg-type]
            timeout=5,
            attempts=3,
            max_wait=0.01,
            connect=lambda *a, **kw: pytest.fail("JSON-2 must not open an odoorpc connection"),
        )


@pytest.fixture
def odoo() -> Iterator[ScriptedOdoo]:
    scripted = ScriptedOdoo()
    server = make_server("127.0.0.1", 0, scripted, threaded=True, request_handler=_Quiet)
    scripted.server = server
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    yield scripted
    server.shutdown()
    server.server_close()
    thread.join(5)


def test_contract_calls_post_named_arguments_with_the_key_and_database(odoo: ScriptedOdoo):
    odoo.script = [ok([{"id": 1}]), ok({"created": 2}), ok([])]
    client = odoo.client()
    assert client.claim("w1", 50, 300) == [{"id": 1}]
    assert client.ingest([{"dedupe_key": "k"}]) == {"created": 2}
    assert client.clone().open_tracking(100, 30) == []
    first = odoo.requests[0]
    assert first["path"] == "/json/2/courier.dispatch/courier_claim"
    assert first["body"] == {"worker_id": "w1", "limit": 50, "lease_seconds": 300}
    assert first["headers"]["Authorization"] == f"bearer {API_KEY}"
    assert first["headers"]["X-Odoo-Database"] == "courier"
    assert first["headers"]["Content-Type"] == "application/json"
    assert odoo.requests[1]["body"] == {"events": [{"dedupe_key": "k"}]}
    assert odoo.requests[2]["path"] == "/json/2/courier.recipient/courier_open_tracking"
    assert odoo.requests[2]["body"] == {"limit": 100, "max_age_days": 30}
    assert odoo.probes == 1  # asked once, shared with the clone


def test_wrong_key_is_refused_at_once_with_a_hint_naming_the_key(odoo: ScriptedOdoo):
    odoo.script = [odoo_error(401, "werkzeug.exceptions.Unauthorized", "Invalid apikey")]
    with pytest.raises(ErpUnavailable) as caught:
        odoo.client().report([])
    assert "COURIER_ODOO_API_KEY" in caught.value.hint
    assert "Invalid apikey" in str(caught.value)
    assert API_KEY not in str(caught.value)
    assert len(odoo.requests) == 1


@pytest.mark.parametrize(
    ("status", "name"),
    [
        (422, "odoo.exceptions.UserError"),
        (422, "werkzeug.exceptions.UnprocessableEntity"),
        (403, "odoo.exceptions.AccessError"),
        (404, "werkzeug.exceptions.NotFound"),
        (500, "builtins.AttributeError"),
    ],
)
def test_a_refused_call_is_a_call_error_not_retried(odoo: ScriptedOdoo, status: int, name: str):
    odoo.script = [odoo_error(status, name, "nope")]
    with pytest.raises(ErpCallError) as caught:
        odoo.client().render_pdf(3)
    assert name in str(caught.value)
    assert len(odoo.requests) == 1


def test_proxy_errors_and_retryable_odoo_errors_are_retried(odoo: ScriptedOdoo):
    odoo.script = [
        Response("<h1>502 Bad Gateway</h1>", status=502, mimetype="text/html"),
        odoo_error(500, "psycopg2.errors.SerializationFailure", "could not serialize"),
        ok({"transmitted": 1, "retry": 0, "failed": 0, "ignored": 0}),
    ]
    assert odoo.client().report([{"id": 1}])["transmitted"] == 1
    assert len(odoo.requests) == 3


def test_json2_asked_of_an_odoo_without_it_says_so(odoo: ScriptedOdoo):
    odoo.serves_json2 = False
    odoo.script = [Response(HTML_404, status=404, mimetype="text/html")]
    with pytest.raises(ErpUnavailable) as caught:
        odoo.client(transport="json2").claim("w1", 1, 300)
    assert "does not serve JSON-2" in str(caught.value)
    assert "COURIER_ODOO_TRANSPORT" in caught.value.hint
    assert odoo.probes == 0  # json2 was asked for: no probe


def test_odoo_down_is_unavailable_after_bounded_attempts():
    port = free_port()  # nothing listens there
    client = ErpClient(
        url=f"http://127.0.0.1:{port}",
        db="courier",
        login="courierd",
        api_key=SecretStr(API_KEY),
        transport="json2",
        timeout=2,
        attempts=3,
        max_wait=0.01,
    )
    with pytest.raises(ErpUnavailable) as caught:
        client.claim("w1", 1, 300)
    assert "COURIER_ODOO_URL" in caught.value.hint


def test_auto_without_json2_speaks_jsonrpc_with_the_key_as_password(odoo: ScriptedOdoo):
    odoo.serves_json2 = False
    world = World()
    world.script = [[{"id": 9}]]
    client = ErpClient(
        url=odoo.url,
        db="courier",
        login="courierd",
        api_key=SecretStr("right"),  # World's FakeOdoo accepts the password "right"
        timeout=5,
        max_wait=0.01,
        connect=lambda host, **kw: FakeOdoo(world, host, **kw),
    )
    assert client.claim("w1", 1, 300) == [{"id": 9}]
    assert client.transport.choice().name == "jsonrpc"
    assert world.calls == [("courier.dispatch", "courier_claim", ["w1", 1, 300])]
    assert odoo.probes == 1


def test_a_wrong_key_used_as_password_names_the_key():
    world = World()
    client = ErpClient(
        url="http://odoo.local:8069",
        db="db",
        login="courierd",
        api_key=SecretStr("wrong"),
        transport="jsonrpc",
        connect=lambda host, **kw: FakeOdoo(world, host, **kw),
    )
    with pytest.raises(ErpUnavailable) as caught:
        client.claim("w1", 1, 300)
    assert "COURIER_ODOO_API_KEY" in caught.value.hint


def test_probe_tells_odoo_19_from_odoo_18(odoo: ScriptedOdoo):
    assert serves_json2(odoo.url, "courier", 5) is True
    odoo.serves_json2 = False
    assert serves_json2(odoo.url, "courier", 5) is False


def _selector(setting: str, *, key: bool, probe: Any, password: bool = True) -> TransportSelector:
    return TransportSelector(
        setting,  # type: ignore[arg-type]
        url="http://erp.example:8069",
        db="prod",
        has_password=password,
        api_key=SecretStr(API_KEY) if key else None,
        timeout=5,
        probe=probe,
    )


def test_selector_decides_and_explains_why():
    def never(url: str, db: str, timeout: float) -> bool:
        raise AssertionError("no probe needed")

    def served(url: str, db: str, timeout: float) -> bool:
        return True

    def not_served(url: str, db: str, timeout: float) -> bool:
        return False

    assert _selector("jsonrpc", key=True, probe=never).explain().startswith("jsonrpc: ")
    assert _selector("json2", key=True, probe=never).choice().name == "json2"
    no_key = _selector("auto", key=False, probe=never).explain()
    assert no_key.startswith("jsonrpc: ") and "COURIER_ODOO_API_KEY is not set" in no_key
    assert "serves JSON-2" in _selector("auto", key=True, probe=served).explain()
    older = _selector("auto", key=True, probe=not_served, password=False).explain()
    assert older.startswith("jsonrpc: ") and "API_KEY as the password" in older


def test_selector_asks_again_while_odoo_does_not_answer():
    answers: list[Any] = [ConnectionRefusedError(111, "refused"), True]

    def probe(url: str, db: str, timeout: float) -> bool:
        answer = answers.pop(0)
        if isinstance(answer, BaseException):
            raise answer
        return bool(answer)

    selector = _selector("auto", key=True, probe=probe)
    assert selector.explain().startswith("not decided yet: ")
    assert selector.choice().name == "json2"
    assert API_KEY not in selector.explain()


def test_selector_never_shows_a_password_in_the_url():
    def not_served(url: str, db: str, timeout: float) -> bool:
        return False

    selector = TransportSelector(
        "auto",
        url="http://admin:url-secret@erp.example:8069",
        db="prod",
        has_password=True,
        api_key=SecretStr(API_KEY),
        timeout=5,
        probe=not_served,
    )
    assert "url-secret" not in selector.explain()
    assert "erp.example:8069" in selector.explain()
