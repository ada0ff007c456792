# Copyright 2026 Invoice Courier
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
{
    "name": "Invoice Courier",
    "summary": "Send invoices by email through Mailjet and track every delivery fact",
    # No series: one source for Odoo 18.0 and 19.0, each reads it as its own
    # (18.0.1.0.0, 19.0.1.0.0); see docs/odoo-versions.md.
    "version": "1.0.0",
    "category": "Accounting/Accounting",
    "license": "LGPL-3",
    "author": "Invoice Courier",
    "website": "https://github.com/invoice-courier/invoice-courier",
    "maintainers": ["invoice-courier"],
    "development_status": "Beta",
    "depends": ["account", "account_payment", "portal", "mail", "bus"],
    "data": [
        "security/courier_security.xml",
        "security/ir.model.access.csv",
        "data/mail_template_data.xml",
        "data/courier_mail_domain_data.xml",
        "views/courier_event_views.xml",
        "views/courier_recipient_views.xml",
        "views/courier_dispatch_views.xml",
        "views/courier_delivery_stats_views.xml",
        "views/courier_mail_domain_views.xml",
        # The wizards' actions before the invoice views whose buttons open them.
        "wizards/courier_compose_views.xml",
        "wizards/courier_bulk_send_views.xml",
        "views/account_move_views.xml",
        "views/account_move_steps_views.xml",
        "views/res_partner_views.xml",
        "views/res_config_settings_views.xml",
        "views/menus.xml",
    ],
    "assets": {
        # The live invoice form (bus), the Email history's dialog title, whole recipient tags.
        "web.assets_backend": [
            "invoice_courier/static/src/js/*.js",
            "invoice_courier/static/src/scss/*.scss",
        ],
    },
    "installable": True,
    "post_init_hook": "post_init_hook",
    "application": False,
}
