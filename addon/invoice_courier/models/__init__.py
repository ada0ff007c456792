from . import (
    courier_status,
    courier_dispatch,
    courier_recipient,
    courier_event,
    account_move,
    res_company,
    res_config_settings,
)
