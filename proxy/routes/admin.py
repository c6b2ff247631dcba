"""The admin API (``Authorization: Bearer $SHOPRELAY_ADMIN_TOKEN``).

Disabled (every route answers 404) while the variable is unset.
"""

from __future__ import annotations

import functools
import hmac

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from .. import accounts, params
from ..bodies import ApiKeyCreate, TenantCreate, read_json
from ..clock import now_text
from ..middleware import client_address
from ..params import Handler
from ..problems import ApiError
from ..views import ApiKeyWithSecret, TenantList
from .management import json_response


def require_admin(request: Request) -> None:
    """The admin bearer, or 401. Wrong tokens spend the caller's address's
    failed-authentication budget (shared with API keys); once it is spent,
    wrong tokens get 429, while the right one is always accepted."""
    runtime = request.app.state.runtime
    expected = runtime.config.admin_token
    if not expected:
        raise ApiError(404, "not_found", "no such route")
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and hmac.compare_digest(token.strip().encode(), expected.encode()):
        return
    runtime.directory.auth_failures.refuse(client_address(request))
    raise ApiError(
        401, "invalid_admin_token", "send Authorization: Bearer <admin token>",
        headers={"WWW-Authenticate": "Bearer"},
    )


def admin_route(handler: Handler) -> Handler:
    """The admin token first (the whole surface is 404 while it is unset),
    then the query check: admin routes read no query parameters."""
    checked = params.accepts()(handler)

    @functools.wraps(checked)
    async def guarded(request: Request) -> Response:
        require_admin(request)
        return await checked(request)

    return guarded


@admin_route
async def create_tenant(request: Request) -> Response:
    body = await read_json(request, TenantCreate)
    try:
        tenant = await accounts.create_tenant(request.app.state.runtime.store, body.name)
    except accounts.InvalidInput as exc:
        raise ApiError(400, "invalid_request", str(exc)) from None
    return json_response(tenant, 201)


@admin_route
async def list_tenants(request: Request) -> Response:
    tenants = await request.app.state.runtime.store.list_tenants()
    return json_response(TenantList(tenants))


@admin_route
async def create_api_key(request: Request) -> Response:
    body = await read_json(request, ApiKeyCreate, optional=True)
    try:
        key, secret = await accounts.create_api_key(
            request.app.state.runtime.store, request.path_params["id"], body.name
        )
    except accounts.UnknownTenant:
        raise ApiError(404, "not_found", "no tenant has that id") from None
    except accounts.InvalidInput as exc:
        raise ApiError(400, "invalid_request", str(exc)) from None
    return json_response(ApiKeyWithSecret(**msgspec.structs.asdict(key), api_key=secret), 201)


@admin_route
async def revoke_api_key(request: Request) -> Response:
    runtime = request.app.state.runtime
    key = await runtime.store.revoke_api_key(request.path_params["id"], now_text())
    if key is None:
        raise ApiError(404, "not_found", "no API key has that id")
    await runtime.directory.poll_once()
    return Response(status_code=204)
