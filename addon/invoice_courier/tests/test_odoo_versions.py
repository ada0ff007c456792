# Copyright 2026 Invoice Courier
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo.tests import TransactionCase, tagged

from ..compat import GROUPS_FIELD, ODOO_VERSION


@tagged("post_install", "-at_install")
class TestOdooVersions(TransactionCase):
    """What compat.py decides per Odoo series is in the database, in 18 as in 19."""

    def test_unique_constraints_are_in_the_database(self):
        # Odoo 19 ignores _sql_constraints (a warning only): the constraints must come
        # from models.Constraint there, under the same names as in 18.
        self.env.cr.execute(
            "SELECT conname FROM pg_constraint WHERE conname IN %s ORDER BY conname",
            [("courier_dispatch_custom_id_unique", "courier_event_dedupe_key_unique")],
        )
        self.assertEqual(
            [name for (name,) in self.env.cr.fetchall()],
            ["courier_dispatch_custom_id_unique", "courier_event_dedupe_key_unique"],
        )

    def test_bulk_send_action_is_for_invoicing_users(self):
        action = self.env.ref("invoice_courier.action_server_courier_bulk_send")
        self.assertEqual(action[GROUPS_FIELD], self.env.ref("account.group_account_invoice"))

    def test_daemon_group_is_kept_out_of_the_user_form(self):
        group = self.env.ref("invoice_courier.group_courier_daemon")
        if ODOO_VERSION < 19:
            self.assertEqual(group.category_id, self.env.ref("base.module_category_hidden"))
        else:
            # As Odoo 19 left its own technical groups: no privilege.
            self.assertFalse(group.privilege_id)
