"""Renders the invoice PDFs of a batch in parallel, one Odoo request per invoice.

An invoice PDF takes Odoo about 1.3 s, nearly all of it waiting on wkhtmltopdf,
so several requests side by side (COURIER_PDF_CONCURRENCY) go much faster than
one after another. odoorpc connections are not thread-safe: each worker thread
keeps its own ErpClient, made by `client_factory` on the thread's first render.

`start` queues renders without waiting, so the send loop can have the next
batch's PDFs made while it sends and reports the current one; `render` then
collects them (or renders what was not started). Renders run in the order they
were queued.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Protocol


class PdfSource(Protocol):
    def render_pdf(self, dispatch_id: int) -> dict[str, Any]: ...


class PdfRenderer:
    def __init__(self, client_factory: Callable[[], PdfSource], concurrency: int) -> None:
        self._client_factory = client_factory
        self._local = threading.local()
        self._pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="pdf")
        # Renders queued by `start` and not yet collected; used from the send loop's thread only.
        self._started: dict[int, Future[dict[str, Any]]] = {}

    def start(self, dispatch_ids: Iterable[int]) -> None:
        """Queue these renders now; `render` collects them."""
        for dispatch_id in dispatch_ids:
            if dispatch_id not in self._started:
                self._started[dispatch_id] = self._pool.submit(self._render_one, dispatch_id)

    def forget(self, dispatch_ids: Iterable[int]) -> None:
        """Drop started renders nobody will collect (those not running yet are cancelled)."""
        for dispatch_id in dispatch_ids:
            future = self._started.pop(dispatch_id, None)
            if future is not None:
                future.cancel()

    def render(self, dispatch_ids: Iterable[int]) -> dict[int, dict[str, Any] | Exception]:
        """Each dispatch's attachment dict, or the exception its render raised."""
        ids = list(dispatch_ids)
        self.start(ids)
        futures = {dispatch_id: self._started.pop(dispatch_id) for dispatch_id in ids}
        results: dict[int, dict[str, Any] | Exception] = {}
        for dispatch_id, future in futures.items():
            try:
                results[dispatch_id] = future.result()
            except Exception as exc:
                results[dispatch_id] = exc
        return results

    def close(self) -> None:
        self._started.clear()
        self._pool.shutdown(wait=True, cancel_futures=True)

    def _render_one(self, dispatch_id: int) -> dict[str, Any]:
        client = getattr(self._local, "client", None)
        if client is None:
            client = self._local.client = self._client_factory()
        attachment = client.render_pdf(dispatch_id)
        if not isinstance(attachment, dict) or not attachment.get("base64"):
            raise ValueError(f"Odoo returned no PDF for dispatch {dispatch_id}")
        return attachment
