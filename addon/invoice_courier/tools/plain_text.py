# Copyright 2026 Invoice Courier
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The text/plain part of an invoice email, from whatever HTML Odoo's editor made.

Odoo's `html2plaintext` writes only a link's own text node: a label the
editor wrapped in `<font>` or `<span>` (a colour change does that) comes out
as "None [1]". This reads every text node in document order instead: block
elements on their own lines (paragraphs and headings apart by a blank line),
`<br>` as a line break, list items as "- item", a link as its whole label and
a number, with the numbered URLs listed at the end as `html2plaintext` does.
"""

import re

from lxml import etree, html

# On their own lines; the first group also apart from the text around them.
PARAGRAPHS = frozenset(
    {"p", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "ul", "ol", "table", "pre", "hr"}
)
LINES = frozenset(
    {
        "address",
        "article",
        "aside",
        "dd",
        "div",
        "dl",
        "dt",
        "fieldset",
        "figcaption",
        "figure",
        "footer",
        "form",
        "header",
        "li",
        "main",
        "nav",
        "section",
        "tr",
    }
)
CELLS = frozenset({"td", "th"})
# Never read: not content, or not meant for the reader.
SKIPPED = frozenset({"head", "script", "style", "title", "template", "noscript"})
# HTML's whitespace; a no-break space (an amount's "$\xa0100") stays.
WHITESPACE = re.compile(r"[ \t\n\r\f]+")
# Marks between the text chunks: a line break (<br>: always a new line, an empty
# one too), the start or end of a block (a new line unless at one already), and
# of a paragraph (also a blank line before the next text).
BREAK = object()
LINE = object()
PARAGRAPH = object()


def html_to_text(value):
    """The plain text of an HTML body (str or Markup); "" for an empty one."""
    source = str(value or "")
    if not source.strip():
        return ""
    try:
        root = html.fragment_fromstring(source, create_parent="div")
    except (etree.ParserError, ValueError):
        return ""
    reader = _Reader()
    reader.walk(root)
    text = _layout(reader.parts)
    if reader.links:
        listed = "\n".join(f"[{number}] {url}" for number, url in enumerate(reader.links, 1))
        text = f"{text}\n\n{listed}" if text else listed
    return text


class _Reader:
    def __init__(self):
        self.parts = []
        self.links = []
        self.preformatted = 0

    def walk(self, element):
        tag = element.tag.lower() if isinstance(element.tag, str) else None
        if tag is None or tag in SKIPPED:
            # A comment, a processing instruction or a skipped element: only what follows it.
            self.text(element.tail)
            return
        if tag == "br":
            self.parts.append(BREAK)
        elif tag == "img" and element.get("alt"):
            self.text(f" {element.get('alt')} ")
        mark = PARAGRAPH if tag in PARAGRAPHS else LINE if tag in LINES else None
        if mark:
            self.parts.append(mark)
        if tag == "li":
            self.parts.append("- ")
        self.preformatted += tag == "pre"
        self.text(element.text)
        for child in element:
            self.walk(child)
        self.preformatted -= tag == "pre"
        if tag == "a":
            self.link(element)
        elif tag in CELLS:
            self.parts.append(" ")
        if mark:
            self.parts.append(mark)
        self.text(element.tail)

    def text(self, value):
        if not value:
            return
        # The editor's zero-width marks around links and inline elements are no text.
        value = value.replace("\ufeff", "").replace("\u200b", "")
        if self.preformatted:
            for number, line in enumerate(value.split("\n")):
                if number:
                    self.parts.append(BREAK)
                self.parts.append(line)
        else:
            self.parts.append(WHITESPACE.sub(" ", value))

    def link(self, element):
        """The URL's number after the label; a label that is the URL itself needs none."""
        url = (element.get("href") or "").strip()
        if not url or url.startswith(("#", "javascript:")):
            return
        label = WHITESPACE.sub(" ", element.text_content()).strip(" ")
        if label in (url, url.removeprefix("mailto:")):
            return
        if url not in self.links:
            self.links.append(url)
        self.trim_trailing_space()
        self.parts.append(f" [{self.links.index(url) + 1}]")

    def trim_trailing_space(self):
        """The label's last words end where the text does: "label [1]", never "label  [1]"."""
        while self.parts and isinstance(self.parts[-1], str):
            trimmed = self.parts[-1].rstrip(" \t\n\r\f\xa0")
            if trimmed:
                self.parts[-1] = trimmed
                return
            self.parts.pop()


def _layout(parts):
    """Lines from the chunks and marks: trimmed, at most one blank line in a row."""
    lines = []
    current = []
    blank_before_next = False

    def written(chunks):
        return WHITESPACE.sub(" ", "".join(chunks)).strip(" ")

    for part in parts:
        if part is BREAK:
            lines.append(written(current))
            current.clear()
        elif part is LINE or part is PARAGRAPH:
            if written(current):
                lines.append(written(current))
                current.clear()
            blank_before_next = blank_before_next or part is PARAGRAPH
        else:
            if written([part]):
                if blank_before_next and not written(current) and lines and lines[-1]:
                    lines.append("")
                blank_before_next = False
            current.append(part)
    lines.append(written(current))
    kept = []
    for line in lines:
        if line or (kept and kept[-1]):
            kept.append(line)
    return "\n".join(kept).strip("\n")
