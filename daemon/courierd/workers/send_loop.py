"""The send loop: claim queued dispatches in Odoo, send them through Mailjet, report back.

One turn:
1. report what the spool still holds (results Odoo has not acknowledged);
2. claim a batch (<= 50);
3. dispatches with `check_mailjet_first`: look their CustomID up at Mailjet; found ->
   transmitted with the found MessageIDs, never sent twice;
4. dispatches past the retry bound (attempts or age, domain/retry_bound.py) and not
   found at Mailjet are given up: failed, for their sender to act;
5. render the PDFs still pending, in parallel;
6. send the rest, in as many Send API calls as Mailjet's limits need; a call Mailjet
   refuses as a whole is split in halves until the email at fault is alone, and that
   one fails with Mailjet's reason (domain/sending.py `call_decision`);
7. spool the results, then report them (the spool entry goes once Odoo acknowledges).

Rendering ahead: when a full batch has PDFs to render, the next batch is claimed
right after this one's renders are queued, and its renders are queued behind them:
they run while this batch is sent and reported, so the renderer never waits for a
send or a report. The next turn takes that batch instead of claiming, unless half
its lease has gone by (then it is left to expire and is claimed again with
`check_mailjet_first`; nothing of it was sent).

Waiting for work: with `claim_wait_seconds`, a claim that finds nothing queued waits
in Odoo (a long poll on PostgreSQL's LISTEN/NOTIFY) and answers as soon as a send is
queued, so a user's click is sent within the turn's own time, not at the next poll.

Odoo being down never ends the loop: it waits with a growing delay and tries again.
Mailjet refusing courierd's credentials (or a URL that is not Mailjet's) neither: the
batch is handed back without using up an attempt, and the loop waits, saying what to
fix, before it claims again.
A stop request (SIGTERM/SIGINT) lets the turn in flight finish and report (and the batch
claimed ahead, if any, be sent and reported too), then `run` returns.

It works through the ports of courierd.domain.ports (`DispatchQueue`, `MailSender`,
`PdfQueue`, `ResultSpool`); Mailjet's side of it is courierd.mailjet.provider.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from courierd.domain.backoff import Backoff, RetryPolicy, retry_after_seconds
from courierd.domain.contract import ClaimedDispatch, SendResult
from courierd.domain.errors import (
    CallFailure,
    ErpCallError,
    ErpUnavailable,
    FailureKind,
    MailProviderCallFailed,
)
from courierd.domain.ports import DispatchQueue, MailSender, Message, PdfQueue, ResultSpool
from courierd.domain.retry_bound import GAVE_UP, RetryBound, gave_up_result
from courierd.domain.sending import (
    CallDecision,
    attempts_of,
    call_decision,
    failed_result,
    failure_code,
    iso_time,
    not_attempted_results,
    parse_time,
    refused_result,
    results_for_call_failure,
    retry_result,
)
from courierd.ops.logs import get_logger
from courierd.ops.metrics import Health, Metrics

log = get_logger(__name__)

SPOOL_FLUSH_CHUNK = 200
# Between turns that failed (Odoo down or refusing): 2, 4, 8 ... 60 s.
ERP_BACKOFF = Backoff(base_seconds=2.0, max_seconds=60.0)
# Before claiming again while Mailjet refuses our credentials: 30 s, 60 s ... 10 min.
OPERATOR_BACKOFF = Backoff(base_seconds=30.0, max_seconds=600.0)


@dataclass(frozen=True)
class LoopSettings:
    worker_id: str
    batch_size: int = 50
    lease_seconds: int = 300
    idle_seconds: float = 2.0
    # An empty claim waits this long in Odoo for a send (a long poll); 0: claim and pause.
    claim_wait_seconds: float = 0.0
    retry_policy: RetryPolicy = field(default_factory=RetryPolicy)
    retry_bound: RetryBound = field(default_factory=RetryBound)


def _bound(item: ClaimedDispatch | SendResult) -> Any:
    return log.bind(dispatch_id=item["id"], custom_id=item["custom_id"])


class SendLoop:
    def __init__(
        self,
        settings: LoopSettings,
        *,
        erp: DispatchQueue,
        mail: MailSender,
        pdfs: PdfQueue,
        spool: ResultSpool,
        metrics: Metrics,
        health: Health,
        on_progress: Callable[[], None] = lambda: None,
        on_status: Callable[[str], None] = lambda _text: None,
        jitter: Callable[[], float] = random.random,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.settings = settings
        self.erp = erp
        self.mail = mail
        self.pdfs = pdfs
        self.spool = spool
        self.metrics = metrics
        self.health = health
        self._on_progress = on_progress
        self._on_status = on_status
        self._jitter = jitter
        self._clock = clock
        self._stop = threading.Event()
        # The batch claimed ahead (its PDFs rendering) and when it was claimed (monotonic).
        self._ahead: list[ClaimedDispatch] = []
        self._ahead_claimed_at = 0.0
        # Set when Mailjet refused our credentials (or the URL is not Mailjet's) in this
        # turn: nothing more is sent, and `run` waits before claiming again.
        self._operator_needed: CallFailure | None = None
        self._spool_changed()

    # The loop.

    def run(self, stop: threading.Event) -> None:
        """Turn until `stop` is set; the turn in flight (and the batch ahead) finishes first."""
        self._stop = stop
        failures = 0
        refusals = 0
        while not stop.is_set() or self._ahead:
            turn_started = time.monotonic()
            try:
                claimed = self.turn()
            except Exception as exc:
                failures += 1
                delay = ERP_BACKOFF.delay(failures, self._jitter())
                self._failed_turn(exc, delay)
                if stop.is_set():
                    self._drop_ahead("stopping after a failed turn")
                self._on_progress()
                stop.wait(delay)
                continue
            failures = 0
            self._on_progress()
            refused, self._operator_needed = self._operator_needed, None
            if refused is not None:
                refusals += 1
                delay = OPERATOR_BACKOFF.delay(refusals, self._jitter())
                self._wait_for_operator(refused, delay)
                stop.wait(delay)
                continue
            refusals = 0
            if claimed == 0:
                # A claim that waited in Odoo for a send was the pause: claim again at once.
                spent = time.monotonic() - turn_started
                stop.wait(max(0.0, self.settings.idle_seconds - spent))
        self._final_flush()

    def _wait_for_operator(self, failure: CallFailure, delay: float) -> None:
        """Say what to fix while Mailjet refuses our credentials, or the URL is not Mailjet's."""
        fields = {"status": failure.status, "error": failure.message}
        if failure.kind is FailureKind.ENDPOINT:
            what = (
                f"COURIER_MAILJET_API_URL does not answer as Mailjet's Send API (HTTP "
                f"{failure.status}); set it to https://api.mailjet.com/ (or the sandbox's URL)"
            )
        else:
            what = (
                f"Mailjet refused courierd's API key (HTTP {failure.status}); set "
                "COURIER_MAILJET_API_KEY and COURIER_MAILJET_API_SECRET to a valid key pair "
                "(Mailjet: Account settings > API keys) and check that the account may send"
            )
        log.error(
            f"{what}. Nothing is sent meanwhile: the dispatches wait in Odoo without using "
            f"up an attempt; claiming again in {delay:.0f}s",
            **fields,
        )
        self._on_status(f"waiting for the operator: {what}")

    def _failed_turn(self, exc: Exception, delay: float) -> None:
        """Log why the turn failed and what to check (called inside the `except`)."""
        if isinstance(exc, ErpUnavailable):
            log.warning(f"Odoo unreachable, retrying in {delay:.0f}s; {exc.hint}", error=str(exc))
            self._on_status(f"waiting for Odoo: {exc.hint}")
        elif isinstance(exc, ErpCallError):
            log.error(
                f"Odoo refused a courier call, retrying in {delay:.0f}s; check that the "
                "invoice_courier addon is installed and up to date and that "
                "COURIER_ODOO_LOGIN is the Courier daemon user",
                error=str(exc),
            )
        else:
            log.exception(f"unexpected error in the send loop, retrying in {delay:.0f}s")

    def _final_flush(self) -> None:
        try:
            self.flush_spool()
        except Exception as exc:
            log.warning(
                "stopping with results not yet acknowledged by Odoo; they stay in the spool "
                "and are reported at the next start",
                spool_depth=self.spool.depth(),
                error=str(exc),
            )

    def turn(self) -> int:
        """One turn; returns how many dispatches were claimed. Raises when Odoo fails."""
        self.flush_spool()
        started = time.monotonic()
        batch = self._take_ahead() or self._claim(wait=True)
        if batch:
            self._claim_ahead(batch)
            results = self.process(batch)
            self._observe_lag(batch, time.monotonic() - started)
            results += self._hand_back_ahead()
            self.record(results)
            self.metrics.batch_seconds.observe(time.monotonic() - started)
            self._on_status(self._summary(results))
        self.health.turned(self.spool.depth())
        return len(batch)

    def _claim(self, wait: bool = False) -> list[ClaimedDispatch]:
        """Claim a batch. `wait`: with none queued, Odoo answers as soon as one is (or
        after `claim_wait_seconds`), so a new send is taken at once, not at the next poll.
        Never while stopping, and never for the batch claimed ahead: the batch in hand
        must not wait for it."""
        seconds = self.settings.claim_wait_seconds if wait and not self._stop.is_set() else 0.0
        if seconds <= 0:
            return self.erp.claim(
                self.settings.worker_id, self.settings.batch_size, self.settings.lease_seconds
            )
        return self.erp.claim(
            self.settings.worker_id,
            self.settings.batch_size,
            self.settings.lease_seconds,
            wait_seconds=seconds,
        )

    @staticmethod
    def _renders_needed(batch: Sequence[ClaimedDispatch]) -> list[int]:
        # A dispatch checked at Mailjet first may turn out sent: rendered only when it is not.
        return [d["id"] for d in batch if d.get("pdf_pending") and not d.get("check_mailjet_first")]

    def _claim_ahead(self, batch: Sequence[ClaimedDispatch]) -> None:
        """Claim the next batch and queue its renders behind this one's.

        Only when this batch is full (more is likely queued) and has PDFs to
        render (else there is nothing to overlap), and never while stopping.
        """
        renders = self._renders_needed(batch)
        if len(batch) < self.settings.batch_size or not renders or self._stop.is_set():
            return
        self.pdfs.start(renders)
        try:
            ahead = self._claim()
        except (ErpUnavailable, ErpCallError) as exc:
            log.warning("could not claim the next batch ahead; claiming it later", error=str(exc))
            return
        self._ahead, self._ahead_claimed_at = ahead, time.monotonic()
        self.pdfs.start(self._renders_needed(ahead))

    def _take_ahead(self) -> list[ClaimedDispatch]:
        if self._ahead and (
            time.monotonic() - self._ahead_claimed_at > self.settings.lease_seconds / 2
        ):
            self._drop_ahead("half of its lease has gone by")
        batch, self._ahead = self._ahead, []
        return batch

    def _hand_back_ahead(self) -> list[SendResult]:
        """While Mailjet refuses our credentials, the batch claimed ahead goes back at once,
        its attempt given back (nothing of it was sent)."""
        if self._operator_needed is None or not self._ahead:
            return []
        ahead, self._ahead = self._ahead, []
        self.pdfs.forget([d["id"] for d in ahead])
        return self._not_attempted(ahead, self._operator_needed)

    def _drop_ahead(self, reason: str) -> None:
        """Give up the batch claimed ahead. Nothing of it was sent: its lease expires
        and Odoo hands it out again with `check_mailjet_first`."""
        if not self._ahead:
            return
        ids = [d["id"] for d in self._ahead]
        self.pdfs.forget(ids)
        self._ahead = []
        log.warning(
            f"leaving the batch claimed ahead to its lease ({reason}); it is sent once the "
            "lease expires",
            dispatch_ids=ids,
        )

    def _summary(self, results: list[SendResult]) -> str:
        outcomes = [r["outcome"] for r in results]
        tests = outcomes.count("test_sent")
        return (
            f"last batch: {outcomes.count('transmitted')} transmitted, "
            f"{outcomes.count('retry')} to retry, {outcomes.count('failed')} failed"
            + (f", {tests} test sends" if tests else "")
            + f"; {self.spool.depth()} waiting for Odoo"
        )

    # Reporting.

    def flush_spool(self) -> int:
        """Report what the spool holds; returns how many were acknowledged."""
        acknowledged = 0
        while pending := self.spool.pending(SPOOL_FLUSH_CHUNK):
            keys = [key for key, _ in pending]
            try:
                self.erp.report([result for _, result in pending])
            except ErpCallError:
                self._report_one_by_one(pending)
            else:
                log.info("reported spooled results to Odoo", count=len(keys))
            self.spool.remove(keys)
            acknowledged += len(keys)
            self._spool_changed()
        return acknowledged

    def _report_one_by_one(self, pending: list[tuple[int, SendResult]]) -> None:
        # Odoo refused the chunk as a whole: find the result it will never take, so one
        # bad row cannot block every later report. ErpUnavailable still propagates.
        for _, result in pending:
            try:
                self.erp.report([result])
            except ErpCallError as exc:
                _bound(result).error(
                    "Odoo refuses this result for good; dropped from the spool. Apply it by "
                    "hand in Odoo (courier_report) after fixing the cause",
                    result=result,
                    error=str(exc),
                )

    def record(self, results: list[SendResult]) -> None:
        """Spool the results durably, then report them; Odoo down leaves them spooled."""
        keys = self.spool.add(results)
        self._spool_changed()
        for result in results:
            self._count(result)
        try:
            self.erp.report(results)
        except (ErpUnavailable, ErpCallError) as exc:
            log.warning(
                "Odoo did not take the report; the results stay spooled and are reported "
                "on the next turn",
                dispatch_ids=[r["id"] for r in results],
                error=str(exc),
            )
            return
        self.spool.remove(keys)
        self._spool_changed()

    def _spool_changed(self) -> None:
        depth = self.spool.depth()
        self.metrics.spool_depth.set(depth)
        self.health.spool(depth)

    def _count(self, result: SendResult) -> None:
        outcome = result["outcome"]
        bound = _bound(result)
        if outcome == "transmitted":
            self.metrics.sent.inc()
            bound.info(
                "transmitted: Mailjet accepted the email",
                message_ids=[r["message_id"] for r in result.get("recipients", [])],
            )
        elif outcome == "test_sent":
            self.metrics.test_sent.inc()
            bound.info("test send: Mailjet checked the email in sandbox mode and sent nothing")
        elif outcome == "failed" and result.get("error", {}).get("code") == GAVE_UP:
            self.metrics.failed.inc()
            self.metrics.given_up.inc()
            bound.warning(
                "failed: courierd gave up on this dispatch (COURIER_MAX_ATTEMPTS or "
                "COURIER_MAX_AGE_HOURS); the sender gets an activity to send it again",
                error=result.get("error"),
            )
        elif outcome == "failed":
            self.metrics.failed.inc()
            bound.warning(
                "failed: Mailjet refused the email; the sender gets an activity to correct it",
                error=result.get("error"),
            )
        elif result.get("attempted") is False:
            self.metrics.retried.inc()
            bound.info(
                "handed back to Odoo without using up an attempt: nothing was sent",
                error=result.get("error"),
            )
        else:
            self.metrics.retried.inc()
            bound.warning(
                f"will retry in {result.get('retry_after')}s",
                error=result.get("error"),
            )

    def _observe_lag(self, batch: Sequence[ClaimedDispatch], since_claim: float) -> None:
        # The contract's claim result may carry `queued_at`; without it, the time from
        # claim to send is the part of the lag courierd can see.
        queued = [t for d in batch if (t := parse_time(d.get("queued_at")))]
        lag = (self._clock() - min(queued)).total_seconds() if queued else since_claim
        self.metrics.queue_lag.set(max(0.0, lag))

    # Processing a batch (never raises for Mailjet trouble: it becomes results).

    def process(self, batch: Sequence[ClaimedDispatch]) -> list[SendResult]:
        clock = self._clock()
        now = iso_time(clock)
        results: dict[int, SendResult] = {}
        to_send: list[ClaimedDispatch] = []
        for dispatch in batch:
            _bound(dispatch).info("claimed", attempts=dispatch.get("attempts"))
            beyond = self.settings.retry_bound.exceeded(dispatch, clock)
            if dispatch.get("check_mailjet_first"):
                found = self._look_up(dispatch, now, beyond)
                if found is not None:
                    results[dispatch["id"]] = found
                    continue
            if beyond is not None:
                results[dispatch["id"]] = gave_up_result(dispatch, beyond, time=now)
                continue
            to_send.append(dispatch)

        to_send = self._with_pdfs(to_send, results, now)
        ready: list[tuple[ClaimedDispatch, list[Message]]] = []
        for dispatch in to_send:
            try:
                ready.append((dispatch, self.mail.messages(dispatch)))
            except (ValueError, KeyError, TypeError) as exc:
                results[dispatch["id"]] = failed_result(
                    dispatch,
                    code="invalid-dispatch",
                    message=f"courierd cannot build this email: {exc}",
                    status=None,
                    time=now,
                )
        for call in self.mail.calls(ready):
            for result in self._send(call, now):
                results[result["id"]] = result
        return [results[d["id"]] for d in batch if d["id"] in results]

    def _retry_after(self, dispatch: ClaimedDispatch, floor: float | None = None) -> int:
        return retry_after_seconds(
            attempts_of(dispatch), self.settings.retry_policy, self._jitter(), floor
        )

    def _look_up(
        self, dispatch: ClaimedDispatch, now: str, beyond: str | None
    ) -> SendResult | None:
        """A result when the dispatch must not be sent now (found, or lookup failed).

        `beyond`: why the dispatch is past the retry bound; then a failed lookup gives up
        on it (saying so) instead of retrying once more.
        """
        bound = _bound(dispatch)
        if self._operator_needed is not None:
            return self._not_attempted([dispatch], self._operator_needed)[0]
        try:
            result = self.mail.find_sent(dispatch, time=now)
        except MailProviderCallFailed as exc:
            self.metrics.send_errors.labels(kind=exc.failure.kind).inc()
            if call_decision(exc.failure) is CallDecision.WAIT_FOR_OPERATOR:
                self._operator_needed = exc.failure
                return self._not_attempted([dispatch], exc.failure)[0]
            if beyond is not None:
                unchecked = f"{failure_code(exc.failure)}: {exc.failure.message}"
                return gave_up_result(dispatch, beyond, time=now, unchecked=unchecked)
            bound.warning(
                "cannot check at Mailjet whether an earlier attempt went out; not sending "
                "until that is known",
                error=exc.failure.message,
            )
            return retry_result(
                dispatch,
                code=f"lookup-{exc.failure.kind}",
                message=exc.failure.message,
                status=exc.failure.status,
                time=now,
                retry_after=self._retry_after(dispatch, exc.failure.retry_after),
            )
        if result is not None:
            bound.info("an earlier attempt reached Mailjet: reporting it, not sending again")
        else:
            bound.info("no earlier attempt reached Mailjet: sending")
        return result

    def _with_pdfs(
        self,
        dispatches: list[ClaimedDispatch],
        results: dict[int, SendResult],
        now: str,
    ) -> list[ClaimedDispatch]:
        pending = [d["id"] for d in dispatches if d.get("pdf_pending")]
        if not pending:
            return dispatches
        rendered = self.pdfs.render(pending)
        ready: list[ClaimedDispatch] = []
        for dispatch in dispatches:
            pdf = rendered.get(dispatch["id"])
            if pdf is None:
                ready.append(dispatch)
            elif isinstance(pdf, Exception):
                _bound(dispatch).warning(
                    "the invoice PDF could not be rendered; check Odoo's log and wkhtmltopdf",
                    error=str(pdf),
                )
                results[dispatch["id"]] = retry_result(
                    dispatch,
                    code="pdf-render",
                    message=f"Odoo could not render the invoice PDF: {pdf}",
                    status=None,
                    time=now,
                    retry_after=self._retry_after(dispatch),
                )
            else:
                with_pdf = dispatch.copy()
                with_pdf["attachments"] = [*(dispatch.get("attachments") or []), pdf]
                with_pdf["pdf_pending"] = False
                ready.append(with_pdf)
        return ready

    def _send(
        self, call: list[tuple[ClaimedDispatch, list[Message]]], now: str
    ) -> list[SendResult]:
        batch = [d for d, _ in call]
        if self._operator_needed is not None:
            return self._not_attempted(batch, self._operator_needed)
        try:
            results = self.mail.send(
                call, time=now, policy=self.settings.retry_policy, jitter=self._jitter()
            )
        except MailProviderCallFailed as exc:
            failure = exc.failure
        except Exception as exc:
            log.exception("unexpected error while sending to Mailjet")
            failure = CallFailure(FailureKind.BAD_RESPONSE, f"unexpected error: {exc}")
        else:
            # Mailjet has just answered: that, not the turn's start, is when it took them.
            accepted = iso_time(self._clock())
            for result in results:
                if result["outcome"] == "transmitted":
                    result["transmitted_at"] = accepted
            return results
        self.metrics.send_errors.labels(kind=failure.kind).inc()
        decision = call_decision(failure)
        if decision is CallDecision.ISOLATE:
            return self._isolate(call, failure, now)
        if decision is CallDecision.WAIT_FOR_OPERATOR:
            self._operator_needed = failure
            return self._not_attempted(batch, failure)
        return self._call_failed(batch, failure, now)

    def _isolate(
        self, call: list[tuple[ClaimedDispatch, list[Message]]], failure: CallFailure, now: str
    ) -> list[SendResult]:
        """Mailjet refused the whole call for what it carries: nothing was sent. Alone, the
        dispatch fails with Mailjet's reason; else each half is sent again on its own."""
        fields = {"status": failure.status, "error": failure.message, "code": failure.code}
        if len(call) == 1:
            dispatch = call[0][0]
            _bound(dispatch).warning(
                "Mailjet refuses this email's call as a whole even alone; it fails with "
                "Mailjet's reason",
                related_to=list(failure.related_to),
                **fields,
            )
            return [refused_result(dispatch, failure, now)]
        log.warning(
            f"Mailjet refused a call of {len(call)} emails as a whole "
            f"({failure_code(failure)}); sending each half again to find the email at fault",
            dispatch_ids=[d["id"] for d, _ in call],
            **fields,
        )
        half = len(call) // 2
        return self._send(call[:half], now) + self._send(call[half:], now)

    def _not_attempted(
        self, batch: list[ClaimedDispatch], failure: CallFailure
    ) -> list[SendResult]:
        return not_attempted_results(
            batch,
            failure,
            time=iso_time(self._clock()),
            retry_after=retry_after_seconds(1, self.settings.retry_policy, self._jitter()),
        )

    def _call_failed(
        self, batch: list[ClaimedDispatch], failure: CallFailure, now: str
    ) -> list[SendResult]:
        fields = {
            "dispatch_ids": [d["id"] for d in batch],
            "custom_ids": [d["custom_id"] for d in batch],
            "status": failure.status,
            "error": failure.message,
        }
        if failure.kind is FailureKind.RATE_LIMITED:
            log.warning("Mailjet asks us to slow down (429); the batch is retried later", **fields)
        else:
            log.warning(
                f"the Mailjet call failed ({failure.kind}); the batch is retried later and "
                "checked at Mailjet first so nothing goes out twice",
                **fields,
            )
        return results_for_call_failure(
            batch, failure, time=now, policy=self.settings.retry_policy, jitter=self._jitter()
        )
