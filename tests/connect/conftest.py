"""Connect tests: the real app, an API client for the tenant and a cookie-
keeping client per merchant browser."""

from __future__ import annotations

import contextlib
import html
import re
import urllib.parse
from typing import Any, AsyncIterator

import httpx
import pytest

from tests.connect.memory_store import MemoryConnectStore
from tests.harness import Harness, Tenant, running_app

BASE = "http://shoprelay.test"
RETURN_URL = "https://app.example.com/connected"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


class Connect:
    """The app and the tenant-side calls of the connect flow."""

    def __init__(self, harness: Harness) -> None:
        self.harness = harness
        self.app = harness.app
        self.api = harness.client
        self.store: Any = harness.runtime.store

    async def tenant(self, name: str = "Acme Reviews", return_urls: list[str] = (RETURN_URL,)) -> Tenant:  # type: ignore[assignment]
        tenant = await self.harness.tenant(name)
        await self.store.update_tenant(tenant.id, return_urls=list(return_urls))
        return tenant

    async def create_session(self, tenant: Tenant, **body: Any) -> httpx.Response:
        body.setdefault("end_user_id", "merchant-1")
        return await self.api.post("/connect/sessions", json=body, headers={"x-api-key": tenant.api_key})

    async def session(self, tenant: Tenant, **body: Any) -> dict[str, Any]:
        response = await self.create_session(tenant, **body)
        assert response.status_code == 201, response.text
        return response.json()

    async def status(self, tenant: Tenant, session_id: str) -> httpx.Response:
        return await self.api.get(f"/connect/sessions/{session_id}", headers={"x-api-key": tenant.api_key})

    async def exchange(self, tenant: Tenant, code: str) -> httpx.Response:
        return await self.api.post("/connect/exchange", json={"code": code}, headers={"x-api-key": tenant.api_key})

    @contextlib.asynccontextmanager
    async def browser(self) -> AsyncIterator["Browser"]:
        transport = httpx.ASGITransport(app=self.app)
        async with httpx.AsyncClient(transport=transport, base_url=BASE) as client:
            yield Browser(client)


class Browser:
    """A merchant's browser: keeps cookies, follows nothing by itself."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    async def open(self, connect_url: str) -> httpx.Response:
        parts = urllib.parse.urlsplit(connect_url)
        return await self.client.get(f"{parts.path}?{parts.query}")

    async def get(self, path: str) -> httpx.Response:
        return await self.client.get(path)

    async def csrf(self, provider: str) -> str:
        page = await self.client.get(f"/connect/providers/{provider}")
        assert page.status_code == 200, page.text
        return csrf_of(page.text)

    async def post(self, provider: str, fields: dict[str, str] | list[tuple[str, str]]) -> httpx.Response:
        """The form posted as a browser posts it (pairs kept, repeats too)."""
        body = urllib.parse.urlencode(list(fields.items()) if isinstance(fields, dict) else fields)
        return await self.client.post(f"/connect/providers/{provider}", content=body,
                                      headers={"content-type": "application/x-www-form-urlencoded"})

    async def submit(self, provider: str, fields: dict[str, str]) -> httpx.Response:
        token = await self.csrf(provider)
        return await self.post(provider, {"csrf_token": token, **fields})


def csrf_of(page: str) -> str:
    match = _CSRF.search(page)
    assert match, "no csrf_token in the form"
    return html.unescape(match.group(1))


def code_of(location: str) -> tuple[str, str]:
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(location).query))
    return query["connect_code"], query["session_id"]


@pytest.fixture
async def connect(tmp_path) -> AsyncIterator[Connect]:
    async with running_app(tmp_path, public_url=BASE) as harness:
        store = MemoryConnectStore(harness.runtime.store)
        harness.runtime.store = store
        yield Connect(harness)
