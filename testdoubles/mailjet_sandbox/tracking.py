"""Open and click tracking: rewriting links and adding the open pixel.

Pure functions over the HTML part, one call per recipient (each recipient
has its own token, so an open or a click tells which copy was read).
"""

from __future__ import annotations

import html
import re
from urllib.parse import quote

# href values of anchors only (not stylesheets or images), quoted either way.
_ANCHOR_HREF_RE = re.compile(
    r"""(<a\b[^>]*?\bhref\s*=\s*)(["'])(.*?)\2""", re.IGNORECASE | re.DOTALL
)
_BODY_END_RE = re.compile(r"</body\s*>", re.IGNORECASE)


def click_url(public_url: str, token: str, target: str) -> str:
    return f"{public_url}t/c/{token}?u={quote(target, safe='')}"


def open_pixel_url(public_url: str, token: str) -> str:
    return f"{public_url}t/o/{token}.gif"


def rewrite_links(body: str, public_url: str, token: str) -> tuple[str, list[str]]:
    """Point every http(s) anchor at the sandbox's click URL.

    Returns the new HTML and the original URLs (unescaped), which the click
    endpoint accepts as redirect targets and nothing else.
    """
    originals: list[str] = []

    def replace(match: re.Match[str]) -> str:
        prefix, quote_char, raw = match.group(1), match.group(2), match.group(3)
        target = html.unescape(raw).strip()
        if not target.lower().startswith(("http://", "https://")):
            return match.group(0)
        if target not in originals:
            originals.append(target)
        tracked = html.escape(click_url(public_url, token, target), quote=True)
        return f"{prefix}{quote_char}{tracked}{quote_char}"

    return _ANCHOR_HREF_RE.sub(replace, body), originals


def add_open_pixel(body: str, public_url: str, token: str) -> str:
    """Append the 1x1 open pixel, inside ``<body>`` when there is one."""
    pixel = (
        f'<img src="{html.escape(open_pixel_url(public_url, token), quote=True)}" '
        'width="1" height="1" alt="" style="border:0;width:1px;height:1px" />'
    )
    matches = list(_BODY_END_RE.finditer(body))
    if not matches:
        return body + pixel
    end = matches[-1].start()
    return body[:end] + pixel + body[end:]


# A transparent 1x1 GIF, what Mailjet's open pixel serves too.
PIXEL_GIF = (
    b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00"
    b"\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"
)
