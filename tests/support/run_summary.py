"""What a run covered: one line per part of the suite at the end of every pytest run.

A green run says little when half of it skipped. So the run ends with, per
part (the folder under tests/) and per variant of it (the ERP backend of
`erp_backend`, the Odoo version of `odoo_version`, the browser test's `lang`),
how many tests ran and how many skipped, and why:

    addon tests, odoo18: ran 4, skipped 0; Odoo ran 75 of the addon's tests, 0 failed, ...
    contract tests, standin-jsonrpc: ran 40, skipped 0
    contract tests, odoo19-json2: ran 0, skipped 36 (no Odoo 19 at /opt/odoo19 (...))
    browser test, odoo18-en_US: ran 0, skipped 1 (chromium/chromedriver not found: ...)

Variants come from the test ids' parameters, so a new backend or Odoo version
(tests/support/erp_backends.py) gets its own lines without a change here. For
the addon tests the line adds what Odoo itself logged of the addon's own tests
(tests/support/odoo.py parses it from the install log).

A version's COURIER_REQUIRE_ODOO... switch (tools/odoo_local.ODOO_VERSIONS)
makes its absence a failure in the fixtures; here it also fails a run that
collects Odoo tests but none on that version, which a skip cannot show.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.support.erp_backends import ODOO_BACKENDS, STANDIN
from tests.support.odoo import INSTALLS, install_summary
from tools.odoo_local import ODOO_VERSIONS

PART_NAMES = {
    "odoo": "addon tests",
    "contract": "contract tests",
    "e2e": "e2e tests",
    "browser": "browser test",
}
PART_ORDER = tuple(PART_NAMES)  # these first, then the other folders by name
# "standin": the stand-in (as Odoo 18 or 19) of the e2e tests that are not per backend.
SPLIT_PARAMS = ("erp_backend", "standin", "odoo_version", "lang")
DEFAULT_VARIANT = {"contract": STANDIN, "e2e": STANDIN}  # their unparametrized tests
REASON_LENGTH = 400


@dataclass
class Tally:
    """The outcomes of one part's variant; each test counted once."""

    collected: int = 0
    passed: int = 0
    failed: int = 0
    errors: int = 0
    skipped: int = 0
    reasons: dict[str, list[str]] = field(default_factory=lambda: {"skipped": [], "errors": []})

    def note(self, kind: str, reason: str) -> None:
        if reason not in self.reasons[kind]:
            self.reasons[kind].append(reason)

    def line(self) -> str:
        ran = self.passed + self.failed
        text = f"ran {ran}" + (f" ({self.failed} failed)" if self.failed else "")
        text += f", skipped {self.skipped}" + _why(self.reasons["skipped"], self.skipped)
        if self.errors:
            text += f", errors {self.errors}" + _why(self.reasons["errors"], self.errors)
        not_run = self.collected - ran - self.skipped - self.errors
        if not_run:
            text += f", not run {not_run}"
        return text


def _why(reasons: list[str], count: int) -> str:
    return f" ({'; '.join(reasons)})" if count and reasons else ""


def part_of(item: pytest.Item) -> tuple[str, str]:
    """(folder under tests/, variant) of a test, from its node id and parameters."""
    parts = item.nodeid.split("::", 1)[0].split("/")
    folder = parts[1] if len(parts) > 2 and parts[0] == "tests" else parts[0]
    params = getattr(getattr(item, "callspec", None), "params", {})
    variant = "-".join(str(params[name]) for name in SPLIT_PARAMS if name in params)
    return folder, variant or DEFAULT_VARIANT.get(folder, "")


def odoo_versions_of(item: pytest.Item) -> set[str]:
    """The Odoo versions a test runs against (none for the stand-in and the unit tests)."""
    params = getattr(getattr(item, "callspec", None), "params", {})
    versions = {params["odoo_version"]} if "odoo_version" in params else set()
    if params.get("erp_backend") in ODOO_BACKENDS:
        versions.add(ODOO_BACKENDS[params["erp_backend"]])
    return versions


