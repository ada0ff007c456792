"""Exceptions the stand-in raises, named and serialised like Odoo 18's.

courierd sees the same JSON-RPC error objects from the stand-in as from a real
Odoo (``error.data.name`` such as ``odoo.exceptions.AccessDenied``), so its
error handling is exercised by the tests exactly as in production.
"""

from __future__ import annotations

import traceback
from typing import Any


class OdooError(Exception):
    """An error answered as Odoo's JSON-RPC ``error`` object."""

    odoo_name = "odoo.exceptions.UserError"
    rpc_code = 200
    rpc_message = "Odoo Server Error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def to_rpc_error(self) -> dict[str, Any]:
        return {
            "code": self.rpc_code,
            "message": self.rpc_message,
            "data": {
                "name": self.odoo_name,
                "debug": "".join(traceback.format_exception(self)),
                "message": self.message,
                "arguments": [self.message],
                "context": {},
            },
        }


class UserError(OdooError):
    odoo_name = "odoo.exceptions.UserError"


class ValidationError(OdooError):
    odoo_name = "odoo.exceptions.ValidationError"


class AccessError(OdooError):
    odoo_name = "odoo.exceptions.AccessError"


class AccessDenied(OdooError):
    odoo_name = "odoo.exceptions.AccessDenied"

    def __init__(self, message: str = "Access Denied") -> None:
        super().__init__(message)


class SessionExpired(OdooError):
    odoo_name = "odoo.http.SessionExpiredException"
    rpc_code = 100
    rpc_message = "Odoo Session Expired"

    def __init__(self, message: str = "Session expired") -> None:
        super().__init__(message)


class NotFound(OdooError):
    odoo_name = "werkzeug.exceptions.NotFound"
    rpc_code = 404
    rpc_message = "404: Not Found"


class MissingDatabase(OdooError):
    odoo_name = "psycopg2.OperationalError"

    def __init__(self, db: str) -> None:
        super().__init__(f'connection to server failed: FATAL:  database "{db}" does not exist')


class BadArguments(OdooError):
    """A call whose arguments do not fit the method (Odoo answers a TypeError)."""

    odoo_name = "builtins.TypeError"
