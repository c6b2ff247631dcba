"""OAuth install tests: the app with a tenant (the ``connect`` fixture of
tests/connect/conftest.py, on SQLite and PostgreSQL), a provider app
pointing at a platform's fake, and a merchant's browser that walks
start -> the platform's consent -> our callback, remembering every URL it
was sent to (none may carry a token).

A flow's test file::

    async def test_it(oauth):
        fake = ShopifyFake()
        async with fake.serve() as origin, oauth.merchant() as merchant:
            await oauth.app("shopify", fake.client_id, fake.client_secret, auth_url=origin)
            await merchant.open(oauth.tenant, return_url=RETURN_URL)
            done = await merchant.walk("shopify", {"shop": "acme"})
"""

from __future__ import annotations

import contextlib
import urllib.parse
from typing import Any, AsyncIterator

import httpx
import pytest

from proxy import provider_apps
from tests.connect.conftest import BASE, RETURN_URL, Browser, Connect, code_of, csrf_of
from tests.harness import Tenant

__all__ = ["BASE", "RETURN_URL", "OAuth", "Merchant", "code_of"]


class Merchant(Browser):
    """A browser with the connect cookie: it follows our redirects to the
    platform (real HTTP to the fake) and the platform's back to us (in
    process), and keeps every URL it was sent to in ``visited``."""

    def __init__(self, client: httpx.AsyncClient, oauth: "OAuth") -> None:
        super().__init__(client)
        self.oauth = oauth
        self.visited: list[str] = []
        self.session: dict[str, Any] = {}

    async def open(self, tenant: Tenant | None = None, **body: Any) -> dict[str, Any]:
        """A new connect session of ``tenant`` (default: the fixture's), opened."""
        self.session = await self.oauth.connect.session(tenant or self.oauth.tenant, **body)
        opened = await super().open(self.session["connect_url"])
        assert opened.status_code == 303, opened.text
        return self.session

    async def start(self, provider: str, typed: dict[str, str], *, csrf: str | None = None) -> httpx.Response:
        """The "Connect with PLATFORM" button, with what the merchant typed."""
        if csrf is None:
            form = await self.get(f"/connect/providers/{provider}")
            assert form.status_code == 200, form.text
            assert f'action="/connect/oauth/{provider}/start"' in form.text, "no Connect with button"
            csrf = csrf_of(form.text)
        body = urllib.parse.urlencode({"csrf_token": csrf, **typed})
        response = await self.client.post(f"/connect/oauth/{provider}/start", content=body,
                                          headers={"content-type": "application/x-www-form-urlencoded"})
        self._saw(response)
        return response

    async def consent(self, authorize_url: str) -> httpx.Response:
        """The platform's consent screen (the fake consents at once and
        redirects back, or refuses with its own page)."""
        async with httpx.AsyncClient() as platform:
            response = await platform.get(authorize_url, follow_redirects=False)
        self._saw(response)
        return response

    async def back(self, callback_url: str) -> httpx.Response:
        """The platform's redirect, arriving at our callback in this browser."""
        parts = urllib.parse.urlsplit(callback_url)
        assert f"{parts.scheme}://{parts.netloc}" == BASE, callback_url
        response = await self.client.get(f"{parts.path}?{parts.query}")
        self._saw(response)
        return response

    async def consented(self, provider: str, typed: dict[str, str]) -> str:
        """start -> consent: the callback URL the platform sends the browser to."""
        started = await self.start(provider, typed)
        assert started.status_code == 303, started.text
        consented = await self.consent(started.headers["location"])
        assert consented.status_code == 302, consented.text
        return consented.headers["location"]

    async def walk(self, provider: str, typed: dict[str, str]) -> httpx.Response:
        """start -> consent -> callback; the callback's answer."""
        return await self.back(await self.consented(provider, typed))

    def _saw(self, response: httpx.Response) -> None:
        self.visited.append(str(response.request.url))
        if "location" in response.headers:
            self.visited.append(response.headers["location"])


class OAuth:
    """The connect fixture, a tenant with a return URL, provider apps."""

    def __init__(self, connect: Connect, tenant: Tenant) -> None:
        self.connect = connect
        self.tenant = tenant
        self.store = connect.store

    @property
    def runtime(self) -> Any:
        return self.connect.harness.runtime

    async def app(
        self, provider: str, client_id: str, client_secret: str, *, tenant: Tenant | None = None,
        scopes: list[str] | None = None, **settings: str,
    ) -> None:
        """A provider app: the operator's default, or ``tenant``'s own."""
        await provider_apps.put_app(
            self.store, self.runtime.keyring, tenant.id if tenant else None, provider, client_id, client_secret,
            scopes=scopes, settings=settings or None, allow_private_networks=True,
        )

    def callback_url(self, provider: str) -> str:
        return provider_apps.callback_url(self.runtime.config, provider)

    @contextlib.asynccontextmanager
    async def merchant(self) -> AsyncIterator[Merchant]:
        transport = httpx.ASGITransport(app=self.connect.app)
        async with httpx.AsyncClient(transport=transport, base_url=BASE) as client:
            yield Merchant(client, self)

    async def session_status(self, session_id: str, tenant: Tenant | None = None) -> dict[str, Any]:
        response = await self.connect.status(tenant or self.tenant, session_id)
        assert response.status_code == 200, response.text
        return response.json()

    async def exchange(self, location: str, tenant: Tenant | None = None) -> dict[str, Any]:
        """The tenant's backend trades the return URL's code for the connection."""
        code, _ = code_of(location)
        response = await self.connect.exchange(tenant or self.tenant, code)
        assert response.status_code == 200, response.text
        return response.json()

    async def read_customer(self, token: str, customer_id: str, tenant: Tenant | None = None) -> httpx.Response:
        return await self.connect.harness.get_customer(tenant or self.tenant, token, customer_id)

    async def stored(self) -> dict[str, int]:
        """Rows a refused callback must not have added to."""
        return {table: await self.connect.rows(table) for table in ("connections", "oauth_grants", "connect_codes")}


@pytest.fixture
async def oauth(connect) -> OAuth:
    return OAuth(connect, await connect.tenant())
