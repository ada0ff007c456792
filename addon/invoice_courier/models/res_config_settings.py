# Copyright 2026 Invoice Courier
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import api, fields, models

WEBHOOK_URL_FIELD = "courier_webhook_url"


class ResConfigSettings(models.TransientModel):
    _inherit = "res.config.settings"

    courier_sender_email = fields.Char(related="company_id.courier_sender_email", readonly=False)
    courier_sender_name = fields.Char(related="company_id.courier_sender_name", readonly=False)
    courier_track_opens = fields.Boolean(related="company_id.courier_track_opens", readonly=False)
    courier_track_clicks = fields.Boolean(related="company_id.courier_track_clicks", readonly=False)
    courier_link_only = fields.Boolean(related="company_id.courier_link_only", readonly=False)
    courier_replace_odoo_send = fields.Boolean(
        related="company_id.courier_replace_odoo_send", readonly=False
    )
    courier_one_email_to_all = fields.Boolean(
        related="company_id.courier_one_email_to_all", readonly=False
    )
    # Set by whoever deploys courierd (system parameter invoice_courier.webhook_url);
    # shown here so the administrator can paste it into Mailjet. It carries the
    # webhook password: settings administrators only.
    courier_webhook_url = fields.Char(
        string="Mailjet webhook URL",
        config_parameter="invoice_courier.webhook_url",
        readonly=True,
        groups="base.group_system",
    )

    @api.model
    def default_get(self, fields_list):
        # default_get reads config parameters as superuser for any field asked
        # for by name, whatever the field's groups: keep the secret out of it.
        values = super().default_get(fields_list)
        if not (self.env.su or self.env.user.has_group("base.group_system")):
            values.pop(WEBHOOK_URL_FIELD, None)
        return values
