"""The addon as OCA publishes addons: README.rst from readme/, a whool wheel Odoo finds.

The wheel test builds `odoo-addon-invoice_courier` with whool (the dev extras
install it) for Odoo 18.0, from the copy scripts/addon_for_series.py makes (the
source's manifest version has no series, and whool takes it from there), and
reads the archive. With an Odoo 18 at $ODOO_HOME (default
/opt/odoo18) it also installs the wheel into a throwaway venv made from
Odoo's python with --system-site-packages (never into Odoo's own venv) and
asks Odoo where the module is: the wheel's copy under site-packages, with no
addons-path entry. Odoo's own packages reach the throwaway venv through a .pth
file, read-only.
"""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.support.processes import ROOT

ADDON = ROOT / "addon" / "invoice_courier"
WHEEL_NAME = "odoo-addon-invoice_courier"
MANIFEST_IN_WHEEL = "odoo/addons/invoice_courier/__manifest__.py"
# Where Odoo finds the module: get_module_path() looks only in odoo.addons.__path__,
# which holds every site-packages' odoo/addons (and no addons path is configured here).
FIND_MODULE = (
    "import odoo.addons, odoo.modules.module as m; "
    "print(m.get_module_path('invoice_courier', display_warning=False) or '')"
)


def run(args: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, timeout=300, check=False, **kwargs)


def test_readme_rst_is_generated_from_the_fragments() -> None:
    done = run([sys.executable, str(ROOT / "scripts/gen_addon_readme.py"), "--check", str(ADDON)])
    assert done.returncode == 0, done.stderr
    for fragment in ("DESCRIPTION.md", "CONFIGURE.md", "USAGE.md", "CONTRIBUTORS.md"):
        assert (ADDON / "readme" / fragment).is_file(), fragment


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    series_copy = tmp_path_factory.mktemp("addon-18.0")
    copied = run(
        [sys.executable, str(ROOT / "scripts/addon_for_series.py"), "18.0", str(series_copy)]
    )
    assert copied.returncode == 0, copied.stderr
    build = [
        "wheel",
        "--no-deps",
        "--no-build-isolation",
        "-q",
        "-w",
        str(out),
        copied.stdout.strip(),
    ]
    done = run([sys.executable, "-m", "pip", *build])
    assert done.returncode == 0, f"whool could not build the wheel:\n{done.stdout}{done.stderr}"
    [built] = out.glob("*.whl")
    return built


def test_wheel_is_the_oca_addon_package(wheel: Path) -> None:
    assert wheel.name.startswith("odoo_addon_invoice_courier-18.0."), wheel.name
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        [metadata] = [name for name in names if name.endswith(".dist-info/METADATA")]
        headers = archive.read(metadata).decode()
    assert f"Name: {WHEEL_NAME}\n" in headers
    assert "Requires-Dist: odoo==18.0.*" in headers
    assert MANIFEST_IN_WHEEL in names
    assert "odoo/addons/invoice_courier/security/ir.model.access.csv" in names
    assert not [name for name in names if "__pycache__" in name]


def odoo_home() -> Path | None:
    home = Path(os.environ.get("ODOO_HOME", "/opt/odoo18"))
    ready = (home / "src" / "odoo-bin").is_file() and os.access(home / "venv/bin/python", os.X_OK)
    return home if ready else None


def test_wheel_installs_into_an_odoo_venv_and_odoo_finds_it(wheel: Path, tmp_path: Path) -> None:
    home = odoo_home()
    if home is None:
        pytest.skip("no Odoo 18 at $ODOO_HOME or /opt/odoo18: the wheel was built, not installed")
    venv = tmp_path / "venv"
    made = run([str(home / "venv/bin/python"), "-m", "venv", "--system-site-packages", str(venv)])
    assert made.returncode == 0, made.stderr
    python = venv / "bin" / "python"
    purelib = "import sysconfig; print(sysconfig.get_path('purelib'))"
    site_packages = Path(run([str(python), "-c", purelib]).stdout.strip())
    # A venv made from a venv's python sees the base python's packages, not the
    # Odoo venv's: a .pth lends it those (babel, lxml...) without touching that venv.
    odoo_packages = run([str(home / "venv/bin/python"), "-c", purelib]).stdout.strip()
    (site_packages / "odoo-venv.pth").write_text(odoo_packages + "\n")
    # --no-deps: the odoo requirement is Odoo itself, present from source, not as a distribution.
    installed = run([str(python), "-m", "pip", "install", "--no-deps", "--no-index", str(wheel)])
    assert installed.returncode == 0, installed.stderr
    wheel_copy = site_packages / "odoo" / "addons" / "invoice_courier"
    assert (wheel_copy / "__manifest__.py").is_file()
    # Odoo from its source tree, the addon from nowhere but the venv's site-packages.
    found = run(
        [str(python), "-c", FIND_MODULE],
        env={**os.environ, "PYTHONPATH": str(home / "src")},
        cwd=tmp_path,
    )
    assert found.returncode == 0, found.stderr
    assert Path(found.stdout.strip()) == wheel_copy
