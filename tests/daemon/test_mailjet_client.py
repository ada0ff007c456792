"""The Mailjet adapter against a scripted Mailjet over loopback.

The retry tests prove the decision documented in docs/daemon.md: mailjet-rest's
own retries of POST /v3.1/send are switched off, so a 5xx that came after Mailjet
accepted the batch cannot make the library send it again.
"""

import mailjet_rest
import pytest
from pydantic import SecretStr

from courierd.domain.errors import FailureKind, MailProviderCallFailed
from courierd.mailjet.client import MailjetClient
from courierd.mailjet.messages import build_message
from tests.daemon.factories import make_dispatch
from tests.daemon.fake_mailjet import Answer, FakeMailjet, make_certificate, serve

SUCCESS = {
    "Messages": [
        {
            "Status": "success",
            "CustomID": "cid0001",
            "To": [
                {
                    "Email": "anna@customer.example",
                    "MessageUUID": "u-1",
                    "MessageID": 1152921504606846976,
                    "MessageHref": "https://api.mailjet.com/v3/REST/message/1152921504606846976",
                }
            ],
            "Cc": [],
            "Bcc": [],
        }
    ]
}


def _client(api_url: str, timeout: float = 5.0) -> MailjetClient:
    return MailjetClient(
        api_key=SecretStr("key"), api_secret=SecretStr("secret"), api_url=api_url, timeout=timeout
    )


def _messages(*ids: int) -> list[dict]:
    return [build_message(make_dispatch(i)) for i in ids]


def test_success_returns_the_parsed_body():
    fake = FakeMailjet()
    fake.send_answers = [Answer(200, SUCCESS)]
    with serve(fake) as url:
        response = _client(url).send(_messages(1))
    assert response.status_code == 200
    assert response.body == SUCCESS
    assert fake.posts[0]["Messages"][0]["CustomID"] == "cid0001"
    assert "SandboxMode" not in fake.posts[0]


def test_sandbox_mode_is_sent_at_the_top_level():
    fake = FakeMailjet()
    fake.send_answers = [Answer(200, SUCCESS)]
    with serve(fake) as url:
        client = MailjetClient(
            api_key=SecretStr("k"), api_secret=SecretStr("s"), api_url=url, sandbox_mode=True
        )
        client.send(_messages(1))
    assert fake.posts[0]["SandboxMode"] is True


def test_http_400_with_per_message_statuses_is_returned_not_raised():
    body = {
        "Messages": [
            SUCCESS["Messages"][0],
            {"Status": "error", "Errors": [{"ErrorCode": "send-0010", "StatusCode": 400}]},
        ]
    }
    fake = FakeMailjet()
    fake.send_answers = [Answer(400, body)]
    with serve(fake) as url:
        response = _client(url).send(_messages(1, 2))
    assert response.status_code == 400
    assert response.body == body


def test_http_400_without_per_message_statuses_is_a_client_error():
    fake = FakeMailjet()
    fake.send_answers = [Answer(400, {"ErrorMessage": "Malformed JSON", "StatusCode": 400})]
    with serve(fake) as url, pytest.raises(MailProviderCallFailed) as caught:
        _client(url).send(_messages(1))
    assert caught.value.failure.kind is FailureKind.CLIENT_ERROR
    assert "Malformed JSON" in caught.value.failure.message


@pytest.mark.parametrize(
    ("status", "kind"),
    [(500, FailureKind.SERVER_ERROR), (503, FailureKind.SERVER_ERROR), (401, FailureKind.AUTH)],
)
def test_whole_call_failure_is_raised_after_exactly_one_post(status, kind):
    fake = FakeMailjet()
    fake.send_answers = [Answer(status, {"ErrorMessage": "nope"}, {"Retry-After": "0"})]
    with serve(fake) as url, pytest.raises(MailProviderCallFailed) as caught:
        _client(url).send(_messages(1))
    assert caught.value.failure.kind is kind
    assert caught.value.failure.status == status
    assert len(fake.posts) == 1


