"""Shopware 6's Admin API under a shop URL (``{prefix}/api/...``).

* ``POST {prefix}/api/oauth/token`` with the JSON client-credentials grant:
  mints ``sw-token-1``, ``sw-token-2``... in the documented answer
  (oauth-token.json, its token replaced); any other grant is the 401
  oauth-error-invalid-client.json;
* ``POST {prefix}/api/search/customer`` with a criteria body: ``ids``
  (a get), ``page``/``limit`` (1-based), ``total-count-mode`` (1: the exact
  total; otherwise ``total`` counts this page only), ``sort`` (this store
  honours ``createdAt`` then ``id``, ascending; without it, customers come
  in email order), and the ``addresses`` association (addresses are left
  out unless asked for) -> ``{"total", "data", "aggregations": []}``.

A request without ``Accept: application/json`` gets the JSON:API format
(``data[].attributes``), Shopware's default. The API takes ``Authorization:
Bearer <token>`` for a live token, else the spec's 401 (error-401.json).
This store's 429 sends ``Retry-After: 12`` (Shopware SaaS documents
``Retry-After`` seconds).
"""

from __future__ import annotations

import copy
import json
from typing import Any

from aiohttp import web

from tests.support import load_fixture

from .base import TOTAL, Answer, TokenFake, varied

CLIENT_ID = "SWIAWJHWQ0LKUMHXBEPSVHC0ZQ"  # an integration's Access key ID (SWIA...)
CLIENT_SECRET = "YnZ5c3Jqa2JvV1pFeGZrR3J6dVhtZ3RnbWJvQ2VIQ3JhZkd0c3M"
PAGE_MAX = 100  # the module's own page size: Shopware documents no maximum
SEARCH_PATH = "/api/search/customer"
TOKEN_PATH = "/api/oauth/token"
SORT = [{"field": "createdAt", "order": "ASC"}, {"field": "id", "order": "ASC"}]


def fixture(name: str) -> Any:
    return load_fixture("shopware", name)


class ShopwareFake(TokenFake):
    provider = "shopware"
    default_credentials = {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}
    page_max = PAGE_MAX
    retry_after = 12.0
    missing_id = "f" * 32

    def __init__(
        self, customers: list[dict[str, Any]] | None = None, *, prefix: str = "", expires_in: Any = 600,
        token_delay: float = 0.0, **kwargs: Any,
    ) -> None:
        super().__init__(customers, expires_in=expires_in, token_prefix="sw-token-", token_delay=token_delay, **kwargs)
        self.prefix = prefix
        self.token_path = prefix + TOKEN_PATH  # type: ignore[misc]
        self.list_path = prefix + SEARCH_PATH  # type: ignore[misc]

    @classmethod
    def make_customers(cls, total: int = TOTAL) -> list[dict[str, Any]]:
        def vary(c: dict[str, Any], i: int) -> None:
            c["id"] = f"0190c1e0a5c4{i:020x}"
            c["lastName"], c["email"] = f"Mustermann{i}", f"max.mustermann{i}@example.com"
            c["createdAt"] = f"2024-05-02T{i // 60:02d}:{i % 60:02d}:13.456+00:00"  # the sort key, rising
            for n, address in enumerate(c["addresses"]):
                old, address["id"] = address["id"], f"0190c1e0a5c5{i:018x}{n:02x}"
                address["customerId"] = c["id"]
                for key in ("defaultBillingAddressId", "defaultShippingAddressId"):
                    if c[key] == old:
                        c[key] = address["id"]

        return varied(fixture("search-customer.json")["data"][0], total, vary)

    def customer_id(self, raw: dict[str, Any]) -> str:
        return str(raw["id"])

    def settings(self, origin: str) -> dict[str, Any]:
        return {"store_url": f"https://shop.example.com{self.prefix}", "base_url": origin, "auth_url": origin}

    def routes(self, app: web.Application) -> None:
        app.router.add_post(self.token_path, self.token)
        app.router.add_post(self.list_path, self.search)

    def kind(self, request: web.Request, body: bytes) -> str:
        if request.path == self.token_path:
            return "token"
        try:
            criteria = json.loads(body or b"{}")
        except ValueError:
            criteria = {}
        return "get" if isinstance(criteria, dict) and "ids" in criteria else "list"

    # -- answers ------------------------------------------------------------------------

    def unauthorized(self) -> Answer:
        return Answer(401, fixture("error-401.json"))

    def rate_limited(self) -> Answer:
        body = {"errors": [{"status": "429", "code": "FRAMEWORK__RATE_LIMIT_EXCEEDED", "title": "Too Many Requests",
                            "detail": "Too many requests, try again in 12 seconds."}]}
        return Answer(429, body, headers={"Retry-After": "12"})

    def error(self, status: int, message: str) -> Answer:
        return Answer(status, {"errors": [{"status": str(status), "code": "0", "title": "Error", "detail": message}]})

    # -- routes ---------------------------------------------------------------------------

    async def token(self, request: web.Request) -> web.Response:
        grant = await request.json()
        await self.received(grant)
        expected = {"grant_type": "client_credentials", **self.credentials}
        if grant != expected:
            return web.json_response(fixture("oauth-error-invalid-client.json"), status=401)
        body = {**fixture("oauth-token.json"), "access_token": self.mint(), "expires_in": self.expires_in}
        return web.json_response(body)

    async def search(self, request: web.Request) -> web.Response:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme != "Bearer" or token not in self.accepted:
            return self.unauthorized().response()
        criteria = await request.json()
        if "ids" in criteria:
            rows = [c for c in (self.lookup(i) for i in criteria["ids"]) if c is not None]
        else:
            ordered = criteria.get("sort") == SORT
            rows = self.customers if ordered else sorted(self.customers, key=lambda c: c["email"])
        total = len(rows)
        page, limit = int(criteria.get("page", 1)), criteria.get("limit")
        if limit is not None:
            rows = rows[(page - 1) * limit : page * limit]
        if criteria.get("total-count-mode") != 1:
            total = len(rows)
        wanted = "addresses" in (criteria.get("associations") or {})
        data = [self.shown(c, wanted) for c in rows]
        if request.headers.get("Accept") != "application/json":  # Shopware's default: JSON:API
            data = [{"id": c["id"], "type": "customer", "attributes": {k: v for k, v in c.items() if k != "id"}}
                    for c in data]
            return web.json_response({"data": data, "meta": {"total": total}}, content_type="application/vnd.api+json")
        return web.json_response({"total": total, "data": data, "aggregations": []})

    @staticmethod
    def shown(customer: dict[str, Any], addresses: bool) -> dict[str, Any]:
        shown = copy.deepcopy(customer)
        if not addresses:
            shown["addresses"] = None  # an association not loaded
        return shown


FAKE = ShopwareFake
