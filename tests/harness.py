"""Service-test harness: the real ASGI app (lifespan included) on a fresh
SQLite database, driven through httpx, plus helpers to create tenants and
connections the way the CLI does."""

from __future__ import annotations

import contextlib
import pathlib
from typing import Any, AsyncIterator

import httpx
import msgspec

from keys.vault import new_key_text
from proxy import accounts, serving
from proxy.app import create_app
from proxy.config import Config
from proxy.runtime import Runtime

TEST_KEYRING = new_key_text("test1")


class Tenant(msgspec.Struct):
    id: str
    api_key: str
    api_key_id: str


class Harness:
    def __init__(self, app: Any, client: httpx.AsyncClient) -> None:
        self.app = app
        self.client = client

    @property
    def runtime(self) -> Runtime:
        return self.app.state.runtime

    async def tenant(self, name: str = "acme") -> Tenant:
        store = self.runtime.store
        tenant = await accounts.create_tenant(store, name)
        key, secret = await accounts.create_api_key(store, tenant.id, "test")
        return Tenant(tenant.id, secret, key.id)

    async def connection(
        self, tenant: Tenant, provider: str, credentials: dict[str, Any], settings: dict[str, Any] | None = None
    ) -> tuple[str, str]:
        """Returns (connection_id, connection_token)."""
        conn, token = await accounts.create_connection(
            self.runtime.store, self.runtime.keyring, tenant.id, provider, credentials, settings or {}
        )
        return conn.id, token

    async def get_customer(
        self, tenant: Tenant, token: str, customer_id: str, **params: Any
    ) -> httpx.Response:
        return await self.client.get(
            f"/ecommerce/customers/{customer_id}",
            params=params,
            headers={"x-api-key": tenant.api_key, "x-connection-token": token},
        )


def make_config(tmp_path: pathlib.Path, **overrides: Any) -> Config:
    values: dict[str, Any] = {
        "database_url": f"sqlite:///{tmp_path / 'shoprelay.db'}",
        "encryption_keys": TEST_KEYRING,
        "allow_private_networks": True,
        "request_timeout": 3.0,
        "connect_timeout": 2.0,
        # Inbound limits have tests of their own; elsewhere they would only
        # make request-heavy tests flaky.
        "tenant_rps": 0.0,
        "connection_rps": 0.0,
    }
    values.update(overrides)
    return Config(**values)


@contextlib.asynccontextmanager
async def running_app(tmp_path: pathlib.Path, **overrides: Any) -> AsyncIterator[Harness]:
    app = create_app(make_config(tmp_path, **overrides))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://shoprelay.test") as client:
            yield Harness(app, client)


@contextlib.asynccontextmanager
async def served_over_http(
    tmp_path: pathlib.Path, *, port: int = 0, **overrides: Any
) -> AsyncIterator[tuple[Harness, str]]:
    """The app behind a real uvicorn socket, for clients that speak real HTTP
    (Panora's SDK). Yields the harness and the base URL. ``port`` (0: any
    free one) lets a test name its public URL before the server starts."""
    import asyncio

    import uvicorn

    config = make_config(tmp_path, **overrides)
    app = create_app(config)
    # Served as `shoprelay serve` serves (its protocol, timeouts and bounds).
    options = serving.server_options(config, host="127.0.0.1", port=port, workers=1)
    options["log_level"] = "warning"
    del options["log_config"]  # leave the test process's logging as it is
    server = uvicorn.Server(uvicorn.Config(app, lifespan="on", **options))
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.02)
        port = server.servers[0].sockets[0].getsockname()[1]
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            yield Harness(app, client), f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
