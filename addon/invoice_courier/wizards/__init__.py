# Copyright 2026 Invoice Courier
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from . import courier_bulk_send, courier_compose  # noqa: F401
