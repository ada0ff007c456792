"""The import rules of courierd's subpackages, as each `__init__.py` states them.

Read from the source with `ast` (every import, at the top or inside a function):
a worker imports only the domain and ops, never an adapter; the domain imports
nothing outside itself and the standard library; the adapters never import a
worker nor each other (Mailjet's and Odoo's may use ops, storage may not).
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).parents[2] / "daemon" / "courierd"

# Subpackage -> the courierd subpackages its modules may import (itself always, and
# the package's root for `__version__`).
ALLOWED: dict[str, set[str]] = {
    "domain": set(),
    "ops": set(),
    "workers": {"domain", "ops"},
    "mailjet": {"domain", "ops"},
    "odoo": {"domain", "ops"},
    "storage": {"domain"},
}


def _imports(path: Path) -> list[str]:
    """Every module `path` imports, absolute names."""
    names = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{path}: relative import; courierd uses absolute ones"
            names.append(node.module or "")
    return names


def _modules(subpackage: str) -> list[Path]:
    return sorted((PACKAGE / subpackage).glob("*.py"))


def _courierd_part(name: str) -> str | None:
    """`courierd.mailjet.client` -> "mailjet"; None for what is not courierd."""
    parts = name.split(".")
    if parts[0] != "courierd":
        return None
    return parts[1] if len(parts) > 1 else ""


def test_every_subpackage_has_a_rule() -> None:
    subpackages = {p.parent.name for p in PACKAGE.glob("*/__init__.py")}
    assert subpackages == set(ALLOWED)


@pytest.mark.parametrize("subpackage", sorted(ALLOWED))
def test_subpackages_import_only_what_their_rule_allows(subpackage: str) -> None:
    allowed = ALLOWED[subpackage] | {subpackage, ""}
    wrong = [
        f"{path.relative_to(PACKAGE)} imports {name}"
        for path in _modules(subpackage)
        for name in _imports(path)
        if (part := _courierd_part(name)) is not None and part not in allowed
    ]
    assert wrong == []


def test_the_domain_needs_only_the_standard_library() -> None:
    outside = [
        f"{path.relative_to(PACKAGE)} imports {name}"
        for path in _modules("domain")
        for name in _imports(path)
        if _courierd_part(name) is None
        and name.split(".")[0] not in sys.stdlib_module_names
        and name != "__future__"
    ]
    assert outside == []


def test_the_rule_catches_a_worker_importing_an_adapter(tmp_path: Path) -> None:
    module = tmp_path / "worker.py"
    module.write_text(
        "from courierd.domain.errors import ErpUnavailable\n"
        "def f():\n    from courierd.odoo.client import ErpClient\n",
        encoding="utf-8",
    )
    parts = {_courierd_part(name) for name in _imports(module)}
    assert parts - ALLOWED["workers"] == {"odoo"}
