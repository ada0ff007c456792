"""Nothing goes out twice and nothing is lost: kill -9, an ERP outage."""

from __future__ import annotations

from pathlib import Path

from standin_erp import StandinErp
from tests.e2e.conftest import Mailjet
from tests.support.processes import courierd_process, start_courierd, wait_until


def _all_transmitted(erp: StandinErp, ids: list[int]) -> bool:
    return {d["state"] for d in erp.dispatches(ids)} == {"transmitted"}


def _killed_after_mailjet_accepted(
    erp: StandinErp, mailjet: Mailjet, env: dict[str, str], ids: list[int], log: str
) -> None:
    """Start courierd, let Mailjet accept the batch, hold the report, kill -9."""
    erp.add_fault("courier_report", "hang")
    daemon = start_courierd(env, log)
    try:
        assert erp.wait_hung(60), "courierd never reported its batch"
        assert len(mailjet.emails()) == len(ids)  # the batch is out...
        assert {d["state"] for d in erp.dispatches(ids)} == {"sending"}
    finally:
        daemon.kill()  # ...and its report never arrives
        daemon.close_log()
    erp.clear_faults()


def test_killed_before_the_report_spooled_result_is_reported_at_restart(
    standin_erp: StandinErp, mailjet: Mailjet, courier_env: dict[str, str]
) -> None:
    ids = standin_erp.seed_dispatches(10)
    _killed_after_mailjet_accepted(standin_erp, mailjet, courier_env, ids, "e2e-kill-spool.log")

    # Same state directory: the spooled results are reported first thing.
    with courierd_process(courier_env, "e2e-kill-spool.log"):
        wait_until(lambda: _all_transmitted(standin_erp, ids), 60, "the spooled report")

    assert len(mailjet.emails()) == 10
    assert mailjet.stats()["send_calls"] == 1
    assert {d["attempts"] for d in standin_erp.dispatches(ids)} == {1}


def test_killed_before_the_report_without_spool_checks_mailjet_first(
    standin_erp: StandinErp, mailjet: Mailjet, courier_env: dict[str, str], tmp_path: Path
) -> None:
    """The spool is gone too (new machine): the expired lease brings check_mailjet_first."""
    ids = standin_erp.seed_dispatches(10)
    _killed_after_mailjet_accepted(standin_erp, mailjet, courier_env, ids, "e2e-kill-lease.log")

    fresh = courier_env | {"COURIER_STATE_DIR": str(tmp_path / "other-state")}
    with courierd_process(fresh, "e2e-kill-lease.log"):
        # The 30 s lease must run out before the dispatches can be claimed again.
        wait_until(lambda: _all_transmitted(standin_erp, ids), 90, "the reclaimed dispatches")

    dispatches = standin_erp.dispatches(ids)
    assert {d["attempts"] for d in dispatches} == {2}
    assert len(mailjet.emails()) == 10
    assert mailjet.stats()["send_calls"] == 1
    assert all(r["message_id"] for d in dispatches for r in d["recipients"])


def test_erp_down_during_the_report_loses_nothing(
    standin_erp: StandinErp, mailjet: Mailjet, courier_env: dict[str, str]
) -> None:
    ids = standin_erp.seed_dispatches(20)
    standin_erp.add_fault("courier_report", "hang")

    with courierd_process(courier_env, "e2e-erp-down.log") as daemon:
        assert standin_erp.wait_hung(60), "courierd never reported its batch"
        standin_erp.go_down("refuse")  # Odoo dies while the report is in flight
        standin_erp.clear_faults()
        # The turn ends once courierd gives up reporting; the results stay spooled.
        wait_until(
            lambda: (daemon.metric("courier_batch_seconds_count") or 0) >= 1,
            60,
            "courierd to give up reporting while Odoo is down",
            interval=0.25,
        )
        assert daemon.running()
        assert daemon.metric("courier_report_spool_depth") == 20
        assert {d["state"] for d in standin_erp.dispatches(ids)} == {"sending"}
        standin_erp.come_back()
        wait_until(lambda: _all_transmitted(standin_erp, ids), 90, "the report after the outage")

    assert len(mailjet.emails()) == 20
    assert mailjet.stats()["send_calls"] == 1
