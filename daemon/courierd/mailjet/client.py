"""Thin adapter on mailjet-rest 1.9.1: one Send API v3.1 call, and the REST lookups.

Lookups: messages by CustomID (before a re-send), a message's history and its
click statistics (the poller).

Retries of POST /v3.1/send are switched off in the library (see docs/daemon.md,
"Mailjet retries"): mailjet-rest mounts a urllib3 Retry that repeats POSTs on 429
and 5xx, and a 5xx or a timeout can come after Mailjet accepted the messages, so
a library retry could send every invoice of the batch twice. The daemon retries
instead, through `courier_report(retry)`, and the next claim of those dispatches
carries `check_mailjet_first`, which looks the CustomID up before sending again.
Only connection failures (nothing reached Mailjet) are retried in place.

mailjet-rest raises on every 4xx. A batch in which one message is refused comes
back with per-message statuses: HTTP 400 for an invalid message, 403 (which the
library raises as its authentication error) for a sender Mailjet does not
authorize. `send` reads that body from the exception and returns it like a 200,
whatever the status, so the messages that did go out are reported transmitted
and not sent again, and the refused ones fail with Mailjet's reason. An answer
without per-message results is a whole-call failure, raised with Mailjet's
ErrorCode, ErrorMessage and ErrorRelatedTo when its body has them.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import mailjet_rest
import requests
from mailjet_rest.utils.guardrails import SecureHTTPAdapter
from pydantic import SecretStr
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from courierd.domain.errors import CallFailure, FailureKind, MailProviderCallFailed
from courierd.mailjet.messages import build_send_payload
from courierd.mailjet.send_results import classify_status

# Only a refused/failed TCP connect is retried: the request never left this host.
NO_RESEND_RETRY = Retry(
    total=None, connect=2, read=False, status=0, other=0, redirect=False, backoff_factor=0.5
)


# Mailjet's REST lists answer at most 1000 items per call.
CLICK_PAGE_SIZE = 1000


@dataclass(frozen=True)
class SendResponse:
    status_code: int  # 200, or 400/403... when some messages were refused
    body: dict[str, Any]  # with its per-message `Messages` list when not 200


@contextmanager
def _call_failures(what: str) -> Iterator[None]:
    """mailjet-rest's and requests' exceptions become one MailProviderCallFailed."""
    try:
        yield
    except mailjet_rest.ApiError as exc:
        raise MailProviderCallFailed(_failure_from(exc)) from exc
    except requests.RequestException as exc:
        raise MailProviderCallFailed(
            CallFailure(FailureKind.CONNECTION, f"{what} failed: {exc}")
        ) from exc


def _without_resend_retries(client: mailjet_rest.Client) -> mailjet_rest.Client:
    # Same TLS hardening as the library's adapter, without its POST retries; mounted on
    # http:// too (the library leaves http:// without retries), so the loopback sandbox
    # behaves exactly like production.
    secure = SecureHTTPAdapter(max_retries=NO_RESEND_RETRY)
    client.session.mount("https://", secure)
    client.session.mount("http://", HTTPAdapter(max_retries=NO_RESEND_RETRY))
    return client


def _response_of(exc: BaseException) -> requests.Response | None:
    cause = exc.__cause__
    response = getattr(cause, "response", None)
    return response if isinstance(response, requests.Response) else None


def _retry_after_header(response: requests.Response | None) -> float | None:
    raw = response.headers.get("Retry-After") if response is not None else None
    try:
        return float(raw) if raw is not None else None
    except ValueError:
        return None


def _json(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return None


def _answer_of(exc: Exception) -> tuple[int | None, Any]:
    """The HTTP status and the decoded JSON body (None if not JSON) of a failed call.

    mailjet-rest keeps them on the 4xx it knows (`status_code`, `response_body`);
    for the other statuses (413, 5xx...) they are on the requests error it wraps.
    """
    response = _response_of(exc)
    status = getattr(exc, "status_code", None) or (
        response.status_code if response is not None else None
    )
    text = getattr(exc, "response_body", None) or (response.text if response is not None else "")
    return (int(status) if status else None), (_json(text) if text else None)


def _per_message(body: Any) -> bool:
    return isinstance(body, dict) and isinstance(body.get("Messages"), list)


def _failure_from(exc: Exception) -> CallFailure:
    if isinstance(exc, mailjet_rest.TimeoutError):
        return CallFailure(FailureKind.TIMEOUT, f"Mailjet did not answer in time: {exc}")
    if isinstance(exc, mailjet_rest.MailjetNetworkError):
        return CallFailure(FailureKind.CONNECTION, f"cannot connect to Mailjet: {exc}")
    status, body = _answer_of(exc)
    if not status:
        return CallFailure(FailureKind.CONNECTION, f"Mailjet call failed: {exc}")
    error = body if isinstance(body, dict) else {}
    related = error.get("ErrorRelatedTo")
    return CallFailure(
        classify_status(status),
        # Mailjet's own text is what the sender reads when the email fails for it.
        str(error.get("ErrorMessage") or exc),
        status=status,
        retry_after=_retry_after_header(_response_of(exc)),
        code=str(error["ErrorCode"]) if error.get("ErrorCode") else None,
        related_to=tuple(str(path) for path in related) if isinstance(related, list) else (),
    )


def _bad_response(message: str, response: requests.Response) -> MailProviderCallFailed:
    return MailProviderCallFailed(
        CallFailure(FailureKind.BAD_RESPONSE, message, response.status_code)
    )


def _data_items(response: requests.Response, what: str) -> list[dict[str, Any]]:
    """The Data list of a REST lookup; anything else is a BAD_RESPONSE failure."""
    body = _json(response.text)
    data = body.get("Data") if isinstance(body, dict) else None
    if not isinstance(data, list):
        raise _bad_response(f"Mailjet's {what} has no Data list", response)
    return [item for item in data if isinstance(item, dict)]


class MailjetClient:
    def __init__(
        self,
        *,
        api_key: SecretStr,
        api_secret: SecretStr,
        api_url: str,
        timeout: float = 30.0,
        sandbox_mode: bool = False,
    ) -> None:
        auth = (api_key.get_secret_value(), api_secret.get_secret_value())
        self.api_url = api_url
        # Mailjet's SandboxMode: every call is validated and nothing is sent (test sends).
        self.sandbox_mode = sandbox_mode
        self._send = _without_resend_retries(
            mailjet_rest.Client(auth=auth, version="v3.1", api_url=api_url, timeout=timeout)
        )
        # Lookups are GETs: the library's own retries (https only) are harmless there.
        self._rest = mailjet_rest.Client(auth=auth, version="v3", api_url=api_url, timeout=timeout)

    def send(self, messages: Sequence[Mapping[str, Any]]) -> SendResponse:
        """POST /v3.1/send once; raises MailProviderCallFailed when the call failed as a whole.

        An answer with per-message results is returned whatever its HTTP status.
        """
        payload = build_send_payload(messages, self.sandbox_mode)
        with _call_failures("Mailjet call"):
            try:
                response = self._send.send.create(data=payload)
            except mailjet_rest.ApiError as exc:
                status, body = _answer_of(exc)
                if status and _per_message(body):
                    return SendResponse(status, body)
                raise
        body = _json(response.text)
        if not isinstance(body, dict):
            raise _bad_response(
                f"Mailjet answered HTTP {response.status_code} without a JSON body", response
            )
        return SendResponse(response.status_code, body)

    def find_by_custom_id(self, custom_id: str) -> list[dict[str, Any]]:
        """GET /v3/REST/message?CustomID=...: the messages an earlier attempt sent, if any."""
        with _call_failures("Mailjet lookup"):
            try:
                response = self._rest.message.get(
                    filters={"CustomID": custom_id, "ShowContactAlt": "true", "Limit": 100}
                )
            except mailjet_rest.DoesNotExistError:
                return []
        return _data_items(response, "message lookup")

    def message_history(self, message_id: str) -> list[dict[str, Any]]:
        """GET /v3/REST/messagehistory/{id}: the message's events (EventAt, EventType...).

        A message Mailjet does not know (yet) has no history: [] rather than an error.
        """
        with _call_failures("Mailjet message history"):
            try:
                response = self._rest.messagehistory.get(id=message_id)
            except mailjet_rest.DoesNotExistError:
                return []
        return _data_items(response, "message history")

    def click_statistics(self, message_id: str) -> list[dict[str, Any]]:
        """GET /v3/REST/clickstatistics?MessageID=...: each click with its Url and ClickedAt."""
        clicks: list[dict[str, Any]] = []
        while True:
            with _call_failures("Mailjet click statistics"):
                try:
                    response = self._rest.clickstatistics.get(
                        filters={
                            "MessageID": message_id,
                            "Limit": CLICK_PAGE_SIZE,
                            "Offset": len(clicks),
                        }
                    )
                except mailjet_rest.DoesNotExistError:
                    return clicks
            page = _data_items(response, "click statistics")
            clicks.extend(page)
            if len(page) < CLICK_PAGE_SIZE:
                return clicks

    def close(self) -> None:
        self._send.close()
        self._rest.close()
