"""An in-memory stand-in for the Store methods the webhook worker uses,
with the semantics CONNECT.md fixes for them (claims take a lease; a
recorded attempt releases it). Unit tests of the worker run on it; the
service tests run on the real stores."""

from __future__ import annotations

import contextlib
from typing import AsyncIterator

import msgspec

from keys.vault import parse_keyring
from proxy.store.records import Sealed, WebhookEvent
from proxy.webhooks import delivery, signing
from providers.http import UpstreamClient, UpstreamPolicy, create_session
from tests.harness import TEST_KEYRING

KEYRING = parse_keyring(TEST_KEYRING)


class FakeTenant(msgspec.Struct, kw_only=True):
    id: str
    name: str = "acme"
    created_at: str = "2026-01-01T00:00:00.000Z"
    webhook_url: str | None = None


class FakeStore:
    def __init__(self) -> None:
        self.tenants: dict[str, FakeTenant] = {}
        self.secrets: dict[str, Sealed] = {}
        self.events: dict[str, WebhookEvent] = {}
        self.leases: dict[str, str] = {}

    def add_tenant(self, tenant_id: str, url: str | None) -> str:
        """The tenant, with a fresh webhook secret; returns the secret."""
        self.tenants[tenant_id] = FakeTenant(id=tenant_id, webhook_url=url)
        secret = signing.new_secret()
        key_id, blob = KEYRING.encrypt(secret.encode(), delivery.secret_aad(tenant_id))
        self.secrets[tenant_id] = Sealed(key_id, blob)
        return secret

    async def get_tenant(self, tenant_id: str) -> FakeTenant | None:
        return self.tenants.get(tenant_id)

    async def webhook_secret(self, tenant_id: str) -> Sealed | None:
        return self.secrets.get(tenant_id)

    async def enqueue_event(self, event: WebhookEvent) -> None:
        self.events[event.id] = msgspec.structs.replace(event)

    async def claim_due_events(self, now: str, lease_until: str, limit: int) -> list[WebhookEvent]:
        due = sorted(
            (e for e in self.events.values()
             if e.status == "pending" and e.next_attempt_at <= now and self.leases.get(e.id, "") <= now),
            key=lambda e: (e.next_attempt_at, e.id),
        )[:limit]
        for event in due:
            self.leases[event.id] = lease_until
        return [msgspec.structs.replace(e) for e in due]

    async def record_delivery(
        self, event_id: str, *, delivered: bool, gave_up: bool, attempts: int, last_status: int | None,
        last_error: str | None, next_attempt_at: str, at: str,
    ) -> None:
        event = self.events[event_id]
        event.status = "delivered" if delivered else "failed" if gave_up else "pending"
        event.attempts = attempts
        event.last_status = last_status
        event.last_error = last_error
        event.next_attempt_at = next_attempt_at
        if delivered:
            event.delivered_at = at
        self.leases.pop(event_id, None)

    async def list_webhook_events(self, tenant_id: str, limit: int = 50) -> list[WebhookEvent]:
        mine = [e for e in self.events.values() if e.tenant_id == tenant_id]
        return sorted(mine, key=lambda e: e.created_at, reverse=True)[:limit]


@contextlib.asynccontextmanager
async def running_worker(
    store: FakeStore, *, allow_private_networks: bool = True, timeout: float = 2.0, concurrency: int = 8,
    schedule: tuple[float, ...] = (0.05, 0.05, 0.05),
) -> AsyncIterator[delivery.DeliveryWorker]:
    """The worker running on ``store``, fast schedule and polling."""
    import asyncio

    policy = UpstreamPolicy(allow_private_networks=allow_private_networks, connect_timeout=1.0, read_timeout=timeout)
    session = create_session(policy)
    worker = delivery.DeliveryWorker(
        store, KEYRING, UpstreamClient(session, policy), timeout=timeout, concurrency=concurrency  # type: ignore[arg-type]
    )
    worker.poll_interval = 0.02
    worker.busy_delay = 0.05
    worker.schedule = schedule
    task = asyncio.create_task(worker.run_forever())
    try:
        yield worker
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await session.close()
