"""What the sandbox sends for a Mailjet template: it holds none, so it shows the Variables.

The HTML part names the TemplateID and lists each variable (marked with
`data-variable`, so a test can read it back); an http(s) value is a link, so
open and click tracking work as they do with a real template's HTML.
"""

from __future__ import annotations

import html
import json
from collections.abc import Mapping
from typing import Any


def _shown(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _cell(value: Any) -> str:
    text = html.escape(_shown(value), quote=True)
    if isinstance(value, str) and value.lower().startswith(("http://", "https://")):
        return f'<a href="{text}">{text}</a>'
    return text


def template_html(template_id: int, variables: Mapping[str, Any]) -> str:
    rows = "".join(
        f'<tr data-variable="{html.escape(name, quote=True)}">'
        f"<th>{html.escape(name)}</th><td>{_cell(value)}</td></tr>"
        for name, value in variables.items()
    )
    return (
        "<html><body>"
        f'<p data-template-id="{template_id}">Mailjet template {template_id} '
        "(the sandbox holds no templates: these are the Variables sent)</p>"
        f"<table>{rows}</table>"
        "</body></html>"
    )


def template_text(template_id: int, variables: Mapping[str, Any]) -> str:
    listed = json.dumps(dict(variables), indent=2, sort_keys=True, ensure_ascii=False)
    return (
        f"[Mailjet template {template_id}: the sandbox holds no templates]\nVariables:\n{listed}\n"
    )
