# Copyright 2026 Invoice Courier
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The common mail domains the typo guard compares typed addresses with.

Shipped as data (data/courier_mail_domain_data.xml) and edited by an
administrator: a legitimate domain flagged as a typo of a common one stops
being flagged once it is added here.
"""

from odoo import _, api, fields, models
from odoo.exceptions import ValidationError

from ..compat import MODEL_CONSTRAINTS
from ..tools.address_typos import suggest_address
from ..tools.email_address import normalize_strict


class CourierMailDomain(models.Model):
    _name = "courier.mail.domain"
    _description = "Common mail domain"
    _order = "sequence, name, id"

    name = fields.Char(
        string="Domain",
        required=True,
        help="A mail domain many customers use, such as gmail.com. An address whose domain "
        "is one typing mistake away from it is flagged before sending.",
    )
    sequence = fields.Integer(
        default=10, help="When a domain is one mistake away from several, the first is suggested."
    )
    active = fields.Boolean(default=True)

    if MODEL_CONSTRAINTS:
        _name_unique = models.Constraint("unique(name)", "This domain is already in the list.")
    else:
        _sql_constraints = [("name_unique", "unique(name)", "This domain is already in the list.")]

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            if isinstance(vals.get("name"), str):
                vals["name"] = vals["name"].strip().lower()
        return super().create(vals_list)

    def write(self, vals):
        if isinstance(vals.get("name"), str):
            vals["name"] = vals["name"].strip().lower()
        return super().write(vals)

    @api.constrains("name")
    def _check_name(self):
        for domain in self:
            if not normalize_strict(f"postmaster@{domain.name}"):
                raise ValidationError(
                    _("%(domain)s is not a mail domain (e.g. gmail.com).", domain=domain.name)
                )

    @api.model
    def _courier_common_domains(self):
        """The active domains, in suggestion order (as superuser: every user's check reads them)."""
        return self.sudo().search([]).mapped("name")

    @api.model
    def _courier_typo_suggestions(self, addresses):
        """{address: the address with its domain corrected} for the addresses that look mistyped."""
        common = self._courier_common_domains()
        suggestions = {}
        for address in addresses:
            suggestion = suggest_address(address, common)
            if suggestion:
                suggestions[address] = suggestion
        return suggestions
