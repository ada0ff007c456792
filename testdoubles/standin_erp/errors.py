"""Exceptions the stand-in raises, named and serialised like Odoo's.

courierd sees the same JSON-RPC error objects from the stand-in as from a real
Odoo (``error.data.name`` such as ``odoo.exceptions.AccessDenied``), and over
JSON-2 the same HTTP status as Odoo 19 (``http_status``), so its error handling
is exercised by the tests exactly as in production.
"""

from __future__ import annotations

import traceback
from typing import Any


class OdooError(Exception):
    """An error answered as Odoo's JSON-RPC ``error`` object."""

    odoo_name = "odoo.exceptions.UserError"
    rpc_code = 200
    rpc_message = "Odoo Server Error"
    http_status = 422  # JSON-2: Odoo 19's UserError.http_status

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
    http_status = 403


class AccessDenied(OdooError):
    odoo_name = "odoo.exceptions.AccessDenied"
    http_status = 403

    def __init__(self, message: str = "Access Denied") -> None:
        super().__init__(message)


class SessionExpired(OdooError):
    odoo_name = "odoo.http.SessionExpiredException"
    rpc_code = 100
    rpc_message = "Odoo Session Expired"
    http_status = 403

    def __init__(self, message: str = "Session expired") -> None:
        super().__init__(message)


class NotFound(OdooError):
    odoo_name = "werkzeug.exceptions.NotFound"
    rpc_code = 404
    rpc_message = "404: Not Found"
    http_status = 404


class MissingDatabase(OdooError):
    odoo_name = "psycopg2.OperationalError"
    http_status = 500

    def __init__(self, db: str) -> None:
        super().__init__(f'connection to server failed: FATAL:  database "{db}" does not exist')


class BadArguments(OdooError):
    """A call whose arguments do not fit the method (Odoo answers a TypeError).

    `reason` is Python's own words ("missing a required argument: 'limit'"),
    what JSON-2 answers with its 422.
    """

    odoo_name = "builtins.TypeError"
    http_status = 500

    def __init__(self, message: str, reason: str | None = None) -> None:
        super().__init__(message)
        self.reason = reason or message
