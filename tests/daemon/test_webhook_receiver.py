import base64
import io
import json
import logging
import sqlite3
from collections.abc import Sequence
from pathlib import Path

import pytest
from pydantic import SecretStr
from werkzeug.test import Client, EnvironBuilder, run_wsgi_app

from courierd.domain.tracking import InvalidEvent, TrackingEvent
from courierd.mailjet.event_mapping import EventMapping
from courierd.mailjet.webhook_receiver import MAX_BODY_BYTES, WebhookReceiver
from courierd.ops import logs
from courierd.ops.bounded_server import BODY_TOO_LARGE
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
        self.app = HttpApp(receiver.routes())
        self.client = Client(self.app)

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


def test_an_unknown_type_alone_is_refused_by_index_and_answered_200(hx: Harness):
    response = hx.post(mj("teleported"))
    assert response.status_code == 200
    assert response.json["rejected"] == 1
    assert response.json["rejected_events"] == [
        {"index": 0, "reason": "unknown event type 'teleported'"}
    ]
    assert hx.keys() == []


def test_partial_array_stores_the_valid_events_and_names_the_rejected(hx: Harness, caplog):
    body = [mj("sent"), {"event": "open", "time": 1_764_230_000}, mj("open"), 42]
    with caplog.at_level(logging.WARNING):
        response = hx.post(body)
    # 200: Mailjet retries anything else for 24 hours, and a retry cannot make them valid.
    assert response.status_code == 200
    assert (response.json["stored"], response.json["rejected"]) == (2, 2)
    assert [r["index"] for r in response.json["rejected_events"]] == [1, 3]
    assert "MessageID" in response.json["rejected_events"][0]["reason"]
    assert [e.type for _, e in hx.spool.pending(10)] == ["delivered", "opened"]
    assert hx.metric("courier_webhook_events_total", outcome="rejected") == 2
    assert "webhook events rejected, each alone" in caplog.text
    assert "the 'open' event has no MessageID" in caplog.text
    # Recorded apart (bounded), never pending.
    assert [(i.position, i.excerpt) for i in hx.spool.invalid_events()] == [
        (1, '{"event": "open", "time": 1764230000}'),
        (3, "42"),
    ]
    # Posted again: nothing is stored twice.
    hx.post(body)
    assert len(hx.keys()) == 2


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        ({"MessageID": "\u0661\u0662\u0663"}, "MessageID must be a positive integer"),
        ({"MessageID": "\u00b2"}, "MessageID must be a positive integer"),
        ({"MessageID": 0}, "MessageID must be a positive integer"),
        ({"MessageID": " 123 "}, "MessageID must be a positive integer"),
        ({"time": 0.5}, "whole number of Unix seconds"),
        ({"time": 253402300800}, "not between 2000 and 2100"),
        ({"email": 42}, "email must be a string"),
        ({"CustomID": ["x"]}, "CustomID must be a string"),
    ],
)
def test_one_bad_event_never_costs_its_neighbours(hx: Harness, bad: dict, reason: str):
    body = [mj("sent"), mj("open", time=1_764_230_100) | bad, mj("click", time=1_764_230_200)]
    response = hx.post(body)
    assert response.status_code == 200
    [refused] = response.json["rejected_events"]
    assert refused["index"] == 1 and reason in refused["reason"]
    assert [e.type for _, e in hx.spool.pending(10)] == ["delivered", "clicked"]


@pytest.mark.parametrize(
    ("raw_value", "reason"),
    [
        (b"1" * 30, "MessageID must be a positive integer below 2^63, got 1111"),
        (b"1" * 400, "MessageID must be a positive integer below 2^63, got a 400-digit"),
        (b"9" * 5000, "a 5000-digit number"),
        (b"1e400", "MessageID must be a positive integer below 2^63, got inf"),
    ],
)
def test_numbers_json_allows_but_python_chokes_on_are_refused_alone(
    hx: Harness, raw_value: bytes, reason: str
):
    good = json.dumps(mj("sent")).encode()
    raw = b"[" + good + b', {"event": "open", "time": 1764230000, "MessageID": ' + raw_value
    response = hx.post(None, raw=raw + b"}]")
    assert response.status_code == 200
    assert reason in response.json["rejected_events"][0]["reason"]
    assert len(hx.keys()) == 1


@pytest.mark.parametrize("constant", [b"NaN", b"Infinity", b"-Infinity", b"1e20", b"1e300"])
def test_times_that_would_raise_when_made_dates_are_refused_alone(hx: Harness, constant: bytes):
    good = json.dumps(mj("sent")).encode()
    raw = b"[" + good + b', {"event": "open", "MessageID": 7, "time": ' + constant + b"}]"
    response = hx.post(None, raw=raw)
    assert response.status_code == 200
    assert "time" in response.json["rejected_events"][0]["reason"]
    assert len(hx.keys()) == 1


def test_json_nested_two_thousand_levels_is_400_not_500(hx: Harness):
    response = hx.post(None, raw=b"[" * 2000 + b"]" * 2000)
    assert response.status_code == 400
    assert "nested too deeply" in response.json["error"]
    response = hx.post(None, raw=b'{"event": "open", "x": ' + b"[" * 2000 + b"]" * 2000 + b"}")
    assert response.status_code == 400


def test_bodies_that_are_not_events_at_all_are_400(hx: Harness):
    for raw in (b"\xff\xfe\x00garbage", b"", b'"sent"', b"42", b"null"):
        response = hx.post(None, raw=raw)
        assert response.status_code == 400, raw
    assert hx.keys() == []


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


def test_a_click_right_after_a_delivery_carries_the_window_for_the_erp(hx: Harness):
    # The ERP decides from the delivery time it holds, whichever arrives first.
    hx.post([mj("click", time=1_764_230_002, url=PORTAL, agent="Mozilla/5.0 Firefox")])
    hx.post([mj("sent", time=1_764_230_000)])
    click = hx.spool.pending(10)[0][1]
    assert (click.web_document, click.min_seconds_after_delivery) == (True, 10)


def test_a_customer_click_on_the_web_document_is_a_view(hx: Harness):
    hx.post([mj("sent", time=1_764_230_000)])
    hx.post([mj("click", time=1_764_230_300, url=PORTAL, agent="Mozilla/5.0 Firefox")])
    assert hx.spool.pending(10)[1][1].web_document is True


class _FailingSpool(EventSpool):
    def add(self, events: Sequence[TrackingEvent], invalid: Sequence[InvalidEvent] = ()) -> int:
        raise sqlite3.OperationalError("disk I/O error")


def test_no_200_unless_the_spool_stored_the_events(tmp_path: Path):
    hx = Harness(tmp_path, spool=_FailingSpool(tmp_path))
    response = hx.post([mj("sent")])
    assert response.status_code == 503
    assert hx.metric("courier_webhook_requests_total", status="503") == 1
    hx.spool.close()


def test_a_body_the_server_did_not_read_is_413_after_the_credentials(hx: Harness):
    # The server (ops/bounded_server.py) passes the head alone, flagged, when the body
    # is over its limit; the receiver answers 413 once the credentials are right.
    for headers, status in ((auth(), "413"), ({}, "401")):
        environ = EnvironBuilder(path=PATH, method="POST", headers=headers).get_environ()
        environ[BODY_TOO_LARGE] = True
        _, answered, _ = run_wsgi_app(hx.app, environ)
        assert answered.startswith(status)
    assert hx.metric("courier_webhook_requests_total", status="413") == 1