def test_429_carries_mailjets_retry_after():
    fake = FakeMailjet()
    fake.send_answers = [Answer(429, {"ErrorMessage": "Too many"}, {"Retry-After": "42"})]
    with serve(fake) as url, pytest.raises(MailProviderCallFailed) as caught:
        _client(url).send(_messages(1))
    assert caught.value.failure.kind is FailureKind.RATE_LIMITED
    assert caught.value.failure.retry_after == 42.0
    assert len(fake.posts) == 1


def test_read_timeout_is_a_timeout_and_is_not_repeated():
    fake = FakeMailjet()
    fake.send_answers = [Answer(200, SUCCESS, delay=1.5)]
    with serve(fake) as url, pytest.raises(MailProviderCallFailed) as caught:
        _client(url, timeout=0.3).send(_messages(1))
    assert caught.value.failure.kind is FailureKind.TIMEOUT
    assert len(fake.posts) == 1


def test_connection_refused_is_a_connection_failure():
    fake = FakeMailjet()
    fake.send_answers = [Answer(200, SUCCESS)]
    with serve(fake) as url:
        pass  # the port is closed again
    with pytest.raises(MailProviderCallFailed) as caught:
        _client(url, timeout=1.0).send(_messages(1))
    assert caught.value.failure.kind in (FailureKind.CONNECTION, FailureKind.TIMEOUT)


def test_find_by_custom_id():
    fake = FakeMailjet()
    fake.lookup["cid0001"] = [{"ID": 5, "ContactAlt": "anna@customer.example"}]
    with serve(fake) as url:
        client = _client(url)
        assert client.find_by_custom_id("cid0001") == [
            {"ID": 5, "ContactAlt": "anna@customer.example"}
        ]
        assert client.find_by_custom_id("other") == []
    assert fake.lookups == ["cid0001", "other"]


def test_lookup_with_mailjet_down_is_a_connection_failure_not_an_empty_answer():
    # An empty answer would mean "never sent" and make the loop send again.
    with serve(FakeMailjet()) as url:
        pass  # the port is closed again
    with pytest.raises(MailProviderCallFailed) as caught:
        _client(url, timeout=1.0).find_by_custom_id("cid0001")
    assert caught.value.failure.kind in (FailureKind.CONNECTION, FailureKind.TIMEOUT)
    assert "Mailjet" in caught.value.failure.message


@pytest.fixture
def https_fake(tmp_path, monkeypatch):
    """The fake Mailjet over HTTPS: mailjet-rest mounts its retrying adapter on https:// only."""
    tls = make_certificate(tmp_path)
    if tls is None:
        pytest.skip("openssl not found: cannot make a certificate for the HTTPS retry test")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tls[0]))
    fake = FakeMailjet()
    # 503 with Retry-After: 0 makes urllib3 retry at once (no back-off sleep in the test).
    fake.send_answers = [Answer(503, {"ErrorMessage": "busy"}, {"Retry-After": "0"})]
    with serve(fake, tls) as url:
        yield fake, url


def test_library_alone_would_post_the_same_batch_four_times_over_https(https_fake):
    fake, url = https_fake
    plain = mailjet_rest.Client(auth=("key", "secret"), version="v3.1", api_url=url, timeout=5)
    with pytest.raises(mailjet_rest.ApiError):
        plain.send.create(data={"Messages": _messages(1)})
    assert len(fake.posts) == 4  # 1 + 3 retries: each could have been accepted and sent


def test_courierd_posts_once_over_https_and_leaves_the_retry_to_the_loop(https_fake):
    fake, url = https_fake
    with pytest.raises(MailProviderCallFailed) as caught:
        _client(url).send(_messages(1))
    assert caught.value.failure.kind is FailureKind.SERVER_ERROR
    assert len(fake.posts) == 1
