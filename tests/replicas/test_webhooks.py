"""Two replicas on one PostgreSQL share the webhook outbox: every event is
delivered, and each exactly once (a claim leases the row, and PostgreSQL's
FOR UPDATE SKIP LOCKED keeps two claims from taking the same one)."""

from __future__ import annotations

import asyncio
import collections
import json

from aiohttp import web
from standardwebhooks.webhooks import Webhook

from proxy.store.postgres import PostgresStore
from tests.replicas.conftest import replicas
from tests.support import serve
from tests.webhooks.support import subscribe

EVENTS = 40


async def test_each_event_is_delivered_once_across_two_replicas(tmp_path, pg):
    seen: collections.Counter[str] = collections.Counter()
    bodies = []

    async def receive(request: web.Request) -> web.Response:
        seen[request.headers["webhook-id"]] += 1
        bodies.append((dict(request.headers), await request.read()))
        await asyncio.sleep(0.02)  # slow enough that both replicas have some in flight
        return web.Response(status=204)

    app = web.Application()
    app.router.add_post("/hooks", receive)
    async with serve(app) as origin, replicas(tmp_path, pg.url) as (a, b):
        assert isinstance(a.runtime.store, PostgresStore)
        for replica in (a, b):
            replica.runtime.webhooks.poll_interval = 0.01
        tenant = await a.tenant()
        key = {"x-api-key": tenant.api_key}
        secret = await subscribe(a, tenant, origin + "/hooks")
        # Connections made through both replicas: both write to the outbox, both poll it.
        made = await asyncio.gather(*[
            (a if n % 2 else b).client.post("/connections", json={"provider": "sandbox", "credentials": {}},
                                            headers=key)
            for n in range(EVENTS)
        ])
        assert all(m.status_code == 201 for m in made)

        async def done() -> bool:
            listed = await b.client.get("/webhook-deliveries?limit=100", headers=key)
            return sum(d["status"] == "delivered" for d in listed.json()["data"]) == EVENTS

        async with asyncio.timeout(30):
            while not await done():
                await asyncio.sleep(0.05)
        await asyncio.sleep(0.3)  # a duplicate would arrive about now
    assert len(seen) == EVENTS
    assert set(seen.values()) == {1}, [i for i, n in seen.items() if n > 1]
    for headers, body in bodies:
        assert Webhook(secret).verify(body, headers)["type"] == "connection.created"
    announced = {json.loads(body)["data"]["connection_id"] for _, body in bodies}
    assert announced == {m.json()["id"] for m in made}
