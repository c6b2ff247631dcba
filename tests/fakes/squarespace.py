"""Squarespace's Profiles API 1.0: ``Authorization: Bearer {api_key}`` and a
``User-Agent`` on every request.

* ``GET /1.0/profiles/{id1},{id2}...``: ``{"profiles": [...]}`` with the
  profiles found (up to 50 ids); here an id of no profile is a 404 in the
  standard error object (error-404.json) when none of the ids is found;
* ``GET /1.0/profiles[?filter=...&sortField=...&sortDirection=...]``, then
  ``?cursor=...``: Squarespace cuts the pages (50), newest id first by
  default; ``pagination`` has ``hasNextPage``, ``nextPageCursor`` and
  ``nextPageUrl`` (null on the last page); a cursor with any other
  parameter is refused (400, as documented: "cannot be used with other
  parameters"). Filters: ``isCustomer,true``, ``hasAccount,true``,
  ``email,...``.

A request without a ``User-Agent`` is refused (400); a wrong key gets the
401 (error-401.json). The 429 carries no wait signal: Squarespace documents
a one-minute cool down, which the module reports.
"""

from __future__ import annotations

import base64
import json
from typing import Any, Callable

from aiohttp import web

from tests.support import load_fixture

from .base import TOTAL, Answer, Fake, varied

API_KEY = "7c6f3b5a-0e4d-4b8a-9f21-3d6e5c4b2a19"  # shape only: Squarespace does not publish one
PAGE = 50  # "The response contains up to 50 Profiles"
PATH = "/1.0/profiles"


def fixture(name: str) -> Any:
    return load_fixture("squarespace", name)


def cursor_of(offset: int, filters: str) -> str:
    """Opaque to the client (the documented one is 32 hex digits)."""
    return base64.urlsafe_b64encode(json.dumps([offset, filters]).encode()).decode()


def position_of(cursor: str) -> tuple[int, str]:
    offset, filters = json.loads(base64.urlsafe_b64decode(cursor))
    return int(offset), str(filters)


def accepts(filters: str) -> Callable[[dict[str, Any]], bool]:
    tests = []
    for part in filter(None, filters.split(";")):
        name, _, value = part.partition(",")
        if name == "email":
            tests.append(lambda p, v=value.lower(): (p.get("email") or "").lower() == v)
        else:
            tests.append(lambda p, n=name: p.get(n) is True)
    return lambda p: all(test(p) for test in tests)


class SquarespaceFake(Fake):
    provider = "squarespace"
    default_credentials = {"api_key": API_KEY}
    page_max = PAGE
    goes_back = False
    provider_pages = True
    retry_after = 60.0  # the documented cool down: no header
    missing_id = "5ede64464561317766bd0000"

    @classmethod
    def make_customers(cls, total: int = TOTAL) -> list[dict[str, Any]]:
        # Newest id first: Squarespace's default order.
        def vary(p: dict[str, Any], i: int) -> None:
            p["id"] = f"5ede64464561317766b{total - i:05x}"
            p["lastName"], p["email"] = f"Jones{i}", f"gregory_jones{i}@example.com"

        return varied(fixture("profile.json")["profiles"][0], total, vary)

    def customer_id(self, raw: dict[str, Any]) -> str:
        return raw["id"]

    def settings(self, origin: str) -> dict[str, Any]:
        return {"base_url": origin}

    def routes(self, app: web.Application) -> None:
        app.router.add_get(PATH, self.collection)
        app.router.add_get(PATH + "/{ids}", self.specific)

    def kind(self, request: web.Request, body: bytes) -> str:
        return "list" if request.path == PATH else "get"

    # -- answers ------------------------------------------------------------------------

    def unauthorized(self) -> Answer:
        return Answer(401, fixture("error-401.json"))

    def rate_limited(self) -> Answer:
        return Answer(429, fixture("error-429.json"))

    def error(self, status: int, message: str) -> Answer:
        kind = "INVALID_REQUEST_ERROR" if status < 500 else "INTERNAL_ERROR"
        return Answer(status, {**fixture("error-400.missing-argument.json"), "type": kind, "subtype": None,
                               "message": message})

    def invalid(self, message: str) -> web.Response:
        return self.error(400, message).response()

    # -- routes ---------------------------------------------------------------------------

    def refusal(self, request: web.Request) -> web.Response | None:
        if not request.headers.get("User-Agent"):
            return self.invalid("A User-Agent header is required.")
        if request.headers.get("Authorization") != f"Bearer {self.credentials['api_key']}":
            return self.unauthorized().response()
        return None

    async def specific(self, request: web.Request) -> web.Response:
        if (refused := self.refusal(request)) is not None:
            return refused
        ids = request.match_info["ids"].split(",")
        if len(ids) > PAGE:
            return self.invalid("Up to 50 ids.")
        found = [p for p in (self.lookup(i) for i in ids) if p is not None]
        if not found:
            return web.json_response(fixture("error-404.json"), status=404)
        return web.json_response({"profiles": found})

    async def collection(self, request: web.Request) -> web.Response:
        if (refused := self.refusal(request)) is not None:
            return refused
        q = request.query
        if "cursor" in q:
            if len(q) > 1:
                return self.invalid("cursor cannot be used with other parameters.")
            offset, filters = position_of(q["cursor"])
        else:
            offset, filters = 0, q.get("filter", "")
        rows = [p for p in self.customers if accepts(filters)(p)]
        chunk = rows[offset : offset + PAGE]
        more = offset + PAGE < len(rows)
        cursor = cursor_of(offset + PAGE, filters) if more else None
        pagination = {
            "hasNextPage": more, "nextPageCursor": cursor,
            "nextPageUrl": f"https://api.squarespace.com{PATH}?cursor={cursor}" if more else None,
        }
        return web.json_response({"profiles": chunk, "pagination": pagination})


FAKE = SquarespaceFake
