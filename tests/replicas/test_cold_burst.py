"""A cold burst on a new Zoho connection, spread over two replicas sharing
one PostgreSQL database, makes exactly one token request."""

from __future__ import annotations

import asyncio

from tests.proxy.test_token_bursts import BURST, burst, zoho_connection
from tests.providers.test_zoho_inventory import FakeZoho
from tests.replicas.conftest import replicas
from tests.support import serve


async def test_a_cold_burst_on_two_replicas_makes_one_token_request(tmp_path, pg):
    zoho = FakeZoho(token_delay=0.2)  # slow: both replicas miss the stored token
    async with serve(zoho.app()) as origin, replicas(tmp_path, pg.url) as (first, second):
        tenant = await first.tenant()
        for run in range(3):
            token = await zoho_connection(first, tenant, origin)
            before = zoho.token_requests()
            statuses = await asyncio.gather(
                burst(first, tenant, token, BURST // 2), burst(second, tenant, token, BURST // 2)
            )
            assert statuses == [[200] * (BURST // 2)] * 2
            assert zoho.token_requests() - before == 1, f"run {run}"
