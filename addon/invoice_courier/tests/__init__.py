from . import (
    test_contract,
    test_ranking,
    test_access,
    test_compose_wizard,
    test_bulk_send,
    test_portal,
)
