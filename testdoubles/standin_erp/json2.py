"""Odoo 19's JSON-2 API as the stand-in serves it (`odoo_version=19`).

`POST /json/2/<model>/<method>` with `Authorization: bearer <API key>` and
(optionally, the stand-in has one database) `X-Odoo-Database`. The body is a
JSON object of named arguments: `ids` and `context` as Odoo takes them, the
rest are the method's keyword arguments. The answer is the method's JSON
result, or Odoo's error object (`name`, `message`, `arguments`, `context`,
`debug`) with Odoo's HTTP status: 401 without a valid key, 403 AccessError,
404 unknown model or method, 422 UserError or arguments that do not fit the
method, 500 anything else. Any other path under /json/2 is Odoo's catch-all
JSON 404 ("Did you mean POST /json/2/<model>/<method>?"); an unknown database
gets Odoo's HTML 404, as from a server that has no such database.
"""

from __future__ import annotations

import json
import re
import traceback
from typing import Any

from werkzeug.wrappers import Request, Response

from standin_erp.errors import BadArguments, OdooError
from standin_erp.rpc import RpcHandler

JSON2_PATH = "/json/2"
_ROUTE = re.compile(r"^/json/2/(?P<model>[^/]+)/(?P<method>[^/]+)$")
_BEARER = re.compile(r"^bearer\s+(.+)$", re.IGNORECASE)
NOT_FOUND_PAGE = (
    "<!doctype html>\n<html lang=en>\n<title>404 Not Found</title>\n<h1>Not Found</h1>\n"
    "<p>The requested URL was not found on the server. If you entered the URL manually "
    "please check your spelling and try again.</p>\n"
)


def not_found_page() -> Response:
    """What Odoo answers for a path no route of the database (or no database) serves."""
    return Response(NOT_FOUND_PAGE, status=404, mimetype="text/html")


def _error(status: int, name: str, message: str, arguments: list[Any] | None = None) -> Response:
    body = {
        "name": name,
        "message": message,
        "arguments": [message] if arguments is None else arguments,
        "context": {},
        "debug": "".join(traceback.format_stack(limit=3)),
    }
    return Response(json.dumps(body), status=status, mimetype="application/json")


def _http_error(status: int, name: str, description: str) -> Response:
    """A werkzeug HTTPException as Odoo serialises it (arguments: description, code)."""
    return _error(status, f"werkzeug.exceptions.{name}", description, [description, status])


class Json2Handler:
    """Answers the /json/2 routes with the RPC handler's models and API key."""

    def __init__(self, rpc: RpcHandler, api_key: str) -> None:
        self.rpc = rpc
        self.api_key = api_key

    def respond(self, request: Request) -> Response:
        database = request.headers.get("X-Odoo-Database")
        if database is not None and database != self.rpc.credentials.db:
            return not_found_page()
        route = _ROUTE.match(request.path)
        if route is None or request.method != "POST":
            return _http_error(404, "NotFound", "Did you mean POST /json/2/<model>/<method>?")
        if request.content_length and request.mimetype != "application/json":
            return Response(
                "<h1>Unsupported Media Type</h1><p>Please verify the Content-Type request "
                "header and try again.</p>",
                status=415,
                mimetype="text/html",
                headers={"Accept": "application/json"},
            )
        refused = self._authenticate(request.headers.get("Authorization"))
        if refused is not None:
            return refused
        try:
            body = json.loads(request.get_data() or b"{}")
        except ValueError as exc:
            return _http_error(400, "BadRequest", f"could not parse the body as json: {exc}")
        if not isinstance(body, dict):
            body = {}  # Odoo keeps only the path's arguments then
        return self._call(route["model"], route["method"], body)

    def _authenticate(self, header: str | None) -> Response | None:
        token = _BEARER.match(header or "")
        if token is None:
            message = "User not authenticated, use an API Key with a Bearer Authorization header."
        elif token.group(1) != self.api_key:
            message = "Invalid apikey"
        else:
            return None
        response = _http_error(401, "Unauthorized", message)
        response.headers["WWW-Authenticate"] = "Bearer"
        return response

    def _call(self, model: str, method: str, body: dict[str, Any]) -> Response:
        arguments = dict(body)
        ids = arguments.pop("ids", ())
        arguments.pop("context", None)
        if not self.rpc.knows_model(model):
            return _http_error(404, "NotFound", f"the model {model!r} does not exist")
        if not method.startswith("_") and not self.rpc.has_method(model, method):
            return _http_error(404, "NotFound", f"The method '{model}.{method}' does not exist")
        if ids and self.rpc.is_model_method(model, method):
            return _http_error(422, "UnprocessableEntity", f"cannot call {model}.{method} with ids")
        try:
            result = self.rpc.call_model(model, method, [], arguments)
        except BadArguments as exc:
            return _http_error(422, "UnprocessableEntity", exc.reason)
        except OdooError as exc:
            return _error(exc.http_status, exc.odoo_name, exc.message)
        except Exception as exc:  # Odoo answers any other exception as a 500
            return _error(500, f"builtins.{type(exc).__name__}", str(exc))
        return Response(json.dumps(result), mimetype="application/json")
