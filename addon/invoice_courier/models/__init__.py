# Copyright 2026 Invoice Courier
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from . import (  # noqa: F401
    account_move,
    courier_address_check,
    courier_delivery_stats,
    courier_dispatch,
    courier_event,
    courier_mail_domain,
    courier_recipient,
    courier_send_base,
    ir_websocket,
    payment_transaction,
    res_company,
    res_config_settings,
    res_partner,
)
