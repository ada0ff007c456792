"""The stand-in ERP ranks recipient statuses exactly like the addon.

The two cannot share code (the addon runs inside Odoo, the stand-in inside
courierd), so this test keeps their copies of docs/architecture.md's ranking
from drifting apart. The addon's module imports nothing, so it loads here.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from standin_erp.ranking import EVENT_TYPES, STATUS_RANK

ADDON_STATUS = Path(__file__).resolve().parents[2] / "addon/invoice_courier/tools/courier_status.py"


def _addon_status_module():
    spec = importlib.util.spec_from_file_location("addon_courier_status", ADDON_STATUS)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_standin_ranks_like_the_addon() -> None:
    addon = _addon_status_module()
    assert addon.RECIPIENT_STATUS_RANK == STATUS_RANK
    assert [value for value, _label in addon.RECIPIENT_STATUSES] == sorted(
        STATUS_RANK, key=STATUS_RANK.__getitem__
    )


def test_standin_ingests_the_event_types_the_addon_ingests() -> None:
    # Downloads and payments are facts only Odoo sees: neither side takes them from courierd.
    addon = _addon_status_module()
    assert set(addon.INGEST_EVENT_TYPES) == EVENT_TYPES
    assert not EVENT_TYPES & set(addon.ODOO_EVENT_TYPES)
