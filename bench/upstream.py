"""The benchmark's Shopify GraphQL Admin API: the tests' Shopify fake
(tests/fakes/shopify.py), holding 250 customers built from Shopify's
documented customer (the first is 544365967), pricing every query by
Shopify's documented cost rules and refusing one over 1,000 points, as
Shopify does. It takes the bench's token only and keeps no record of
requests, which a long run would pile up; it only counts the queries it
priced and their requested points, read at ``GET /bench/tally`` (run.py
takes the difference over a run: queries and points per page).
Run: ``python bench/upstream.py PORT``.
"""

from __future__ import annotations

import json
import pathlib
import sys
from typing import Any

from aiohttp import web

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))  # tests/ is not installed
from tests.fakes import shopify as fake  # noqa: E402
from tests.fakes.shopify import ShopifyFake  # noqa: E402

TOKEN = "shpat_bench"
TALLY = {"queries": 0, "points": 0}


def shop() -> ShopifyFake:
    return ShopifyFake(credentials={"access_token": TOKEN}, record=False)


# The answer to ``customer(id: "gid://shopify/Customer/544365967")``, for
# doubles that answer without the fake (bench/soak.py).
ONE = json.dumps({"data": {"customer": shop().find("544365967")}}).encode()


def _tallied(priced: Any) -> Any:
    """The fake's pricing (module-level ``priced``, called once per query it
    answers), counting each query and the points it requested."""

    def price(query: str, n: int | None) -> int:
        cost = priced(query, n)
        TALLY["queries"] += 1
        TALLY["points"] += cost
        return cost

    return price


async def tally(request: web.Request) -> web.Response:
    return web.json_response(TALLY)


def main() -> None:
    fake.priced = _tallied(fake.priced)
    app = shop().app()
    app.router.add_get("/bench/tally", tally)
    web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), access_log=None, print=None)


if __name__ == "__main__":
    main()
