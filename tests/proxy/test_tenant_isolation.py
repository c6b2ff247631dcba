"""One tenant's broken or hanging stores must not hurt another tenant's
healthy store: circuit-breaker state is per store, and calls in flight are
bounded per tenant. Through the app, against real local upstreams."""

from __future__ import annotations

from aiohttp import web

from tests.harness import running_app
from tests.support import load_fixture, serve

BIGCOMMERCE_TOKEN = "sqtna5wbk1ys8t9seu331zhifi3g8lu"
CUSTOMER = load_fixture("bigcommerce", "customer-23.json")


def bigcommerce_host(broken: set[str]) -> web.Application:
    """api.bigcommerce.com in small: every store on one host, told apart by
    the store hash in the path; the stores in ``broken`` answer 500."""

    async def customers(request: web.Request) -> web.StreamResponse:
        if request.match_info["store"] in broken:
            return web.Response(status=500, text="Internal Server Error")
        return web.json_response(CUSTOMER)

    app = web.Application()
    app.router.add_get("/stores/{store}/v3/customers", customers)
    return app


async def test_a_broken_store_does_not_pause_another_tenants_store_on_the_same_host(tmp_path):
    async with serve(bigcommerce_host(broken={"brokenstore"})) as origin, running_app(tmp_path) as api:
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
