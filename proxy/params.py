"""Query parameter parsing: strict for the parameters we know."""

from __future__ import annotations

import functools
import re
from typing import Awaitable, Callable

from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import Response

from keys import secrets

from .problems import invalid_parameter

# ASCII digits only: \d and int() also take other scripts' digits ("١٠").
_WHOLE = re.compile(r"^([0-9]{1,9})(?:\.0+)?$")
_TRUE = {"true", "1"}
_FALSE = {"false", "0"}

Handler = Callable[[Request], Awaitable[Response]]
REMOTE_QUERY = "remote_query"
# The auth headers, sent as query parameters by mistake: say where they go.
_HEADERS = {"x-api-key", "x-connection-token", "api_key", "connection_token"}
_SHOWN = 64


def accepts(*names: str) -> Callable[[Handler], Handler]:
    """Declare the query parameters a route reads. Any other one answers 400
    ``invalid_parameter`` naming it: a filter we do not support
    (``?email=...``) must fail, not silently return every customer.
    ``remote_query`` admits the ``remote_query[name]`` family, which
    shaping validates."""
    allowed = frozenset(names)

    def decorate(handler: Handler) -> Handler:
        @functools.wraps(handler)
        async def checked(request: Request) -> Response:
            if request.scope.get("query_string"):
                refuse_unknown(request.query_params, allowed)
            return await handler(request)

        checked.query_parameters = allowed  # type: ignore[attr-defined]
        return checked

    return decorate


def platform_query(handler: Handler) -> Handler:
    """A callback a platform calls with parameters of its own choosing
    (an OAuth redirect: Shopify says its set may change, and signs all of
    them). Nothing is refused by name; the handler bounds and verifies
    what it reads."""
    handler.query_parameters = frozenset()  # type: ignore[attr-defined]
    handler.platform_query = True  # type: ignore[attr-defined]
    return handler


def refuse_unknown(params: QueryParams, allowed: frozenset[str]) -> None:
    for name in params.keys():
        if name in allowed or (REMOTE_QUERY in allowed and name.startswith(REMOTE_QUERY)):
            continue
        shown = _shown(name)
        if name.lower() in _HEADERS:
            raise invalid_parameter(shown, "credentials go in headers (x-api-key, x-connection-token), not the query")
        known = ", ".join(sorted(n + "[name]" if n == REMOTE_QUERY else n for n in allowed))
        raise invalid_parameter(
            shown, f"unknown parameter; this route reads {known}" if known else "this route takes no query parameters"
        )


def _shown(name: str) -> str:
    # The name goes back in the error body: never a pasted key or token, and bounded.
    if name.startswith((secrets.API_KEY_PREFIX, secrets.CONNECTION_TOKEN_PREFIX)):
        return "(a parameter shaped like a key or token)"
    return name if len(name) <= _SHOWN else name[:_SHOWN] + "..."


def single(params: QueryParams, name: str) -> str | None:
    """The parameter's one value, or None. Given twice it is refused rather
    than one copy picked: a proxy in front may have read the other one."""
    values = params.getlist(name)
    if len(values) > 1:
        raise invalid_parameter(name, "give it once")
    return values[0] if values else None


def boolean(params: QueryParams, name: str, default: bool = False) -> bool:
    raw = single(params, name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise invalid_parameter(name, "must be true, false, 1 or 0")


def integer(params: QueryParams, name: str, default: int, low: int, high: int) -> int:
    raw = single(params, name)
    if raw is None:
        return default
    # Panora's SDK types limit as a JSON number and sends "10.0".
    match = _WHOLE.match(raw.strip())
    if match is None:
        raise invalid_parameter(name, f"must be a whole number from {low} to {high}")
    value = int(match.group(1))
    if not low <= value <= high:
        raise invalid_parameter(name, f"must be a whole number from {low} to {high}")
    return value
