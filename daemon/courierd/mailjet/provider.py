"""Mailjet as the mail provider of the workers: the ports `MailSender` and `TrackingHistory`.

`MailjetSender` is what the send loop sends with: the message of a dispatch
(`messages.py`, or the messages mapping's builder), the calls within Mailjet's
limits, the Send API call (`client.py`) and its answer read into results
(`send_results.py`). `MailjetHistory` is what the poller reads: a message's
history and click statistics (`client.py`) rebuilt as the webhook's events
(`poll_history.py`). Both take the REST client as a Protocol, so the tests hand
them a scripted one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

from courierd.domain.backoff import RetryPolicy
from courierd.domain.contract import ClaimedDispatch, OpenRecipient, SendResult
from courierd.domain.ports import History, Message
from courierd.mailjet.client import SendResponse
from courierd.mailjet.event_mapping import EventMapping
from courierd.mailjet.event_normalizer import valid_message_id
from courierd.mailjet.messages import (
    MessageBuilder,
    build_message,
    count_recipients,
    dispatch_messages,
    split_into_calls,
)
from courierd.mailjet.poll_history import PolledMessage, history_has_click, polled_events
from courierd.mailjet.send_results import results_from_response, transmitted_from_lookup
from courierd.ops.logs import get_logger

log = get_logger(__name__)


class SendApi(Protocol):
    """The part of `MailjetClient` the sender uses."""

    api_url: str
    sandbox_mode: bool  # every call validated, nothing sent: successes are test sends

    def send(self, messages: Sequence[Mapping[str, Any]]) -> SendResponse: ...

    def find_by_custom_id(self, custom_id: str) -> list[dict[str, Any]]: ...


class HistoryApi(Protocol):
    """The part of `MailjetClient` the history reader uses."""

    def message_history(self, message_id: str) -> list[dict[str, Any]]: ...

    def click_statistics(self, message_id: str) -> list[dict[str, Any]]: ...


class MailjetSender:
    def __init__(self, api: SendApi, build: MessageBuilder = build_message) -> None:
        self._api = api
        self._build = build

    def find_sent(self, dispatch: ClaimedDispatch, *, time: str) -> SendResult | None:
        found = self._api.find_by_custom_id(dispatch["custom_id"])
        return transmitted_from_lookup(dispatch, found, time=time, api_url=self._api.api_url)

    def messages(self, dispatch: ClaimedDispatch) -> list[Message]:
        return dispatch_messages(dispatch, self._build)

    def calls(
        self, ready: Sequence[tuple[ClaimedDispatch, list[Message]]]
    ) -> list[list[tuple[ClaimedDispatch, list[Message]]]]:
        return split_into_calls(
            ready,
            lambda item: sum(count_recipients(message) for message in item[1]),
            lambda item: len(item[1]),
        )

    def send(
        self,
        call: Sequence[tuple[ClaimedDispatch, list[Message]]],
        *,
        time: str,
        policy: RetryPolicy,
        jitter: float,
    ) -> list[SendResult]:
        batch = [dispatch for dispatch, _ in call]
        response = self._api.send([message for _, messages in call for message in messages])
        if response.status_code != 200:
            log.info(
                "Mailjet refused some messages of the call and took the others",
                status=response.status_code,
                dispatch_ids=[d["id"] for d in batch],
            )
        return results_from_response(
            batch,
            response.body,
            time=time,
            policy=policy,
            jitter=jitter,
            sandbox_mode=self._api.sandbox_mode,
            messages=[messages for _, messages in call],
        )


class MailjetHistory:
    def __init__(self, api: HistoryApi, mapping: EventMapping) -> None:
        self._api = api
        self._mapping = mapping

    def read(self, recipient: OpenRecipient, on_call: Callable[[], None]) -> History:
        """The message's events (source "mailjet_poll"), the scanner guard not yet applied."""
        message = PolledMessage.from_open_tracking(recipient)
        if valid_message_id(message.message_id) is None:
            log.warning(
                "Odoo listed a recipient without a valid Mailjet message ID; skipped",
                message_id=message.message_id,
                custom_id=message.custom_id,
            )
            return History()
        on_call()
        history = self._api.message_history(message.message_id)
        clicks: list[dict[str, Any]] = []
        if history_has_click(history):
            on_call()
            clicks = self._api.click_statistics(message.message_id)
        return polled_events(message, history, clicks, self._mapping)
