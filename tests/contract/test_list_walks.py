"""Every provider's customer list walked end to end through the API.

The fake upstream holds 250 customers (the platform's documented customer,
id, email and name varied) and serves the list in the platform's own paging
dialect, refusing a page larger than the platform allows. ``GET
/ecommerce/customers`` is then walked with several limits: every customer
once and in order, ``next_cursor`` null only on the last page,
``prev_cursor`` going back exactly one page where the module can go back
(and null where it cannot), and each API page costing the fewest upstream
requests the dialect permits. Tampered cursors and cursors of another
connection are refused before any upstream call.
"""

from __future__ import annotations

import base64
import json
import math
from typing import Any

import pytest

from tests.contract import PROVIDERS, connect, make_fake
from tests.fakes import TOTAL
from tests.harness import running_app


def ids(page: dict[str, Any]) -> list[str]:
    return [c["id"] for c in page["data"]]


WALKS = [(provider, limit) for provider in PROVIDERS for limit in (7, 50, 100)]
if "commerce7" in PROVIDERS:
    WALKS.append(("commerce7", 1))  # limit 1 once: pages cut inside Commerce7's own pages
if "squarespace" in PROVIDERS:
    WALKS.append(("squarespace", 1))  # the same for Squarespace's pages of 50


@pytest.mark.parametrize("provider,limit", WALKS)
async def test_walk_every_customer_once_at_the_minimum_cost(tmp_path, provider, limit):
    fake = make_fake(provider)
    async with fake.serve() as origin, running_app(tmp_path) as api:
        _, client = await connect(api, await api.tenant(), fake, origin)
        pages, costs, cursor = [], [], None
        while True:
            page, requests = await client.page(limit, cursor)
            pages.append(page)
            costs.append(requests)
            cursor = page["next_cursor"]
            if cursor is None:
                break
            # A module that never ends its list must fail, not hang.
            assert len(pages) <= math.ceil(TOTAL / limit), "the walk goes past the last customer"
        back_costs = []
        for i, page in enumerate(pages[1:], start=1):
            if not fake.goes_back:
                assert page["prev_cursor"] is None  # never a made-up way back
                continue
            assert page["prev_cursor"], f"page {i} has no way back"
            previous, requests = await client.page(limit, page["prev_cursor"])
            assert ids(previous) == ids(pages[i - 1]), f"prev_cursor of page {i}"
            back_costs.append(requests)

    assert [i for page in pages for i in ids(page)] == fake.ids  # each once, in the store's order
    assert len(pages) == math.ceil(TOTAL / limit)
    assert all(len(page["data"]) == limit for page in pages[:-1])
    assert pages[-1]["data"] and all(page["next_cursor"] for page in pages[:-1])
    assert pages[0]["prev_cursor"] is None
    positions = [limit * i for i in range(len(pages))]
    assert costs == [fake.minimum_requests(p, len(page["data"])) for p, page in zip(positions, pages)]
    if fake.goes_back:  # going back re-reads a full page, at the same minimum
        assert back_costs == [fake.minimum_requests(p, limit) for p in positions[:-1]]
    if fake.token_path:
        assert fake.token_requests() == 1  # one token for the whole walk


async def test_tampered_and_foreign_cursors_are_refused_without_an_upstream_call(tmp_path, fake):
    async with fake.serve() as origin, running_app(tmp_path) as api:
        tenant = await api.tenant()
        _, mine = await connect(api, tenant, fake, origin)
        other_id, theirs = await connect(api, tenant, fake, origin)
        my_cursor = (await mine.page(7))[0]["next_cursor"]
        their_cursor = (await theirs.page(7))[0]["next_cursor"]
        body, mac = my_cursor.split(".")
        # My page state relabelled as the other connection's, keeping my MAC.
        payload = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
        payload[1] = other_id
        relabelled = base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=") + "." + mac
        flipped = body[:5] + ("B" if body[5] == "A" else "A") + body[6:] + "." + mac
        refused = [
            (mine, their_cursor),  # issued for the other connection
            (theirs, my_cursor),
            (mine, relabelled),
            (theirs, relabelled),
            (mine, flipped),
            (mine, body + "." + mac[::-1]),
            (mine, "garbage"),
            (mine, my_cursor + my_cursor),
        ]
        before = fake.list_requests()
        answers = [(await client.list(limit=7, cursor=cursor))[0] for client, cursor in refused]
        assert fake.list_requests() == before  # nothing was read for anyone
    for response in answers:
        problem = response.json()
        assert response.status_code == 400, response.text
        assert (problem["code"], problem["parameter"]) == ("invalid_parameter", "cursor")
        assert "data" not in problem
