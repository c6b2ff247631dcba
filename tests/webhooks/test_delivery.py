"""The delivery worker on an in-memory outbox: signed POSTs a stock library
verifies, retries after failures, give-ups, the SSRF guard, timeouts, and
one tenant's endpoint unable to hold back another's events."""

from __future__ import annotations

import asyncio
import logging

from aiohttp import web
from standardwebhooks.webhooks import Webhook

from proxy.store.records import Connection
from proxy.webhooks import events
from tests.support import serve
from tests.webhooks.fake import FakeStore, FakeTenant, running_worker


def connection(tenant_id: str, number: int = 1) -> Connection:
    return Connection(
        id=f"conn-{number}", tenant_id=tenant_id, provider="sandbox", token_prefix="ct_x", status="active",
        settings={}, created_at="2026-01-01T00:00:00.000Z", updated_at="2026-01-01T00:00:00.000Z",
        end_user_id="u1", tags={},
    )


async def enqueue(store: FakeStore, tenant_id: str, number: int = 1, type: str = events.CREATED):
    event = events.connection_event(type, connection(tenant_id, number), tenant=FakeTenant(id=tenant_id, webhook_url="x"))
    await store.enqueue_event(event)
    return event


class Receiver:
    """A webhook endpoint answering from a list of statuses (the last one repeats)."""

    def __init__(self, *statuses: int, headers: dict[str, str] | None = None) -> None:
        self.statuses = list(statuses) or [204]
        self.headers = headers or {}
        self.seen: list[tuple[dict[str, str], bytes]] = []
        self.arrived = asyncio.Event()

    async def handle(self, request: web.Request) -> web.Response:
        self.seen.append((dict(request.headers), await request.read()))
        self.arrived.set()
        status = self.statuses.pop(0) if len(self.statuses) > 1 else self.statuses[0]
        return web.Response(status=status, headers=self.headers)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/hooks", self.handle)
        app.router.add_get("/hooks", self.handle)
        return app


async def until(predicate, limit: float = 10.0) -> None:
    async with asyncio.timeout(limit):
        while not predicate():
            await asyncio.sleep(0.01)


async def test_an_event_arrives_signed_and_is_marked_delivered():
    receiver = Receiver(200)
    async with serve(receiver.app()) as origin:
        store = FakeStore()
        secret = store.add_tenant("t1", origin + "/hooks")
        event = await enqueue(store, "t1")
        async with running_worker(store):
            await until(lambda: store.events[event.id].status == "delivered")
    headers, body = receiver.seen[0]
    assert body.decode() == event.payload  # the stored body, byte for byte
    assert Webhook(secret).verify(body, headers)["data"]["connection_id"] == "conn-1"
    assert headers["webhook-id"] == event.id
    assert headers["Content-Type"] == "application/json"
    stored = store.events[event.id]
    assert (stored.attempts, stored.last_status, stored.last_error) == (1, 200, None)
    assert stored.delivered_at is not None
    assert len(receiver.seen) == 1


async def test_a_500_is_retried_until_a_2xx():
    receiver = Receiver(500, 503, 200)
    async with serve(receiver.app()) as origin:
        store = FakeStore()
        secret = store.add_tenant("t1", origin + "/hooks")
        event = await enqueue(store, "t1")
        async with running_worker(store):
            await until(lambda: store.events[event.id].status == "delivered")
    assert len(receiver.seen) == 3
    assert store.events[event.id].attempts == 3
    # The same event id every time (the receiver's idempotency key), each one verifiable.
    assert {h["webhook-id"] for h, _ in receiver.seen} == {event.id}
    for headers, body in receiver.seen:
        Webhook(secret).verify(body, headers)


async def test_after_the_schedule_it_gives_up():
    receiver = Receiver(500)
    async with serve(receiver.app()) as origin:
        store = FakeStore()
        store.add_tenant("t1", origin + "/hooks")
        event = await enqueue(store, "t1")
        async with running_worker(store, schedule=(0.01, 0.01)):
            await until(lambda: store.events[event.id].status == "failed")
            await asyncio.sleep(0.1)  # ... and nothing more is sent
    stored = store.events[event.id]
    assert (stored.attempts, stored.last_status, stored.last_error) == (3, 500, "the endpoint answered 500")
    assert len(receiver.seen) == 3 and stored.delivered_at is None


async def test_410_gone_gives_up_at_once_and_redirects_are_not_followed():
    gone, moved = Receiver(410), Receiver(307, headers={"Location": "/hooks"})
    async with serve(gone.app()) as gone_origin, serve(moved.app()) as moved_origin:
        store = FakeStore()
        store.add_tenant("gone", gone_origin + "/hooks")
        store.add_tenant("moved", moved_origin + "/hooks?x=1")
        first, second = await enqueue(store, "gone"), await enqueue(store, "moved")
        async with running_worker(store, schedule=(60,)):
            await until(lambda: store.events[first.id].status == "failed"
                        and store.events[second.id].attempts == 1)
    assert len(gone.seen) == 1
    assert len(moved.seen) == 1  # the 307 (to the same origin) was not followed
    assert store.events[second.id].status == "pending"
    assert store.events[second.id].last_status == 307


