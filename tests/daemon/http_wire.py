"""Raw HTTP/1.1 on a socket, for the tests of the servers' limits and the webhook fuzzer.

Raw because the point is to send what ordinary clients would not: heads cut
short, chunked bodies past the limit, bytes that are not JSON.
"""

from __future__ import annotations

import base64
import json
import socket
from typing import Any

PATH = "/webhooks/mailjet"
USER, PASSWORD = "mailjet", "wire-webhook-password"
AUTH = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()


def head(
    length: int | None = None,
    chunked: bool = False,
    expect: bool = False,
    authorization: str = AUTH,
) -> bytes:
    lines = [f"POST {PATH} HTTP/1.1", "Host: courierd", f"Authorization: {authorization}"]
    lines.append("Content-Type: application/json")
    if length is not None:
        lines.append(f"Content-Length: {length}")
    if chunked:
        lines.append("Transfer-Encoding: chunked")
    if expect:
        lines.append("Expect: 100-continue")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def chunked(body: bytes, size: int = 1000) -> bytes:
    """`body` as a chunked body of `size`-byte chunks."""
    parts = [body[i : i + size] for i in range(0, len(body), size)]
    return b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in parts) + b"0\r\n\r\n"


def connect(address: tuple[str, int], timeout: float = 10.0) -> socket.socket:
    return socket.create_connection(address, timeout=timeout)


def read_answer(sock: socket.socket) -> tuple[int, Any, bool]:
    """(status, JSON body, closed): reads until the server closes the connection."""
    data = b""
    while True:
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            break
        if not chunk:
            break
        data += chunk
    head_bytes, _, body = data.partition(b"\r\n\r\n")
    status = int(head_bytes.split(b" ", 2)[1])
    if b"transfer-encoding: chunked" in head_bytes.lower():
        body = _dechunk(body)
    return status, json.loads(body or b"{}"), True


def post(
    address: tuple[str, int], body: bytes, *, use_chunks: bool = False, authorization: str = AUTH
) -> tuple[int, Any]:
    """One POST of `body` on its own connection; the status and the JSON answer."""
    with connect(address) as sock:
        if use_chunks:
            sock.sendall(head(chunked=True, authorization=authorization) + chunked(body))
        else:
            sock.sendall(head(length=len(body), authorization=authorization) + body)
        status, answer, _ = read_answer(sock)
    return status, answer


def _dechunk(body: bytes) -> bytes:
    out = b""
    while body:
        size_line, _, body = body.partition(b"\r\n")
        size = int(size_line, 16)
        if not size:
            break
        out += body[:size]
        body = body[size + 2 :]
    return out
