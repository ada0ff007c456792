# Copyright 2026 Invoice Courier
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import fields, models


class ResCompany(models.Model):
    _inherit = "res.company"

    courier_sender_email = fields.Char(
        string="Invoice sender address",
        help="From address of invoices sent through Mailjet; it must be a sender "
        "validated in Mailjet. Empty: the company's email.",
    )
    courier_sender_name = fields.Char(
        string="Invoice sender name", help="Name shown as sender. Empty: the company's name."
    )
    courier_track_opens = fields.Boolean(string="Track opens", default=True)
    courier_track_clicks = fields.Boolean(string="Track clicks", default=True)
    courier_link_only = fields.Boolean(
        string="Send the link only",
        default=False,
        help="Invoice emails carry the link to the web document instead of the PDF. "
        "The customer downloads the PDF there; it is made when first asked for.",
    )
