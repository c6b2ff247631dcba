"""PrestaShop's Webservice under a shop URL (``{prefix}/api/...``), HTTP Basic
with the webservice key as user and an empty password.

* ``GET {prefix}/api/customers/{id}``: ``{"customer": {...}}``, or the 404
  code 87 (error-404.json); a customer marked ``deleted`` is still answered;
* ``GET {prefix}/api/customers?display=full&limit=offset,count&sort=[id_ASC]``
  and ``{prefix}/api/addresses?display=full&filter[id_customer]=[1|2]``:
  ``{"customers": [...]}`` / ``{"addresses": [...]}``, a bare ``[]`` when
  nothing matches; without ``display`` only ids; ``filter[field]=[a|b]`` is
  the OR operator; no limit means every row;
* ``GET {prefix}/api/countries`` and ``/api/states`` with
  ``display=[id,iso_code]&filter[id]=[..]``.

Everything answers XML unless ``output_format=JSON``. An unknown key gets
codes 20 and 21 (error-401.unknown-key.json) with ``WWW-Authenticate``.
PrestaShop has no rate limit; this shop's host sends a 429 page with
``Retry-After: 30``.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from tests.support import load_fixture

from .base import TOTAL, Answer, Fake, basic, basic_forms, varied

KEY = "ZQ88PRJX5VWQHCWE4EE7SQ7HPNX00RAJ"  # 32 characters, as the back office generates them
OTHER_KEY = "AAAABBBBCCCCDDDDEEEEFFFFGGGGHHHH"
PAGE_MAX = 100  # the module's own page size: PrestaShop documents none
REALM = 'Basic realm="Welcome to PrestaShop Webservice, please enter the authentication key as the login. No password required."'
COUNTRIES = {"8": "FR", "21": "US"}
STATES = {"12": "FL"}


def fixture(name: str) -> Any:
    return load_fixture("prestashop", name)



def one_of(value: str | None) -> set[str] | None:
    """``[1|5]`` (OR) or ``[7]`` as the set of values; None without a filter."""
    if value is None:
        return None
    return set(value.strip("[]").split("|"))


class PrestaShopFake(Fake):
    provider = "prestashop"
    default_credentials = {"api_key": KEY}
    page_max = PAGE_MAX
    retry_after = 30.0
    missing_id = "999"

    def __init__(self, customers: list[dict[str, Any]] | None = None, *, prefix: str = "/shop", **kwargs: Any) -> None:
        super().__init__(customers, **kwargs)
        self.prefix = prefix
        self.addresses = [a for c in self.customers for a in self.addresses_of(c)]

    @classmethod
    def make_customers(cls, total: int = TOTAL) -> list[dict[str, Any]]:
        def vary(c: dict[str, Any], i: int) -> None:
            c["id"], c["lastname"], c["email"] = 2 + i, f"DOE{i}", f"pub{i}@prestashop.com"

        return varied(fixture("customer.json")["customer"], total, vary)

    @staticmethod
    def addresses_of(customer: dict[str, Any]) -> list[dict[str, Any]]:
        """The fixture's two addresses, as this customer's."""
        book = []
        for n, address in enumerate(fixture("addresses.json")["addresses"]):
            book.append({**address, "id": 2 * int(customer["id"]) + n, "id_customer": str(customer["id"])})
        return book

    def customer_id(self, raw: dict[str, Any]) -> str:
        return str(raw["id"])

    def settings(self, origin: str) -> dict[str, Any]:
        return {"store_url": f"https://shop.example.com{self.prefix}", "base_url": origin, "timezone": "Europe/Paris"}

    def wrong_credentials(self) -> dict[str, str]:
        return {"api_key": OTHER_KEY}  # the same shape: 32 characters

    def routes(self, app: web.Application) -> None:
        api = self.prefix + "/api"
        app.router.add_get(api + "/customers/{id}", self.customer)
        app.router.add_get(api + "/{resource:customers|addresses|countries|states}", self.collection)

    def kind(self, request: web.Request, body: bytes) -> str:
        if request.path.startswith(self.prefix + "/api/customers/"):
            return "get"
        return "list" if request.path == self.prefix + "/api/customers" else "extra"

    @property
    def authorization(self) -> str:
        return basic(self.credentials["api_key"])

    def secrets(self) -> list[str]:
        return [*super().secrets(), *basic_forms(self.authorization)]

    # -- answers ------------------------------------------------------------------------

    def unauthorized(self) -> Answer:
        return Answer(401, fixture("error-401.unknown-key.json"), headers={"WWW-Authenticate": REALM})

    def rate_limited(self) -> Answer:
        return Answer(429, text="<html>Too Many Requests</html>", headers={"Retry-After": "30"}, content_type="text/html")

    def error(self, status: int, message: str) -> Answer:
        return Answer(status, {"errors": [{"code": 0, "message": message}]})

    # -- routes ---------------------------------------------------------------------------

    def refusal(self, request: web.Request) -> web.Response | None:
        if request.headers.get("Authorization") != self.authorization:
            return self.unauthorized().response()
        if request.query.get("output_format") != "JSON":
            return web.Response(text='<?xml version="1.0" encoding="UTF-8"?><prestashop/>', content_type="text/xml")
        return None

    async def customer(self, request: web.Request) -> web.Response:
        if (refused := self.refusal(request)) is not None:
            return refused
        raw = self.lookup(request.match_info["id"])
        if raw is None:
            return web.json_response(fixture("error-404.json"), status=404)
        return web.json_response({"customer": raw})

    def rows(self, resource: str) -> list[dict[str, Any]]:
        if resource == "customers":
            return self.customers
        if resource == "addresses":
            return self.addresses
        codes = COUNTRIES if resource == "countries" else STATES
        return [{"id": int(i), "iso_code": code, "name": code} for i, code in codes.items()]

    async def collection(self, request: web.Request) -> web.Response:
        if (refused := self.refusal(request)) is not None:
            return refused
        q, resource = request.query, request.match_info["resource"]
        rows = self.rows(resource)
        for name, value in q.items():
            if name.startswith("filter[") and name.endswith("]"):
                wanted = one_of(value) or set()
                rows = [r for r in rows if str(r.get(name[7:-1])) in wanted]
        if q.get("sort") == "[id_ASC]":
            rows = sorted(rows, key=lambda r: int(r["id"]))
        if "limit" in q:
            offset, _, count = q["limit"].rpartition(",")
            start = int(offset or 0)
            rows = rows[start : start + int(count)]
        if not rows:
            return web.json_response([])  # json_encode of an empty array
        display = q.get("display")
        if display is None:
            shown = [{"id": r["id"]} for r in rows]
        elif display == "full":
            shown = rows
        else:
            fields = display.strip("[]").split(",")
            shown = [{f: r[f] for f in fields if f in r} for r in rows]
        return web.json_response({resource: shown})


FAKE = PrestaShopFake
