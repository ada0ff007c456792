"""Mailjet's answers end to end: each ends in a decision the ERP and the sender can see.

Stand-in ERP + the strict Mailjet sandbox + a real `courierd run` (docs/daemon.md,
"Mailjet's answers and courierd's decisions"): a dispatch Mailjet refuses for good
fails alone with Mailjet's reason and an activity for its sender while the
others go out; passing trouble is retried; nothing is retried without bound; a
wrong API key uses up no attempt. The culprit of a whole-call mj-0002 is found
in-process (courierd builds no unknown property itself: a builder that does
stands for a faulty message mapping).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from courierd.domain.backoff import RetryPolicy
from courierd.domain.contract import Attachment, ClaimedDispatch
from courierd.domain.ports import Message
from courierd.mailjet.client import MailjetClient
from courierd.mailjet.messages import build_message
from courierd.mailjet.provider import MailjetSender
from courierd.odoo.client import ErpClient
from courierd.ops.metrics import Health, Metrics
from courierd.storage.report_spool import ReportSpool
from courierd.workers.send_loop import LoopSettings, SendLoop
from standin_erp import StandinErp
from tests.e2e.conftest import API_KEY, API_SECRET, Mailjet
from tests.support.processes import courierd_process, wait_until

UNAUTHORIZED_SENDER = "unauthorized.billing@company.example"


def _final(erp: StandinErp, ids: list[int]) -> bool:
    return all(d["state"] in ("transmitted", "failed") for d in erp.dispatches(ids))


def _activities(erp: StandinErp, dispatch_id: int) -> list[str]:
    return [n["body"] for n in erp.store.notes(dispatch_id) if n["kind"] == "activity"]


def test_more_than_50_recipients_fail_that_dispatch_alone_and_the_others_go_out(
    standin_erp: StandinErp, mailjet: Mailjet, courier_env: dict[str, str]
) -> None:
    crowd = ",".join(f"guest{n}@customer.example" for n in range(51))
    ids = standin_erp.seed_dispatches(2, ["ok0@customer.example", "ok1@customer.example"])
    # One email to all (the company's choice): one message of 51 recipients, which Mailjet
    # refuses as a whole. One email each, courierd would not build 51 for one call.
    ids += standin_erp.store.seed(1, [crowd], one_email_to_all=True)
    ids += standin_erp.seed_dispatches(3, [f"ok{i}@customer.example" for i in range(3, 6)])

    with courierd_process(courier_env, "e2e-51-recipients.log") as daemon:
        wait_until(lambda: _final(standin_erp, ids), 60, "6 dispatches to be reported")
        log = daemon.log_text()

    dispatches = standin_erp.dispatches(ids)
    crowded = dispatches.pop(2)
    assert crowded["state"] == "failed"
    assert crowded["invoice_state"] == "failed"
    assert crowded["error_code"] == "send-0015"
    assert "Total number of recipients exceeded" in crowded["last_error"]
    assert crowded["attempts"] == 1, "refused for good: not retried"
    [activity] = _activities(standin_erp, ids[2])
    assert "send-0015" in activity and "Total number of recipients exceeded" in activity
    assert {d["state"] for d in dispatches} == {"transmitted"}
    assert len(mailjet.emails()) == 5
    # Two calls went out, the crowded dispatch's own call was refused once.
    assert mailjet.stats()["send_calls_by_status"] == {"200": 2, "400": 1}
    assert "COURIER_MAILJET_API_KEY" not in log


def test_a_mixed_batch_answered_403_fails_only_the_unauthorized_sender(
    standin_erp: StandinErp, mailjet: Mailjet, courier_env: dict[str, str]
) -> None:
    ids = standin_erp.store.seed(2)
    ids += standin_erp.store.seed(1, sender_email=UNAUTHORIZED_SENDER)
    ids += standin_erp.store.seed(2)

    with courierd_process(courier_env, "e2e-mixed-403.log") as daemon:
        wait_until(lambda: _final(standin_erp, ids), 60, "5 dispatches to be reported")
        log = daemon.log_text()

    dispatches = standin_erp.dispatches(ids)
    refused = dispatches.pop(2)
    assert refused["state"] == "failed"
    assert refused["error_code"] == "send-0008"
    assert refused["attempts"] == 1
    [activity] = _activities(standin_erp, ids[2])
    assert "send-0008" in activity
    assert {d["state"] for d in dispatches} == {"transmitted"}
    assert all(r["message_id"] for d in dispatches for r in d["recipients"])
    assert mailjet.stats()["send_calls_by_status"] == {"403": 1}
    assert len(mailjet.emails()) == 4, "the others went out once, in that one call"
    assert "COURIER_MAILJET_API_KEY" not in log, "a 403 with per-message results is no key problem"


def test_a_5xx_is_retried_and_each_email_goes_out_once(
    standin_erp: StandinErp, mailjet: Mailjet, courier_env: dict[str, str]
) -> None:
    mailjet.inject("/v3.1/send", 503, times=1)
    ids = standin_erp.seed_dispatches(8)

    with courierd_process(courier_env, "e2e-503.log"):
        wait_until(lambda: _final(standin_erp, ids), 60, "8 dispatches to be reported")

    dispatches = standin_erp.dispatches(ids)
    assert {d["state"] for d in dispatches} == {"transmitted"}
    assert {d["attempts"] for d in dispatches} == {2}
    assert mailjet.stats()["send_calls_by_status"] == {"503": 1, "200": 1}
    assert len(mailjet.emails()) == 8


def test_dispatches_are_given_up_after_max_attempts_with_an_activity_and_a_metric(
    standin_erp: StandinErp, mailjet: Mailjet, courier_env: dict[str, str]
) -> None:
    mailjet.inject("/v3.1/send", 503, times=None)  # Mailjet never recovers
    ids = standin_erp.seed_dispatches(3)
    env = courier_env | {"COURIER_MAX_ATTEMPTS": "2"}

    with courierd_process(env, "e2e-max-attempts.log") as daemon:
        wait_until(lambda: _final(standin_erp, ids), 60, "3 dispatches to be given up")
        given_up = daemon.metric("courier_dispatches_given_up_total")
        failed = daemon.metric("courier_dispatches_failed_total")

    dispatches = standin_erp.dispatches(ids)
    assert {d["state"] for d in dispatches} == {"failed"}
    assert {d["invoice_state"] for d in dispatches} == {"failed"}
    assert {d["error_code"] for d in dispatches} == {"gave-up"}
    assert {d["attempts"] for d in dispatches} == {3}, "2 attempts, then the claim that gave up"
    for dispatch in dispatches:
        assert dispatch["last_error"].startswith("Not sent: courierd gave up after 2 attempts.")
        assert "http-503" in dispatch["last_error"], "the last error is kept"
        [activity] = _activities(standin_erp, dispatch["id"])
        assert activity.startswith("The email could not be sent: Not sent: courierd gave up")
    assert (given_up, failed) == (3.0, 3.0)
    assert mailjet.stats()["send_calls_by_status"] == {"503": 2}
    assert mailjet.emails() == []


def test_a_dispatch_is_given_up_once_older_than_max_age(
    standin_erp: StandinErp, mailjet: Mailjet, courier_env: dict[str, str]
) -> None:
    mailjet.inject("/v3.1/send", 503, times=None)
    ids = standin_erp.seed_dispatches(2)
    # 1.8 s: the first retry (after 1-2 s) may still be tried; then it is too old.
    env = courier_env | {"COURIER_MAX_AGE_HOURS": "0.0005", "COURIER_MAX_ATTEMPTS": "1000"}

    with courierd_process(env, "e2e-max-age.log"):
        wait_until(lambda: _final(standin_erp, ids), 60, "2 dispatches to be given up")

    for dispatch in standin_erp.dispatches(ids):
        assert (dispatch["state"], dispatch["error_code"]) == ("failed", "gave-up")
        assert "in the queue" in dispatch["last_error"]
        assert dispatch["attempts"] >= 2, "tried at least once before the age counted"


def test_a_wrong_api_key_uses_up_no_attempt_and_says_what_to_fix(
    standin_erp: StandinErp, mailjet: Mailjet, courier_env: dict[str, str]
) -> None:
    ids = standin_erp.seed_dispatches(3)
    env = courier_env | {"COURIER_MAILJET_API_SECRET": "not-the-secret"}

    with courierd_process(env, "e2e-wrong-key.log") as daemon:
        wait_until(
            lambda: all(d["last_error"] for d in standin_erp.dispatches(ids)),
            30,
            "the refused call to be reported",
        )
        wait_until(lambda: "claiming again in" in daemon.log_text(), 10, "the wait to be logged")
        log = daemon.log_text()

    dispatches = standin_erp.dispatches(ids)
    assert {d["state"] for d in dispatches} == {"queued"}
    assert {d["attempts"] for d in dispatches} == {0}, "the attempt was given back"
    assert all("API key authentication" in d["last_error"] for d in dispatches)
    assert "COURIER_MAILJET_API_KEY and COURIER_MAILJET_API_SECRET" in log
    assert "not-the-secret" not in log
    assert mailjet.stats()["send_calls"] == 1, "the loop waits instead of claiming again"


class _NoPdfs:
    """Every dispatch seeded here has its PDF: nothing to render."""

    def start(self, dispatch_ids: Sequence[int]) -> None:
        assert not dispatch_ids

    def forget(self, dispatch_ids: Sequence[int]) -> None:
        pass

    def render(self, dispatch_ids: Sequence[int]) -> dict[int, Attachment | Exception]:
        assert not dispatch_ids
        return {}


def test_a_whole_call_mj_0002_is_split_until_its_culprit_fails_alone(
    standin_erp: StandinErp, mailjet: Mailjet, tmp_path: Path
) -> None:
    ids = standin_erp.seed_dispatches(5)
    culprit = ids[3]

    def faulty_mapping(dispatch: ClaimedDispatch) -> Message:
        message: dict[str, Any] = build_message(dispatch)
        if dispatch["id"] == culprit:
            message["Foo"] = "a property Mailjet has no place for"
        return message

    spool = ReportSpool(tmp_path / "state")
    client = MailjetClient(
        api_key=SecretStr(API_KEY), api_secret=SecretStr(API_SECRET), api_url=mailjet.url
    )
    loop = SendLoop(
        LoopSettings(worker_id="e2e-mj-0002", retry_policy=RetryPolicy(1, 2)),
        erp=ErpClient(
            url=standin_erp.url,
            db=standin_erp.db,
            login=standin_erp.login,
            password=SecretStr(standin_erp.password),
            transport="jsonrpc",
        ),
        mail=MailjetSender(client, faulty_mapping),
        pdfs=_NoPdfs(),
        spool=spool,
        metrics=Metrics(),
        health=Health(60),
    )
    try:
        assert loop.turn() == 5
    finally:
        spool.close()
        client.close()

    dispatches = {d["id"]: d for d in standin_erp.dispatches(ids)}
    bad = dispatches.pop(culprit)
    assert (bad["state"], bad["error_code"]) == ("failed", "mj-0002")
    assert bad["last_error"] == "Malformed JSON, please review the syntax and properties types."
    [activity] = _activities(standin_erp, culprit)
    assert "mj-0002" in activity
    assert {d["state"] for d in dispatches.values()} == {"transmitted"}
    # 5 -> 2 + 3 -> 1 + 2 -> 1 + 1: every call with the culprit refused, the others sent.
    assert mailjet.stats()["send_calls_by_status"] == {"400": 4, "200": 3}
    assert len(mailjet.emails()) == 4
