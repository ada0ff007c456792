# Copyright 2026 Invoice Courier
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""A shorter wkhtmltopdf wait for the invoice PDFs Invoice Courier has made.

Odoo passes wkhtmltopdf `--javascript-delay` of `report.print_delay` (1000 ms
when no one set it): after each page has loaded, a second of waiting before
printing, for reports whose scripts draw late. An invoice's layout runs its
scripts (page numbers in the header and footer) while loading, so the second is
pure wait, and for a single invoice it is most of what the customer's first
send waits for. The renders Invoice Courier asks for (context key
`courier_render`: the daemon's render calls, the portal's link-only PDF) wait
`invoice_courier.print_delay` milliseconds instead (default 100). When an
administrator has set `report.print_delay`, that choice stands for these
renders too.
"""

from odoo import models

PRINT_DELAY_PARAM = "invoice_courier.print_delay"
DEFAULT_PRINT_DELAY_MS = 100
DELAY_ARG = "--javascript-delay"


class IrActionsReport(models.Model):
    _inherit = "ir.actions.report"

    def _build_wkhtmltopdf_args(self, *args, **kwargs):
        command_args = super()._build_wkhtmltopdf_args(*args, **kwargs)
        if not self.env.context.get("courier_render") or DELAY_ARG not in command_args:
            return command_args
        params = self.env["ir.config_parameter"].sudo()
        if params.get_param("report.print_delay"):
            return command_args
        try:
            delay = max(0, int(params.get_param(PRINT_DELAY_PARAM, DEFAULT_PRINT_DELAY_MS)))
        except (TypeError, ValueError):
            delay = DEFAULT_PRINT_DELAY_MS
        command_args = list(command_args)
        command_args[command_args.index(DELAY_ARG) + 1] = str(delay)
        return command_args
