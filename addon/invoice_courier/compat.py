# Copyright 2026 Invoice Courier
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The one place where the addon tells Odoo 18.0 from Odoo 19.0.

One source serves both series. Where their APIs part, the code uses what
both accept; what neither shares is decided here, from the running Odoo:

- unique constraints: `_sql_constraints` (18) or `models.Constraint` (19,
  which ignores `_sql_constraints` with a warning);
- the field restricting a group's users or an action: `groups_id` (18) or
  `group_ids` (19);
- `res.groups.category_id` (18) is gone in 19 (`privilege_id`): the daemon's
  group is hidden from the user form under 18's "Technical" category, and in
  19 has no privilege, as Odoo 19 left its own technical groups.

The two data differences are written by `apply_version_data` at install
(`post_init_hook`), as the XML files cannot name a field only one series has.
"""

from odoo import release

ODOO_VERSION = release.version_info[0]
# models.Constraint exists from 19.0 on.
MODEL_CONSTRAINTS = ODOO_VERSION >= 19
# res.users.groups_id / ir.actions.*.groups_id became group_ids in 19.0.
GROUPS_FIELD = "group_ids" if ODOO_VERSION >= 19 else "groups_id"


def apply_version_data(env):
    """Hide the daemon's group (18) and keep the bound actions for invoicing users."""
    if ODOO_VERSION < 19:
        env.ref("invoice_courier.group_courier_daemon").category_id = env.ref(
            "base.module_category_hidden"
        )
    for action in ("action_server_courier_bulk_send", "action_server_odoo_send_and_print"):
        env.ref(f"invoice_courier.{action}")[GROUPS_FIELD] = [
            (4, env.ref("account.group_account_invoice").id)
        ]
