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

    def slot(self, tenant_id: str, wait: float = QUEUE_SECONDS) -> "_Slot":
        """``async with calls.slot(tenant_id):`` holds one of the tenant's
        slots, or raises 429 after ``wait`` seconds. (A plain object, not a
        generator: it is entered on every provider call.)"""
        return _Slot(self, tenant_id, wait)


class _Slot:
    __slots__ = ("_calls", "_tenant_id", "_wait", "_tenant")

    def __init__(self, calls: TenantCalls, tenant_id: str, wait: float) -> None:
        self._calls = calls
        self._tenant_id = tenant_id
        self._wait = wait

    async def __aenter__(self) -> None:
        tenants = self._calls._tenants
        tenant = tenants.get(self._tenant_id)
        if tenant is None:
            tenant = tenants[self._tenant_id] = _Tenant(self._calls.limit)
        tenant.users += 1
        self._tenant = tenant
        try:
            if tenant.semaphore.locked():
                async with asyncio.timeout(max(0.0, self._wait)):
                    await tenant.semaphore.acquire()
            else:
                await tenant.semaphore.acquire()  # free: returns at once
        except TimeoutError:
            self._leave()
            raise ApiError(
                429,
                "rate_limited",
                f"this tenant already has {self._calls.limit} provider calls in flight; "
                "retry when some have answered",
                headers={"Retry-After": "1"},
            ) from None
        except BaseException:  # cancelled while waiting
            self._leave()
            raise

    async def __aexit__(self, *exc_info: object) -> None:
        self._tenant.semaphore.release()
        self._leave()

    def _leave(self) -> None:
        self._tenant.users -= 1
        if self._tenant.users == 0:
            del self._calls._tenants[self._tenant_id]