class RunSummary:
    def __init__(self) -> None:
        self.parts: dict[tuple[str, str], Tally] = {}
        self.part_by_test: dict[str, tuple[str, str]] = {}
        self.outcome: dict[str, str] = {}
        self.problems: list[str] = []

    @pytest.hookimpl(trylast=True)
    def pytest_collection_finish(self, session: pytest.Session) -> None:
        for item in session.items:
            key = part_of(item)
            self.part_by_test[item.nodeid] = key
            self.parts.setdefault(key, Tally()).collected += 1

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
        report = yield
        key = self.part_by_test.get(item.nodeid)
        if key is not None:
            self._count(self.parts[key], item.nodeid, report, call)
        return report

    def _count(
        self, tally: Tally, nodeid: str, report: pytest.TestReport, call: pytest.CallInfo[None]
    ) -> None:
        before = self.outcome.get(nodeid)
        if report.skipped and before is None:
            self.outcome[nodeid] = "skipped"
            tally.skipped += 1
            tally.note("skipped", _skip_reason(report))
        elif report.failed and report.when != "call" and before in (None, "passed"):
            # A fixture that could not be made (setup), or cleanup that broke (teardown).
            self.outcome[nodeid] = "error"
            tally.errors += 1
            if before == "passed":
                tally.passed -= 1
            tally.note("errors", _error_reason(call))
        elif report.when == "call" and before is None:
            self.outcome[nodeid] = "passed" if report.passed else "failed"
            tally.passed += report.passed
            tally.failed += report.failed

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        """Fail a run that collects Odoo tests but none on a required Odoo version."""
        versions = [odoo_versions_of(item) for item in session.items]
        if not any(versions):
            return
        used = set().union(*versions)
        for spec in ODOO_VERSIONS.values():
            if spec.required() and spec.key not in used:
                self.problems.append(
                    f"{spec.require_variable}=1 but no test of this run uses {spec.label} "
                    f"(tests/support/erp_backends.py: ODOO_BACKENDS has no backend on {spec.key})"
                )
        if self.problems:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_terminal_summary(self, terminalreporter: Any) -> Generator[None, None, None]:
        # Outermost wrapper: after pytest's own summaries, just above its final line.
        yield
        if not self.parts:
            return
        terminalreporter.write_sep("-", "what ran")
        for key in sorted(self.parts, key=_part_order):
            folder, variant = key
            name = PART_NAMES.get(folder, f"{folder} tests")
            label = f"{name}, {variant}" if variant else name
            line = f"{label}: {self.parts[key].line()}"
            if folder == "odoo" and variant in INSTALLS:
                line += f"; {install_summary(INSTALLS[variant])}"
            terminalreporter.write_line(line)
        for problem in self.problems:
            terminalreporter.write_line(f"FAILED: {problem}", red=True, bold=True)


def _part_order(key: tuple[str, str]) -> tuple[int, str, int, str]:
    folder, variant = key
    rank = PART_ORDER.index(folder) if folder in PART_ORDER else len(PART_ORDER)
    # The stand-in before the Odoo versions, these in their order of ODOO_VERSIONS.
    versions = list(ODOO_VERSIONS)
    odoo = next((i for i, v in enumerate(versions) if variant.startswith(v)), -1)
    return rank, folder, odoo, variant


def _skip_reason(report: pytest.TestReport) -> str:
    longrepr = report.longrepr
    reason = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
    return _short(reason.removeprefix("Skipped: "))


def _error_reason(call: pytest.CallInfo[None]) -> str:
    if call.excinfo is None:
        return "unknown error"
    value = call.excinfo.value
    if isinstance(value, pytest.fail.Exception):
        return _short(value.msg)
    return _short(f"{type(value).__name__}: {value}")


def _short(text: str) -> str:
    first = text.strip().splitlines()[0] if text.strip() else "no reason given"
    return first if len(first) <= REASON_LENGTH else first[: REASON_LENGTH - 3] + "..."


def pytest_configure(config: pytest.Config) -> None:
    config.pluginmanager.register(RunSummary(), "courier-run-summary")