async def test_the_ssrf_guard_refuses_a_private_url_when_private_networks_are_off():
    receiver = Receiver(200)
    async with serve(receiver.app()) as origin:
        port = origin.rsplit(":", 1)[1]
        store = FakeStore()
        # Plain http, a loopback literal, and a name that resolves to loopback.
        urls = {"t1": origin + "/hooks", "t2": f"https://127.0.0.1:{port}/hooks", "t3": f"https://localhost:{port}/hooks"}
        for tenant_id, url in urls.items():
            store.add_tenant(tenant_id, url)
        queued = [await enqueue(store, tenant_id) for tenant_id in urls]
        async with running_worker(store, allow_private_networks=False, schedule=(60,)):
            await until(lambda: all(store.events[e.id].attempts == 1 for e in queued))
    assert not receiver.seen
    for event in queued:
        stored = store.events[event.id]
        assert stored.status == "pending" and stored.last_status is None
        assert stored.last_error.startswith("refused by the SSRF guard: "), stored.last_error


async def test_a_slow_receiver_times_out_and_does_not_hold_the_worker():
    release = asyncio.Event()

    async def hang(request: web.Request) -> web.Response:
        await release.wait()
        return web.Response(status=200)

    app = web.Application()
    app.router.add_post("/slow", hang)
    fast = Receiver(200)
    async with serve(app) as slow_origin, serve(fast.app()) as fast_origin:
        store = FakeStore()
        store.add_tenant("slow", slow_origin + "/slow")
        store.add_tenant("fast", fast_origin + "/hooks")
        slow = await enqueue(store, "slow")
        async with running_worker(store, timeout=0.3, schedule=(60,)):
            await until(lambda: store.events[slow.id].attempts == 1)
            fast_event = await enqueue(store, "fast")
            await until(lambda: store.events[fast_event.id].status == "delivered")
        release.set()
    assert store.events[slow.id].last_error == "no answer within 0.3 s"
    assert store.events[slow.id].status == "pending"


async def test_one_tenants_stuck_endpoint_does_not_delay_anothers_events():
    release = asyncio.Event()
    stuck_calls = []

    async def stuck(request: web.Request) -> web.Response:
        stuck_calls.append(request.headers["webhook-id"])
        await release.wait()
        return web.Response(status=200)

    app = web.Application()
    app.router.add_post("/stuck", stuck)
    other = Receiver(200)
    async with serve(app) as stuck_origin, serve(other.app()) as other_origin:
        store = FakeStore()
        store.add_tenant("a", stuck_origin + "/stuck")
        store.add_tenant("b", other_origin + "/hooks")
        backlog = [await enqueue(store, "a", n) for n in range(20)]
        # Four slots, a tenant gets one of them: a's first event holds it.
        async with running_worker(store, concurrency=4, timeout=30):
            await until(lambda: len(stuck_calls) == 1)
            b_event = await enqueue(store, "b")
            await until(lambda: store.events[b_event.id].status == "delivered")
            assert len(stuck_calls) == 1  # a's endpoint still holds its one request
            assert not release.is_set()
            release.set()
            await until(lambda: all(store.events[e.id].status == "delivered" for e in backlog))
    # Put back while a was at its share: never counted as attempts.
    assert all(store.events[e.id].attempts == 1 for e in backlog)
    assert sorted(stuck_calls) == sorted(e.id for e in backlog)


async def test_a_tenant_without_a_url_gets_nothing_and_no_attempt_is_counted():
    store = FakeStore()
    store.add_tenant("t1", None)
    event = await enqueue(store, "t1")
    async with running_worker(store):
        await until(lambda: store.events[event.id].status == "failed")
    assert store.events[event.id].attempts == 0
    assert store.events[event.id].last_error == "the tenant has no webhook_url"


async def test_no_secret_or_url_in_the_logs(caplog):
    receiver = Receiver(500, 200)
    async with serve(receiver.app()) as origin:
        store = FakeStore()
        url = origin + "/hooks?token=url-secret-value"
        secret = store.add_tenant("t1", url)
        event = await enqueue(store, "t1")
        with caplog.at_level(logging.DEBUG):
            async with running_worker(store):
                await until(lambda: store.events[event.id].status == "delivered")
    text = "\n".join(record.getMessage() for record in caplog.records)
    assert event.id in text  # the worker did log, by event id
    signatures = [headers["webhook-signature"] for headers, _ in receiver.seen]
    for leaked in [secret, secret[len("whsec_"):], "url-secret-value", *signatures]:
        assert leaked not in text
