from courierd.domain.backoff import RetryPolicy, retry_after_seconds
from courierd.domain.errors import CallFailure, FailureKind
from courierd.domain.sending import call_decision, results_for_call_failure
from courierd.mailjet.send_results import (
    classify_status,
    results_from_response,
    transmitted_from_lookup,
)
from tests.daemon.factories import make_dispatch

NOW = "2026-11-27T08:15:02Z"
POLICY = RetryPolicy(base_seconds=30, max_seconds=3600)


def _success(custom_id, email, message_id):
    return {
        "Status": "success",
        "CustomID": custom_id,
        "To": [
            {
                "Email": email,
                "MessageUUID": f"uuid-{message_id}",
                "MessageID": message_id,
                "MessageHref": f"https://api.mailjet.com/v3/REST/message/{message_id}",
            }
        ],
        "Cc": [],
        "Bcc": [],
    }


def test_success_response_gives_transmitted_with_string_ids():
    batch = [make_dispatch(1), make_dispatch(2)]
    body = {
        "Messages": [
            _success("cid0001", "anna@customer.example", 1152921504606846976),
            _success("cid0002", "anna@customer.example", 1152921504606846977),
        ]
    }
    results = results_from_response(batch, body, time=NOW, policy=POLICY, jitter=1.0)
    assert results[0] == {
        "id": 1,
        "custom_id": "cid0001",
        "outcome": "transmitted",
        "time": NOW,
        "recipients": [
            {
                "email": "anna@customer.example",
                "message_id": "1152921504606846976",
                "message_uuid": "uuid-1152921504606846976",
                "message_href": "https://api.mailjet.com/v3/REST/message/1152921504606846976",
            }
        ],
    }
    assert results[1]["recipients"][0]["message_id"] == "1152921504606846977"


def test_mixed_400_batch_reports_sent_ones_transmitted_and_invalid_one_failed():
    batch = [make_dispatch(1), make_dispatch(2), make_dispatch(3)]
    body = {
        "Messages": [
            _success("cid0001", "anna@customer.example", 11),
            {
                "Status": "error",
                "Errors": [
                    {
                        "ErrorIdentifier": "f987",
                        "ErrorCode": "send-0010",
                        "StatusCode": 400,
                        "ErrorMessage": 'Email "x@" is invalid',
                        "ErrorRelatedTo": ["To[0].Email"],
                    }
                ],
            },
            _success("cid0003", "anna@customer.example", 13),
        ]
    }
    results = results_from_response(batch, body, time=NOW, policy=POLICY, jitter=1.0)
    assert [r["outcome"] for r in results] == ["transmitted", "failed", "transmitted"]
    assert results[1] == {
        "id": 2,
        "custom_id": "cid0002",
        "outcome": "failed",
        "time": NOW,
        "error": {
            "code": "send-0010",
            "message": 'Email "x@" is invalid',
            "status": 400,
            "related_to": ["To[0].Email"],
        },
    }


def test_per_message_5xx_or_429_is_retried_not_failed():
    batch = [make_dispatch(1, attempts=2)]
    body = {
        "Messages": [{"Status": "error", "Errors": [{"ErrorCode": "mj-0003", "StatusCode": 500}]}]
    }
    (result,) = results_from_response(batch, body, time=NOW, policy=POLICY, jitter=1.0)
    assert result["outcome"] == "retry"
    assert result["retry_after"] == 60
    assert result["error"]["status"] == 500


def test_missing_entry_is_retried_because_it_may_have_gone_out():
    batch = [make_dispatch(1), make_dispatch(2)]
    body = {"Messages": [_success("cid0001", "anna@customer.example", 11)]}
    results = results_from_response(batch, body, time=NOW, policy=POLICY, jitter=1.0)
    assert [r["outcome"] for r in results] == ["transmitted", "retry"]


