"""Shared test support: processes and ports, ERP backends (stand-in, real Odoo)."""
