# Copyright 2026 Invoice Courier
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import fields, models


class ResConfigSettings(models.TransientModel):
    _inherit = "res.config.settings"

    courier_sender_email = fields.Char(related="company_id.courier_sender_email", readonly=False)
    courier_sender_name = fields.Char(related="company_id.courier_sender_name", readonly=False)
    courier_track_opens = fields.Boolean(related="company_id.courier_track_opens", readonly=False)
    courier_track_clicks = fields.Boolean(related="company_id.courier_track_clicks", readonly=False)
    # Set by whoever deploys courierd (system parameter invoice_courier.webhook_url);
    # shown here so the accountant can paste it into Mailjet.
    courier_webhook_url = fields.Char(
        string="Mailjet webhook URL",
        config_parameter="invoice_courier.webhook_url",
        readonly=True,
    )
