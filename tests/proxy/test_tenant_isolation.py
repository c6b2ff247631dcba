"""One tenant's broken or hanging stores must not hurt another tenant's
healthy store: circuit-breaker state is per store, and calls in flight are
bounded per tenant. Through the app, against the BigCommerce fake."""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from typing import Callable

import pytest
from aiohttp import web

from proxy.config import Config, ConfigError
from tests.fakes.bigcommerce import BigCommerceFake
from tests.harness import running_app
from tests.support import load_fixture

CUSTOMER = load_fixture("bigcommerce", "customer-23.json")["data"][0]


def bigcommerce_host(*stores: str) -> BigCommerceFake:
    """api.bigcommerce.com in small (the BigCommerce fake): every store on
    one host, told apart by the store hash in the path; each holds customer 23."""
    return BigCommerceFake([CUSTOMER], stores=stores)


def of_store(prefix: str) -> Callable[[web.Request], bool]:
    return lambda request: request.match_info["store"].startswith(prefix)


async def test_a_broken_store_does_not_pause_another_tenants_store_on_the_same_host(tmp_path):
    host = bigcommerce_host("healthystore", "brokenstore")
    host.answer(500, text="Internal Server Error", times=None, where=of_store("brokenstore"))
    async with host.serve() as origin, running_app(tmp_path) as api:
        victim, attacker = await api.tenant("victim"), await api.tenant("attacker")
        _, healthy = await api.connection(
            victim, "bigcommerce", host.credentials, {"store_hash": "healthystore", "base_url": origin}
        )
        _, broken = await api.connection(
            attacker, "bigcommerce", host.credentials, {"store_hash": "brokenstore", "base_url": origin}
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
        tenant, "bigcommerce", BigCommerceFake.default_credentials, {"store_hash": store_hash, "base_url": origin}
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
    shared_host = bigcommerce_host(*(f"hanging{n}" for n in range(hanging_connections)), "healthy")
    shared_host.hang(times=None, where=of_store("hanging"))  # until released (30 s: only a stop against a hang)
    elsewhere_host = bigcommerce_host("healthy")

    def held() -> int:
        return sum(of_store("hanging")(request) for request in shared_host.requests)

    async with contextlib.AsyncExitStack() as stack:
        shared = await stack.enter_async_context(shared_host.serve())
        elsewhere = await stack.enter_async_context(elsewhere_host.serve())
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
            while held() < bound:
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
        shared_host.released.set()
        answers = await asyncio.gather(*calls)
        assert held() == bound
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
