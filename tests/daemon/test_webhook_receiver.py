import base64
import io
import json
import logging
import sqlite3
from collections.abc import Sequence
from pathlib import Path

import pytest
from pydantic import SecretStr
from werkzeug.test import Client, EnvironBuilder

from courierd.domain.tracking import TrackingEvent
from courierd.mailjet.event_mapping import EventMapping
from courierd.mailjet.webhook_receiver import MAX_BODY_BYTES, WebhookReceiver
from courierd.ops import logs
from courierd.ops.http_server import HttpApp
from courierd.ops.metrics import Metrics
from courierd.storage.event_spool import EventSpool

PATH = "/webhooks/mailjet"
USER, PASSWORD = "mailjet", "s3cret-webhook"
PORTAL = "https://erp.example/my/invoices/42?access_token=abc"


def auth(user: str = USER, password: str = PASSWORD) -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def mj(kind: str, message_id: int = 1001, time: int = 1_764_230_000, **extra) -> dict:
    return {"event": kind, "time": time, "MessageID": message_id, "email": "a@x.example", **extra}


class Harness:
    def __init__(self, tmp_path: Path, spool: EventSpool | None = None, **mapping) -> None:
        self.spool = spool or EventSpool(tmp_path)
        self.metrics = Metrics()
        self.stored_calls = 0
        receiver = WebhookReceiver(
            path=PATH,
            user=USER,
            password=SecretStr(PASSWORD),
            spool=self.spool,
            mapping=EventMapping(**mapping),
            metrics=self.metrics,
            on_stored=self._stored,
        )
        self.client = Client(HttpApp(receiver.routes()))

    def _stored(self) -> None:
        self.stored_calls += 1

    def post(self, body, headers=None, raw: bytes | None = None):
        data = raw if raw is not None else json.dumps(body).encode()
        return self.client.post(
            PATH, data=data, headers=auth() if headers is None else headers,
            content_type="application/json",
        )  # fmt: skip

    def keys(self) -> list[str]:
        return [e.dedupe_key for _, e in self.spool.pending(1000)]

    def metric(self, name: str, **labels: str) -> float:
        return self.metrics.registry.get_sample_value(name, labels) or 0.0


@pytest.fixture
def hx(tmp_path: Path):
    harness = Harness(tmp_path)
    yield harness
    harness.spool.close()


def test_version_1_object_is_stored_and_answered_200(hx: Harness, tmp_path: Path):
    response = hx.post(mj("sent"))
    assert response.status_code == 200
    assert response.json["stored"] == 1
    # Committed: another connection to the file sees it.
    other = EventSpool(tmp_path)
    try:
        [(_, stored)] = other.pending(10)
    finally:
        other.close()
    assert (stored.type, stored.source, stored.message_id) == (
        "delivered",
        "mailjet_webhook",
        "1001",
    )
    assert hx.stored_calls == 1
    assert hx.metric("courier_webhook_requests_total", status="200") == 1


def test_version_2_array_is_stored_in_order(hx: Harness):
    response = hx.post([mj("sent"), mj("open", time=1_764_230_100)])
    assert response.status_code == 200
    assert [e.type for _, e in hx.spool.pending(10)] == ["delivered", "opened"]
    assert hx.metric("courier_webhook_events_total", outcome="stored") == 2


def test_the_same_call_twice_stores_once(hx: Harness):
    hx.post([mj("sent")])
    response = hx.post([mj("sent")])
    assert response.status_code == 200
    assert response.json["duplicate"] == 1
    assert len(hx.keys()) == 1
    assert hx.metric("courier_webhook_events_total", outcome="duplicate") == 1


@pytest.mark.parametrize(
    "headers",
    [
        {},
        auth(password="wrong"),
        auth(user="someone"),
        {"Authorization": "Basic !!!not-base64"},
        {"Authorization": "Bearer " + PASSWORD},
    ],
    ids=["missing", "wrong-password", "wrong-user", "malformed", "not-basic"],
)
def test_bad_credentials_get_401_and_nothing_is_stored(hx: Harness, headers, caplog):
    response = hx.post([mj("sent")], headers=headers)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Basic")
    assert hx.keys() == []
    assert hx.metric("courier_webhook_requests_total", status="401") == 1
    assert PASSWORD not in caplog.text


class _LogStream(io.StringIO):
    def isatty(self) -> bool:
        return False


