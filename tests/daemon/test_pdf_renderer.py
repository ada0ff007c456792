import threading

from courierd.pdf_renderer import PdfRenderer


class _Client:
    made: list["_Client"] = []

    def __init__(self) -> None:
        self.thread = threading.get_ident()
        self.calls: list[tuple[int, int]] = []
        _Client.made.append(self)

    def render_pdf(self, dispatch_id: int) -> dict:
        # A connection must only ever be used by the thread that made it.
        self.calls.append((dispatch_id, threading.get_ident()))
        if dispatch_id == 13:
            raise RuntimeError("wkhtmltopdf failed")
        return {"filename": f"{dispatch_id}.pdf", "base64": "JVBE"}


def test_renders_in_parallel_with_one_client_per_thread():
    _Client.made = []
    renderer = PdfRenderer(_Client, concurrency=3)
    try:
        results = renderer.render(range(1, 21))
    finally:
        renderer.close()
    assert {i: r["filename"] for i, r in results.items() if isinstance(r, dict)} == {
        i: f"{i}.pdf" for i in range(1, 21) if i != 13
    }
    assert isinstance(results[13], RuntimeError)
    assert 1 <= len(_Client.made) <= 3
    for client in _Client.made:
        assert {thread for _, thread in client.calls} == {client.thread}


def test_started_renders_are_collected_once_and_forgotten_ones_dropped():
    _Client.made = []
    gate = threading.Event()

    class _Slow(_Client):
        def render_pdf(self, dispatch_id: int) -> dict:
            gate.wait(5)
            return super().render_pdf(dispatch_id)

    renderer = PdfRenderer(_Slow, concurrency=1)
    try:
        renderer.start([1, 2])
        renderer.start([3, 4])
        renderer.forget([4])  # queued behind the others: cancelled, never rendered
        gate.set()
        results = renderer.render([1, 2, 5])
        assert sorted(results) == [1, 2, 5]
        assert renderer.render([3])[3]["filename"] == "3.pdf"
    finally:
        renderer.close()
    rendered = sorted(i for client in _Client.made for i, _ in client.calls)
    assert rendered == [1, 2, 3, 5]
