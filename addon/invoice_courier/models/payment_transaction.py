# Copyright 2026 Invoice Courier
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""An online payment of an invoice through its web document becomes its `paid` event.

Hooked on payment.transaction._post_process, which Odoo 18 and 19 both call
once a transaction's state is final (from the customer's payment status page
or the payment cron) and where account_payment creates the invoice's
payment. A transaction counts when it is done, made that payment, was an
online operation (the customer paying on the portal or through a payment
link) and was not started by an internal user (a colleague's test payment).
"""

import logging

from odoo import models

_logger = logging.getLogger(__name__)

ONLINE_OPERATIONS = ("online_redirect", "online_direct", "online_token")


class PaymentTransaction(models.Model):
    _inherit = "payment.transaction"

    def _post_process(self):
        result = super()._post_process()
        paid = self.filtered(lambda tx: tx._courier_is_customer_payment())
        if paid:
            # The payment is the customer's money: a failure to record it in the
            # history is logged, never allowed to undo the payment's processing.
            try:
                with self.env.cr.savepoint():
                    self.env["account.move"]._courier_mark_paid(paid)
            except Exception:
                _logger.exception(
                    "Invoice Courier could not add the online payment of transactions %s to "
                    "their invoices' history; the payments themselves are processed.",
                    paid.mapped("reference"),
                )
        return result

    def _courier_is_customer_payment(self):
        self.ensure_one()
        # A capture is a child of the transaction the customer started.
        started_by = (self.source_transaction_id or self).create_uid
        return (
            self.state == "done"
            and bool(self.payment_id)
            and self.operation in ONLINE_OPERATIONS
            and not started_by._is_internal()
        )
