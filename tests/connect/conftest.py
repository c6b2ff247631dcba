"""Connect tests: the real app, an API client for the tenant and a cookie-
keeping client per merchant browser."""

from __future__ import annotations

import contextlib
import html
import re
import sqlite3
import urllib.parse
from typing import Any, AsyncIterator

import asyncpg
import httpx
import pytest

from tests.harness import Harness, Tenant, running_app
from tests.store.postgres import PostgresDatabase, session_database

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
        patched = await self.api.patch("/tenant", json={"return_urls": list(return_urls)},
                                       headers={"x-api-key": tenant.api_key})
        assert patched.status_code == 200, patched.text
        return tenant

    async def sql(self, statement: str, *args: Any) -> list[tuple]:
        """Straight at the database: what the store holds, and the clock
        moved for a session (the API never sets expires_at). ``?`` marks
        the arguments."""
        config = self.harness.runtime.config
        if config.is_sqlite:
            with contextlib.closing(sqlite3.connect(config.sqlite_path)) as db, db:
                return db.execute(statement, args).fetchall()
        numbered = re.sub(r"\?", lambda m, n=iter(range(1, 99)): f"${next(n)}", statement)
        conn = await asyncpg.connect(config.database_url)
        try:
            return [tuple(row) for row in await conn.fetch(numbered, *args)]
        finally:
            await conn.close()

    async def rows(self, table: str) -> int:
        return (await self.sql(f"SELECT COUNT(*) FROM {table}"))[0][0]

    async def expire(self, session_id: str) -> None:
        await self.sql("UPDATE connect_sessions SET expires_at = ? WHERE id = ?", "2000-01-01T00:00:00.000Z",
                       session_id)

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


@pytest.fixture(scope="session")
def postgres_database():
    yield from session_database()


@pytest.fixture(params=["sqlite", "postgresql"])
async def connect(request, tmp_path) -> AsyncIterator[Connect]:
    """The app on each store: SQLite in a temporary file, PostgreSQL in a
    fresh schema (tests/store/postgres.py; skipped, saying why, without a
    server)."""
    async with app_on(request, tmp_path, BASE) as connect:
        yield connect


@contextlib.asynccontextmanager
async def app_on(request: Any, tmp_path: Any, public_url: str) -> AsyncIterator[Connect]:
    """The app on ``request.param``'s store, public at ``public_url``."""
    overrides: dict[str, Any] = {"public_url": public_url}
    schema = None
    if request.param == "postgresql":
        database: PostgresDatabase = request.getfixturevalue("postgres_database")
        schema = await database.create_schema()
        overrides["database_url"] = database.schema_url(schema)
    try:
        async with running_app(tmp_path, **overrides) as harness:
            yield Connect(harness)
    finally:
        if schema is not None:
            await database.drop_schema(schema)
