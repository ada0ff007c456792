import threading

from courierd.domain.errors import PdfRenderError
from courierd.odoo.pdf_renderer import PdfRenderer


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
    # Each new client waits until three exist: a worker busy with its first render
    # is not idle, so the pool must start all three threads, whatever the timing.
    all_started = threading.Barrier(3, timeout=10)

    class _Waiting(_Client):
        def __init__(self) -> None:
            super().__init__()
            all_started.wait()

    renderer = PdfRenderer(_Waiting, concurrency=3)
    try:
        results = renderer.render(range(1, 21))
    finally:
        renderer.close()
    assert isinstance(results[13], RuntimeError)
    assert str(results[13]) == "wkhtmltopdf failed"
    del results[13]
    assert results == {
        i: {"filename": f"{i}.pdf", "base64": "JVBE"} for i in range(1, 21) if i != 13
    }
    assert len(_Client.made) == 3
    assert len({client.thread for client in _Client.made}) == 3
    assert sorted(i for client in _Client.made for i, _ in client.calls) == list(range(1, 21))
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


class _GroupClient(_Client):
    """Renders groups too; a group holding 66 fails as a whole, dispatch 13 always fails."""

    def __init__(self) -> None:
        super().__init__()
        self.groups: list[list[int]] = []

    def render_pdfs(self, dispatch_ids: list[int]) -> dict:
        self.groups.append(list(dispatch_ids))
        if 66 in dispatch_ids:
            raise RuntimeError("wkhtmltopdf crashed")
        return {
            str(i): {"error": "no PDF for 13"}
            if i == 13
            else {"base64": "JVBE", "filename": f"{i}"}
            for i in dispatch_ids
        }


def test_renders_in_groups_of_at_most_batch_size() -> None:
    _Client.made = []
    renderer = PdfRenderer(_GroupClient, concurrency=2, batch_size=4)
    try:
        results = renderer.render(range(1, 11))
    finally:
        renderer.close()
    groups = sorted(group for client in _Client.made for group in client.groups)
    # 10 dispatches, at most 4 a group: three groups, sizes as even as they go.
    assert groups == [[1, 2, 3, 4], [5, 6, 7], [8, 9, 10]]
    assert all(not client.calls for client in _Client.made), "no single renders needed"
    # No dispatch 13 (the one _GroupClient fails) among them: all ten are rendered.
    assert results == {i: {"base64": "JVBE", "filename": str(i)} for i in range(1, 11)}


def test_a_dispatch_error_in_a_group_fails_that_dispatch_only() -> None:
    _Client.made = []
    renderer = PdfRenderer(_GroupClient, concurrency=1, batch_size=5)
    try:
        results = renderer.render([11, 12, 13, 14])
    finally:
        renderer.close()
    assert isinstance(results[13], PdfRenderError)
    assert str(results[13]) == "no PDF for 13"
    assert [results[i]["filename"] for i in (11, 12, 14)] == ["11", "12", "14"]


def test_a_failed_group_falls_back_to_one_render_per_dispatch() -> None:
    _Client.made = []
    renderer = PdfRenderer(_GroupClient, concurrency=1, batch_size=4)
    try:
        results = renderer.render([12, 13, 66, 67])
    finally:
        renderer.close()
    [client] = _Client.made
    assert client.groups == [[12, 13, 66, 67]]
    assert sorted(i for i, _ in client.calls) == [12, 13, 66, 67]
    assert isinstance(results[13], RuntimeError)  # the single render's own error
    assert [results[i]["filename"] for i in (12, 66, 67)] == ["12.pdf", "66.pdf", "67.pdf"]


def test_a_group_answer_without_a_dispatch_is_an_error_for_it() -> None:
    class _Forgetful(_GroupClient):
        def render_pdfs(self, dispatch_ids: list[int]) -> dict:
            return {str(dispatch_ids[0]): {"base64": "JVBE", "filename": "first"}}

    renderer = PdfRenderer(_Forgetful, concurrency=1, batch_size=3)
    try:
        results = renderer.render([1, 2])
    finally:
        renderer.close()
    assert results[1]["filename"] == "first"
    assert isinstance(results[2], ValueError)
    assert "no PDF for dispatch 2" in str(results[2])


def test_batch_size_one_renders_each_dispatch_alone() -> None:
    _Client.made = []
    renderer = PdfRenderer(_GroupClient, concurrency=2, batch_size=1)
    try:
        results = renderer.render([1, 2, 3])
    finally:
        renderer.close()
    assert all(not client.groups for client in _Client.made)
    assert sorted(i for client in _Client.made for i, _ in client.calls) == [1, 2, 3]
    assert sorted(results) == [1, 2, 3]


def test_forgotten_renders_are_left_out_of_their_group() -> None:
    _Client.made = []
    gate = threading.Event()

    class _Slow(_GroupClient):
        def render_pdfs(self, dispatch_ids: list[int]) -> dict:
            gate.wait(5)
            return super().render_pdfs(dispatch_ids)

    renderer = PdfRenderer(_Slow, concurrency=1, batch_size=2)
    try:
        renderer.start([1, 2])  # running, held at the gate
        renderer.start([3, 4, 5, 6])  # queued behind: groups [3, 4] and [5, 6]
        renderer.forget([4, 5, 6])
        gate.set()
        assert sorted(renderer.render([1, 2, 3])) == [1, 2, 3]
    finally:
        renderer.close()
    [client] = _Client.made
    # [3, 4] lost 4, so 3 is rendered alone; [5, 6] is not rendered at all.
    assert client.groups == [[1, 2]]
    assert [i for i, _ in client.calls] == [3]
