"""The bare forwarder: the smallest Starlette + aiohttp app that forwards a
Shopify GraphQL call and returns the upstream bytes. It is the floor of
this stack: no auth, no mapping, no checks, no log.

* ``GET /ecommerce/customers/{id}``: a minimal ``customer(id:) { id }`` query;
* ``GET /ecommerce/customers?limit=N``: the list query shoprelay sends for a
  page of N (``providers.shopify.queries().forward``, first page), taken
  from ``BENCH_LIST_QUERY`` when run.py passes it (so this process does not
  import shoprelay), else from the module.

Run: ``python bench/forwarder.py PORT UPSTREAM``.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import sys
from typing import AsyncIterator

import aiohttp
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

UPSTREAM = sys.argv[2] if len(sys.argv) > 2 else "http://127.0.0.1:9001"
ENDPOINT = f"{UPSTREAM}/admin/api/2026-10/graphql.json"
HEADERS = {"X-Shopify-Access-Token": "shpat_bench", "Content-Type": "application/json"}
QUERY = '{"query":"query($id: ID!){customer(id:$id){id}}","variables":{"id":"gid://shopify/Customer/%s"}}'
session: aiohttp.ClientSession | None = None


def list_query() -> str:
    if "BENCH_LIST_QUERY" in os.environ:
        return os.environ["BENCH_LIST_QUERY"]
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    from providers.shopify import queries

    return queries().forward


LIST_QUERY = list_query()


@functools.lru_cache(maxsize=16)
def list_body(limit: str) -> bytes:
    return json.dumps({"query": LIST_QUERY, "variables": {"n": int(limit), "cursor": None}}).encode()


async def forward(body: bytes) -> Response:
    async with session.post(ENDPOINT, data=body, headers=HEADERS) as upstream:  # type: ignore[union-attr]
        return Response(await upstream.read(), media_type="application/json")


async def customer(request: Request) -> Response:
    return await forward((QUERY % request.path_params["id"]).encode())


async def customers(request: Request) -> Response:
    return await forward(list_body(request.query_params.get("limit", "50")))


@contextlib.asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    global session
    session = aiohttp.ClientSession()
    yield
    await session.close()


app = Starlette(
    routes=[Route("/ecommerce/customers/{id}", customer), Route("/ecommerce/customers", customers)],
    lifespan=lifespan,
)

if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", access_log=False)
