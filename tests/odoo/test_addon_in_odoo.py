"""The addon's own Odoo tests, run by the single install of the session database."""

from __future__ import annotations

from tests.support.odoo import OdooInstall


def test_addon_odoo_tests_ran_and_passed(odoo_install: OdooInstall) -> None:
    assert odoo_install.summary_found, odoo_install.describe()
    assert odoo_install.tests > 0, odoo_install.describe()
    assert odoo_install.failed == 0 and odoo_install.errors == 0, odoo_install.describe()
    assert odoo_install.returncode == 0, odoo_install.describe()
