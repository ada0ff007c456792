# Copyright 2026 Invoice Courier
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Plain helpers the models and wizards share: no Odoo model lives here.

courier_status: the status vocabularies and the recipient ranking;
courier_time: the contract's ISO-8601 times; email_address: typed address
lists and the strict address check every recipient goes through.
"""
