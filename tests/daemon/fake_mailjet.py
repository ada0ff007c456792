"""A scripted Mailjet over loopback (HTTP or HTTPS) that counts the calls it gets."""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response


@dataclass
class Answer:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


class FakeMailjet:
    """Answers POST /v3.1/send from a queue of `Answer`s (the last one repeats), or from
    `send_handler(body)` when set; GET /v3/REST/message from `lookup` (or `lookup_answer`)."""

    def __init__(self) -> None:
        self.send_answers: list[Answer] = []
        self.send_handler: Callable[[dict[str, Any]], Answer] | None = None
        self.lookup: dict[str, list[dict[str, Any]]] = {}
        self.lookup_answer: Answer | None = None
        self.posts: list[dict[str, Any]] = []
        self.lookups: list[str] = []

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        if request.method == "POST" and request.path == "/v3.1/send":
            body = request.get_json()
            self.posts.append(body)
            if self.send_handler is not None:
                answer = self.send_handler(body)
            else:
                answer = (
                    self.send_answers.pop(0) if len(self.send_answers) > 1 else self.send_answers[0]
                )
        elif request.method == "GET" and request.path == "/v3/REST/message":
            custom_id = request.args.get("CustomID", "")
            self.lookups.append(custom_id)
            data = self.lookup.get(custom_id, [])
            answer = self.lookup_answer or Answer(
                200, {"Count": len(data), "Data": data, "Total": len(data)}
            )
        else:
            answer = Answer(404, {"ErrorMessage": "no such route"})
        if answer.delay:
            time.sleep(answer.delay)
        body = answer.body if isinstance(answer.body, str) else json.dumps(answer.body)
        response = Response(
            body, status=answer.status, headers=answer.headers, mimetype="application/json"
        )
        return response(environ, start_response)


def make_certificate(directory: Path) -> tuple[Path, Path] | None:
    """A self-signed certificate for 127.0.0.1, or None when openssl is missing."""
    if shutil.which("openssl") is None:
        return None
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


@contextmanager
def serve(fake: FakeMailjet, tls: tuple[Path, Path] | None = None) -> Iterator[str]:
    """Serve `fake` on a free loopback port; yields the api_url to give mailjet-rest."""
    ssl_context = (str(tls[0]), str(tls[1])) if tls else None
    server = make_server("127.0.0.1", 0, fake, threaded=True, ssl_context=ssl_context)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        scheme = "https" if tls else "http"
        yield f"{scheme}://127.0.0.1:{server.server_port}/"
    finally:
        server.shutdown()
        server.server_close()
