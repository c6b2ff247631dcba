"""A cold burst on a new Zoho connection, spread over two replicas sharing
one PostgreSQL database, makes exactly one token request."""

from __future__ import annotations

from tests.proxy.test_token_bursts import split_cold_bursts
from tests.providers.test_zoho_inventory import FakeZoho
from tests.replicas.conftest import replicas
from tests.support import serve


async def test_a_cold_burst_on_two_replicas_makes_one_token_request(tmp_path, pg):
    zoho = FakeZoho(token_delay=0.2)  # slow: both replicas miss the stored token
    async with serve(zoho.app()) as origin, replicas(tmp_path, pg.url) as (first, second):
        await split_cold_bursts(zoho, origin, first, second, runs=3)