def test_entries_are_matched_by_custom_id_when_echoed():
    batch = [make_dispatch(1), make_dispatch(2)]
    body = {
        "Messages": [
            _success("cid0002", "anna@customer.example", 22),
            _success("cid0001", "anna@customer.example", 11),
        ]
    }
    results = results_from_response(batch, body, time=NOW, policy=POLICY, jitter=1.0)
    assert [r["recipients"][0]["message_id"] for r in results] == ["11", "22"]


def test_cc_and_bcc_recipients_are_reported_too():
    entry = _success("cid0001", "a@x.example", 1)
    entry["Cc"] = [{"Email": "c@x.example", "MessageID": 2, "MessageUUID": "u2"}]
    (result,) = results_from_response(
        [make_dispatch(1)], {"Messages": [entry]}, time=NOW, policy=POLICY, jitter=0.0
    )
    assert [r["email"] for r in result["recipients"]] == ["a@x.example", "c@x.example"]


def test_classify_status():
    assert classify_status(429) is FailureKind.RATE_LIMITED
    assert classify_status(408) is FailureKind.TIMEOUT
    assert classify_status(401) is FailureKind.AUTH
    assert classify_status(403) is FailureKind.AUTH
    assert classify_status(500) is FailureKind.SERVER_ERROR
    assert classify_status(503) is FailureKind.SERVER_ERROR
    assert classify_status(400) is FailureKind.CLIENT_ERROR
    assert classify_status(413) is FailureKind.CLIENT_ERROR
    assert classify_status(404) is FailureKind.ENDPOINT
    assert classify_status(405) is FailureKind.ENDPOINT


def test_call_decision_splits_content_refusals_and_waits_on_credentials():
    decisions = {kind: call_decision(CallFailure(kind, "x")).name for kind in FailureKind}
    assert decisions == {
        FailureKind.CLIENT_ERROR: "ISOLATE",
        FailureKind.AUTH: "WAIT_FOR_OPERATOR",
        FailureKind.ENDPOINT: "WAIT_FOR_OPERATOR",
        FailureKind.RATE_LIMITED: "RETRY",
        FailureKind.SERVER_ERROR: "RETRY",
        FailureKind.TIMEOUT: "RETRY",
        FailureKind.CONNECTION: "RETRY",
        FailureKind.BAD_RESPONSE: "RETRY",
    }


def test_whole_call_429_retries_every_dispatch_and_honours_retry_after():
    batch = [make_dispatch(1, attempts=1), make_dispatch(2, attempts=3)]
    failure = CallFailure(FailureKind.RATE_LIMITED, "Too many requests", 429, retry_after=90)
    results = results_for_call_failure(batch, failure, time=NOW, policy=POLICY, jitter=1.0)
    assert [r["outcome"] for r in results] == ["retry", "retry"]
    assert results[0]["error"] == {
        "code": "http-429",
        "message": "Too many requests",
        "status": 429,
    }
    assert results[0]["retry_after"] == 90  # Mailjet's Retry-After beats 30 s of backoff
    assert results[1]["retry_after"] == 120  # 30 * 2**2 beats Mailjet's 90


def test_whole_call_5xx_and_timeout_are_retries():
    batch = [make_dispatch(1)]
    for failure in (
        CallFailure(FailureKind.SERVER_ERROR, "boom", 502),
        CallFailure(FailureKind.TIMEOUT, "read timed out"),
        CallFailure(FailureKind.CONNECTION, "refused"),
    ):
        (result,) = results_for_call_failure(batch, failure, time=NOW, policy=POLICY, jitter=0.0)
        assert result["outcome"] == "retry"
        assert result["retry_after"] == 15
    (timeout,) = results_for_call_failure(
        batch, CallFailure(FailureKind.TIMEOUT, "t"), time=NOW, policy=POLICY, jitter=0.0
    )
    assert timeout["error"] == {"code": "timeout", "message": "t", "status": None}


def test_retry_after_grows_and_is_capped():
    assert [retry_after_seconds(a, POLICY, 1.0) for a in (1, 2, 3, 4)] == [30, 60, 120, 240]
    assert retry_after_seconds(20, POLICY, 1.0) == 3600
    assert retry_after_seconds(1, POLICY, 0.0) == 15
    assert retry_after_seconds(1, POLICY, 0.0, floor=40.2) == 41


