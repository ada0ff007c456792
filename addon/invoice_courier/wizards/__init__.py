from . import courier_compose, courier_bulk_send
