"""``GET /ecommerce/customers/{id}``: the customer, live from the store."""

from __future__ import annotations

import asyncio
import time
from typing import Any, Awaitable, Callable, TypeVar

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from providers import calls
from providers.base import MappedPage, PageRequest
from providers.errors import ProviderError, ProviderTimeout
from providers.models import Customer, CustomerPage

from .. import field_mappings, paging, params, shaping
from ..directory import LiveConnection
from ..middleware import client_address, request_context
from ..problems import ApiError, from_provider_error, invalid_parameter
from ..store.records import CONNECTION_ACTIVE

MAX_ID_LENGTH = 128
T = TypeVar("T")

_encode = msgspec.json.Encoder().encode


async def authorize(request: Request) -> LiveConnection:
    """API key, then connection token; fills the request's log context."""
    directory = request.app.state.runtime.directory
    context = request_context(request.scope)
    owner = await directory.owner_of(request.headers.get("x-api-key"), client_address(request))
    context["tenant_id"] = owner.tenant_id
    live = await directory.connection_for(owner, request.headers.get("x-connection-token"))
    context["connection_id"] = live.id
    context["provider"] = live.provider_name
    return live


def read_shape(request: Request, live: LiveConnection) -> tuple[bool, shaping.Shape]:
    if not request.scope.get("query_string"):
        return False, shaping.Shape()  # nothing asked: most reads; no parsing
    include_remote = params.boolean(request.query_params, "remote_data")
    shape = shaping.parse(request.query_params, live.provider.remote_query_refusal)
    check_forwarding(live, shape.remote_query)
    return include_remote, shape


def check_forwarding(live: LiveConnection, remote_query: dict[str, str]) -> None:
    if remote_query and not live.provider.remote_query_supported:
        raise invalid_parameter("remote_query", f"{live.provider_name} takes no forwarded query parameters")


async def call_provider(
    request: Request, live: LiveConnection, call: Callable[[], Awaitable[T]], mapped: tuple[str, ...] = (),
    keep_raw: bool = True,
) -> T:
    """Run one provider call within the request deadline and the
    connection's and the tenant's concurrency bounds; failures become the
    error table. ``mapped``: the field-mapping expressions the answer meets;
    ``keep_raw``: whether the platform's JSON is read as it came (see
    providers.calls.CallRecord)."""
    if live.status != CONNECTION_ACTIVE:
        raise ApiError(
            502,
            "provider_auth_failed",
            f"{live.provider.display_name} refused to renew this connection's access; "
            "update its credentials",
            provider=live.provider_name,
        )
    runtime = request.app.state.runtime
    timeout = runtime.config.request_timeout
    # A field mapping reads the platform's JSON too.
    record = calls.begin(timeout, live.provider_name, live.id, mapped, keep_raw or bool(mapped))
    context = request_context(request.scope)
    started = time.perf_counter()
    # The metric's outcome: "ok" or the error table's code (a bounded set).
    outcome = "internal_error"
    try:
        # The HTTP layer enforces the deadline per hop; this outer bound only
        # catches work outside it (e.g. waiting for a connection slot).
        async with asyncio.timeout(timeout + 0.25):
            async with live.slots, runtime.directory.tenant_calls.slot(live.tenant_id):
                result = await call()
                outcome = "ok"
                return result
    except TimeoutError:
        error = from_provider_error(
            ProviderTimeout(f"{live.provider.display_name} did not answer in time"), live.provider_name
        )
        outcome = error.code
        raise error from None
    except ProviderError as exc:
        error = from_provider_error(exc, live.provider_name)
        outcome = error.code
        raise error from None
    except asyncio.CancelledError:
        outcome = "cancelled"  # the request went away: not the provider's failure, nor ours
        raise
    except ApiError as error:
        outcome = error.code  # rate_limited: not sent, the tenant has its bound of calls in flight
        raise
    finally:
        count_call(runtime.metrics, live.provider_name, outcome, time.perf_counter() - started, record.attempts)
        context["upstream_status"] = record.upstream_status
        context["attempts"] = record.attempts
        if record.rate_limit is not None:
            context["response_headers"] = provider_rate_limit_headers(record.rate_limit)


def count_call(metrics: Any, provider: str, outcome: str, elapsed: float, attempts: int) -> None:
    metrics.upstream.labels(provider, outcome).inc()
    metrics.upstream_latency.labels(provider).observe(elapsed)
    if attempts > 1:
        metrics.retries.labels(provider).inc(attempts - 1)


def provider_rate_limit_headers(state: calls.RateLimitState) -> dict[str, str]:
    headers = {}
    for name, value in (
        ("x-provider-ratelimit-limit", state.limit),
        ("x-provider-ratelimit-remaining", state.remaining),
        ("x-provider-ratelimit-reset", state.reset_seconds),
    ):
        if value is not None:
            headers[name] = str(int(value)) if float(value).is_integer() else f"{value:.3f}"
    return headers


