# Copyright 2026 Invoice Courier
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Counts a customer's visit of an invoice's portal page as a view."""

import hashlib

from odoo import http
from odoo.addons.account.controllers.portal import PortalAccount
from odoo.exceptions import AccessError, MissingError
from odoo.http import request


class CourierPortalAccount(PortalAccount):
    @http.route()
    def portal_my_invoice_detail(
        self, invoice_id, access_token=None, report_type=None, download=False, **kw
    ):
        # report_type=html is the page's own embedded preview (an iframe): the
        # page visit itself already counted.
        if report_type != "html" and not request.env.user._is_internal():
            try:
                invoice_sudo = self._document_check_access("account.move", invoice_id, access_token)
            except (AccessError, MissingError):
                invoice_sudo = None
            if (
                invoice_sudo
                and invoice_sudo.move_type in ("out_invoice", "out_refund")
                and invoice_sudo.state == "posted"
            ):
                httprequest = request.httprequest
                invoice_sudo._courier_mark_viewed(
                    "portal",
                    user_agent=httprequest.user_agent.string,
                    # The configured base URL, never the request's Host header (a
                    # visitor sets that); the path only, the token stays out.
                    url=invoice_sudo.get_base_url() + httprequest.path,
                    visitor=self._courier_visitor(access_token, httprequest),
                )
        return super().portal_my_invoice_detail(
            invoice_id, access_token=access_token, report_type=report_type, download=download, **kw
        )

    @staticmethod
    def _courier_visitor(access_token, httprequest):
        """Who holds the link, as a short hash: a portal user, else token + address + browser.

        Stored in the event's key only, so the address never lands in clear.
        """
        user = request.env.user
        if not user._is_public():
            holder = f"user:{user.id}"
        else:
            holder = f"{access_token}:{httprequest.remote_addr}:{httprequest.user_agent.string}"
        return hashlib.sha256(holder.encode()).hexdigest()[:16]
