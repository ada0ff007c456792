"""courierd: delivers Odoo invoice emails through Mailjet and tracks them."""

__version__ = "0.1.0"
