"""Which of Odoo's two RPC APIs courierd speaks, and why (COURIER_ODOO_TRANSPORT).

- `jsonrpc`: Odoo's JSON-RPC (`/jsonrpc`, through odoorpc) with a login and a
  password, or an API key in place of the password. Odoo 18 has only this;
  Odoo 19 still serves it but logs each call as deprecated; Odoo 20 drops it.
- `json2`: Odoo's JSON-2 API (`/json/2`, Odoo 19 and later) with the API key
  of the Courier daemon user (courierd.odoo.json2).
- `auto` (the default): JSON-2 when an API key is set and the server serves
  JSON-2, else JSON-RPC. The server is asked once per process, on the first
  call (or by `courierd check-config`), and the answer is kept.

`TransportSelector` makes that choice; the ERP client and its clones share one.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from pydantic import SecretStr

from courierd.odoo.json2 import Json2Error, serves_json2
from courierd.ops.logs import get_logger, mask_url

log = get_logger(__name__)

TransportSetting = Literal["auto", "jsonrpc", "json2"]
TransportName = Literal["jsonrpc", "json2"]
TRANSPORT_SETTINGS: tuple[TransportSetting, ...] = ("auto", "jsonrpc", "json2")


@dataclass(frozen=True)
class TransportChoice:
    name: TransportName
    reason: str


class TransportSelector:
    """Decides the transport once, thread-safely; `choice()` asks the server if it must."""

    def __init__(
        self,
        setting: TransportSetting,
        *,
        url: str,
        db: str,
        has_password: bool,
        api_key: SecretStr | None,
        timeout: float,
        probe: Callable[[str, str, float], bool] = serves_json2,
    ) -> None:
        self.setting = setting
        self._url = url
        self._shown_url = mask_url(url)  # a URL may carry a user and password
        self._db = db
        self._has_password = has_password
        self._has_key = api_key is not None
        self._timeout = timeout
        self._probe = probe
        self._lock = threading.Lock()
        self._choice: TransportChoice | None = None

    def choice(self) -> TransportChoice:
        """The transport to use. With `auto` and an API key, the first call asks the
        server: OSError (or a 5xx Json2Error) when it does not answer, and the
        next call asks again."""
        choice, new = self._get()
        if new:
            log.info(f"Odoo transport: {choice.name}", reason=choice.reason)
        return choice

    def explain(self) -> str:
        """One line for `courierd check-config`: the transport and why, or why not yet."""
        try:
            choice, _new = self._get()
        except (OSError, Json2Error) as exc:
            return (
                f"not decided yet: COURIER_ODOO_TRANSPORT=auto and Odoo at {self._shown_url} "
                f"did not answer ({exc}); courierd will use json2 if it serves JSON-2 "
                f"(/json/2), else jsonrpc"
            )
        return f"{choice.name}: {choice.reason}"

    def _get(self) -> tuple[TransportChoice, bool]:
        with self._lock:
            if self._choice is not None:
                return self._choice, False
            self._choice = self._decide()
            return self._choice, True

    def _decide(self) -> TransportChoice:
        if self.setting == "json2":
            return TransportChoice(
                "json2", "COURIER_ODOO_TRANSPORT=json2: JSON-2 (/json/2) with COURIER_ODOO_API_KEY"
            )
        if self.setting == "jsonrpc":
            return TransportChoice(
                "jsonrpc", f"COURIER_ODOO_TRANSPORT=jsonrpc: JSON-RPC (/jsonrpc) {self._login()}"
            )
        if not self._has_key:
            return TransportChoice(
                "jsonrpc",
                "COURIER_ODOO_TRANSPORT=auto and COURIER_ODOO_API_KEY is not set (JSON-2 needs "
                f"it): JSON-RPC (/jsonrpc) {self._login()}",
            )
        if self._probe(self._url, self._db, self._timeout):
            return TransportChoice(
                "json2",
                f"COURIER_ODOO_TRANSPORT=auto, Odoo at {self._shown_url} serves JSON-2 "
                f"(/json/2) for database {self._db!r} and COURIER_ODOO_API_KEY is set",
            )
        return TransportChoice(
            "jsonrpc",
            f"COURIER_ODOO_TRANSPORT=auto and Odoo at {self._shown_url} does not serve JSON-2 for "
            f"database {self._db!r} (Odoo 18 or older, or no such database): JSON-RPC "
            f"(/jsonrpc) {self._login()}",
        )

    def _login(self) -> str:
        if self._has_password:
            return "with COURIER_ODOO_LOGIN and COURIER_ODOO_PASSWORD"
        return "with COURIER_ODOO_LOGIN and COURIER_ODOO_API_KEY as the password"
