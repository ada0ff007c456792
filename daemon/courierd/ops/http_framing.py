"""Pure: the bytes of one HTTP/1.x request, fed as they arrive -> where the request ends.

The server (ops/bounded_server.py) reads every request in full before a worker
thread sees it, so a slow client holds no thread. To know when a request is
complete it must frame it: the head (request line and headers) up to the empty
line, then a body of Content-Length bytes or a chunked body up to its last
chunk. The body limit holds for both: a Content-Length over it is refused from
the head, a chunked body as soon as its decoded size passes it.

What the worker gets is the request rewritten plainly: the same head without
Transfer-Encoding, Expect and Content-Length, then `Content-Length: <decoded
size>` and the decoded body, so werkzeug never reads a chunked body itself.
Framing is strict (one Content-Length, chunk sizes of hex digits only, no
chunk extensions): anything else is refused with 400 rather than guessed.
"""

from __future__ import annotations

import re
from enum import Enum

MAX_HEAD_BYTES = 64 * 1024
MAX_CHUNK_LINE = 1024
_REQUEST_LINE = re.compile(rb"[A-Z]{1,16} [^\s]{1,8192} HTTP/1\.[01]")
_HEADER = re.compile(rb"([!#$%&'*+.^_`|~0-9A-Za-z-]+):[ \t]*(.*?)[ \t]*")
_CHUNK_SIZE = re.compile(rb"[0-9A-Fa-f]{1,8}")
_DROPPED = {b"transfer-encoding", b"content-length", b"expect"}


class Framing(Enum):
    HEAD = "head"  # reading the request line and headers
    BODY = "body"  # reading Content-Length bytes
    CHUNK_SIZE = "chunk size"
    CHUNK_DATA = "chunk data"
    CHUNK_END = "chunk end"  # the line break after a chunk's data
    TRAILER = "trailer"  # trailer lines after the last chunk
    COMPLETE = "complete"
    TOO_LARGE = "too large"  # the head is read; the body is over the limit
    BAD = "bad"  # not a request this server frames: answer `status` with `reason`


class RequestFramer:
    """Feed it bytes; it says when the request is complete, too large or bad."""

    def __init__(self, max_body_bytes: int) -> None:
        self.max_body_bytes = max_body_bytes
        self.state = Framing.HEAD
        self.status = 0
        self.reason = ""
        self.expects_continue = False
        self._pending = bytearray()  # received, not yet framed
        self._head_lines: list[bytes] = []
        self._head_size = 0
        self._body = bytearray()
        self._remaining = 0  # body bytes still due (BODY, CHUNK_DATA)

    @property
    def done(self) -> bool:
        return self.state in (Framing.COMPLETE, Framing.TOO_LARGE, Framing.BAD)

    @property
    def buffered(self) -> int:
        return len(self._pending) + len(self._body)

    def request_bytes(self) -> bytes:
        """The request as the worker reads it: plain head, Content-Length, decoded body.

        When too large: the head alone, without a body (the server flags it).
        """
        lines = [self._head_lines[0]]
        lines += [line for line in self._head_lines[1:] if _name(line) not in _DROPPED]
        if self.state is Framing.COMPLETE and self._body:
            lines.append(b"Content-Length: %d" % len(self._body))
        head = b"\r\n".join(lines) + b"\r\n\r\n"
        return head + bytes(self._body) if self.state is Framing.COMPLETE else head

    def feed(self, data: bytes) -> None:
        if self.done:
            return
        self._pending += data
        while not self.done and self._step():
            pass

    def _bad(self, status: int, reason: str) -> bool:
        self.state, self.status, self.reason = Framing.BAD, status, reason
        self._pending.clear()
        return False

    def _line(self, limit: int) -> bytes | None:
        """The next line without its line break; None while incomplete (BAD past `limit`)."""
        end = self._pending.find(b"\n")
        if end < 0:
            if len(self._pending) > limit:
                self._bad(431 if self.state is Framing.HEAD else 400, "line too long")
            return None
        line = bytes(self._pending[:end]).removesuffix(b"\r")
        del self._pending[: end + 1]
        return line

    def _step(self) -> bool:
        """Frame what can be framed; False when more bytes are needed (or done)."""
        if self.state is Framing.HEAD:
            return self._head_step()
        if self.state is Framing.BODY or self.state is Framing.CHUNK_DATA:
            take = min(self._remaining, len(self._pending))
            self._body += self._pending[:take]
            del self._pending[:take]
            self._remaining -= take
            if self._remaining:
                return False
            self.state = Framing.COMPLETE if self.state is Framing.BODY else Framing.CHUNK_END
            return True
        if self.state is Framing.CHUNK_END:
            line = self._line(2)
            if line is None:
                return False
            if line:
                return self._bad(400, "a chunk is longer than its size")
            self.state = Framing.CHUNK_SIZE
            return True
        if self.state is Framing.CHUNK_SIZE:
            return self._chunk_size_step()
        # TRAILER: lines up to an empty one.
        line = self._line(MAX_CHUNK_LINE)
        if line is None:
            return False
        if not line:
            self.state = Framing.COMPLETE
        return True

    def _head_step(self) -> bool:
        line = self._line(MAX_HEAD_BYTES)
        if line is None:
            return False
        if not line and not self._head_lines:
            return True  # a stray line break before the request line, as RFC 9112 allows
        if line:
            self._head_lines.append(line)
            self._head_size += len(line) + 2
            if self._head_size > MAX_HEAD_BYTES:
                return self._bad(431, "the request head is too large")
            return True
        return self._head_complete()

    def _head_complete(self) -> bool:
        if not _REQUEST_LINE.fullmatch(self._head_lines[0]):
            return self._bad(400, "not an HTTP/1.x request line")
        lengths, codings = set(), []
        for line in self._head_lines[1:]:
            match = _HEADER.fullmatch(line)
            if match is None:
                return self._bad(400, "a malformed header line")
            name, value = match[1].lower(), match[2]
            if name == b"content-length":
                lengths.add(value)
            elif name == b"transfer-encoding":
                codings += [c.strip().lower() for c in value.split(b",")]
            elif name == b"expect" and value.lower() == b"100-continue":
                self.expects_continue = True
        if codings and lengths:
            return self._bad(400, "both Content-Length and Transfer-Encoding")
        if codings:
            if codings != [b"chunked"]:
                return self._bad(400, "a transfer coding other than chunked")
            self.state = Framing.CHUNK_SIZE
            return True
        if len(lengths) > 1:
            return self._bad(400, "several Content-Length values")
        length = lengths.pop() if lengths else b"0"
        if not length.isdigit() or len(length) > 18:
            return self._bad(400, "a malformed Content-Length")
        self._remaining = int(length)
        if self._remaining > self.max_body_bytes:
            return self._too_large()
        self.state = Framing.BODY if self._remaining else Framing.COMPLETE
        return True

    def _chunk_size_step(self) -> bool:
        line = self._line(MAX_CHUNK_LINE)
        if line is None:
            return False
        if not _CHUNK_SIZE.fullmatch(line):
            return self._bad(400, "a malformed chunk size (extensions are not accepted)")
        size = int(line, 16)
        if len(self._body) + size > self.max_body_bytes:
            return self._too_large()
        self._remaining = size
        self.state = Framing.CHUNK_DATA if size else Framing.TRAILER
        return True

    def _too_large(self) -> bool:
        self.state = Framing.TOO_LARGE
        self.expects_continue = False
        self._pending.clear()
        self._body.clear()
        return False


def _name(line: bytes) -> bytes:
    return line.split(b":", 1)[0].strip().lower()
