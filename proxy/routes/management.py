"""The tenant management API (``x-api-key``): connections and field mappings.

Every lookup is scoped to the calling tenant; another tenant's connection or
mapping answers exactly like one that does not exist. Secrets (credentials,
token digests) are never returned; a connection token is shown once, at
creation or rotation.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from providers.errors import ProviderError

from .. import accounts, field_mappings, params, verification
from ..bodies import ConnectionCreate, ConnectionPatch, FieldMappingCreate, read_json
from ..middleware import client_address, request_context
from ..problems import ApiError, credentials_unreadable, invalid_parameter
from ..store import Conflict
from ..store.records import Connection, KeyOwner
from ..views import ConnectionList, ConnectionView, ConnectionWithToken, FieldMappingList

_encode = msgspec.json.Encoder().encode
DEFAULT_PAGE = 50
MAX_PAGE = 100
MAX_END_USER_ID = 200  # as a connect session takes it


def json_response(body: Any, status: int = 200) -> Response:
    return Response(_encode(body), status_code=status, media_type="application/json")


async def tenant_of(request: Request) -> KeyOwner:
    owner = await request.app.state.runtime.directory.owner_of(
        request.headers.get("x-api-key"), client_address(request)
    )
    request_context(request.scope)["tenant_id"] = owner.tenant_id
    return owner


def connection_view(connection: Connection, token: str | None = None) -> ConnectionView:
    view = ConnectionView.of(connection)
    if token is None:
        return view
    return ConnectionWithToken(**msgspec.structs.asdict(view), connection_token=token)


async def own_connection(request: Request, owner: KeyOwner) -> Connection:
    connection = await request.app.state.runtime.store.get_connection(request.path_params["id"])
    if connection is None or connection.tenant_id != owner.tenant_id:
        raise ApiError(404, "not_found", "no connection has that id")
    request_context(request.scope)["connection_id"] = connection.id
    return connection


def _invalid(exc: accounts.InvalidInput) -> ApiError:
    return ApiError(400, "invalid_request", str(exc))


def _verifier(request: Request, tenant_id: str) -> accounts.Verifier:
    """verification.verify through the service's shared client, failing as an
    ApiError. It counts toward the tenant's calls in flight like a read."""
    runtime = request.app.state.runtime

    async def run(provider: str, credentials: msgspec.Struct, settings: msgspec.Struct) -> None:
        try:
            async with runtime.directory.tenant_calls.slot(tenant_id):
                await verification.verify(
                    runtime.http, provider, credentials, settings, runtime.config.request_timeout
                )
        except ProviderError as exc:
            raise verification.problem(exc, provider) from None

    return run


# -- connections ---------------------------------------------------------------


@params.accepts("verify")
async def create_connection(request: Request) -> Response:
    owner = await tenant_of(request)
    verify = params.boolean(request.query_params, "verify")
    body = await read_json(request, ConnectionCreate)
    runtime = request.app.state.runtime
    try:
        credentials, settings = accounts.validate_connection_input(
            body.provider, body.credentials, body.settings,
            allow_private_networks=runtime.config.allow_private_networks,
        )
    except accounts.InvalidInput as exc:
        raise _invalid(exc) from None
    if verify:
        await _verifier(request, owner.tenant_id)(body.provider, credentials, settings)
    connection, token = await accounts.create_connection(
        runtime.store, runtime.keyring, owner.tenant_id, body.provider, body.credentials, body.settings
    )
    runtime.webhooks.wake()  # connection.created, if the tenant has a webhook_url
    request_context(request.scope)["connection_id"] = connection.id
    return json_response(connection_view(connection, token), 201)


@params.accepts("limit", "cursor", "end_user_id")
async def list_connections(request: Request) -> Response:
    owner = await tenant_of(request)
    limit = params.integer(request.query_params, "limit", DEFAULT_PAGE, 1, MAX_PAGE)
    after = _decode_position(params.single(request.query_params, "cursor"))
    # A cursor is a position in (created_at, id) order, so it pages within
    # whatever filter it is sent with.
    end_user_id = params.single(request.query_params, "end_user_id")
    if end_user_id is not None and not 1 <= len(end_user_id) <= MAX_END_USER_ID:
        raise invalid_parameter("end_user_id", f"must be 1 to {MAX_END_USER_ID} characters")
    rows = await request.app.state.runtime.store.list_connections(
        owner.tenant_id, limit + 1, after, end_user_id
    )
    page, more = rows[:limit], len(rows) > limit
    next_cursor = _encode_position(page[-1]) if more and page else None
    return json_response(ConnectionList([connection_view(c) for c in page], next_cursor))


