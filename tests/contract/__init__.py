"""The contract suite: every installed provider (``providers.registry.names()``)
against its fake upstream (tests/fakes/), through the real app and the
Provider API. A provider needs no test code of its own to be held to it."""

from __future__ import annotations

from typing import Any

from providers import registry
from tests.fakes import Fake, fake_for
from tests.harness import Harness, Tenant

# Installed providers with no upstream to fake, and why.
WITHOUT_UPSTREAM = {
    "sandbox": "generates its store in-process: there is no upstream to fake "
    "(tests/proxy/test_customers_api.py and test_list_customers.py cover it)",
}
PROVIDERS = [name for name in registry.names() if name not in WITHOUT_UPSTREAM]


def make_fake(provider: str, **kwargs: Any) -> Fake:
    return fake_for(provider)(**kwargs)


class Client:
    """One connection's view of the API, counting the upstream calls of each request."""

    def __init__(self, api: Harness, tenant: Tenant, token: str, fake: Fake) -> None:
        self.api, self.tenant, self.token, self.fake = api, tenant, token, fake

    @property
    def headers(self) -> dict[str, str]:
        return {"x-api-key": self.tenant.api_key, "x-connection-token": self.token}

    async def get(self, customer_id: str, **params: Any) -> Any:
        return await self.api.get_customer(self.tenant, self.token, customer_id, **params)

    async def list(self, **params: Any) -> tuple[Any, int]:
        """``GET /ecommerce/customers`` and the list requests it cost."""
        before = self.fake.list_requests()
        response = await self.api.client.get("/ecommerce/customers", params=params, headers=self.headers)
        return response, self.fake.list_requests() - before

    async def page(self, limit: int, cursor: str | None = None) -> tuple[dict[str, Any], int]:
        params = {"limit": limit} if cursor is None else {"limit": limit, "cursor": cursor}
        response, requests = await self.list(**params)
        assert response.status_code == 200, response.text
        return response.json(), requests


async def connect(
    api: Harness, tenant: Tenant, fake: Fake, origin: str, credentials: dict[str, str] | None = None
) -> tuple[str, Client]:
    """A connection of ``tenant`` to ``fake`` (with its own credentials unless given)."""
    connection_id, token = await api.connection(
        tenant, fake.provider, credentials if credentials is not None else fake.credentials, fake.settings(origin)
    )
    return connection_id, Client(api, tenant, token, fake)
