"""A cold burst on a new OAuth connection makes exactly one token request:
in one process (concurrent cache misses must not build two token managers
that both mint) and across processes sharing one SQLite file. Zoho caps
token requests per refresh token; Shopify's expiring tokens revoke each
other. Through the app, against the Zoho Inventory fake (token endpoint + API)."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from tests.fakes.zoho_inventory import ZohoInventoryFake
from tests.harness import running_app

BURST = 30
CONTACT_ID = "460000000026049"  # the Zoho fake store's first contact


async def zoho_connection(api, tenant, zoho: ZohoInventoryFake, origin: str) -> str:
    _, token = await api.connection(tenant, "zoho_inventory", zoho.credentials, zoho.settings(origin))
    return token


async def burst(api, tenant, token: str, size: int) -> list[int]:
    answers = await asyncio.gather(
        *(api.get_customer(tenant, token, CONTACT_ID) for _ in range(size))
    )
    return [a.status_code for a in answers]


async def split_cold_bursts(zoho: ZohoInventoryFake, origin: str, first, second, runs: int) -> None:
    """``runs`` times: a new connection, then one burst split over two app
    instances at once; each run must make exactly one token request."""
    tenant = await first.tenant()
    for run in range(runs):
        token = await zoho_connection(first, tenant, zoho, origin)
        before = zoho.token_requests()
        statuses = await asyncio.gather(
            burst(first, tenant, token, BURST // 2), burst(second, tenant, token, BURST // 2)
        )
        assert statuses == [[200] * (BURST // 2)] * 2
        assert zoho.token_requests() - before == 1, f"run {run}"


async def test_a_cold_burst_in_one_process_makes_one_token_request(tmp_path):
    # The token endpoint answers at once: the race is between the burst's
    # own cache misses, so it is run on 20 fresh connections to catch it.
    zoho = ZohoInventoryFake()
    async with zoho.serve() as origin, running_app(tmp_path) as api:
        tenant = await api.tenant()
        for run in range(20):
            token = await zoho_connection(api, tenant, zoho, origin)
            before, queries = zoho.token_requests(), api.runtime.directory.store_queries
            assert await burst(api, tenant, token, BURST) == [200] * BURST
            assert zoho.token_requests() - before == 1, f"run {run}"
            if run:  # key and field mappings cached by now: the one query loads the connection
                assert api.runtime.directory.store_queries - queries == 1


async def test_a_cold_burst_on_two_processes_sharing_the_file_makes_one_token_request(tmp_path):
    # Two app instances (each its own store connection, caches and token
    # managers, as two --workers are) on one SQLite file, bursting at once.
    zoho = ZohoInventoryFake(token_delay=0.2)  # a slow token endpoint: both miss the stored token
    async with contextlib.AsyncExitStack() as stack:
        origin = await stack.enter_async_context(zoho.serve())
        first = await stack.enter_async_context(running_app(tmp_path))
        second = await stack.enter_async_context(running_app(tmp_path))
        await split_cold_bursts(zoho, origin, first, second, runs=5)


async def test_a_refresh_lock_left_by_a_dead_process_is_taken_over_after_its_lease(tmp_path, monkeypatch):
    from proxy.store import sqlite

    from proxy.store import StoreUnavailable

    monkeypatch.setattr(sqlite, "_REFRESH_LEASE", 3.0)
    dead, alive = sqlite.SQLiteStore(str(tmp_path / "s.db")), sqlite.SQLiteStore(str(tmp_path / "s.db"))
    try:
        await dead.migrate()
        held = dead.refresh_lock("conn-1")
        await held.__aenter__()  # ...and its process dies without releasing it
        monkeypatch.setattr(sqlite, "_REFRESH_WAIT", 0.1)
        with pytest.raises(StoreUnavailable):  # held: the other store waits, then gives up
            async with alive.refresh_lock("conn-1"):
                pass
        async with alive.refresh_lock("conn-2"):  # other connections are not held up
            pass
        monkeypatch.setattr(sqlite, "_REFRESH_WAIT", 30.0)
        async with asyncio.timeout(30):  # generous: only a stop against a hang
            async with alive.refresh_lock("conn-1"):
                pass
    finally:
        await dead.close()
        await alive.close()
