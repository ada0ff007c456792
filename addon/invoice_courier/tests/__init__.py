# Copyright 2026 Invoice Courier
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from . import (  # noqa: F401
    test_access,
    test_access_control,
    test_bulk_send,
    test_compose_wizard,
    test_contract,
    test_customer_steps,
    test_delivery_stats,
    test_history,
    test_link_only,
    test_odoo_versions,
    test_portal,
    test_ranking,
    test_report_outcomes,
    test_sender_experience,
    test_tracking_order,
    test_typo_guard,
)
