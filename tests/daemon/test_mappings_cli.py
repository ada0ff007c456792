"""`courierd mappings check FILE [--kind]`: a summary and exit 0, or each problem and exit 2."""

from __future__ import annotations

from pathlib import Path

import pytest

from courierd.cli import EXIT_CONFIG, EXIT_OK, main
from courierd.mailjet.mapping_check import infer_kind


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def check(capsys: pytest.CaptureFixture[str], *args: str | Path) -> tuple[int, str, str]:
    code = main(["mappings", "check", *map(str, args)])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("events.yaml", "events"),
        ("events-strict.yml", "events"),
        ("Messages.YAML", "messages"),
        ("messages-acme.yaml", "messages"),
        ("mapping.yaml", None),
        ("events.json", None),
    ],
)
def test_kind_from_the_file_name(name: str, kind: str | None) -> None:
    assert infer_kind(Path("somewhere") / name) == kind


def test_valid_events_file_prints_what_it_does(tmp_path: Path, capsys) -> None:
    path = write(
        tmp_path,
        "events.yaml",
        "statuses: {open: ignore}\nscanner_guard: {user_agents: [Mimecast], "
        "min_seconds_after_delivery: 30}\n",
    )
    code, out, err = check(capsys, path)
    assert (code, err) == (EXIT_OK, "")
    assert out.startswith(f"{path}: valid events mapping: sent->delivered, open->ignore, ")
    assert r"web document: /my/invoices/\d+" in out
    assert "scanner guard: 1 user agents, 30 s after delivery" in out


def test_valid_messages_file_prints_the_template_and_companies(tmp_path: Path, capsys) -> None:
    path = write(
        tmp_path,
        "messages.yaml",
        "mode: template\ntemplate:\n  template_id: 12\n  variables: {number: invoice.name}\n"
        "companies:\n  2: {mode: html}\n",
    )
    code, out, err = check(capsys, path)
    assert (code, err) == (EXIT_OK, "")
    assert out.strip() == (
        f"{path}: valid messages mapping: default: template 12 with the edited subject; "
        "variables: number=invoice.name; company 2: html (the subject and body Odoo rendered)"
    )


def test_kind_option_for_any_file_name(tmp_path: Path, capsys) -> None:
    path = write(tmp_path, "acme.yaml", "mode: html\n")
    code, out, _ = check(capsys, path, "--kind", "messages")
    assert code == EXIT_OK and "valid messages mapping" in out
    code, _, err = check(capsys, path, "--kind", "events")
    assert code == EXIT_CONFIG and "key 'mode' is not a key this mapping knows" in err


def test_unknown_kind_asks_for_the_option(tmp_path: Path, capsys) -> None:
    code, out, err = check(capsys, write(tmp_path, "acme.yaml", "mode: html\n"))
    assert (code, out) == (EXIT_CONFIG, "")
    assert "give --kind events or --kind messages" in err


def test_yaml_syntax_error_gives_line_and_column(tmp_path: Path, capsys) -> None:
    path = write(tmp_path, "events.yaml", "statuses:\n  open: [opened\n  click: clicked\n")
    code, out, err = check(capsys, path)
    assert (code, out) == (EXIT_CONFIG, "")
    assert "courierd: the events mapping cannot be used:" in err
    assert f"{path}: not valid YAML at line 3, column " in err


def test_unknown_key_is_named(tmp_path: Path, capsys) -> None:
    path = write(tmp_path, "events.yaml", "scanner_guard:\n  min_seconds: 5\n")
    code, _, err = check(capsys, path)
    assert code == EXIT_CONFIG
    assert f"{path}: key 'scanner_guard.min_seconds' is not a key this mapping knows" in err


def test_wrong_type_is_named_with_its_path(tmp_path: Path, capsys) -> None:
    path = write(tmp_path, "messages.yaml", "mode: template\ntemplate:\n  template_id: twelve\n")
    code, _, err = check(capsys, path)
    assert code == EXIT_CONFIG
    assert f"{path}: key 'template.template_id' Input should be a valid integer" in err


def test_unknown_invoice_field_lists_the_known_ones(tmp_path: Path, capsys) -> None:
    path = write(
        tmp_path,
        "messages.yaml",
        "mode: template\ntemplate:\n  template_id: 12\n  variables:\n    due: invoice.due\n",
    )
    code, _, err = check(capsys, path)
    assert code == EXIT_CONFIG
    assert (
        f"{path}: key 'template.variables.due' names unknown field 'invoice.due'; "
        "known: subject, web_url" in err
    )
    assert "invoice.invoice_date_due" in err


def test_invalid_regex_in_web_document(tmp_path: Path, capsys) -> None:
    path = write(tmp_path, "events.yaml", "web_document:\n  url_patterns: ['/my/(invoices']\n")
    code, _, err = check(capsys, path)
    assert code == EXIT_CONFIG
    assert f"{path}: key 'web_document.url_patterns' pattern 0 ('/my/(invoices')" in err
    assert "is not a valid regex" in err


def test_unknown_mailjet_event_in_statuses(tmp_path: Path, capsys) -> None:
    path = write(tmp_path, "events.yaml", "statuses:\n  opened: opened\n")
    code, _, err = check(capsys, path)
    assert code == EXIT_CONFIG
    assert f"{path}: key 'statuses' " in err
    assert "opened" in err and "not a Mailjet event type; known: sent, open," in err


def test_every_problem_is_listed(tmp_path: Path, capsys) -> None:
    path = write(
        tmp_path,
        "events.yaml",
        "statuses: {sent: delivered_ok}\nscanner_guard: {min_seconds_after_delivery: -1}\n",
    )
    code, _, err = check(capsys, path)
    assert code == EXIT_CONFIG
    assert "key 'statuses.sent'" in err
    assert "key 'scanner_guard.min_seconds_after_delivery'" in err


def test_missing_file(tmp_path: Path, capsys) -> None:
    path = tmp_path / "messages.yaml"
    code, out, err = check(capsys, path)
    assert (code, out) == (EXIT_CONFIG, "")
    assert f"{path}: the mapping file does not exist" in err


def test_help_lists_the_mappings_command(capsys) -> None:
    with pytest.raises(SystemExit) as done:
        main(["mappings", "check", "--help"])
    assert done.value.code == 0
    assert "--kind" in capsys.readouterr().out
