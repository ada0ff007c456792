"""The table of Mailjet answers (docs/daemon.md, "Mailjet's answers and courierd's decisions"),
one test per row.

Each answer comes from a scripted Mailjet over loopback HTTP, through the real
mailjet-rest client (`MailjetClient`), `MailjetSender` and the send loop, and
the test checks what the loop reports to Odoo and what it does next.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import SecretStr

from courierd.domain.backoff import RetryPolicy
from courierd.domain.retry_bound import RetryBound
from courierd.mailjet.client import MailjetClient
from courierd.mailjet.provider import MailjetSender
from courierd.ops.metrics import Health, Metrics
from courierd.storage.report_spool import ReportSpool
from courierd.workers.send_loop import LoopSettings, SendLoop
from tests.daemon.factories import make_dispatch
from tests.daemon.fake_mailjet import Answer, FakeMailjet, serve
from tests.daemon.test_send_loop import FakeErp, FakePdfs

NOW = datetime(2026, 11, 27, 8, 15, 2, tzinfo=UTC)
FIRST_ID = 1152921504606846976
AUTH_TEXT = (
    "API key authentication/authorization failure. You may be unauthorized to access the API"
)


def _recipients(message: dict[str, Any], ids: Iterator[int], message_id: int | None = None):
    return [
        {
            "Email": to["Email"],
            "MessageUUID": f"uuid-{n}" if message_id is None else "",
            "MessageID": n if message_id is None else message_id,
            "MessageHref": f"https://api.mailjet.com/v3/REST/message/{n}",
        }
        for to in message["To"]
        for n in [next(ids)]
    ]


def success(message: dict[str, Any], ids: Iterator[int]) -> dict[str, Any]:
    return {
        "Status": "success",
        "CustomID": message["CustomID"],
        "To": _recipients(message, ids),
        "Cc": [],
        "Bcc": [],
    }


def error(code: str, status: int, text: str, related: list[str]) -> dict[str, Any]:
    return {
        "Status": "error",
        "Errors": [
            {
                "ErrorIdentifier": "f987",
                "ErrorCode": code,
                "StatusCode": status,
                "ErrorMessage": text,
                "ErrorRelatedTo": related,
            }
        ],
    }


def whole_call(code: str, text: str, related: list[str], status: int = 400) -> Answer:
    return Answer(
        status,
        {
            "ErrorIdentifier": "0a1b",
            "ErrorCode": code,
            "StatusCode": status,
            "ErrorMessage": text,
            "ErrorRelatedTo": related,
        },
    )


@dataclass
class Harness:
    fake: FakeMailjet
    erp: FakeErp
    metrics: Metrics
    loop: SendLoop
    ids: Iterator[int]

    def all_accepted(self, body: dict[str, Any]) -> Answer:
        return Answer(200, {"Messages": [success(m, self.ids) for m in body["Messages"]]})

    def turn(self, *batch: dict[str, Any]) -> dict[int, dict[str, Any]]:
        """One loop turn on `batch`; the results reported to Odoo, by dispatch id."""
        self.erp.batches = [list(batch)]
        self.loop.turn()
        return {r["id"]: r for r in self.erp.reported()}


@pytest.fixture
def harness(tmp_path) -> Iterator[Callable[..., Harness]]:
    fake = FakeMailjet()
    spools: list[ReportSpool] = []
    with serve(fake) as url:

        def make(
            *, sandbox_mode: bool = False, bound: RetryBound | None = None, clock: datetime = NOW
        ) -> Harness:
            client = MailjetClient(
                api_key=SecretStr("key"),
                api_secret=SecretStr("secret"),
                api_url=url,
                timeout=1.0,
                sandbox_mode=sandbox_mode,
            )
            spool = ReportSpool(tmp_path / f"spool{len(spools)}")
            spools.append(spool)
            erp, metrics = FakeErp([]), Metrics()
            loop = SendLoop(
                LoopSettings(
                    worker_id="w1",
                    retry_policy=RetryPolicy(30, 3600),
                    retry_bound=bound or RetryBound(),
                ),
                erp=erp,
                mail=MailjetSender(client),
                pdfs=FakePdfs(),
                spool=spool,
                metrics=metrics,
                health=Health(60),
                jitter=lambda: 1.0,
                clock=lambda: clock,
            )
            h = Harness(fake, erp, metrics, loop, itertools.count(FIRST_ID))
            fake.send_handler = h.all_accepted
            return h

        yield make
    for spool in spools:
        spool.close()


# Per-message results.


def test_200_success_is_transmitted_with_each_message_id_as_text(harness):
    h = harness()
    results = h.turn(make_dispatch(1), make_dispatch(2))
    assert [r["outcome"] for r in results.values()] == ["transmitted", "transmitted"]
    assert results[1]["recipients"] == [
        {
            "email": "anna@customer.example",
            "message_id": str(FIRST_ID),
            "message_uuid": f"uuid-{FIRST_ID}",
            "message_href": f"https://api.mailjet.com/v3/REST/message/{FIRST_ID}",
        }
    ]
    assert len(h.fake.posts) == 1


def test_sandbox_mode_success_is_a_test_send_and_message_id_0_is_never_stored(harness):
    h = harness(sandbox_mode=True)

    def validated_only(body: dict[str, Any]) -> Answer:
        # Mailjet's sandbox-mode answer: each recipient with MessageID 0 and no UUID.
        entries = [
            {"Status": "success", "CustomID": m["CustomID"], "To": _recipients(m, h.ids, 0)}
            for m in body["Messages"]
        ]
        return Answer(200, {"Messages": entries})

    h.fake.send_handler = validated_only
    results = h.turn(*(make_dispatch(i) for i in range(1, 6)))
    assert h.fake.posts[0]["SandboxMode"] is True
    assert {r["outcome"] for r in results.values()} == {"test_sent"}
    assert all("recipients" not in r for r in results.values()), "no MessageID at all"
    assert h.metrics.test_sent._value.get() == 5
    assert h.metrics.sent._value.get() == 0


@pytest.mark.parametrize("status", [400, 401, 403])
def test_per_message_results_are_read_whatever_the_http_status(harness, status):
    # A mixed batch: Mailjet sent the others and refused one (here its sender, send-0008,
    # 403: mailjet-rest raises its authentication error, but this is no API-key problem).
    h = harness()

    def mixed(body: dict[str, Any]) -> Answer:
        refused = error("send-0008", 403, "the sender is not authorized", ["From"])
        entries = [
            refused if m["CustomID"] == "cid0002" else success(m, h.ids) for m in body["Messages"]
        ]
        return Answer(status, {"Messages": entries})

    h.fake.send_handler = mixed
    results = h.turn(make_dispatch(1), make_dispatch(2), make_dispatch(3))
    assert [results[i]["outcome"] for i in (1, 2, 3)] == ["transmitted", "failed", "transmitted"]
    assert results[2]["error"] == {
        "code": "send-0008",
        "message": "the sender is not authorized",
        "status": 403,
        "related_to": ["From"],
    }
    assert len(h.fake.posts) == 1, "the sent ones are not sent again"
    assert h.loop._operator_needed is None, "no wait: the API key is fine"


def test_per_message_429_or_5xx_is_retried(harness):
    h = harness()
    h.fake.send_handler = lambda body: Answer(
        500, {"Messages": [error("mj-0003", 500, "internal error", [])]}
    )
    (result,) = h.turn(make_dispatch(1, attempts=2)).values()
    assert result["outcome"] == "retry"
    assert result["retry_after"] == 60
    assert "attempted" not in result, "a real attempt: it counts"


def test_a_message_missing_from_the_answer_is_retried(harness):
    h = harness()
    h.fake.send_handler = lambda body: Answer(
        200, {"Messages": [success(body["Messages"][0], h.ids)]}
    )
    results = h.turn(make_dispatch(1), make_dispatch(2))
    assert [results[1]["outcome"], results[2]["outcome"]] == ["transmitted", "retry"]
    assert results[2]["error"]["code"] == "mj-no-status"


# Whole-call refusals of what the call carries: split until the culprit is alone.


def test_whole_call_400_is_split_until_the_email_at_fault_fails_alone(harness):
    h = harness()

    def malformed_when_culprit(body: dict[str, Any]) -> Answer:
        if any(m["CustomID"] == "cid0004" for m in body["Messages"]):
            return whole_call(
                "mj-0002",
                "Malformed JSON, please review the syntax and properties types.",
                ["Messages[0].Foo"],
            )
        return h.all_accepted(body)

    h.fake.send_handler = malformed_when_culprit
    results = h.turn(*(make_dispatch(i) for i in range(1, 6)))
    assert results[4] == {
        "id": 4,
        "custom_id": "cid0004",
        "outcome": "failed",
        "time": "2026-11-27T08:15:02Z",
        "error": {
            "code": "mj-0002",
            "message": "Malformed JSON, please review the syntax and properties types.",
            "status": 400,
            "related_to": ["Messages[0].Foo"],
        },
    }
    assert {results[i]["outcome"] for i in (1, 2, 3, 5)} == {"transmitted"}
    calls = [[m["CustomID"][-1] for m in post["Messages"]] for post in h.fake.posts]
    assert calls == [list("12345"), list("12"), list("345"), ["3"], list("45"), ["4"], ["5"]]
    assert h.metrics.send_errors.labels(kind="client_error")._value.get() == 4


def test_send_0015_on_a_dispatch_alone_fails_it_with_mailjets_reason(harness):
    h = harness()
    h.fake.send_handler = lambda body: whole_call(
        "send-0015",
        "Total number of recipients exceeded. Max allowed - 50.",
        ["To", "Bcc", "Cc"],
    )
    crowd = [{"id": i, "email": f"c{i}@customer.example"} for i in range(51)]
    # One email to all: one message of 51 recipients, which Mailjet refuses as a whole.
    (result,) = h.turn(make_dispatch(1, recipients=crowd, one_email_to_all=True)).values()
    assert result["outcome"] == "failed"
    assert result["error"]["code"] == "send-0015"
    assert result["error"]["message"] == "Total number of recipients exceeded. Max allowed - 50."
    assert len(h.fake.posts) == 1


def test_whole_call_413_without_a_mailjet_code_fails_with_the_http_status(harness):
    h = harness()
    h.fake.send_handler = lambda body: Answer(413, "<html>Request Entity Too Large</html>")
    (result,) = h.turn(make_dispatch(1)).values()
    assert result["outcome"] == "failed"
    assert result["error"]["code"] == "http-413"
    assert result["error"]["status"] == 413


# Our credentials, our account, our URL: wait for the operator, use no attempt.


@pytest.mark.parametrize("status", [401, 403])
def test_whole_call_401_or_403_waits_for_the_operator_without_using_an_attempt(harness, status):
    h = harness()
    h.fake.send_handler = lambda body: Answer(
        status, {"ErrorIdentifier": "x", "StatusCode": status, "ErrorMessage": AUTH_TEXT}
    )
    # 60 recipients: two calls; the second is not even tried.
    two_calls = [
        make_dispatch(i, recipients=[{"email": f"{i}-{n}@x.example"} for n in range(30)])
        for i in (1, 2)
    ]
    results = h.turn(*two_calls)
    assert {r["outcome"] for r in results.values()} == {"retry"}
    assert {r["attempted"] for r in results.values()} == {False}
    assert results[1]["error"] == {"code": f"http-{status}", "message": AUTH_TEXT, "status": status}
    assert len(h.fake.posts) == 1
    assert h.metrics.send_errors.labels(kind="auth")._value.get() == 1


def test_the_loop_waits_after_refused_credentials_and_says_what_to_fix(harness):
    h = harness()
    h.fake.send_handler = lambda body: Answer(401, {"StatusCode": 401, "ErrorMessage": AUTH_TEXT})
    h.erp.batches = [[make_dispatch(1)], [make_dispatch(2)]]
    stop = threading.Event()
    waits: list[float] = []

    def wait(seconds: float) -> bool:
        waits.append(seconds)
        if len(waits) == 2:
            stop.set()
        return stop.is_set()

    stop.wait = wait  # type: ignore[method-assign]
    statuses: list[str] = []
    h.loop._on_status = statuses.append
    h.loop.run(stop)
    assert waits == [30.0, 60.0]  # growing wait (jitter fixed at 100 %), never the idle pause
    assert [r["attempted"] for r in h.erp.reported()] == [False, False]
    # What systemd's STATUS shows; the error log line says the same.
    assert "COURIER_MAILJET_API_KEY and COURIER_MAILJET_API_SECRET" in statuses[-1]


def test_whole_call_404_waits_and_names_the_api_url(harness):
    h = harness()
    h.fake.send_handler = lambda body: Answer(404, "<html>Not Found</html>")
    h.erp.batches = [[make_dispatch(1)]]
    stop = threading.Event()
    stop.wait = lambda seconds: stop.set() or True  # type: ignore[method-assign]
    statuses: list[str] = []
    h.loop._on_status = statuses.append
    h.loop.run(stop)
    (result,) = h.erp.reported()
    assert (result["outcome"], result["attempted"]) == ("retry", False)
    assert "COURIER_MAILJET_API_URL does not answer as Mailjet's Send API" in statuses[-1]


# Passing trouble: retried later, the attempt counts, the next claim checks first.


def test_whole_call_429_is_retried_honouring_retry_after(harness):
    h = harness()
    h.fake.send_handler = lambda body: Answer(
        429, "<html><body><h1>429 Too Many Requests</h1></body></html>", {"Retry-After": "90"}
    )
    (result,) = h.turn(make_dispatch(1)).values()
    assert result["outcome"] == "retry"
    assert result["retry_after"] == 90
    assert result["error"]["code"] == "http-429"


@pytest.mark.parametrize("status", [500, 502, 503, 408])
def test_whole_call_5xx_or_408_is_retried_and_the_next_claim_checks_first(harness, status):
    h = harness()
    h.fake.send_handler = lambda body: Answer(status, {"StatusCode": status, "ErrorMessage": "x"})
    (result,) = h.turn(make_dispatch(1)).values()
    assert result["outcome"] == "retry"
    assert result["error"]["status"] == status
    assert "attempted" not in result
    # Mailjet had in fact accepted it: the re-claim finds it, and sends nothing.
    h.fake.lookup["cid0001"] = [{"ID": 77, "ContactAlt": "anna@customer.example"}]
    results = h.turn(make_dispatch(1, attempts=2, check_mailjet_first=True))
    assert results[1]["outcome"] == "transmitted"
    assert len(h.fake.posts) == 1


def test_timeout_or_connection_failure_is_retried(harness):
    h = harness()
    h.fake.send_handler = lambda body: Answer(200, {"Messages": []}, delay=1.5)
    (result,) = h.turn(make_dispatch(1)).values()
    assert result["outcome"] == "retry"
    assert result["error"]["code"] == "timeout"


def test_a_200_that_is_not_json_is_retried(harness):
    h = harness()
    h.fake.send_handler = lambda body: Answer(200, "<html>maintenance</html>")
    (result,) = h.turn(make_dispatch(1)).values()
    assert result["outcome"] == "retry"
    assert (result["error"]["code"], result["error"]["status"]) == ("http-200", 200)


def test_a_failed_lookup_is_retried_without_sending(harness):
    h = harness()
    h.fake.lookup_answer = Answer(503, {"StatusCode": 503, "ErrorMessage": "unavailable"})
    (result,) = h.turn(make_dispatch(1, attempts=2, check_mailjet_first=True)).values()
    assert result["outcome"] == "retry"
    assert result["error"]["code"] == "lookup-server_error"
    assert h.fake.posts == []


def test_a_lookup_refused_for_our_credentials_waits_without_using_an_attempt(harness):
    h = harness()
    h.fake.lookup_answer = Answer(401, {"StatusCode": 401, "ErrorMessage": AUTH_TEXT})
    results = h.turn(
        make_dispatch(1, attempts=2, check_mailjet_first=True),
        make_dispatch(2, attempts=3, check_mailjet_first=True),
    )
    assert [(r["outcome"], r["attempted"]) for r in results.values()] == [("retry", False)] * 2
    assert len(h.fake.lookups) == 1, "the second lookup is not tried"
    assert h.fake.posts == []


# The retry bound.


def test_past_max_attempts_a_dispatch_not_found_at_mailjet_is_given_up(harness):
    h = harness(bound=RetryBound(max_attempts=3))
    last = {"last_error": "Service Unavailable", "error_code": "http-503"}
    results = h.turn(
        make_dispatch(1, attempts=4, check_mailjet_first=True, **last),
        make_dispatch(2, attempts=3, check_mailjet_first=True),
    )
    assert results[1] == {
        "id": 1,
        "custom_id": "cid0001",
        "outcome": "failed",
        "time": "2026-11-27T08:15:02Z",
        "error": {
            "code": "gave-up",
            "message": "Not sent: courierd gave up after 3 attempts. "
            "Last error: http-503: Service Unavailable.",
            "status": None,
            "related_to": [],
        },
    }
    assert results[2]["outcome"] == "transmitted", "the 3rd attempt is still made"
    assert h.fake.lookups == ["cid0001", "cid0002"], "both checked at Mailjet first"
    assert [m["CustomID"] for p in h.fake.posts for m in p["Messages"]] == ["cid0002"]
    assert h.metrics.given_up._value.get() == 1
    assert h.metrics.failed._value.get() == 1


def test_past_the_bound_a_dispatch_found_at_mailjet_is_transmitted_not_given_up(harness):
    h = harness(bound=RetryBound(max_attempts=3))
    h.fake.lookup["cid0001"] = [{"ID": 77, "ContactAlt": "anna@customer.example"}]
    (result,) = h.turn(make_dispatch(1, attempts=9, check_mailjet_first=True)).values()
    assert result["outcome"] == "transmitted"
    assert h.metrics.given_up._value.get() == 0


def test_past_the_bound_a_failed_lookup_gives_up_saying_it_could_not_check(harness):
    h = harness(bound=RetryBound(max_attempts=3))
    h.fake.lookup_answer = Answer(503, {"StatusCode": 503, "ErrorMessage": "unavailable"})
    (result,) = h.turn(make_dispatch(1, attempts=4, check_mailjet_first=True)).values()
    assert result["outcome"] == "failed"
    assert result["error"]["code"] == "gave-up"
    assert "could not be checked (http-503: unavailable)" in result["error"]["message"]


def test_past_max_age_a_tried_dispatch_is_given_up_a_never_tried_one_is_sent(harness):
    h = harness(bound=RetryBound(max_age=timedelta(hours=24)))
    old = (NOW - timedelta(hours=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
    results = h.turn(
        make_dispatch(1, attempts=2, check_mailjet_first=True, queued_at=old),
        make_dispatch(2, attempts=1, queued_at=old),
    )
    assert results[1]["outcome"] == "failed"
    assert results[1]["error"]["message"] == "Not sent: courierd gave up after 30 h in the queue."
    assert results[2]["outcome"] == "transmitted"


def test_a_dispatch_that_cannot_be_built_fails_without_a_call(harness):
    h = harness()
    (result,) = h.turn(make_dispatch(1, recipients=[])).values()
    assert result["outcome"] == "failed"
    assert result["error"]["code"] == "invalid-dispatch"
    assert h.fake.posts == []
