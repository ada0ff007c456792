"""The `courierd` command: run, check-config, mappings check, sandbox, standin-erp.

Exit codes: 0 ok, 2 configuration or mapping error, 1 anything unexpected.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

from courierd import __version__
from courierd.config import (
    Settings,
    check_listen_ports,
    describe,
    load_settings,
    resolve_config_file,
)
from courierd.domain.errors import ConfigError, MappingError
from courierd.mailjet.mapping_check import KINDS, MappingKind, check_mapping, infer_kind
from courierd.odoo.transport import TransportSelector

EXIT_OK = 0
EXIT_UNEXPECTED = 1
EXIT_CONFIG = 2


def _add_config_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config",
        metavar="FILE",
        help="TOML file with the settings (else $COURIER_CONFIG_FILE); the environment wins",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="courierd",
        description="Deliver Odoo invoice emails through Mailjet and track them.",
    )
    parser.add_argument("--version", action="version", version=f"courierd {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    run = commands.add_parser("run", help="run the daemon")
    _add_config_option(run)
    check = commands.add_parser(
        "check-config", help="print the effective configuration (secrets masked) and exit"
    )
    _add_config_option(check)
    mappings = commands.add_parser("mappings", help="work with the mapping files (mappings/)")
    mapping_commands = mappings.add_subparsers(dest="mappings_command", required=True)
    mapping_check = mapping_commands.add_parser(
        "check", help="validate a mapping file and print what it does"
    )
    mapping_check.add_argument("file", metavar="FILE", type=Path)
    mapping_check.add_argument(
        "--kind",
        choices=KINDS,
        help="the kind of mapping (else from the file name: events*.yaml, messages*.yaml)",
    )
    # The two delegated commands are built by their own packages; their options are
    # only added (by importing them) when one of them is the command asked for.
    commands.add_parser("sandbox", help="run the local Mailjet sandbox", add_help=False)
    commands.add_parser("standin-erp", help="run the stand-in Odoo (tests)", add_help=False)
    return parser


_DELEGATED = {"sandbox": "mailjet_sandbox", "standin-erp": "standin_erp"}


def _run_delegated(command: str, argv: Sequence[str]) -> int:
    module = importlib.import_module(_DELEGATED[command])
    parser = argparse.ArgumentParser(prog=f"courierd {command}")
    module.add_arguments(parser)
    args = parser.parse_args(argv)
    result = module.run(args)
    return int(result or 0)


def _load(config: str | None) -> tuple[Settings, dict[str, str]] | None:
    """The settings, after the same checks for `check-config` and `run`; None (printed) if bad.

    The ports are tried too, so a port in use stops `run` before anything starts
    and names its setting.
    """
    try:
        settings, origins = load_settings(resolve_config_file(config, os.environ))
        problems = check_listen_ports(settings)
        if problems:
            raise ConfigError(problems)
    except ConfigError as exc:
        print("courierd: the configuration cannot be used:", file=sys.stderr)
        for problem in exc.problems:
            print(f"  - {problem}", file=sys.stderr)
        return None
    return settings, origins


def _check_config(config: str | None) -> int:
    loaded = _load(config)
    if loaded is None:
        return EXIT_CONFIG
    settings, origins = loaded
    for line in describe(settings, origins):
        print(line)
    selector = TransportSelector(
        settings.odoo_transport,
        url=settings.odoo_url,
        db=settings.odoo_db,
        has_password=settings.odoo_password is not None,
        api_key=settings.odoo_api_key,
        timeout=min(settings.odoo_timeout, 10.0),
    )
    print(f"Odoo transport: {selector.explain()}")
    return EXIT_OK


def _check_mapping(path: Path, kind: MappingKind | None) -> int:
    kind = kind or infer_kind(path)
    if kind is None:
        print(
            f"courierd: {path}: the file name does not say which mapping it is "
            "(events*.yaml or messages*.yaml): give --kind events or --kind messages",
            file=sys.stderr,
        )
        return EXIT_CONFIG
    try:
        print(check_mapping(path, kind))
    except MappingError as exc:
        print(f"courierd: the {kind} mapping cannot be used:", file=sys.stderr)
        for problem in exc.problems:
            print(f"  - {problem}", file=sys.stderr)
        return EXIT_CONFIG
    return EXIT_OK


def _run(config: str | None) -> int:
    from courierd.daemon import install_signal_handlers, run_daemon
    from courierd.ops import logs

    loaded = _load(config)
    if loaded is None:
        return EXIT_CONFIG
    settings, _ = loaded
    logs.configure(settings.log_level, settings.log_format)
    stop = threading.Event()
    install_signal_handlers(stop)
    return run_daemon(settings, stop)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in _DELEGATED:
        try:
            return _run_delegated(argv[0], argv[1:])
        except KeyboardInterrupt:
            return EXIT_OK
    args = build_parser().parse_args(argv)
    try:
        if args.command == "check-config":
            return _check_config(args.config)
        if args.command == "mappings":
            return _check_mapping(args.file, args.kind)
        return _run(args.config)
    except KeyboardInterrupt:
        return EXIT_OK
    except Exception as exc:
        print(f"courierd: unexpected error: {exc!r}", file=sys.stderr)
        return EXIT_UNEXPECTED


if __name__ == "__main__":
    sys.exit(main())
