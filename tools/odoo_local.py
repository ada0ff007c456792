"""A local Odoo with invoice_courier: find it, install the addon, serve it, set it up.

Shared by the test fixtures (tests/support/odoo.py) and the demo
(tools/demo.py). The project never installs Odoo: it uses the one found at
each supported version's home (`ODOO_VERSIONS`: Odoo 18 at `$ODOO_HOME`, else
/opt/odoo18; Odoo 19 at `$ODOO19_HOME`, else /opt/odoo19), holding
`src/odoo-bin` and `venv/bin/python`, and the PostgreSQL that lets the
`courier_odoo` role in (COURIER_PG_HOST/PORT/USER/PASSWORD;
scripts/start-postgres.sh starts it and creates the role).

`detect_odoo` tells apart an Odoo that is absent (`OdooNotInstalled`: tests
may skip) from one that is there but cannot work (`OdooNotRunnable`: its
python, its packages, or PostgreSQL refuse; tests must fail, saying what to
fix), so a broken machine never passes for a machine without Odoo.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import odoorpc

ROOT = Path(__file__).resolve().parents[1]
ADDONS_DIR = ROOT / "addon"
MODULE = "invoice_courier"
DAEMON_GROUP = "group_courier_daemon"  # in MODULE: the RPC contract and nothing else
# Installed with MODULE: Odoo's demo payment provider, so an invoice's "Pay Now" works.
PAYMENT_DEMO = "payment_demo"


class OdooStartError(RuntimeError):
    """odoo-bin exited at start or did not answer in time; the message says which."""


class OdooUnavailable(RuntimeError):
    """No usable Odoo of a version here; the message says what is missing or broken."""


class OdooNotInstalled(OdooUnavailable):
    """Nothing at the version's home: the tests that need it skip (unless required)."""


class OdooNotRunnable(OdooUnavailable):
    """An Odoo is there but it, or the PostgreSQL it needs, does not work: a failure."""


# ------------------------------------------------------------------ versions


@dataclass(frozen=True)
class OdooVersion:
    """A supported Odoo major version: where to find it, and the switch that requires it."""

    key: str  # "odoo18": test ids and the test summary use it
    major: int
    home_variable: str  # overrides default_home
    default_home: Path
    require_variable: str  # =1: the tests that need this Odoo fail instead of skipping

    @property
    def label(self) -> str:
        return f"Odoo {self.major}"

    def home(self) -> Path:
        return Path(os.environ.get(self.home_variable) or self.default_home)

    def required(self) -> bool:
        return os.environ.get(self.require_variable) == "1"


ODOO_VERSIONS: dict[str, OdooVersion] = {
    version.key: version
    for version in (
        OdooVersion("odoo18", 18, "ODOO_HOME", Path("/opt/odoo18"), "COURIER_REQUIRE_ODOO"),
        OdooVersion("odoo19", 19, "ODOO19_HOME", Path("/opt/odoo19"), "COURIER_REQUIRE_ODOO19"),
    )
}
DEFAULT_VERSION = "odoo18"  # what the functions below look for unless told another


# --------------------------------------------------------------- environment


