"""The benchmark's Shopify GraphQL Admin API: the tests' Shopify fake
(tests/fakes/shopify.py), holding 250 customers built from Shopify's
documented customer (the first is 544365967) and paging them as Shopify
does (at most 9 customers a query under the 1,000-point cost limit). It
takes the bench's token only and keeps no record of requests, which a long
run would pile up. Run: ``python bench/upstream.py PORT``.
"""

from __future__ import annotations

import json
import pathlib
import sys

from aiohttp import web

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))  # tests/ is not installed
from tests.fakes.shopify import ShopifyFake  # noqa: E402

TOKEN = "shpat_bench"


def shop() -> ShopifyFake:
    return ShopifyFake(credentials={"access_token": TOKEN}, record=False)


# The answer to ``customer(id: "gid://shopify/Customer/544365967")``, for
# doubles that answer without the fake (bench/soak.py).
ONE = json.dumps({"data": {"customer": shop().find("544365967")}}).encode()


def main() -> None:
    web.run_app(shop().app(), host="127.0.0.1", port=int(sys.argv[1]), access_log=None, print=None)


if __name__ == "__main__":
    main()
