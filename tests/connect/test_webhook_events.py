"""Connect emits the connection events (proxy/webhooks/events.py) in the same
transaction as the change: connection.created for a new connection, with its
session id; connection.updated for a reconnect; none for a refused or hostile
submission. The SaaS checks the delivered webhook with a stock Standard
Webhooks library (the ``standardwebhooks`` package)."""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import AsyncIterator

from aiohttp import web
from standardwebhooks.webhooks import Webhook

from tests.connect.conftest import RETURN_URL, code_of
from tests.support import serve

WAIT = 30.0  # only stops a hang: the worker delivers at once when woken


class Receiver:
    """The SaaS's webhook endpoint on 127.0.0.1: keeps what it is sent."""

    def __init__(self) -> None:
        self.received: list[tuple[bytes, dict[str, str]]] = []
        self.arrived = asyncio.Event()

    async def handle(self, request: web.Request) -> web.Response:
        self.received.append((await request.read(), dict(request.headers)))
        self.arrived.set()
        return web.Response(status=204)

    @contextlib.asynccontextmanager
    async def serving(self) -> AsyncIterator[str]:
        app = web.Application()
        app.router.add_post("/hooks/shoprelay", self.handle)
        async with serve(app) as origin:
            yield f"{origin}/hooks/shoprelay"

    async def wait_for(self, count: int) -> None:
        async with asyncio.timeout(WAIT):
            while len(self.received) < count:
                self.arrived.clear()
                await self.arrived.wait()


async def stored_events(connect, tenant) -> list[dict]:
    return [json.loads(e.payload) for e in await connect.store.list_webhook_events(tenant.id)]


async def test_a_connection_and_its_reconnect_are_announced_and_verifiable(connect):
    receiver = Receiver()
    tenant = await connect.tenant()
    async with receiver.serving() as hook_url:
        patched = await connect.api.patch("/tenant", json={"webhook_url": hook_url},
                                          headers={"x-api-key": tenant.api_key})
        assert patched.status_code == 200, patched.text
        secret = patched.json()["webhook_secret"]
        session = await connect.session(tenant, end_user_id="m-1", tags={"plan": "pro"}, return_url=RETURN_URL)
        async with connect.browser() as browser:
            await browser.open(session["connect_url"])
            assert (await browser.post("sandbox", {"csrf_token": "forged"})).status_code == 403
            assert (await browser.submit("sandbox", {"size": "0"})).status_code == 422
            done = await browser.submit("sandbox", {})
        code, _ = code_of(done.headers["location"])
        token = (await connect.exchange(tenant, code)).json()["connection_token"]
        connection_id = (await connect.status(tenant, session["id"])).json()["connection_id"]
        await receiver.wait_for(1)
        body, headers = receiver.received[0]
        # Any Standard Webhooks library checks it: signature, id and timestamp.
        created = Webhook(secret).verify(body, headers)
        assert created["type"] == "connection.created" and created["id"] == headers["webhook-id"]
        assert created["data"] == {"connection_id": connection_id, "provider": "sandbox", "end_user_id": "m-1",
                                   "tags": {"plan": "pro"}, "session_id": session["id"]}

        reconnect = await connect.session(tenant, end_user_id="m-1", connection_id=connection_id,
                                          return_url=RETURN_URL)
        async with connect.browser() as browser:
            await browser.open(reconnect["connect_url"])
            assert (await browser.submit("sandbox", {"seed": "other"})).status_code == 303
        await receiver.wait_for(2)
        updated = Webhook(secret).verify(*receiver.received[1])
        assert updated["type"] == "connection.updated"
        assert updated["data"]["connection_id"] == connection_id and updated["data"]["session_id"] == reconnect["id"]
    # Only those two: the refused submissions announced nothing; no token in any.
    assert [e["type"] for e in await stored_events(connect, tenant)] == ["connection.updated", "connection.created"]
    assert all(token not in body.decode() for body, _ in receiver.received)


async def test_no_webhook_url_no_event(connect):
    tenant = await connect.tenant()
    session = await connect.session(tenant, return_url=RETURN_URL)
    async with connect.browser() as browser:
        await browser.open(session["connect_url"])
        assert (await browser.submit("sandbox", {})).status_code == 303
    assert await stored_events(connect, tenant) == []