def test_lookup_found_gives_transmitted_with_found_ids():
    dispatch = make_dispatch(7, recipients=[{"id": 1, "email": "Anna@Customer.example"}])
    found = [{"ID": 1152921504606846976, "ContactAlt": "anna@customer.example", "UUID": "u-1"}]
    result = transmitted_from_lookup(dispatch, found, time=NOW, api_url="http://127.0.0.1:9000/")
    assert result == {
        "id": 7,
        "custom_id": "cid0007",
        "outcome": "transmitted",
        "time": NOW,
        "recipients": [
            {
                "email": "Anna@Customer.example",
                "message_id": "1152921504606846976",
                "message_uuid": "u-1",
                "message_href": "http://127.0.0.1:9000/v3/REST/message/1152921504606846976",
            }
        ],
    }
    assert transmitted_from_lookup(dispatch, [], time=NOW, api_url="x") is None


def _error(custom_id, code, message, status=400):
    return {
        "Status": "error",
        "CustomID": custom_id,
        "Errors": [
            {
                "ErrorCode": code,
                "StatusCode": status,
                "ErrorMessage": message,
                "ErrorRelatedTo": ["To[0].Email"],
            }
        ],
    }


def _private(dispatch):
    """The dispatch's messages, one per recipient (messages.per_recipient's shape)."""
    return [{"To": [{"Email": r["email"]}], "CustomID": dispatch["custom_id"]} for r in
            dispatch["recipients"]]  # fmt: skip


TWO = [{"email": "anna@customer.example"}, {"email": "ben@customer.example"}]


def test_a_dispatchs_private_messages_are_read_together():
    first, second = make_dispatch(1, recipients=TWO), make_dispatch(2)
    body = {
        "Messages": [
            _success("cid0001", "anna@customer.example", 11),
            _success("cid0001", "ben@customer.example", 12),
            _success("cid0002", "anna@customer.example", 21),
        ]
    }
    results = results_from_response(
        [first, second],
        body,
        time=NOW,
        policy=POLICY,
        jitter=1.0,
        messages=[_private(first), _private(second)],
    )
    assert [r["outcome"] for r in results] == ["transmitted", "transmitted"]
    assert [(r["email"], r["message_id"]) for r in results[0]["recipients"]] == [
        ("anna@customer.example", "11"),
        ("ben@customer.example", "12"),
    ]
    assert "refused" not in results[0]
    assert [r["message_id"] for r in results[1]["recipients"]] == ["21"]


def test_some_private_messages_refused_the_others_transmitted():
    dispatch = make_dispatch(1, recipients=TWO)
    # Mailjet answers in order, without echoing CustomID on an error: by position.
    body = {
        "Messages": [
            _success("cid0001", "anna@customer.example", 11),
            {**_error("cid0001", "send-0010", 'Email "ben@" is invalid'), "CustomID": None},
        ]
    }
    (result,) = results_from_response(
        [dispatch], body, time=NOW, policy=POLICY, jitter=1.0, messages=[_private(dispatch)]
    )
    assert result["outcome"] == "transmitted"
    assert [r["email"] for r in result["recipients"]] == ["anna@customer.example"]
    assert result["refused"] == [
        {"email": "ben@customer.example", "code": "send-0010", "message": 'Email "ben@" is invalid'}
    ]


def test_every_private_message_refused_fails_the_dispatch():
    dispatch = make_dispatch(1, recipients=TWO)
    body = {
        "Messages": [
            _error("cid0001", "send-0008", "From is not allowed"),
            _error("cid0001", "send-0008", "From is not allowed"),
        ]
    }
    (result,) = results_from_response(
        [dispatch], body, time=NOW, policy=POLICY, jitter=1.0, messages=[_private(dispatch)]
    )
    assert result["outcome"] == "failed"
    assert result["error"]["code"] == "send-0008"
    assert "refused" not in result
