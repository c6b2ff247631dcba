"""The delivery worker alone, on a real store (SQLite in a temporary file),
with the schedule and polling run in milliseconds."""

from __future__ import annotations

import asyncio
import contextlib
import pathlib
from typing import AsyncIterator

from keys.vault import parse_keyring
from proxy import tenant_settings
from proxy.clock import now_text
from proxy.store import Store, open_store
from proxy.store.records import Connection, Tenant, WebhookEvent
from proxy.webhooks import delivery, events, signing
from providers.http import UpstreamClient, UpstreamPolicy, create_session
from tests.harness import TEST_KEYRING, Harness
from tests.harness import Tenant as HarnessTenant

KEYRING = parse_keyring(TEST_KEYRING)


class Outbox:
    def __init__(self, store: Store) -> None:
        self.store = store

    async def tenant(self, tenant_id: str, url: str | None) -> str:
        """A tenant sending to ``url`` with a fresh secret; returns the secret."""
        await self.store.create_tenant(Tenant(id=tenant_id, name=tenant_id, created_at=now_text()))
        secret = signing.new_secret()
        sealed = tenant_settings.seal_webhook_secret(KEYRING, tenant_id, secret)
        await self.store.update_tenant(tenant_id, webhook_url=url, webhook_secret=sealed)
        return secret

    async def enqueue(self, tenant_id: str, number: int = 1, type: str = events.CREATED) -> WebhookEvent:
        connection = Connection(
            id=f"conn-{number}", tenant_id=tenant_id, provider="sandbox", token_prefix="ct_x", status="active",
            settings={}, created_at=now_text(), updated_at=now_text(), end_user_id="u1",
        )
        event = events.connection_event(type, connection)
        await self.store.enqueue_event(event)
        return event

    async def get(self, event: WebhookEvent) -> WebhookEvent:
        """The event as stored now."""
        (found,) = [e for e in await self.store.list_webhook_events(event.tenant_id, 100) if e.id == event.id]
        return found


@contextlib.asynccontextmanager
async def outbox(tmp_path: pathlib.Path) -> AsyncIterator[Outbox]:
    store = open_store(f"sqlite:///{tmp_path / 'outbox.db'}")
    await store.migrate()
    try:
        yield Outbox(store)
    finally:
        await store.close()


@contextlib.asynccontextmanager
async def running_worker(
    box: Outbox, *, allow_private_networks: bool = True, timeout: float = 2.0, concurrency: int = 8,
    schedule: tuple[float, ...] = (0.05, 0.05, 0.05),
) -> AsyncIterator[delivery.DeliveryWorker]:
    policy = UpstreamPolicy(allow_private_networks=allow_private_networks, connect_timeout=1.0, read_timeout=timeout)
    session = create_session(policy)
    worker = delivery.DeliveryWorker(
        box.store, KEYRING, UpstreamClient(session, policy), timeout=timeout, concurrency=concurrency
    )
    worker.poll_interval = 0.02
    worker.schedule = schedule
    task = asyncio.create_task(worker.run_forever())
    try:
        yield worker
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await session.close()


async def until(predicate, limit: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    """Wait for an async ``predicate()`` to hold (fails the test after ``limit`` s)."""
    async with asyncio.timeout(limit):
        while not await predicate():
            await asyncio.sleep(0.01)


async def subscribe(api: Harness, tenant: HarnessTenant, url: str) -> str:
    """Set a service tenant's webhook_url as a SaaS does (``PATCH /tenant``);
    returns the secret, shown this once."""
    answer = await api.client.patch("/tenant", json={"webhook_url": url}, headers={"x-api-key": tenant.api_key})
    assert answer.status_code == 200, answer.text
    return answer.json()["webhook_secret"]
