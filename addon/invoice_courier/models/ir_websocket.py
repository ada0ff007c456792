# Copyright 2026 Invoice Courier
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Who may hear about an invoice's courier changes on Odoo's bus.

A web client showing an invoice asks for the channel named
`invoice_courier.move_<id>` (static/src/js/courier_live_invoice.js). A name
anyone could guess is not a channel: it is swapped here for the invoice's own
subchannel, and only for an internal user who may read that invoice; anyone
else's request is dropped. Odoo's collaborative editor checks its channels the
same way, in both 18.0 and 19.0.
"""

import re

from odoo import models

from .account_move import BUS_CHANNEL_PREFIX, BUS_SUBCHANNEL

CHANNEL_NAME = re.compile(re.escape(BUS_CHANNEL_PREFIX) + r"(\d{1,9})$")


class IrWebsocket(models.AbstractModel):
    _inherit = "ir.websocket"

    def _build_bus_channel_list(self, channels):
        return super()._build_bus_channel_list(self._courier_invoice_channels(channels))

    def _courier_invoice_channels(self, channels):
        """`channels` with each invoice channel name swapped for the invoice's subchannel,
        or dropped when the user may not read that invoice (or is not internal)."""
        channels = list(channels)  # the caller's list stays as it was
        move_ids = []
        for channel in list(channels):
            match = CHANNEL_NAME.match(channel) if isinstance(channel, str) else None
            if match:
                channels.remove(channel)
                move_ids.append(int(match[1]))
        user = self.env.user
        if move_ids and user and user._is_internal():
            moves = self.env["account.move"].browse(move_ids).exists()
            readable = moves._filtered_access("read") if moves else moves
            channels.extend((move, BUS_SUBCHANNEL) for move in readable)
        return channels