@params.accepts()
async def get_connection(request: Request) -> Response:
    owner = await tenant_of(request)
    return json_response(connection_view(await own_connection(request, owner)))


@params.accepts("verify")
async def patch_connection(request: Request) -> Response:
    owner = await tenant_of(request)
    verify = params.boolean(request.query_params, "verify")
    connection = await own_connection(request, owner)
    body = await read_json(request, ConnectionPatch)
    runtime = request.app.state.runtime
    try:
        updated = await accounts.update_connection(
            runtime.store, runtime.keyring, connection, body.credentials, body.settings,
            allow_private_networks=runtime.config.allow_private_networks,
            verify=_verifier(request, owner.tenant_id) if verify else None,
        )
    except accounts.InvalidInput as exc:
        raise _invalid(exc) from None
    except accounts.UnknownConnection:  # deleted between our read and the write
        raise ApiError(404, "not_found", "no connection has that id") from None
    except accounts.UnreadableCredentials as exc:
        raise credentials_unreadable(exc.key_id, exc.in_keyring) from None
    runtime.webhooks.wake()  # connection.updated
    await runtime.directory.poll_once()  # drop the stale live connection now
    return json_response(connection_view(updated))


@params.accepts()
async def rotate_token(request: Request) -> Response:
    owner = await tenant_of(request)
    connection = await own_connection(request, owner)
    runtime = request.app.state.runtime
    try:
        rotated, token = await accounts.rotate_connection_token(runtime.store, connection)
    except accounts.UnknownConnection:
        raise ApiError(404, "not_found", "no connection has that id") from None
    await runtime.directory.poll_once()  # the old token fails from now on
    return json_response(connection_view(rotated, token))


@params.accepts()
async def delete_connection(request: Request) -> Response:
    owner = await tenant_of(request)
    connection = await own_connection(request, owner)
    runtime = request.app.state.runtime
    await accounts.delete_connection(runtime.store, connection)
    runtime.webhooks.wake()  # connection.deleted
    await runtime.directory.poll_once()
    return Response(status_code=204)


def _encode_position(connection: Connection) -> str:
    raw = f"{connection.created_at}|{connection.id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_position(cursor: str | None) -> tuple[str, str] | None:
    if cursor is None:
        return None
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        created_at, connection_id = text.split("|", 1)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise invalid_parameter("cursor", "not a cursor this API issued") from None
    return created_at, connection_id


# -- field mappings --------------------------------------------------------------


@params.accepts()
async def create_field_mapping(request: Request) -> Response:
    owner = await tenant_of(request)
    body = await read_json(request, FieldMappingCreate)
    runtime = request.app.state.runtime
    connection_provider = None
    if body.connection_id is not None:
        connection = await runtime.store.get_connection(body.connection_id)
        if connection is None or connection.tenant_id != owner.tenant_id:
            raise ApiError(404, "not_found", "no connection has that id")
        connection_provider = connection.provider
    try:
        mapping = field_mappings.new_mapping(
            owner.tenant_id,
            name=body.name,
            object=body.object,
            provider=body.provider,
            expression=body.expression,
            connection_id=body.connection_id,
            connection_provider=connection_provider,
        )
    except accounts.InvalidInput as exc:
        raise _invalid(exc) from None
    # Two creates racing may both pass the count; the work per response is
    # held by the evaluation budget anyway.
    full = field_mappings.over_limit(len(await runtime.store.list_field_mappings(owner.tenant_id)))
    if full is not None:
        raise ApiError(409, "conflict", full)
    try:
        await runtime.store.create_field_mapping(mapping)
    except Conflict:
        raise ApiError(
            409, "conflict", f"a mapping named {mapping.name!r} already exists in that scope"
        ) from None
    await runtime.directory.poll_once()
    return json_response(mapping, 201)


@params.accepts("connection_id")
async def list_field_mappings(request: Request) -> Response:
    owner = await tenant_of(request)
    connection_id = params.single(request.query_params, "connection_id")
    mappings = await request.app.state.runtime.store.list_field_mappings(owner.tenant_id)
    if connection_id is not None:
        mappings = [m for m in mappings if m.connection_id == connection_id]
    return json_response(FieldMappingList(mappings))


@params.accepts()
async def delete_field_mapping(request: Request) -> Response:
    owner = await tenant_of(request)
    runtime = request.app.state.runtime
    if not await runtime.store.delete_field_mapping(owner.tenant_id, request.path_params["id"]):
        raise ApiError(404, "not_found", "no field mapping has that id")
    await runtime.directory.poll_once()
    return Response(status_code=204)
