# Copyright 2026 Invoice Courier
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from . import controllers, models, wizards  # noqa: F401
from .compat import apply_version_data


def post_init_hook(env):
    apply_version_data(env)
