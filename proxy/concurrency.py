"""Provider calls in flight, bounded per tenant.

Upstream sockets come from one pool per process (``SHOPRELAY_UPSTREAM_POOL_SIZE``)
shared by every tenant, and a call to a store that hangs holds its socket
until the request deadline. Bounding each connection (``SHOPRELAY_CONNECTION_CONCURRENCY``)
is not enough: a tenant with many connections to hanging stores would hold
every socket, and the other tenants' healthy stores would time out waiting
for one. So each tenant may have at most ``SHOPRELAY_TENANT_CONCURRENCY``
calls in flight; the pool must be larger than that (checked at startup), so
it takes ``pool / tenant bound`` tenants at their bound to use it all up.

A call over the bound waits briefly for a slot (a burst against fast stores
drains in milliseconds), then answers 429 ``rate_limited``: the limit is the
tenant's own, and a short queue keeps a tenant whose stores hang from
parking requests (each an inbound socket) for a whole deadline.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import AsyncIterator

from .problems import ApiError

QUEUE_SECONDS = 1.0  # longest wait for a tenant slot before the 429


class _Tenant:
    __slots__ = ("semaphore", "users")

    def __init__(self, limit: int) -> None:
        self.semaphore = asyncio.Semaphore(limit)
        self.users = 0  # holders and waiters


class TenantCalls:
    """At most ``limit`` calls in flight per tenant. State is kept only for
    tenants with a call in flight or waiting, so it never grows with the
    number of tenants."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._tenants: dict[str, _Tenant] = {}

    @contextlib.asynccontextmanager
    async def slot(self, tenant_id: str, wait: float = QUEUE_SECONDS) -> AsyncIterator[None]:
        tenant = self._tenants.get(tenant_id)
        if tenant is None:
            tenant = self._tenants[tenant_id] = _Tenant(self.limit)
        tenant.users += 1
        try:
            if tenant.semaphore.locked():
                try:
                    async with asyncio.timeout(max(0.0, wait)):
                        await tenant.semaphore.acquire()
                except TimeoutError:
                    raise ApiError(
                        429,
                        "rate_limited",
                        f"this tenant already has {self.limit} provider calls in flight; "
                        "retry when some have answered",
                        headers={"Retry-After": "1"},
                    ) from None
            else:
                await tenant.semaphore.acquire()  # free: returns at once
            try:
                yield
            finally:
                tenant.semaphore.release()
        finally:
            tenant.users -= 1
            if tenant.users == 0:
                del self._tenants[tenant_id]
