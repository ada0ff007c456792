"""The forwarder against the stand-in ERP (real odoorpc calls) and against fakes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from courierd.domain.errors import ErpCallError, ErpUnavailable
from courierd.domain.tracking import TrackingEvent
from courierd.odoo.client import ErpClient
from courierd.ops.metrics import Metrics
from courierd.storage.event_spool import EventSpool
from courierd.workers.event_forwarder import EventForwarder
from standin_erp import StandinErp
from tests.contract.client import Contract, transmitted
from tests.support.erp_backends import StandinBackend
from tests.support.processes import wait_until


def tracking(kind: str, message_id: str, n: int = 0) -> TrackingEvent:
    return TrackingEvent(
        dedupe_key=f"mj:{kind}:{message_id}:{1_764_230_000 + n}",
        type=kind,  # type: ignore[arg-type]
        time="2026-11-27T08:15:02Z",
        source="mailjet_webhook",
        message_id=message_id,
    )


def erp_client(erp: StandinErp) -> ErpClient:
    return ErpClient(
        url=erp.url,
        db=erp.db,
        login=erp.login,
        password=SecretStr(erp.password),
        timeout=5,
        attempts=1,
        max_wait=0.01,
    )


def sent_messages(erp: StandinErp, count: int) -> tuple[list[int], list[str]]:
    """Dispatches reported transmitted through the contract; their ids and MessageIDs."""
    contract = Contract(StandinBackend(erp))
    ids = erp.seed_dispatches(count)
    reports = [transmitted(d) for d in contract.claim_ours(ids)]
    contract.report(reports)
    return ids, [r["recipients"][0]["message_id"] for r in reports]


@pytest.fixture
def spool(tmp_path: Path):
    spool = EventSpool(tmp_path)
    yield spool
    spool.close()


def sample(metrics: Metrics, name: str, **labels: str) -> float:
    return metrics.registry.get_sample_value(name, labels) or 0.0


def test_backlog_is_forwarded_in_batches_and_leaves_the_spool(standin_erp, spool):
    ids, message_ids = sent_messages(standin_erp, 5)
    spool.add([tracking("delivered", m) for m in message_ids])
    spool.add([tracking("opened", "999999999999")])  # no such message in this ERP
    metrics = Metrics()
    forwarder = EventForwarder(
        spool=spool, erp=erp_client(standin_erp), metrics=metrics, batch_size=2
    )
    standin_erp.reset_rpc_calls()

    while forwarder.forward_batch():
        pass

    assert spool.depth() == 0
    assert standin_erp.rpc_calls().get("courier.event.courier_ingest") == 3
    states = standin_erp.dispatches(ids)
    assert {s["recipients"][0]["status"] for s in states} == {"delivered"}
    assert sample(metrics, "courier_events_forwarded_total", result="created") == 5
    assert sample(metrics, "courier_events_forwarded_total", result="unmatched") == 1


def test_events_wait_while_send_results_are_not_reported(standin_erp, spool):
    _, [message_id] = sent_messages(standin_erp, 1)
    spool.add([tracking("delivered", message_id)])
    forwarder = EventForwarder(
        spool=spool,
        erp=erp_client(standin_erp),
        metrics=Metrics(),
        batch_size=10,
        reports_pending=lambda: 1,
    )
    standin_erp.reset_rpc_calls()
    assert forwarder.forward_batch() == 0
    assert spool.depth() == 1
    assert "courier.event.courier_ingest" not in standin_erp.rpc_calls()


def test_odoo_down_keeps_the_events_until_it_is_back(standin_erp, spool):
    ids, [message_id] = sent_messages(standin_erp, 1)
    spool.add([tracking("delivered", message_id)])
    metrics = Metrics()
    forwarder = EventForwarder(
        spool=spool,
        erp=erp_client(standin_erp),
        metrics=metrics,
        batch_size=10,
        idle_seconds=0.05,
        max_backoff_seconds=0.05,
    )
    standin_erp.go_down("refuse")
    with pytest.raises(ErpUnavailable):
        forwarder.forward_batch()
    assert spool.depth() == 1

    forwarder.start()
    try:
        wait_until(
            lambda: (
                sample(metrics, "courier_event_forward_failures_total", kind="unavailable") >= 2
            ),
            10,
            "the forwarder to retry while Odoo is down",
        )
        assert spool.depth() == 1
        standin_erp.come_back()
        wait_until(lambda: spool.depth() == 0, 20, "the backlog to reach Odoo")
    finally:
        forwarder.stop()
    [state] = standin_erp.dispatches(ids)
    assert state["recipients"][0]["status"] == "delivered"


def test_stop_ends_the_thread(standin_erp, spool):
    forwarder = EventForwarder(
        spool=spool, erp=erp_client(standin_erp), metrics=Metrics(), batch_size=10
    )
    forwarder.start()
    forwarder.stop()
    assert not forwarder._thread.is_alive()


class RefusingErp:
    """courier_ingest that refuses any call holding one of the `bad` dedupe keys."""

    def __init__(self, bad: set[str]) -> None:
        self.bad = bad
        self.accepted: list[str] = []
        self.calls = 0

    def ingest(self, events: list[dict[str, Any]]) -> dict[str, int]:
        self.calls += 1
        refused = [e["dedupe_key"] for e in events if e["dedupe_key"] in self.bad]
        if refused:
            raise ErpCallError(f"Odoo refused courier.event.courier_ingest: bad {refused[0]}")
        self.accepted += [e["dedupe_key"] for e in events]
        return {"created": len(events), "duplicate": 0, "unmatched": 0}


def test_refused_events_are_found_by_bisection_and_kept_aside(spool):
    events = [tracking("opened", "1001", n) for n in range(16)]
    bad = {events[3].dedupe_key, events[11].dedupe_key}
    spool.add(events)
    erp = RefusingErp(bad)
    metrics = Metrics()
    forwarder = EventForwarder(spool=spool, erp=erp, metrics=metrics, batch_size=16)  # type: ignore[arg-type]

    assert forwarder.forward_batch() == 16

    assert sorted(erp.accepted) == sorted(e.dedupe_key for e in events if e.dedupe_key not in bad)
    assert spool.depth() == 0
    rejected = spool.rejected()
    assert {e.dedupe_key for e, _ in rejected} == bad
    assert all("Odoo refused" in reason for _, reason in rejected)
    assert sample(metrics, "courier_events_refused_total") == 2
    # Two bad events among 16: far fewer calls than one per event.
    assert erp.calls < 16
