from . import controllers, models, wizards  # noqa: F401
