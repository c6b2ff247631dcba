"""The bare forwarder: the smallest Starlette + aiohttp app that forwards the
same Shopify GraphQL call and returns the upstream bytes. It is the floor of
this stack: no auth, no mapping, no checks. Run: ``python bench/forwarder.py PORT UPSTREAM``.
"""

from __future__ import annotations

import contextlib
import sys
from typing import AsyncIterator

import aiohttp
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

UPSTREAM = sys.argv[2] if len(sys.argv) > 2 else "http://127.0.0.1:9001"
QUERY = '{"query":"query($id: ID!){customer(id:$id){id}}","variables":{"id":"gid://shopify/Customer/%s"}}'
session: aiohttp.ClientSession | None = None


async def customer(request: Request) -> Response:
    body = (QUERY % request.path_params["id"]).encode()
    async with session.post(  # type: ignore[union-attr]
        f"{UPSTREAM}/admin/api/2026-10/graphql.json",
        data=body,
        headers={"X-Shopify-Access-Token": "shpat_bench", "Content-Type": "application/json"},
    ) as upstream:
        return Response(await upstream.read(), media_type="application/json")


@contextlib.asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    global session
    session = aiohttp.ClientSession()
    yield
    await session.close()


app = Starlette(routes=[Route("/ecommerce/customers/{id}", customer)], lifespan=lifespan)

if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", access_log=False)
