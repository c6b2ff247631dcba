"""Liveness (the process answers) and readiness (the store answers)."""

from __future__ import annotations

import asyncio

from starlette.requests import Request
from starlette.responses import Response

from .. import params
from ..problems import ApiError
from ..store import StoreUnavailable

_OK = b'{"status":"ok"}'
_READY = b'{"status":"ready"}'


@params.accepts()
async def health(request: Request) -> Response:
    return Response(_OK, media_type="application/json")


@params.accepts()
async def ready(request: Request) -> Response:
    runtime = request.app.state.runtime
    try:
        async with asyncio.timeout(2.0):
            await runtime.store.ping()
    except (StoreUnavailable, TimeoutError):
        raise ApiError(503, "store_unavailable", "the store does not answer") from None
    # A store that answers reads but refuses writes would serve cached
    # customers yet fail every key, connection and token refresh write.
    try:
        async with asyncio.timeout(2.0):
            await runtime.store.probe_write()
    except (StoreUnavailable, TimeoutError):
        raise ApiError(503, "store_unavailable", "the store answers but cannot write") from None
    return Response(_READY, media_type="application/json")
