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

mailjet-rest raises on every 4xx. A batch in which one message is invalid comes
back as HTTP 400 with per-message statuses; `send` reads that body from the
exception and returns it like a 200, so the messages that did go out are
reported transmitted and not sent again.
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
    status_code: int  # 200, or 400 when some messages were refused
    body: dict[str, Any]


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


def _failure_from(exc: Exception) -> CallFailure:
    if isinstance(exc, mailjet_rest.TimeoutError):
        return CallFailure(FailureKind.TIMEOUT, f"Mailjet did not answer in time: {exc}")
    if isinstance(exc, mailjet_rest.MailjetNetworkError):
        return CallFailure(FailureKind.CONNECTION, f"cannot connect to Mailjet: {exc}")
    response = _response_of(exc)
    status = getattr(exc, "status_code", None) or (
        response.status_code if response is not None else None
    )
    if status:
        return CallFailure(
            classify_status(int(status)),
            str(exc),
            status=int(status),
            retry_after=_retry_after_header(response),
        )
    return CallFailure(FailureKind.CONNECTION, f"Mailjet call failed: {exc}")


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
        self._sandbox_mode = sandbox_mode
        self._send = _without_resend_retries(
            mailjet_rest.Client(auth=auth, version="v3.1", api_url=api_url, timeout=timeout)
        )
        # Lookups are GETs: the library's own retries (https only) are harmless there.
        self._rest = mailjet_rest.Client(auth=auth, version="v3", api_url=api_url, timeout=timeout)

    def send(self, messages: Sequence[Mapping[str, Any]]) -> SendResponse:
        """POST /v3.1/send once; raises MailProviderCallFailed when the call failed as a whole."""
        payload = build_send_payload(messages, self._sandbox_mode)
        with _call_failures("Mailjet call"):
            try:
                response = self._send.send.create(data=payload)
            except mailjet_rest.ValidationError as exc:
                body = _json(exc.response_body)
                if isinstance(body, dict) and isinstance(body.get("Messages"), list):
                    return SendResponse(400, body)
                detail = body.get("ErrorMessage") if isinstance(body, dict) else exc.response_body
                raise MailProviderCallFailed(
                    CallFailure(
                        FailureKind.CLIENT_ERROR, f"Mailjet refused the call: {detail}", 400
                    )
                ) from exc
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
