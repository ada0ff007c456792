"""Odoo's JSON-2 API (Odoo 19 and later): one HTTP request per contract call.

`POST /json/2/<model>/<method>` with `Authorization: bearer <API key>` and
`X-Odoo-Database: <db>`; the body is a JSON object of the method's NAMED
arguments (there are no positional ones), the answer is the method's JSON
result. Odoo answers an error with an HTTP status and its exception as a JSON
object (`{"name": "odoo.exceptions.UserError", "message": ...}`): 401 for a
missing or wrong key, 403 for an AccessError, 404 for an unknown model or
method, 422 for a UserError or arguments that do not fit, 500 for the rest.

Stateless: no login, no session, the key goes with every request. Plain
urllib, so a JSON-2 call costs no dependency. Which errors are retried is
decided by the ERP client (courierd.odoo.client), the same way for both
transports.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

from pydantic import SecretStr

from courierd import __version__

JSON2_PATH = "/json/2"
USER_AGENT = f"courierd/{__version__}"
# What Odoo 19's catch-all /json/2 route answers: JSON-2 is served there.
_NOT_FOUND_NAME = "werkzeug.exceptions.NotFound"


class Json2Error(Exception):
    """Odoo answered an HTTP error. `name` is Odoo's exception name; "" when the
    body is not Odoo's JSON error object (a proxy's page, an Odoo without JSON-2)."""

    def __init__(self, status: int, name: str, message: str) -> None:
        super().__init__(f"HTTP {status} {name or 'error'}: {message}")
        self.status = status
        self.name = name
        self.message = message


def _read_error(exc: urllib.error.HTTPError) -> Json2Error:
    raw = exc.read()
    try:
        body = json.loads(raw)
    except ValueError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("name"), str):
        return Json2Error(exc.code, body["name"], str(body.get("message", "")))
    snippet = raw[:200].decode("utf-8", "replace").strip()
    return Json2Error(exc.code, "", snippet or str(exc.reason))


class Json2Connection:
    """Calls model methods on one database with one API key."""

    def __init__(self, url: str, db: str, api_key: SecretStr, timeout: float) -> None:
        self._base = url.rstrip("/")
        self._db = db
        self._api_key = api_key
        self._timeout = timeout

    def call(self, model: str, method: str, arguments: dict[str, Any]) -> Any:
        """The method's result; Json2Error for an HTTP error, OSError when nothing answers."""
        request = urllib.request.Request(
            f"{self._base}{JSON2_PATH}/{model}/{method}",
            data=json.dumps(arguments).encode(),
            method="POST",
            headers={
                "Authorization": f"bearer {self._api_key.get_secret_value()}",
                "X-Odoo-Database": self._db,
                "Content-Type": "application/json",
                "Accept": "application/json",
                "User-Agent": USER_AGENT,
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=self._timeout) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as exc:
            raise _read_error(exc) from None


def serves_json2(url: str, db: str, timeout: float) -> bool:
    """Whether the Odoo at `url` serves JSON-2 for `db`.

    `GET /json/2` is Odoo 19's catch-all JSON-2 route: it answers 404 with its
    JSON error object ("Did you mean POST /json/2/<model>/<method>?"), without
    a key and without touching a model. Odoo 18 has no such route: its 404 is
    an HTML page. OSError when nothing answers; a 5xx (a proxy in front of a
    stopped Odoo, a database being restored) raises Json2Error: no answer yet.
    """
    request = urllib.request.Request(
        url.rstrip("/") + JSON2_PATH,
        method="GET",
        headers={"X-Odoo-Database": db, "Accept": "application/json", "User-Agent": USER_AGENT},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            response.read()
            return False  # nothing in Odoo answers 200 there
    except urllib.error.HTTPError as exc:
        error = _read_error(exc)
    if error.status >= 500:
        raise error
    return error.status == 404 and error.name == _NOT_FOUND_NAME
