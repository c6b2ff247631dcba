"""``POST /connect/exchange`` (``x-api-key``): a connect code for the connection.

The code reached the tenant through the merchant's browser (the return URL,
or a postMessage); the connection token never does. It is minted here, on
the tenant's back channel, once: the code is spent atomically by the store
(one use, ten minutes, the session's tenant only). Every failure answers the
same 400 ``invalid_connect_code``, so a caller learns nothing about codes it
does not hold. A reconnect's code answers ``connection_token: null``: the
connection keeps its token.
"""

from __future__ import annotations

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from keys import secrets

from .. import accounts, params
from ..bodies import read_json
from ..clock import now_text
from ..middleware import request_context
from ..problems import ApiError
from ..routes.management import json_response, tenant_of


class ConnectExchange(msgspec.Struct, forbid_unknown_fields=True):
    code: str


class ConnectExchanged(msgspec.Struct, kw_only=True):
    connection_id: str
    connection_token: str | None
    provider: str
    end_user_id: str | None
    session_id: str


def _invalid() -> ApiError:
    return ApiError(400, "invalid_connect_code", "the code is unknown, used, expired or another tenant's")


@params.accepts()
async def exchange(request: Request) -> Response:
    owner = await tenant_of(request)
    body = await read_json(request, ConnectExchange)
    if not secrets.looks_like(body.code, secrets.CONNECT_CODE_PREFIX):
        raise _invalid()
    runtime = request.app.state.runtime
    store = runtime.store
    code = await store.redeem_connect_code(secrets.digest(body.code), owner.tenant_id, now_text())
    if code is None:
        raise _invalid()
    connection = await store.get_connection(code.connection_id)
    if connection is None or connection.tenant_id != owner.tenant_id:
        raise _invalid()  # deleted since, or never stored (the session failed)
    request_context(request.scope)["connection_id"] = connection.id
    token = None
    if code.mint_token:
        try:
            connection, token = await accounts.rotate_connection_token(store, connection)
        except accounts.UnknownConnection:
            raise _invalid() from None
        await runtime.directory.poll_once()
    session = await store.get_connect_session(code.session_id)
    return json_response(ConnectExchanged(
        connection_id=connection.id, connection_token=token, provider=connection.provider,
        end_user_id=session.end_user_id if session is not None else connection.end_user_id,
        session_id=code.session_id,
    ))