@dataclass(frozen=True)
class OdooEnv:
    home: Path
    python: Path
    odoo_bin: Path
    pg_host: str
    pg_port: int
    pg_user: str
    pg_password: str
    version: OdooVersion = ODOO_VERSIONS[DEFAULT_VERSION]

    @property
    def addons_path(self) -> str:
        """Odoo's addons and ours. A packaged tree (Odoo 18's here) has them all in
        src/odoo/addons; a git checkout (Odoo 19's) only base there, the rest in src/addons."""
        src = self.home / "src"
        packaged = (src / "odoo" / "addons" / "account").is_dir()
        paths = [src / "odoo" / "addons"] if packaged else [src / "addons", src / "odoo" / "addons"]
        return ",".join(str(path) for path in [*paths, ADDONS_DIR])

    def base_args(self, db: str, data_dir: Path) -> list[str]:
        return [
            str(self.python),
            str(self.odoo_bin),
            f"--addons-path={self.addons_path}",
            f"--data-dir={data_dir}",
            f"--database={db}",
            f"--db_host={self.pg_host}",
            f"--db_port={self.pg_port}",
            f"--db_user={self.pg_user}",
            f"--db_password={self.pg_password}",
            # No demo data: Odoo 19's default, 18 is told (its --without-demo takes modules).
            *(["--without-demo=all"] if self.version.major < 19 else []),
        ]

    def environ(self) -> dict[str, str]:
        # wkhtmltopdf ships in Odoo's venv/bin: Odoo finds it on PATH.
        path = f"{self.python.parent}{os.pathsep}{os.environ.get('PATH', '')}"
        return {**os.environ, "PATH": path}

    def sql(self, statement: str, db: str = "postgres") -> subprocess.CompletedProcess[str]:
        """One statement through Odoo's own psycopg2 (autocommit); rows printed one a line."""
        code = (
            "import sys, psycopg2\n"
            "c = psycopg2.connect(host=sys.argv[1], port=sys.argv[2], user=sys.argv[3],"
            " password=sys.argv[4], dbname=sys.argv[5], connect_timeout=5)\n"
            "c.autocommit = True\n"
            "cur = c.cursor()\n"
            "cur.execute(sys.argv[6])\n"
            "for row in (cur.fetchall() if cur.description else []):\n"
            "    print(*row, sep='\\t')\n"
        )
        return subprocess.run(
            [str(self.python), "-c", code, self.pg_host, str(self.pg_port), self.pg_user,
             self.pg_password, db, statement],
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip


def odoo_home(version: str = DEFAULT_VERSION) -> Path:
    return ODOO_VERSIONS[version].home()


def missing_odoo(version: str = DEFAULT_VERSION) -> str | None:
    """None when an Odoo of `version` is at its home, else one line saying what is missing."""
    spec = ODOO_VERSIONS[version]
    home = spec.home()
    if (home / "src" / "odoo-bin").is_file():
        return None
    return (
        f"no {spec.label} at {home} (needs src/odoo-bin and venv/bin/python; "
        f"set {spec.home_variable})"
    )


def detect_odoo(version: str = DEFAULT_VERSION, home: Path | None = None) -> OdooEnv:
    """The Odoo of `version` (at `home`, else the version's home) and the PostgreSQL
    to use, checked to work.

    Raises OdooNotInstalled when there is no Odoo at the version's home, and
    OdooNotRunnable when there is one that cannot run (its python or its
    packages), is another version, or cannot reach PostgreSQL with the
    configured role and password. Each message says what to fix.
    """
    spec = ODOO_VERSIONS[version]
    if home is None:
        missing = missing_odoo(version)
        if missing:
            raise OdooNotInstalled(missing)
        home = spec.home()
    env = OdooEnv(
        home=home,
        python=home / "venv" / "bin" / "python",
        odoo_bin=home / "src" / "odoo-bin",
        pg_host=os.environ.get("COURIER_PG_HOST", "127.0.0.1"),
        pg_port=int(os.environ.get("COURIER_PG_PORT", "5432")),
        pg_user=os.environ.get("COURIER_PG_USER", "courier_odoo"),
        pg_password=os.environ.get("COURIER_PG_PASSWORD", "courier_odoo"),
        version=spec,
    )
    _check_runs(env)
    _check_postgres(env)
    return env


def detect_odoo_at(home: Path) -> OdooEnv:
    """The Odoo at `home`, whichever supported version it is (the demo's $ODOO_HOME)."""
    python, odoo_bin = home / "venv" / "bin" / "python", home / "src" / "odoo-bin"
    if not odoo_bin.is_file():
        raise OdooNotInstalled(f"no Odoo at {home} (needs src/odoo-bin and venv/bin/python)")
    try:
        said = subprocess.run(
            [str(python), str(odoo_bin), "--version"],
            capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise OdooNotRunnable(f"cannot run Odoo's python {python}: {exc}") from exc
    found = re.search(r"(\d+)\.\d+", said.stdout)
    major = int(found[1]) if found else None
    spec = next((v for v in ODOO_VERSIONS.values() if v.major == major), None)
    if spec is None:
        supported = " and ".join(v.label for v in ODOO_VERSIONS.values())
        answer = said.stdout.strip() or _error_line(said.stderr)
        raise OdooNotRunnable(
            f"`odoo-bin --version` at {home} says {answer!r}: invoice_courier supports {supported}"
        )
    return detect_odoo(spec.key, home)


def find_odoo(version: str = DEFAULT_VERSION) -> OdooEnv | str:
    """`detect_odoo`, or its one line when there is no usable Odoo (the demo stops on it)."""
    try:
        return detect_odoo(version)
    except OdooUnavailable as exc:
        return str(exc)


def _check_runs(env: OdooEnv) -> None:
    """odoo-bin starts with the venv's python (all its packages import) and is `env.version`."""
    spec = env.version
    setup = f"(set up the venv as docs/odoo-setup.md says, or point {spec.home_variable} elsewhere)"
    if not os.access(env.python, os.X_OK):
        raise OdooNotRunnable(
            f"{spec.label} found at {env.home} but {env.python} is missing or not executable "
            + setup
        )
    try:
        probe = subprocess.run(
            [str(env.python), str(env.odoo_bin), "--version"],
            capture_output=True, text=True, timeout=120, check=False, env=env.environ(),
        )  # fmt: skip
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise OdooNotRunnable(f"cannot run Odoo's python {env.python}: {exc} {setup}") from exc
    if probe.returncode != 0:
        raise OdooNotRunnable(
            f"{spec.label} at {env.home} does not start: `odoo-bin --version` exited with "
            f"{probe.returncode}: {_error_line(probe.stderr)} {setup}"
        )
    found = re.search(r"(\d+)\.\d+", probe.stdout)
    if found is None or int(found[1]) != spec.major:
        said = probe.stdout.strip() or "nothing"
        raise OdooNotRunnable(
            f"{env.home} should hold {spec.label} but `odoo-bin --version` says {said!r} "
            f"(point {spec.home_variable} at an {spec.label})"
        )


def _check_postgres(env: OdooEnv) -> None:
    """The configured role logs in to PostgreSQL through Odoo's own psycopg2."""
    where = f"PostgreSQL at {env.pg_host}:{env.pg_port}"
    try:
        probe = env.sql("SELECT 1")
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise OdooNotRunnable(f"cannot run Odoo's python {env.python}: {exc}") from exc
    if probe.returncode == 0:
        return
    reason = _error_line(probe.stderr)
    if re.search(r'authentication failed|role ".*" does not exist|pg_hba\.conf', reason):
        raise OdooNotRunnable(
            f"{where} refuses role {env.pg_user}: {reason} (set COURIER_PG_PASSWORD to that "
            "role's password, or leave COURIER_PG_USER/COURIER_PG_PASSWORD unset for "
            "courier_odoo/courier_odoo, the role scripts/start-postgres.sh creates)"
        )
    raise OdooNotRunnable(
        f"{where} cannot be used by role {env.pg_user}: {reason} (start it with "
        f"scripts/start-postgres.sh, or set COURIER_PG_HOST/COURIER_PG_PORT to one that runs)"
    )


def _error_line(stderr: str) -> str:
    """The exception line of a traceback ("psycopg2.OperationalError: ..."), not hints after it."""
    lines = [line.strip() for line in stderr.strip().splitlines() if line.strip()] or [
        "no error output"
    ]
    return next((line for line in reversed(lines) if "Error" in line), lines[-1])


# ------------------------------------------------------------------ database


def install_module(
    env: OdooEnv,
    db: str,
    data_dir: Path,
    log: IO[bytes],
    extra_args: Sequence[str] = (),
    timeout: float = 15 * 60,
    modules: Sequence[str] = (MODULE, PAYMENT_DEMO),
) -> int:
    """Create `db` with `modules` installed (odoo-bin --init, then stop); odoo-bin's exit code.

    MODULE, and Odoo's demo payment provider (PAYMENT_DEMO, disabled until
    `enable_demo_payment`): the invoice's "Pay Now" needs a provider. Without a
    country on the company, installing `account` loads Odoo's generic chart of
    accounts, so invoices can be posted right away.
    """
    init = f"--init={','.join(modules)}"
    completed = subprocess.run(
        [*env.base_args(db, data_dir), init, "--stop-after-init", *extra_args],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env.environ(),
        timeout=timeout,
        check=False,
    )
    return completed.returncode


def module_installed(env: OdooEnv, db: str) -> bool:
    probe = env.sql(
        f"DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM ir_module_module WHERE name = '{MODULE}'"
        " AND state = 'installed') THEN RAISE EXCEPTION 'not installed'; END IF; END $$",
        db=db,
    )
    return probe.returncode == 0


def list_databases(env: OdooEnv, prefix: str) -> list[str]:
    """Databases whose name starts with `prefix` (letters, digits and underscores only)."""
    if not prefix.replace("_", "").isalnum():
        raise ValueError(f"unexpected database prefix {prefix!r}")
    listed = env.sql(
        f"SELECT datname FROM pg_database WHERE starts_with(datname, '{prefix}') ORDER BY 1"
    )
    return listed.stdout.split() if listed.returncode == 0 else []


def drop_database(env: OdooEnv, db: str, data_dir: Path | None = None) -> str | None:
    """Drop `db` (and `data_dir`); None when done, else PostgreSQL's last error line."""
    for _attempt in range(3):
        dropped = env.sql(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
        if dropped.returncode == 0:
            break
        time.sleep(1)
    else:
        return _error_line(dropped.stderr)
    if data_dir is not None:
        shutil.rmtree(data_dir, ignore_errors=True)
    return None


# -------------------------------------------------------------------- server


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
        return True


def free_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def http_status(url: str, timeout: float = 5) -> int:
    """The HTTP status of a GET, 0 when nothing answers."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)
    except OSError:
        return 0


def start_server(
    env: OdooEnv,
    db: str,
    data_dir: Path,
    port: int,
    log: IO[bytes],
    *,
    log_level: str = "warn",
    **popen_options: Any,
) -> subprocess.Popen[bytes]:
    """odoo-bin serving only `db` on 127.0.0.1:`port` (threaded, no cron).

    `popen_options` go to Popen as they are (the demo's process group).
    """
    return subprocess.Popen(
        [
            *env.base_args(db, data_dir),
            f"--db-filter=^{db}$",
            "--http-interface=127.0.0.1",
            f"--http-port={port}",
            "--workers=0",
            "--max-cron-threads=0",
            f"--log-level={log_level}",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env.environ(),
        **popen_options,
    )


def wait_for_server(
    process: subprocess.Popen[bytes], url: str, timeout: float, log_path: Path
) -> None:
    """Return once `url`/web/health answers 200; OdooStartError if it exits or never does."""
    deadline = time.monotonic() + timeout
    while http_status(url + "/web/health") != 200:
        if process.poll() is not None:
            raise OdooStartError(f"odoo-bin exited with {process.returncode}; log: {log_path}")
        if time.monotonic() > deadline:
            raise OdooStartError(
                f"gave up after {timeout:.0f}s waiting for Odoo at {url} (log: {log_path})"
            )
        time.sleep(0.2)


def stop_process(process: subprocess.Popen[Any], timeout: float = 30) -> int:
    """SIGTERM (odoo-bin and courierd stop gracefully on it), SIGKILL after `timeout`."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout)
    return int(process.returncode)


# --------------------------------------------------------------------- setup


def rpc_login(url: str, db: str, login: str, password: str) -> odoorpc.ODOO:
    port = int(url.rsplit(":", 1)[1])
    odoo = odoorpc.ODOO("127.0.0.1", protocol="jsonrpc", port=port, timeout=300)
    odoo.login(db, login, password)
    return odoo


def point_urls_at(odoo: odoorpc.ODOO, url: str) -> None:
    """Links in emails and wkhtmltopdf's asset requests must reach this server."""
    params = odoo.env["ir.config_parameter"]
    for key in ("web.base.url", "report.url"):
        params.set_param(key, url)
    params.set_param("web.base.url.freeze", "True")


def configure_sender(
    odoo: odoorpc.ODOO, email: str, name: str, company_values: dict[str, Any] | None = None
) -> int:
    """The current company sends from `email` as `name`; its id."""
    company_id = int(odoo.env.user.company_id.id)
    values = {"email": email, "courier_sender_email": email, "courier_sender_name": name}
    odoo.execute("res.company", "write", [company_id], {**values, **(company_values or {})})
    return company_id


def enable_demo_payment(odoo: odoorpc.ODOO) -> int:
    """Odoo's demo payment provider, enabled in test mode and shown to customers; its id.

    The invoice's web document then offers "Pay Now": a fake card, no money.
    """
    [provider_id] = odoo.execute("payment.provider", "search", [("code", "=", "demo")])
    odoo.execute(
        "payment.provider", "write", [provider_id], {"state": "test", "is_published": True}
    )
    return int(provider_id)


def install_language(odoo: odoorpc.ODOO, code: str) -> None:
    """Activate `code` and load every installed module's translations (the addon's fr.po too)."""
    lang_ids = odoo.execute_kw(
        "res.lang", "search", [[("code", "=", code), ("active", "in", [True, False])]]
    )
    if not lang_ids:
        raise ValueError(f"Odoo knows no language {code}")
    wizard = odoo.execute(
        "base.language.install", "create", {"lang_ids": [(6, 0, lang_ids)], "overwrite": True}
    )
    odoo.execute("base.language.install", "lang_install", [wizard])


def create_accountant(
    odoo: odoorpc.ODOO, name: str, login: str, password: str, lang: str, groups: Sequence[str]
) -> int:
    """An internal user in `lang` with `groups` (xml ids), UTC; its id."""
    group_ids = []
    for xmlid in groups:
        module, group = xmlid.split(".")
        [row] = odoo.execute(
            "ir.model.data",
            "search_read",
            [("module", "=", module), ("name", "=", group)],
            ["res_id"],
        )
        group_ids.append(row["res_id"])
    return int(
        odoo.execute(
            "res.users",
            "create",
            {
                "name": name,
                "login": login,
                "password": password,
                "lang": lang,
                "tz": "UTC",
                groups_field(odoo): [(4, group_id) for group_id in group_ids],
            },
        )
    )


def groups_field(odoo: odoorpc.ODOO) -> str:
    """res.users' field of its groups: groups_id until Odoo 18, group_ids from 19."""
    return "group_ids" if int(odoo.version.split(".")[0]) >= 19 else "groups_id"


def create_daemon_user(odoo: odoorpc.ODOO, login: str, password: str) -> int:
    """The Courier daemon user: the RPC contract, nothing else."""
    [group] = odoo.execute(
        "ir.model.data",
        "search_read",
        [("module", "=", MODULE), ("name", "=", DAEMON_GROUP)],
        ["res_id"],
    )
    return int(
        odoo.execute(
            "res.users",
            "create",
            {
                "name": "Courier daemon",
                "login": login,
                "password": password,
                groups_field(odoo): [(6, 0, [group["res_id"]])],
            },
        )
    )


def create_daemon_api_key(odoo: odoorpc.ODOO, user_id: int, name: str = "courierd") -> str:
    """A new API key of the Courier daemon user, without expiration; the key itself.

    Odoo makes keys in res.users.apikeys._generate, which RPC cannot call
    (private), for the user of the environment, and lets only internal users
    make their own: as admin, a one-off server action runs it for that user, in
    sudo (no expiration then), and hands the key back. Scope "rpc": what JSON-2
    and JSON-RPC check. Odoo 18 and 19 alike (docs/odoo-versions.md).
    """
    [model_id] = odoo.execute("ir.model", "search", [("model", "=", "res.users")])
    action_id = odoo.execute(
        "ir.actions.server",
        "create",
        {
            "name": "invoice_courier: API key of the Courier daemon user",
            "model_id": model_id,
            "state": "code",
            "code": (
                "key = env['res.users.apikeys'].with_user(record).sudo()"
                f"._generate('rpc', {name!r}, False)\n"
                "action = {'type': 'ir.actions.act_window_close', 'infos': {'key': key}}"
            ),
        },
    )
    try:
        context = {"active_model": "res.users", "active_id": user_id, "active_ids": [user_id]}
        answer = odoo.execute_kw("ir.actions.server", "run", [[action_id]], {"context": context})
    finally:
        odoo.execute("ir.actions.server", "unlink", [action_id])
    return str(answer["infos"]["key"])
