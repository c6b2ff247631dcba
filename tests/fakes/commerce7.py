"""Commerce7's v1 API: HTTP Basic ``app_id:app_secret`` plus the ``tenant`` header.

* ``GET /v1/customer/{id}``: the bare customer; ``GET /v1/customer/{id}/address``:
  ``{"customerAddresses": [...], "total": N}`` (the documented list, as
  published, unless given); an id the tenant does not hold is a 404 in the
  documented error shape;
* ``GET /v1/customer?cursor=start``, then ``?cursor={cursor}`` from the
  answer: Commerce7 cuts the pages itself (50 customers, the documented
  maximum; a ``limit`` above it is refused with 422) and the last page
  carries no cursor; cursors have the documented form;
* ``GET /v1/customer?limit=N[&page=P]`` (no cursor): page paging, limit
  1..50, ``{"customers": [...], "total": N}`` (verify's call).

Anything else than the app's Basic pair and tenant gets the documented 401
(error-401.json). The 429 is the same error shape with ``Retry-After: 30``
(Commerce7 does not document whether it sends one).
"""

from __future__ import annotations

import base64
import math
from typing import Any

from aiohttp import web

from tests.support import load_fixture

from .base import TOTAL, Answer, Fake, varied

APP_ID = "demo-app"  # the docs' example app ID
APP_SECRET = "Zk4pQ9sT2vX7yB1nM6cR3wL8hJ5dF0gA"
TENANT = "spectrawinery"  # the docs' example tenant ID
PAGE = 50  # Commerce7 cuts the pages (the documented maximum); the module sends no limit
COLLECTION = "/v1/customer"


def fixture(name: str) -> Any:
    return load_fixture("commerce7", name)


def cursor_of(page: int) -> str:
    return f"584a97d0-3276-11ea-a64c-{page:012x}"  # the documented cursor's form


class Commerce7Fake(Fake):
    provider = "commerce7"
    default_credentials = {"app_id": APP_ID, "app_secret": APP_SECRET}
    page_max = PAGE
    goes_back = False
    provider_pages = True
    retry_after = 30.0
    missing_id = "00000000-0000-4000-8000-000000000000"

    def __init__(
        self,
        customers: list[dict[str, Any]] | None = None,
        *,
        addresses: list[dict[str, Any]] | None = None,
        page_size: int = PAGE,
        **kwargs: Any,
    ) -> None:
        super().__init__(customers, **kwargs)
        # Every customer's address book: the documented list unless given.
        self.addresses = (
            addresses if addresses is not None else fixture("customer-addresses-list.json")["customerAddresses"]
        )
        self.page_size = page_size  # how many customers Commerce7 puts on a cursor page

    @classmethod
    def make_customers(cls, total: int = TOTAL) -> list[dict[str, Any]]:
        def vary(c: dict[str, Any], i: int) -> None:
            c["id"], c["lastName"] = f"a36b6ff1-7190-49a0-895e-{i:012x}", f"Andres{i}"
            c["emails"][0]["email"] = f"jason{i}@commerce7.com"

        return varied(fixture("customers-cursor-list.json")["customers"][0], total, vary)

    def customer_id(self, raw: dict[str, Any]) -> str:
        return raw["id"]

    def settings(self, origin: str) -> dict[str, Any]:
        return {"tenant": TENANT, "base_url": origin}

    def routes(self, app: web.Application) -> None:
        app.router.add_get(COLLECTION, self.collection)
        app.router.add_get(COLLECTION + "/{id}", self.customer)
        app.router.add_get(COLLECTION + "/{id}/address", self.address_book)

    def kind(self, request: web.Request, body: bytes) -> str:
        if request.path == COLLECTION:
            return "list"
        return "extra" if request.path.endswith("/address") else "get"

    @property
    def authorization(self) -> str:
        pair = f"{self.credentials['app_id']}:{self.credentials['app_secret']}"
        return "Basic " + base64.b64encode(pair.encode()).decode()

    def secrets(self) -> list[str]:
        encoded = self.authorization.removeprefix("Basic ")
        return [*super().secrets(), self.authorization, encoded, encoded.rstrip("=")]

    # -- answers ------------------------------------------------------------------------

    def unauthorized(self) -> Answer:
        return Answer(401, fixture("error-401.json"))

    def rate_limited(self) -> Answer:
        return Answer(429, self.body(429, "tooManyRequests", "Too many requests"), headers={"Retry-After": "30"})

    def error(self, status: int, message: str) -> Answer:
        return Answer(status, self.body(status, "unauthorized" if status == 401 else "error", message))

    def server_error(self, status: int) -> Answer:
        return Answer(status, self.body(status, "serverError", "Something went wrong"))

    @staticmethod
    def body(status: int, kind: str, message: str) -> dict[str, Any]:
        """The documented error shape (the 401 example) for another status."""
        return {**fixture("error-401.json"), "statusCode": status, "type": kind, "message": message}

    # -- routes ---------------------------------------------------------------------------

    def refused(self, request: web.Request) -> bool:
        return (
            request.headers.get("Authorization") != self.authorization
            or request.headers.get("tenant") != TENANT
        )

    def missing(self) -> web.Response:
        return web.json_response(self.body(404, "notFound", "Customer not found"), status=404)

    async def customer(self, request: web.Request) -> web.Response:
        if self.refused(request):
            return self.unauthorized().response()
        raw = self.lookup(request.match_info["id"])
        return self.missing() if raw is None else web.json_response(raw)

    async def address_book(self, request: web.Request) -> web.Response:
        if self.refused(request):
            return self.unauthorized().response()
        if self.lookup(request.match_info["id"], read=False) is None:
            return self.missing()
        return web.json_response({"customerAddresses": self.addresses, "total": len(self.addresses)})

    async def collection(self, request: web.Request) -> web.Response:
        if self.refused(request):
            return self.unauthorized().response()
        q = request.query
        limit = int(q.get("limit", str(PAGE)))
        size = self.page_size
        pages = {"start": 0, **{cursor_of(p): p for p in range(1, math.ceil(len(self.customers) / size))}}
        cursor = q.get("cursor")
        if not 1 <= limit <= PAGE or (cursor is not None and cursor not in pages):
            refusal = {"statusCode": 422, "type": "validationError", "message": "bad page", "errors": []}
            return web.json_response(refusal, status=422)
        if cursor is None:  # page paging
            page = int(q.get("page", "1")) - 1
            chunk = self.customers[page * limit : (page + 1) * limit]
            return web.json_response({"customers": chunk, "total": len(self.customers)})
        page = pages[cursor]
        body: dict[str, Any] = {"customers": self.customers[page * size : (page + 1) * size]}
        if (page + 1) * size < len(self.customers):  # the last page carries no cursor
            body["cursor"] = cursor_of(page + 1)
        return web.json_response(body)


FAKE = Commerce7Fake
