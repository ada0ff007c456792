import json
import socket
import urllib.error
import urllib.request

import pytest
from werkzeug.routing import Rule
from werkzeug.wrappers import Response

from courierd.ops.http_server import HttpServer, Route
from courierd.ops.metrics import Health, Metrics
from courierd.ops.systemd import Notifier, WatchdogKeeper, watchdog_interval


def _get(url: str) -> tuple[int, str, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.headers["Content-Type"], response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.headers["Content-Type"], error.read().decode()


@pytest.fixture
def server():
    health = Health(max_age_seconds=60)
    metrics = Metrics()
    hook = Route(
        Rule("/webhook/mailjet", methods=["POST"], endpoint="webhook"),
        lambda request: Response("ok"),
    )
    http = HttpServer("127.0.0.1", 0, health, metrics, extra_routes=[hook])
    http.start()
    yield f"http://127.0.0.1:{http.port}", health, metrics
    http.stop()


def test_healthz_reports_last_turn_and_spool_depth(server):
    base, health, _ = server
    health.turned(spool_depth=3)
    status, content_type, body = _get(base + "/healthz")
    assert status == 200
    assert content_type == "application/json"
    data = json.loads(body)
    assert data["status"] == "ok"
    assert data["spool_depth"] == 3
    assert data["last_turn_at"].endswith("Z")


def test_healthz_is_503_when_the_loop_has_not_turned_in_time():
    health = Health(max_age_seconds=0.0)
    http = HttpServer("127.0.0.1", 0, health, Metrics())
    http.start()
    try:
        status, _, body = _get(f"http://127.0.0.1:{http.port}/healthz")
    finally:
        http.stop()
    assert status == 503
    assert json.loads(body)["status"] == "stalled"


def test_metrics_page_lists_the_daemon_metrics(server):
    base, _, metrics = server
    metrics.sent.inc(2)
    metrics.send_errors.labels(kind="rate_limited").inc()
    metrics.batch_seconds.observe(1.5)
    metrics.spool_depth.set(4)
    status, content_type, body = _get(base + "/metrics")
    assert status == 200
    assert content_type.startswith("text/plain")
    assert "courier_dispatches_sent_total 2.0" in body
    assert "courier_dispatches_failed_total 0.0" in body
    assert 'courier_send_errors_total{kind="rate_limited"} 1.0' in body
    assert "courier_batch_seconds_count 1.0" in body
    assert "courier_queue_lag_seconds" in body
    assert "courier_report_spool_depth 4.0" in body


def test_extra_routes_mount_on_the_same_server_and_unknown_paths_are_404(server):
    base, _, _ = server
    request = urllib.request.Request(base + "/webhook/mailjet", data=b"[]", method="POST")
    with urllib.request.urlopen(request, timeout=5) as response:
        assert response.read() == b"ok"
    assert _get(base + "/nope")[0] == 404


def test_notifier_is_a_no_op_without_notify_socket():
    notifier = Notifier(environ={})
    assert not notifier.enabled
    notifier.ready("x")
    notifier.watchdog()
    notifier.stopping()


def test_notifier_sends_ready_watchdog_stopping(tmp_path, monkeypatch):
    path = str(tmp_path / "notify.sock")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.settimeout(5)
    monkeypatch.setenv("NOTIFY_SOCKET", path)
    try:
        notifier = Notifier()
        notifier.ready("sending as w1")
        keeper = WatchdogKeeper(notifier, interval_seconds=60, stall_seconds=60)
        keeper.progress()
        notifier.stopping()
        received = [sock.recv(1024).decode() for _ in range(3)]
    finally:
        sock.close()
    assert received[0] == "READY=1\nSTATUS=sending as w1"
    assert received[1] == "WATCHDOG=1"
    assert received[2].startswith("STOPPING=1")


def test_watchdog_interval_is_half_of_watchdog_sec():
    assert watchdog_interval({"WATCHDOG_USEC": "60000000"}) == 30.0
    assert watchdog_interval({}) == 20.0
