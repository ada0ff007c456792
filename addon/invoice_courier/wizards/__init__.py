from . import courier_bulk_send, courier_compose  # noqa: F401
