"""Truto's surface: ``GET /unified/ecommerce/customers[/{id}]``, an adapter
over the Panora routes' pipeline (the same auth, provider calls, cursors,
custom fields and errors), answering in Truto's field names (proxy/truto.py).

A Truto client sends ``Authorization: Bearer <token>`` and
``integrated_account_id=<id>``. Here the token is the tenant's ``sk_`` API
key and the id one of its connections: the key proves the tenant, the id
names its connection, so no connection token is needed. An id that is
unknown, deleted or another tenant's answers 404 ``not_found``, alike.
Errors are the same problem+json as everywhere (Truto's clients raise on the
status and do not read the body).
"""

from __future__ import annotations

from typing import Any, AsyncIterator

import msgspec
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from .. import paging, params, shaping, truto
from ..directory import LiveConnection
from ..middleware import client_address, request_context
from ..problems import ApiError, invalid_parameter
from .customers import check_forwarding, custom_fields, fetch_customer, fetch_page, mappings

_encode = msgspec.json.Encoder().encode
FORMATS = ("unified", "raw", "normalized", "stream")
_READS = (
    "integrated_account_id", "truto_response_format", "truto_ignore_remote_data",
    truto.EXCLUDE, truto.EXCLUDE_ARRAY, params.REMOTE_QUERY,
)
_BEARER = {"WWW-Authenticate": 'Bearer realm="shoprelay"'}


def bearer(request: Request) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip() or None


async def authorize(request: Request) -> LiveConnection:
    """The Bearer API key, then the connection it names by id."""
    directory = request.app.state.runtime.directory
    context = request_context(request.scope)
    try:
        owner = await directory.owner_of(bearer(request), client_address(request))
    except ApiError as error:
        if error.status == 401:  # say where the key goes on this surface
            error.headers = _BEARER
            error.detail = (
                "send your API key as Authorization: Bearer sk_..." if error.code == "missing_api_key"
                else "the API key is not valid (unknown or revoked)"
            )
        raise
    context["tenant_id"] = owner.tenant_id
    account = params.single(request.query_params, "integrated_account_id")
    live = await directory.connection_by_id(owner, account)
    context["connection_id"] = live.id
    context["provider"] = live.provider_name
    return live


class Read(msgspec.Struct, frozen=True):
    response_format: str
    include_remote: bool
    remote_query: dict[str, str]

    @property
    def keeps_raw(self) -> bool:
        """Whether the answer reads the platform's JSON as it came."""
        return self.include_remote or self.response_format == "raw"


def read_options(request: Request, live: LiveConnection) -> Read:
    query = request.query_params
    response_format = params.single(query, "truto_response_format") or "unified"
    if response_format not in FORMATS:
        raise invalid_parameter("truto_response_format", "must be " + ", ".join(FORMATS))
    ignore = params.boolean(query, "truto_ignore_remote_data")
    # remote_query[...] is validated as on Panora's surface (the provider's deny rules).
    remote_query = shaping.parse(query, live.provider.remote_query_refusal).remote_query
    check_forwarding(live, remote_query)
    return Read(response_format, not ignore, remote_query)


async def read_mappings(request: Request, live: LiveConnection) -> tuple[list[Any], shaping.Tree | None]:
    """The connection's field mappings and the excluded fields, which may
    name them: checked before the provider call, so a misspelled name costs
    the merchant's store no call."""
    compiled = await mappings(request, live)
    return compiled, truto.excluded(request.query_params, {mapping.name for mapping in compiled})


async def records(
    request: Request, compiled: list[Any], tree: shaping.Tree | None, read: Read, raws: list[Any],
    customers: list[Any],
) -> list[dict[str, Any]]:
    values = await custom_fields(request, compiled, raws)
    return [
        truto.without(truto.record(customer, raw, custom, read.include_remote), tree)
        for raw, customer, custom in zip(raws, customers, values)
    ]


def json_response(body: Any) -> Response:
    return Response(_encode(body), media_type="application/json")


@params.accepts(*_READS)
async def retrieve_customer(request: Request) -> Response:
    live = await authorize(request)
    read = read_options(request, live)
    compiled, tree = await read_mappings(request, live)
    raw, customer = await fetch_customer(request, live, read.remote_query, compiled, read.keeps_raw)
    if read.response_format == "raw":
        return json_response(raw)
    [body] = await records(request, compiled, tree, read, [raw], [customer])
    if read.response_format == "stream":
        return StreamingResponse(_chunks([_encode(body)]), media_type="application/json")
    return json_response(body)


@params.accepts(*_READS, "limit", "next_cursor")
async def list_customers(request: Request) -> Response:
    live = await authorize(request)
    read = read_options(request, live)
    limit = params.integer(request.query_params, "limit", paging.DEFAULT_LIMIT, 1, paging.MAX_LIMIT)
    cursor = params.single(request.query_params, "next_cursor")
    compiled, tree = await read_mappings(request, live)
    page, next_cursor, prev_cursor = await fetch_page(
        request, live, limit, cursor, read.remote_query, compiled, "next_cursor", read.keeps_raw
    )
    if read.response_format == "raw":
        return json_response(truto.envelope(page.raws, next_cursor, prev_cursor))
    result = await records(request, compiled, tree, read, page.raws, page.customers)
    body = truto.envelope(result, next_cursor, prev_cursor)
    if read.response_format == "stream":
        return StreamingResponse(_list_chunks(body), media_type="application/json")
    return json_response(body)


async def _list_chunks(body: dict[str, Any]) -> AsyncIterator[bytes]:
    """The envelope, each record encoded only when it is sent."""
    result = body.pop("result")
    yield b'{"result":['
    for index, item in enumerate(result):
        yield (b"," if index else b"") + _encode(item)
    yield b"]," + _encode(body)[1:]  # "next_cursor":...,"prev_cursor":...,"result_count":n}


async def _chunks(pieces: list[bytes]) -> AsyncIterator[bytes]:
    for piece in pieces:
        yield piece
