"""A cold burst on a new Zoho connection, spread over two replicas sharing
one PostgreSQL database, makes exactly one token request."""

from __future__ import annotations

from tests.fakes.zoho_inventory import ZohoInventoryFake
from tests.proxy.test_token_bursts import split_cold_bursts
from tests.replicas.conftest import replicas


async def test_a_cold_burst_on_two_replicas_makes_one_token_request(tmp_path, pg):
    zoho = ZohoInventoryFake(token_delay=0.2)  # slow: both replicas miss the stored token
    async with zoho.serve() as origin, replicas(tmp_path, pg.url) as (first, second):
        await split_cold_bursts(zoho, origin, first, second, runs=3)