async def mappings(request: Request, live: LiveConnection) -> list[field_mappings.Compiled]:
    """The connection's field mappings, read before the provider call: a
    provider asks its platform for what they read (Shopify's metafields)."""
    return await request.app.state.runtime.directory.mappings_for(live)


async def custom_fields(
    request: Request, compiled: list[field_mappings.Compiled], raws: list[Any]
) -> list[dict[str, Any]]:
    """Each payload's custom fields; fields that came back null for a reason
    are named in a response header and on the request's log line."""
    if not compiled:
        return [{} for _ in raws]
    values, problems = await field_mappings.evaluate_page(compiled, raws)
    if problems:
        text = field_mappings.problems_header(problems)
        context = request_context(request.scope)
        context.setdefault("response_headers", {})["x-field-mapping-errors"] = text
        context["field_mapping_errors"] = text
    return values


def unified(
    customer: Any, raw: dict[str, Any], values: dict[str, Any], include_remote: bool, shape: shaping.Shape
) -> Any:
    """The unified customer with custom fields, remote data and shaping."""
    customer.field_mappings = values
    if include_remote:
        customer.remote_data = raw
    if shape.identity:
        return customer
    return shaping.apply(shape, msgspec.to_builtins(customer))


async def fetch_customer(
    request: Request, live: LiveConnection, remote_query: Any, compiled: list[field_mappings.Compiled],
    keep_raw: bool = True,
) -> tuple[Any, Customer]:
    """The path's customer read live; ``compiled``: the connection's field
    mappings (both surfaces read one customer this way)."""
    customer_id = request.path_params["id"]
    if len(customer_id) > MAX_ID_LENGTH:
        raise ApiError(404, "customer_not_found", "no customer has that id", provider=live.provider_name)
    return await call_provider(
        request,
        live,
        lambda: live.provider.get_customer(customer_id, remote_query),
        field_mappings.expressions(compiled),
        keep_raw,
    )


async def fetch_page(
    request: Request, live: LiveConnection, limit: int, cursor: str | None, remote_query: Any,
    compiled: list[field_mappings.Compiled], cursor_name: str = "cursor", keep_raw: bool = True,
) -> tuple[MappedPage, str | None, str | None]:
    """One page read live, with its next and previous cursors signed for this
    connection (both surfaces list this way; ``cursor_name`` is the
    surface's parameter)."""
    keyring = request.app.state.runtime.keyring
    state = paging.read(keyring, live.id, cursor, cursor_name)
    page_request = PageRequest(limit=limit, state=state, query=remote_query)
    page = await call_provider(
        request, live, lambda: live.provider.list_page(page_request), field_mappings.expressions(compiled), keep_raw
    )
    return page, paging.issue(keyring, live.id, page.next), paging.issue(keyring, live.id, page.prev)


_SHAPING = ("remote_data", "fields", "exclude_fields", "response_format", params.REMOTE_QUERY)


@params.accepts(*_SHAPING)
async def retrieve_customer(request: Request) -> Response:
    live = await authorize(request)
    include_remote, shape = read_shape(request, live)
    compiled = await mappings(request, live)
    raw, customer = await fetch_customer(request, live, shape.remote_query, compiled, include_remote or shape.raw)
    if shape.raw:
        return Response(_encode(raw), media_type="application/json")
    [values] = await custom_fields(request, compiled, [raw])
    body = unified(customer, raw, values, include_remote, shape)
    return Response(_encode(body), media_type="application/json")


@params.accepts(*_SHAPING, "limit", "cursor")
async def list_customers(request: Request) -> Response:
    live = await authorize(request)
    include_remote, shape = read_shape(request, live)
    limit = params.integer(
        request.query_params, "limit", paging.DEFAULT_LIMIT, 1, paging.MAX_LIMIT
    )
    compiled = await mappings(request, live)
    page, next_cursor, prev_cursor = await fetch_page(
        request, live, limit, params.single(request.query_params, "cursor"), shape.remote_query, compiled,
        keep_raw=include_remote or shape.raw,
    )
    if shape.raw:
        raw_page = {"prev_cursor": prev_cursor, "next_cursor": next_cursor, "data": page.raws}
        return Response(_encode(raw_page), media_type="application/json")
    values = await custom_fields(request, compiled, page.raws)
    data = [
        unified(customer, raw, fields, include_remote, shape)
        for raw, customer, fields in zip(page.raws, page.customers, values)
    ]
    if shape.identity:
        body: Any = CustomerPage(prev_cursor=prev_cursor, next_cursor=next_cursor, data=data)
    else:  # shaped customers are plain dicts
        body = {"prev_cursor": prev_cursor, "next_cursor": next_cursor, "data": data}
    return Response(_encode(body), media_type="application/json")
