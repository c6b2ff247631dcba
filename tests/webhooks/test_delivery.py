"""The delivery worker on a real outbox (SQLite): signed POSTs a stock
library verifies, retries after failures, give-ups, the SSRF guard,
timeouts, and one tenant's endpoint unable to hold back another's events."""

from __future__ import annotations

import asyncio
import logging

from aiohttp import web
from standardwebhooks.webhooks import Webhook

from tests.support import serve
from tests.webhooks.support import outbox, running_worker, until


class Receiver:
    """A webhook endpoint answering from a list of statuses (the last one repeats)."""

    def __init__(self, *statuses: int, headers: dict[str, str] | None = None) -> None:
        self.statuses = list(statuses) or [204]
        self.headers = headers or {}
        self.seen: list[tuple[dict[str, str], bytes]] = []

    async def handle(self, request: web.Request) -> web.Response:
        self.seen.append((dict(request.headers), await request.read()))
        status = self.statuses.pop(0) if len(self.statuses) > 1 else self.statuses[0]
        return web.Response(status=status, headers=self.headers)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("*", "/hooks", self.handle)
        return app


def status_is(box, event, status):  # type: ignore[no-untyped-def]
    async def check() -> bool:
        return (await box.get(event)).status == status
    return check


def attempts_reach(box, event, count):  # type: ignore[no-untyped-def]
    async def check() -> bool:
        return (await box.get(event)).attempts >= count
    return check


async def test_an_event_arrives_signed_and_is_marked_delivered(tmp_path):
    receiver = Receiver(200)
    async with serve(receiver.app()) as origin, outbox(tmp_path) as box:
        secret = await box.tenant("t1", origin + "/hooks")
        event = await box.enqueue("t1")
        async with running_worker(box):
            await until(status_is(box, event, "delivered"))
        stored = await box.get(event)
    headers, body = receiver.seen[0]
    assert body.decode() == event.payload  # the stored body, byte for byte
    assert Webhook(secret).verify(body, headers)["data"]["connection_id"] == "conn-1"
    assert headers["webhook-id"] == event.id
    assert headers["Content-Type"] == "application/json"
    assert (stored.attempts, stored.last_status, stored.last_error) == (1, 200, None)
    assert stored.delivered_at is not None
    assert len(receiver.seen) == 1


async def test_a_500_is_retried_until_a_2xx(tmp_path):
    receiver = Receiver(500, 503, 200)
    async with serve(receiver.app()) as origin, outbox(tmp_path) as box:
        secret = await box.tenant("t1", origin + "/hooks")
        event = await box.enqueue("t1")
        async with running_worker(box):
            await until(status_is(box, event, "delivered"))
        assert (await box.get(event)).attempts == 3
    assert len(receiver.seen) == 3
    # The same event id every time (the receiver's idempotency key), each one verifiable.
    assert {h["webhook-id"] for h, _ in receiver.seen} == {event.id}
    for headers, body in receiver.seen:
        Webhook(secret).verify(body, headers)


async def test_after_the_schedule_it_gives_up(tmp_path):
    receiver = Receiver(500)
    async with serve(receiver.app()) as origin, outbox(tmp_path) as box:
        await box.tenant("t1", origin + "/hooks")
        event = await box.enqueue("t1")
        async with running_worker(box, schedule=(0.01, 0.01)):
            await until(status_is(box, event, "failed"))
            await asyncio.sleep(0.1)  # ... and nothing more is sent
        stored = await box.get(event)
    assert (stored.attempts, stored.last_status, stored.last_error) == (3, 500, "the endpoint answered 500")
    assert len(receiver.seen) == 3 and stored.delivered_at is None


async def test_410_gone_gives_up_at_once_and_redirects_are_not_followed(tmp_path):
    gone, moved = Receiver(410), Receiver(307, headers={"Location": "/hooks"})
    async with serve(gone.app()) as gone_origin, serve(moved.app()) as moved_origin, outbox(tmp_path) as box:
        await box.tenant("gone", gone_origin + "/hooks")
        await box.tenant("moved", moved_origin + "/hooks?x=1")
        first, second = await box.enqueue("gone"), await box.enqueue("moved")
        async with running_worker(box, schedule=(60,)):
            await until(status_is(box, first, "failed"))
            await until(attempts_reach(box, second, 1))
        redirected = await box.get(second)
    assert len(gone.seen) == 1
    assert len(moved.seen) == 1  # the 307 (to the same origin) was not followed
    assert (redirected.status, redirected.last_status) == ("pending", 307)
    assert redirected.last_error == "the endpoint answered 307 (a redirect: not followed; update the webhook_url)"


