"""What the BigCommerce and WooCommerce flow tests share: the app served at
an https public URL (WooCommerce refuses a plain-http callback_url, and the
session cookie is Secure there), a merchant browser that follows redirects
hop by hop across shoprelay and the fake platform, and the tenant side."""

from __future__ import annotations

import contextlib
import json
import urllib.parse
from typing import Any, AsyncIterator

import httpx
from aiohttp import web

from tests.connect.conftest import RETURN_URL, Connect, code_of, csrf_of
from tests.harness import Tenant
from tests.support import serve

PUBLIC = "https://shoprelay.test"


class Merchant:
    """A browser: cookies for shoprelay, plain requests elsewhere, and
    every redirect followed by hand so each hop can be looked at."""

    def __init__(self, connect: Connect, client: httpx.AsyncClient, outside: httpx.AsyncClient) -> None:
        self.connect = connect
        self.client = client
        self.outside = outside
        self.visited: list[str] = []  # every URL the browser was at

    async def get(self, url: str) -> httpx.Response:
        self.visited.append(url)
        if url.startswith(PUBLIC):
            return await self.client.get(url[len(PUBLIC):] or "/")
        if url.startswith("/"):
            return await self.client.get(url)
        return await self.outside.get(url)

    async def follow(self, response: httpx.Response, *, stop_at: str = RETURN_URL, hops: int = 10) -> httpx.Response:
        """Follow redirects until a page, or until the tenant's return URL."""
        for _ in range(hops):
            if response.status_code not in (302, 303) or response.headers["location"].startswith(stop_at):
                return response
            response = await self.get(response.headers["location"])
        raise AssertionError("too many redirects")

    async def start(self, provider: str, **inputs: str) -> httpx.Response:
        """"Connect with PLATFORM" on the provider's page: the start form."""
        page = await self.client.get(f"/connect/providers/{provider}")
        assert page.status_code == 200, page.text
        body = urllib.parse.urlencode({"csrf_token": csrf_of(page.text), **inputs})
        return await self.client.post(f"/connect/oauth/{provider}/start", content=body,
                                      headers={"content-type": "application/x-www-form-urlencoded"})

    async def post_form(self, path: str, fields: dict[str, str]) -> httpx.Response:
        return await self.client.post(path, content=urllib.parse.urlencode(fields),
                                      headers={"content-type": "application/x-www-form-urlencoded"})


@contextlib.asynccontextmanager
async def merchant(connect: Connect, connect_url: str | None = None) -> AsyncIterator[Merchant]:
    transport = httpx.ASGITransport(app=connect.app)
    async with httpx.AsyncClient(transport=transport, base_url=PUBLIC) as client, httpx.AsyncClient() as outside:
        browser = Merchant(connect, client, outside)
        if connect_url is not None:
            opened = await browser.get(connect_url)
            assert opened.status_code == 303, opened.text
        yield browser


async def exchanged(connect: Connect, tenant: Tenant, location: str) -> dict[str, Any]:
    """The tenant's backend trades the connect code for the connection."""
    assert location.startswith(RETURN_URL), location
    code, _ = code_of(location)
    response = await connect.exchange(tenant, code)
    assert response.status_code == 200, response.text
    return response.json()


async def connections(connect: Connect, tenant: Tenant) -> list[dict[str, Any]]:
    listed = await connect.api.get("/connections", headers={"x-api-key": tenant.api_key})
    assert listed.status_code == 200, listed.text
    return listed.json()["data"]


@contextlib.asynccontextmanager
async def webhooks(connect: Connect, tenant: Tenant) -> AsyncIterator[None]:
    """The tenant has a webhook URL (a local receiver), so events are written."""
    async def ok(request: web.Request) -> web.Response:
        return web.Response(status=204)

    app = web.Application()
    app.router.add_post("/hooks", ok)
    async with serve(app) as origin:
        patched = await connect.api.patch("/tenant", json={"webhook_url": f"{origin}/hooks"},
                                          headers={"x-api-key": tenant.api_key})
        assert patched.status_code == 200, patched.text
        yield


async def events(connect: Connect, tenant: Tenant) -> list[str]:
    return [json.loads(e.payload)["type"] for e in await connect.store.list_webhook_events(tenant.id)]


def no_secret_in(texts: list[str], secrets: list[str]) -> None:
    for text in texts:
        for secret in secrets:
            assert secret not in text, "a secret reached a browser URL"


def logged_secrets(trap: Any, secrets: list[str]) -> list[str]:
    """Log lines (ours, not the test's own httpx/httpcore client, which logs
    the URLs and headers it sees) holding a secret or its SHA-256 digest."""
    import hashlib

    values = [s for s in secrets if s] + [hashlib.sha256(s.encode()).hexdigest() for s in secrets if s]
    ours = [text for i, record in enumerate(trap.records) if not record.name.startswith(("httpx", "httpcore"))
            for text in trap.texts[3 * i:3 * i + 3]]
    return [line for line in ours if any(v in line for v in values)]
