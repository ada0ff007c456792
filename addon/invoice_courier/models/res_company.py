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
    courier_replace_odoo_send = fields.Boolean(
        string="Send only through Invoice Courier",
        default=True,
        help="Hide Odoo's own Send on customer invoices and credit notes: the envelope "
        "(Send by email) is the one way to email them. Odoo's Print & Send window stays "
        "in the Actions menu, for printing and electronic invoices.",
    )
    courier_one_email_to_all = fields.Boolean(
        string="One email to all recipients",
        help="Send one email listing every recipient in To:. Off: each recipient gets "
        "their own email (own message, own tracking) and sees no other address.",
    )
    courier_link_only = fields.Boolean(
        string="Send the link only",
        default=False,
        help="Invoice emails carry the link to the web document instead of the PDF. "
        "The customer downloads the PDF there; it is made when first asked for.",
    )
