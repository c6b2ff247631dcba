"""One tenant's broken or hanging stores must not hurt another tenant's
healthy store: circuit-breaker state is per store, and calls in flight are
bounded per tenant. Through the app, against real local upstreams."""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter

import pytest
from aiohttp import web

from proxy.config import Config, ConfigError
from tests.harness import running_app
from tests.support import load_fixture, serve

BIGCOMMERCE_TOKEN = "sqtna5wbk1ys8t9seu331zhifi3g8lu"
CUSTOMER = load_fixture("bigcommerce", "customer-23.json")


class Hang:
    """Holds requests open until released; counts them."""

    def __init__(self) -> None:
        self.released = asyncio.Event()
        self.held = 0

    async def __call__(self) -> None:
        self.held += 1
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(30):  # only a stop against a hung test
                await self.released.wait()


def bigcommerce_host(broken: frozenset[str] = frozenset(), hang: Hang | None = None) -> web.Application:
    """api.bigcommerce.com in small: every store on one host, told apart by
    the store hash in the path. Stores in ``broken`` answer 500; stores
    whose hash starts with ``hanging`` are held by ``hang``."""

    async def customers(request: web.Request) -> web.StreamResponse:
        store = request.match_info["store"]
        if store in broken:
            return web.Response(status=500, text="Internal Server Error")
        if hang is not None and store.startswith("hanging"):
            await hang()
        return web.json_response(CUSTOMER)

    app = web.Application()
    app.router.add_get("/stores/{store}/v3/customers", customers)
    return app


async def test_a_broken_store_does_not_pause_another_tenants_store_on_the_same_host(tmp_path):
    async with serve(bigcommerce_host(broken=frozenset({"brokenstore"}))) as origin, running_app(tmp_path) as api:
        victim, attacker = await api.tenant("victim"), await api.tenant("attacker")
        _, healthy = await api.connection(
            victim, "bigcommerce", {"access_token": BIGCOMMERCE_TOKEN},
            {"store_hash": "healthystore", "base_url": origin},
        )
        _, broken = await api.connection(
            attacker, "bigcommerce", {"access_token": BIGCOMMERCE_TOKEN},
            {"store_hash": "brokenstore", "base_url": origin},
        )
        breaker = api.runtime.http.breaker
        for _ in range(breaker.threshold):
            failed = await api.get_customer(attacker, broken, "23")
            assert failed.status_code == 502 and failed.json()["remote_status"] == 500
        paused = await api.get_customer(attacker, broken, "23")
        assert paused.status_code == 502 and "paused" in paused.json()["detail"]

        # Same provider, same API host, another store: served, not paused.
        for _ in range(3):
            served = await api.get_customer(victim, healthy, "23")
            assert served.status_code == 200, served.text
            assert served.json()["id"] == "23"


async def connect(api, tenant, origin: str, store_hash: str) -> str:
    _, token = await api.connection(
        tenant, "bigcommerce", {"access_token": BIGCOMMERCE_TOKEN},
        {"store_hash": store_hash, "base_url": origin},
    )
    return token


@pytest.mark.parametrize(
    "victim_host, overrides, hanging_connections",
    [
        # The victim's store on the API host the hanging stores share: once
        # a per-host bound of 20 sockets, one queue for every tenant.
        ("shared", {"tenant_concurrency": 24}, 4),
        # The victim's store elsewhere; the pool itself is what runs out.
        ("own", {"tenant_concurrency": 8, "upstream_pool_size": 16}, 3),
    ],
)
async def test_one_tenants_hanging_stores_do_not_starve_another_tenant(
    tmp_path, victim_host, overrides, hanging_connections
):
    hang = Hang()
    async with contextlib.AsyncExitStack() as stack:
        shared = await stack.enter_async_context(serve(bigcommerce_host(hang=hang)))
        elsewhere = await stack.enter_async_context(serve(bigcommerce_host()))
        api = await stack.enter_async_context(
            running_app(tmp_path, request_timeout=20.0, connection_concurrency=8, **overrides)
        )
        bound = overrides["tenant_concurrency"]
        attacker, victim = await api.tenant("attacker"), await api.tenant("victim")
        tokens = [await connect(api, attacker, shared, f"hanging{n}") for n in range(hanging_connections)]
        healthy = await connect(api, victim, shared if victim_host == "shared" else elsewhere, "healthy")

        # Each of the attacker's connections at its own bound (8 calls).
        calls = [
            asyncio.create_task(api.get_customer(attacker, token, "23")) for token in tokens for _ in range(8)
        ]
        assert len(calls) > bound
        async with asyncio.timeout(15):  # generous: only a stop against a hang
            while hang.held < bound:
                await asyncio.sleep(0.01)

        # Meanwhile the other tenant's healthy store is served as usual.
        served = await api.get_customer(victim, healthy, "23")
        assert served.status_code == 200, served.text
        assert served.json()["id"] == "23"

        # The calls over the attacker's bound were turned away with the
        # documented 429; the ones held by the hanging stores end when they do.
        async with asyncio.timeout(15):
            while sum(1 for call in calls if call.done()) < len(calls) - bound:
                await asyncio.sleep(0.01)
        hang.released.set()
        answers = await asyncio.gather(*calls)
        assert hang.held == bound
        assert Counter(a.status_code for a in answers) == {200: bound, 429: len(calls) - bound}
        refused = next(a for a in answers if a.status_code == 429)
        assert refused.json()["code"] == "rate_limited"
        assert refused.headers["Retry-After"] == "1"


def test_tenant_bound_must_leave_room_in_the_pool():
    config = Config.from_env({})
    assert (config.tenant_concurrency, config.upstream_pool_size) == (16, 256)
    # By default it takes 16 tenants whose stores all hang to use up the pool.
    assert config.upstream_pool_size // config.tenant_concurrency >= 16
    config = Config.from_env({"SHOPRELAY_TENANT_CONCURRENCY": "8", "SHOPRELAY_UPSTREAM_POOL_SIZE": "16"})
    assert (config.tenant_concurrency, config.upstream_pool_size) == (8, 16)
    with pytest.raises(ConfigError, match="SHOPRELAY_TENANT_CONCURRENCY must be below"):
        Config.from_env({"SHOPRELAY_TENANT_CONCURRENCY": "256"})