def test_swapped_credentials_log_no_credential(hx: Harness):
    # The password sent as the user name (credentials swapped in Mailjet's URL): the
    # refusal is logged, the name it received is not.
    stream = _LogStream()
    logs.configure("info", "json", stream)
    try:
        response = hx.post([mj("sent")], headers=auth(user=PASSWORD, password=USER))
    finally:
        logging.getLogger().handlers.clear()
    assert response.status_code == 401
    (line,) = [json.loads(text) for text in stream.getvalue().splitlines()]
    assert line["event"].startswith("webhook call refused")
    assert line["auth"] == "wrong user or password"
    assert PASSWORD not in stream.getvalue()


def test_malformed_json_is_400(hx: Harness):
    response = hx.post(None, raw=b'[{"event": "sent",')
    assert response.status_code == 400
    assert "not valid JSON" in response.json["error"]
    assert hx.metric("courier_webhook_events_total", outcome="rejected") == 1


def test_a_body_that_is_neither_object_nor_array_is_400(hx: Harness):
    response = hx.post("sent")
    assert response.status_code == 400
    assert "version 1" in response.json["error"]


def test_unknown_type_is_400_naming_the_index(hx: Harness):
    response = hx.post(mj("teleported"))
    assert response.status_code == 400
    assert response.json["rejected"] == [{"index": 0, "reason": "unknown event type 'teleported'"}]
    assert hx.keys() == []


def test_partial_array_stores_the_valid_events_and_names_the_rejected(hx: Harness):
    body = [mj("sent"), {"event": "open", "time": 1_764_230_000}, mj("open"), 42]
    response = hx.post(body)
    assert response.status_code == 400
    assert [r["index"] for r in response.json["rejected"]] == [1, 3]
    assert "MessageID" in response.json["rejected"][0]["reason"]
    assert [e.type for _, e in hx.spool.pending(10)] == ["delivered", "opened"]
    assert hx.metric("courier_webhook_events_total", outcome="rejected") == 2
    # Mailjet retries the whole array: nothing is stored twice.
    hx.post(body)
    assert len(hx.keys()) == 2


def test_oversized_body_is_413(hx: Harness):
    response = hx.post(None, raw=b"[" + b" " * MAX_BODY_BYTES + b"]")
    assert response.status_code == 413
    assert hx.keys() == []


def test_oversized_chunked_body_is_413(hx: Harness):
    # A chunked body has no Content-Length: the limit must trip while reading.
    environ = EnvironBuilder(
        path=PATH,
        method="POST",
        headers=auth(),
        input_stream=io.BytesIO(b" " * (MAX_BODY_BYTES + 1)),
    ).get_environ()
    del environ["CONTENT_LENGTH"]
    environ["wsgi.input_terminated"] = True
    response = hx.client.open(environ)
    assert response.status_code == 413
    assert hx.metric("courier_webhook_requests_total", status="413") == 1


def test_ignored_type_is_accepted_and_not_stored(tmp_path: Path):
    hx = Harness(tmp_path, statuses={"open": "ignore"})
    response = hx.post([mj("open"), mj("sent")])
    assert response.status_code == 200
    assert [e.type for _, e in hx.spool.pending(10)] == ["delivered"]
    assert hx.metric("courier_webhook_events_total", outcome="ignored") == 1


def test_get_is_not_allowed(hx: Harness):
    assert hx.client.get(PATH, headers=auth()).status_code == 405


def test_scanner_click_on_the_web_document_is_stored_but_not_a_view(hx: Harness):
    hx.post([mj("click", url=PORTAL, agent="Mozilla/5.0 (Barracuda link protection)")])
    [(_, click)] = hx.spool.pending(10)
    assert click.type == "clicked"
    assert click.web_document is False
    assert "link scanner" in (click.detail or "")


def test_click_right_after_a_delivery_seen_earlier_is_not_a_view(hx: Harness):
    hx.post([mj("sent", time=1_764_230_000)])
    hx.post([mj("click", time=1_764_230_002, url=PORTAL, agent="Mozilla/5.0 Firefox")])
    click = hx.spool.pending(10)[1][1]
    assert click.web_document is False


def test_a_customer_click_on_the_web_document_is_a_view(hx: Harness):
    hx.post([mj("sent", time=1_764_230_000)])
    hx.post([mj("click", time=1_764_230_300, url=PORTAL, agent="Mozilla/5.0 Firefox")])
    assert hx.spool.pending(10)[1][1].web_document is True


class _FailingSpool(EventSpool):
    def add(self, events: Sequence[TrackingEvent]) -> int:
        raise sqlite3.OperationalError("disk I/O error")


def test_no_200_unless_the_spool_stored_the_events(tmp_path: Path):
    hx = Harness(tmp_path, spool=_FailingSpool(tmp_path))
    response = hx.post([mj("sent")])
    assert response.status_code == 503
    assert hx.metric("courier_webhook_requests_total", status="503") == 1
    hx.spool.close()
