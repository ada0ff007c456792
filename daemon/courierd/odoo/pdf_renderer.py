"""Renders the invoice PDFs of a batch: several invoices per Odoo request, requests in parallel.

An invoice PDF alone takes Odoo about 1.3 s, nearly all of it in wkhtmltopdf
(its start, the report's assets fetched from Odoo). With `batch_size` > 1 the
pending dispatches go to Odoo in groups (`courier_render_pdfs`), one wkhtmltopdf
run per group as Odoo's own batch Send does; `concurrency` groups run side by
side. `batch_size` 1 renders each dispatch with `courier_render_pdf`.

A group call that fails as a whole (Odoo error, timeout, an addon without the
method) is retried one dispatch at a time, so a bad invoice costs only itself.
Per dispatch the caller gets the attachment dict or the exception, as before.

odoorpc connections are not thread-safe: each worker thread keeps its own
ErpClient, made by `client_factory` on the thread's first render.

`start` queues renders without waiting, so the send loop can have the next
batch's PDFs made while it sends and reports the current one; `render` then
collects them (or renders what was not started). Renders run in the order they
were queued.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, cast

from courierd.domain.contract import Attachment
from courierd.domain.errors import PdfRenderError
from courierd.domain.ports import PdfSource
from courierd.ops.logs import get_logger

log = get_logger(__name__)


class PdfRenderer:
    def __init__(
        self, client_factory: Callable[[], PdfSource], concurrency: int, batch_size: int = 1
    ) -> None:
        self._client_factory = client_factory
        self._batch_size = max(1, batch_size)
        self._local = threading.local()
        self._pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="pdf")
        # Renders queued by `start` and not yet collected; used from the send loop's thread only.
        self._started: dict[int, Future[Attachment]] = {}

    def start(self, dispatch_ids: Iterable[int]) -> None:
        """Queue these renders now; `render` collects them."""
        new = list(dict.fromkeys(i for i in dispatch_ids if i not in self._started))
        for group in _groups(new, self._batch_size):
            futures: dict[int, Future[Attachment]] = {i: Future() for i in group}
            self._started.update(futures)
            self._pool.submit(self._render_group, futures)

    def forget(self, dispatch_ids: Iterable[int]) -> None:
        """Drop started renders nobody will collect (those not running yet are cancelled)."""
        for dispatch_id in dispatch_ids:
            future = self._started.pop(dispatch_id, None)
            if future is not None:
                future.cancel()

    def render(self, dispatch_ids: Iterable[int]) -> dict[int, Attachment | Exception]:
        """Each dispatch's attachment dict, or the exception its render raised."""
        ids = list(dispatch_ids)
        self.start(ids)
        futures = {dispatch_id: self._started.pop(dispatch_id) for dispatch_id in ids}
        results: dict[int, Attachment | Exception] = {}
        for dispatch_id, future in futures.items():
            try:
                results[dispatch_id] = future.result()
            except Exception as exc:
                results[dispatch_id] = exc
        return results

    def close(self) -> None:
        for future in self._started.values():
            future.cancel()
        self._started.clear()
        self._pool.shutdown(wait=True, cancel_futures=True)

    def _render_group(self, futures: dict[int, Future[Attachment]]) -> None:
        # A render forgotten before its group started is not made.
        wanted = {i: f for i, f in futures.items() if f.set_running_or_notify_cancel()}
        if not wanted:
            return
        try:
            outcomes = self._render_ids(list(wanted))
        except BaseException as exc:  # the futures must end, or `render` would wait forever
            outcomes = dict.fromkeys(wanted, exc)
        for dispatch_id, future in wanted.items():
            outcome = outcomes[dispatch_id]
            if isinstance(outcome, BaseException):
                future.set_exception(outcome)
            else:
                future.set_result(outcome)

    def _render_ids(self, ids: list[int]) -> dict[int, Attachment | BaseException]:
        client = self._client()
        if len(ids) > 1:
            try:
                answer = client.render_pdfs(ids)
            except Exception as exc:
                log.warning(
                    "rendering PDFs in one call failed; rendering them one by one. "
                    "If this repeats, check Odoo's log (an addon without courier_render_pdfs "
                    "needs COURIER_PDF_BATCH_SIZE=1)",
                    dispatch_ids=ids,
                    error=str(exc),
                )
            else:
                return {i: _checked(i, _answer_for(answer, i)) for i in ids}
        outcomes: dict[int, Attachment | BaseException] = {}
        for dispatch_id in ids:
            try:
                outcomes[dispatch_id] = _checked(dispatch_id, client.render_pdf(dispatch_id))
            except Exception as exc:
                outcomes[dispatch_id] = exc
        return outcomes

    def _client(self) -> PdfSource:
        client = getattr(self._local, "client", None)
        if client is None:
            client = self._local.client = self._client_factory()
        return client


def _groups(ids: list[int], batch_size: int) -> list[list[int]]:
    """`ids` cut into the fewest groups of at most `batch_size`, their sizes even."""
    if not ids:
        return []
    count = math.ceil(len(ids) / batch_size)
    size, extra = divmod(len(ids), count)
    groups, at = [], 0
    for index in range(count):
        end = at + size + (1 if index < extra else 0)
        groups.append(ids[at:end])
        at = end
    return groups


def _answer_for(answer: Any, dispatch_id: int) -> Any:
    # JSON object keys are strings: the contract keys the answer by str(dispatch_id).
    return answer.get(str(dispatch_id)) if isinstance(answer, dict) else None


def _checked(dispatch_id: int, attachment: Any) -> Attachment | BaseException:
    if isinstance(attachment, dict) and attachment.get("error"):
        return PdfRenderError(str(attachment["error"]))
    if not isinstance(attachment, dict) or not attachment.get("base64"):
        return ValueError(f"Odoo returned no PDF for dispatch {dispatch_id}")
    return cast(Attachment, attachment)
