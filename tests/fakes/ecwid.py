"""Ecwid's REST API v3, every store on one host: ``/api/v3/{store_id}/...``
with ``Authorization: Bearer secret_...``.

* ``GET /api/v3/{store_id}/customers/{id}``: the bare customer, or a 404
  (error-404.customer-not-found.json);
* ``GET /api/v3/{store_id}/customers?offset=N&limit=M&sortBy=...``:
  ``{"total", "count", "offset", "limit", "items", "allCustomerCount"}``;
  limit 1..100 (else 400 ``WRONG_PARAMETER``); without ``sortBy`` the rows
  come by name (the documented default, ``NAME_ASC``), so a walk that
  forgets the order sees it. The store's order is by registration date.

A wrong token gets the 403 ``INVALID_API_TOKEN``; a store id the host does
not serve, 404 ``STORE_NOT_FOUND``. The 429 carries ``Retry-After: 10``.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from aiohttp import web

from tests.support import load_fixture

from .base import TOTAL, Answer, Fake, varied

TOKEN = "secret_4T6z2Cq7Vb9Xk1Lm3Np5Qr8St0Uw2Yz4"  # secret_ + alphanumerics, as Ecwid issues them
STORE = "1003"  # the docs' example store
PAGE_MAX = 100
SORTS = {"REGISTERED_DATE_ASC": lambda c: c["registered"], "NAME_ASC": lambda c: c["name"]}
FIRST_REGISTERED = datetime(2021, 12, 21, 6, 5, 58, tzinfo=timezone.utc)


def fixture(name: str) -> Any:
    return load_fixture("ecwid", name)


def ecwid_time(when: datetime) -> str:
    return when.strftime("%Y-%m-%d %H:%M:%S %z")


class EcwidFake(Fake):
    provider = "ecwid"
    default_credentials = {"access_token": TOKEN}
    page_max = PAGE_MAX
    retry_after = 10.0
    refused_status = 403  # Ecwid's INVALID_API_TOKEN
    missing_id = "999999999"

    @classmethod
    def make_customers(cls, total: int = TOTAL) -> list[dict[str, Any]]:
        # Registered a minute apart: their registration order is the store's order,
        # their names ("Support team 7" < "Support team 70" < "Support team 8") are not.
        def vary(c: dict[str, Any], i: int) -> None:
            c["id"], c["email"] = 177737165 + i, f"support{i}@example.com"
            c["name"] = c["billingPerson"]["name"] = f"Support team {i}"
            c["billingPerson"]["lastName"] = f"team {i}"
            c["registered"] = ecwid_time(FIRST_REGISTERED + timedelta(minutes=i))
            c["contacts"][0]["contact"] = c["email"]

        return varied(fixture("customer.json"), total, vary)

    def customer_id(self, raw: dict[str, Any]) -> str:
        return str(raw["id"])

    def settings(self, origin: str) -> dict[str, Any]:
        return {"store_id": STORE, "base_url": origin}

    def routes(self, app: web.Application) -> None:
        app.router.add_get("/api/v3/{store}/customers", self.collection)
        app.router.add_get("/api/v3/{store}/customers/{id}", self.customer)

    def kind(self, request: web.Request, body: bytes) -> str:
        return "list" if request.path.endswith("/customers") else "get"

    # -- answers ------------------------------------------------------------------------

    def unauthorized(self) -> Answer:
        return Answer(403, fixture("error-403.invalid-api-token.json"))

    def rate_limited(self) -> Answer:
        return Answer(429, fixture("error-429.rate-limited.json"), headers={"Retry-After": "10"})

    def error(self, status: int, message: str) -> Answer:
        return Answer(status, {"errorMessage": message})

    # -- routes ---------------------------------------------------------------------------

    def refusal(self, request: web.Request) -> web.Response | None:
        if request.match_info["store"] != STORE:
            return web.json_response(fixture("error-404.store-not-found.json"), status=404)
        if request.headers.get("Authorization") != f"Bearer {self.credentials['access_token']}":
            return self.unauthorized().response()
        return None

    async def customer(self, request: web.Request) -> web.Response:
        if (refused := self.refusal(request)) is not None:
            return refused
        raw = self.lookup(request.match_info["id"])
        if raw is None:
            return web.json_response(fixture("error-404.customer-not-found.json"), status=404)
        return web.json_response(raw)

    async def collection(self, request: web.Request) -> web.Response:
        if (refused := self.refusal(request)) is not None:
            return refused
        q = request.query
        limit, offset = int(q.get("limit", str(PAGE_MAX))), int(q.get("offset", "0"))
        sort = q.get("sortBy", "NAME_ASC")
        if not 1 <= limit <= PAGE_MAX or offset < 0 or sort not in SORTS:
            return web.json_response({"errorMessage": "Wrong request parameter.", "errorCode": "WRONG_PARAMETER"},
                                     status=400)
        rows = sorted(self.customers, key=SORTS[sort])
        items = rows[offset : offset + limit]
        return web.json_response({
            "total": len(rows), "count": len(items), "offset": offset, "limit": limit, "items": items,
            "allCustomerCount": len(rows),
        })


FAKE = EcwidFake
