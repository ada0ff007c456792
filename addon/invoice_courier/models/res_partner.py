# Copyright 2026 Invoice Courier
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The typo guard on saved contacts: a banner on the contact form."""

from odoo import api, fields, models


class ResPartner(models.Model):
    _inherit = "res.partner"

    courier_email_warning = fields.Html(
        string="Email address warning",
        compute="_compute_courier_email_warning",
        groups="base.group_user",
        help="The address looks mistyped, or an invoice email to it hard-bounced.",
    )

    @api.depends("email")
    def _compute_courier_email_warning(self):
        check = self.env["courier.address.check"]
        intro = self.env._("Check this email address:")
        for partner in self:
            partner.courier_email_warning = (
                check._courier_warnings_html([partner.email], intro) if partner.email else False
            )
