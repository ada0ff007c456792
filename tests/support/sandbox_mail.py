"""Reading the emails the Mailjet sandbox wrote: their tracked links and open pixel.

What a mail client would follow: the HTML part's anchors that point at the
sandbox's click URL (`/t/c/<token>?u=<target>`) and its open pixel (`/t/o/`).
"""

from __future__ import annotations

import email
import email.policy
import html.parser
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import parse_qs, urlsplit


def read_email(path: Path) -> EmailMessage:
    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


class _Tags(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []
        self.images: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "a" and values.get("href"):
            self.hrefs.append(values["href"] or "")
        elif tag == "img" and values.get("src"):
            self.images.append(values["src"] or "")


def _tags(message: EmailMessage) -> _Tags:
    part = message.get_body(preferencelist=("html",))
    assert part is not None, "the email has no HTML part"
    tags = _Tags()
    tags.feed(part.get_content())
    return tags


def tracked_links(message: EmailMessage) -> dict[str, str]:
    """Original target -> the sandbox's click URL for it."""
    links = {}
    for href in _tags(message).hrefs:
        if "/t/c/" in href:
            [target] = parse_qs(urlsplit(href).query)["u"]
            links[target] = href
    return links


def tracked_link_to(message: EmailMessage, target_prefix: str) -> str:
    """The click URL whose target starts with `target_prefix`."""
    links = tracked_links(message)
    for target, href in links.items():
        if target.startswith(target_prefix):
            return href
    raise AssertionError(f"no tracked link to {target_prefix} among {list(links)}")


def open_pixel(message: EmailMessage) -> str:
    [pixel] = [src for src in _tags(message).images if "/t/o/" in src]
    return pixel
