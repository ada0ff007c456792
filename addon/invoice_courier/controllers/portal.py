# Copyright 2026 Invoice Courier
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Counts a customer's visit of an invoice's portal page as a view, its PDF as a download.

Odoo's own route, /my/invoices/<id> (account's PortalAccount, the same in
Odoo 18 and 19): the page is a view; report_type=pdf (the page's Download
button adds download=true) hands out the PDF, a download.
"""

import hashlib
import logging

from odoo import http
from odoo.addons.account.controllers.portal import PortalAccount
from odoo.exceptions import AccessError, MissingError, UserError
from odoo.http import request

_logger = logging.getLogger(__name__)
# The user agent of Odoo's own link previews (mail/tools/link_preview.py, 18.0 and 19.0).
ODOO_LINK_PREVIEW_AGENT = "Mozilla/5.0 (Windows NT 10.0; rv:91.0) Gecko/20100101 Firefox/91.0"


class CourierPortalAccount(PortalAccount):
    @http.route()
    def portal_my_invoice_detail(
        self, invoice_id, access_token=None, report_type=None, download=False, **kw
    ):
        # report_type=html is the page's own embedded preview (an iframe): the
        # page visit itself already counted.
        if (
            report_type != "html"
            and not request.env.user._is_internal()
            and not self._courier_is_link_preview(request.httprequest)
        ):
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
                mark = (
                    invoice_sudo._courier_mark_downloaded
                    if report_type == "pdf"
                    else invoice_sudo._courier_mark_viewed
                )
                mark(
                    "portal",
                    user_agent=httprequest.user_agent.string,
                    # The configured base URL, never the request's Host header (a
                    # visitor sets that); the path only, the token stays out.
                    url=invoice_sudo.get_base_url() + httprequest.path,
                    visitor=self._courier_visitor(access_token, httprequest),
                )
        self._courier_ensure_link_only_pdf(invoice_id, access_token, report_type)
        return super().portal_my_invoice_detail(
            invoice_id, access_token=access_token, report_type=report_type, download=download, **kw
        )

    def _courier_ensure_link_only_pdf(self, invoice_id, access_token, report_type):
        """Make the PDF of an invoice sent link-only when its page or PDF is first asked for.

        Such an email carries no PDF and none is made for it; without a stored
        PDF, Odoo's portal would show and hand out a pro forma instead of the
        invoice. Stored as Odoo's Send stores it, so it is made once.
        """
        if report_type not in (None, "html", "pdf"):
            return
        try:
            invoice_sudo = self._document_check_access("account.move", invoice_id, access_token)
        except (AccessError, MissingError):
            return
        if (
            invoice_sudo.state != "posted"
            or invoice_sudo.invoice_pdf_report_id
            or not invoice_sudo.courier_dispatch_ids.filtered("link_only")
        ):
            return
        try:
            invoice_sudo._courier_ensure_pdf()
        except UserError as exc:
            _logger.warning(
                "The PDF of %s could not be made for its web page (%s); the page shows "
                "Odoo's pro forma meanwhile. Check wkhtmltopdf.",
                invoice_sudo.display_name,
                exc,
            )

    @staticmethod
    def _courier_is_link_preview(httprequest):
        """Odoo fetching the page itself to preview a link (its editor, when the sender
        selects the email's link): no customer. Odoo 19 says so in a header, Odoo 18
        only by the user agent of mail/tools/link_preview.py."""
        headers = httprequest.headers
        return bool(headers.get("Odoo-Link-Preview")) or (
            headers.get("User-Agent") == ODOO_LINK_PREVIEW_AGENT
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