async def test_the_ssrf_guard_refuses_a_private_url_when_private_networks_are_off(tmp_path):
    receiver = Receiver(200)
    async with serve(receiver.app()) as origin, outbox(tmp_path) as box:
        port = origin.rsplit(":", 1)[1]
        # Plain http, a loopback literal, and a name that resolves to loopback.
        urls = {"t1": origin + "/hooks", "t2": f"https://127.0.0.1:{port}/hooks", "t3": f"https://localhost:{port}/hooks"}
        for tenant_id, url in urls.items():
            await box.tenant(tenant_id, url)
        queued = [await box.enqueue(tenant_id) for tenant_id in urls]
        async with running_worker(box, allow_private_networks=False, schedule=(60,)):
            for event in queued:
                await until(attempts_reach(box, event, 1))
        stored = [await box.get(event) for event in queued]
    assert not receiver.seen
    for event in stored:
        assert event.status == "pending" and event.last_status is None
        assert event.last_error.startswith("refused by the SSRF guard: "), event.last_error


async def test_a_slow_receiver_times_out_and_does_not_hold_the_worker(tmp_path):
    release = asyncio.Event()

    async def hang(request: web.Request) -> web.Response:
        await release.wait()
        return web.Response(status=200)

    app = web.Application()
    app.router.add_post("/slow", hang)
    fast = Receiver(200)
    async with serve(app) as slow_origin, serve(fast.app()) as fast_origin, outbox(tmp_path) as box:
        await box.tenant("slow", slow_origin + "/slow")
        await box.tenant("fast", fast_origin + "/hooks")
        slow = await box.enqueue("slow")
        try:
            async with running_worker(box, timeout=0.3, schedule=(60,)):
                await until(attempts_reach(box, slow, 1))
                fast_event = await box.enqueue("fast")
                await until(status_is(box, fast_event, "delivered"))
        finally:
            release.set()
        stored = await box.get(slow)
    assert stored.last_error == "no answer within 0.3 s"
    assert stored.status == "pending"


async def test_one_tenants_stuck_endpoint_does_not_delay_anothers_events(tmp_path):
    release = asyncio.Event()
    stuck_calls = []

    async def stuck(request: web.Request) -> web.Response:
        stuck_calls.append(request.headers["webhook-id"])
        await release.wait()
        return web.Response(status=200)

    app = web.Application()
    app.router.add_post("/stuck", stuck)
    other = Receiver(200)
    async with serve(app) as stuck_origin, serve(other.app()) as other_origin, outbox(tmp_path) as box:
        await box.tenant("a", stuck_origin + "/stuck")
        await box.tenant("b", other_origin + "/hooks")
        backlog = [await box.enqueue("a", n) for n in range(20)]
        try:
            # Four slots, a tenant gets one of them: a's first event holds it.
            async with running_worker(box, concurrency=4, timeout=30):

                async def one_stuck() -> bool:
                    return len(stuck_calls) == 1

                await until(one_stuck)
                b_event = await box.enqueue("b")
                await until(status_is(box, b_event, "delivered"))
                assert len(stuck_calls) == 1  # a's endpoint still holds its one request
                release.set()
                for event in backlog:
                    await until(status_is(box, event, "delivered"))
        finally:
            release.set()
        stored = [await box.get(event) for event in backlog]
    # Put back while a was at its share: never counted as attempts.
    assert all(event.attempts == 1 for event in stored)
    assert sorted(stuck_calls) == sorted(event.id for event in backlog)


async def test_a_tenant_without_a_url_gets_nothing_and_no_attempt_is_counted(tmp_path):
    async with outbox(tmp_path) as box:
        await box.tenant("t1", None)
        event = await box.enqueue("t1")
        async with running_worker(box):
            await until(status_is(box, event, "failed"))
        stored = await box.get(event)
    assert stored.attempts == 0
    assert stored.last_error == "the tenant has no webhook_url"


async def test_no_secret_or_url_in_the_logs(tmp_path, caplog):
    receiver = Receiver(500, 200)
    async with serve(receiver.app()) as origin, outbox(tmp_path) as box:
        secret = await box.tenant("t1", origin + "/hooks?token=url-secret-value")
        event = await box.enqueue("t1")
        with caplog.at_level(logging.DEBUG):
            async with running_worker(box):
                await until(status_is(box, event, "delivered"))
    text = "\n".join(record.getMessage() for record in caplog.records)
    assert event.id in text  # the worker did log, by event id
    signatures = [headers["webhook-signature"].split(",", 1)[1] for headers, _ in receiver.seen]
    for leaked in [secret, secret[len("whsec_"):], "url-secret-value", *signatures]:
        assert leaked not in text
