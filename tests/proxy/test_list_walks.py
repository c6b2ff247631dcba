"""Issue 5: every provider's customer list walked end to end through the API.

For each provider a real local upstream holds TOTAL customers (the provider's
documented customer fixture with id, email and name varied) and serves the
list endpoint in that provider's own paging dialect, refusing a page larger
than the provider allows. ``GET /ecommerce/customers`` is then walked with
several limits: every customer once and in order, ``next_cursor`` null only
on the last page, ``prev_cursor`` going back exactly one page where the
module can go back (and null where it cannot), and each API page costing the
fewest upstream requests the dialect permits. Tampered cursors and cursors of
another connection are refused before any upstream call.
"""

from __future__ import annotations

import base64
import copy
import dataclasses
import json
import math
from typing import Any, Callable

import pytest
from aiohttp import web

from tests.harness import running_app
from tests.support import Recorder, load_fixture, serve

TOTAL = 250  # a multiple of 50, not of 7 or 100: full and short last pages both occur


# -- shopify: GraphQL customers(first/after | last/before), Relay pageInfo -----------

SHOPIFY_TOKEN = "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"
# Shopify refuses a query whose calculated cost exceeds 1,000 points. One
# customer node as the module selects it costs 109: the node and its four
# object fields 1 each, addressesV2(first: 50) and metafields(first: 50)
# 2 + 50 each; the connection and pageInfo add 3 per query.
SHOPIFY_NODE_COST, SHOPIFY_MAX_COST, SHOPIFY_MAX_FIRST = 109, 1000, 250
SHOPIFY_PAGE_MAX = (SHOPIFY_MAX_COST - 3) // SHOPIFY_NODE_COST  # 9


def shopify_customers() -> list[dict[str, Any]]:
    base = load_fixture("shopify", "customer.json")["data"]["customer"]
    customers = []
    for i in range(TOTAL):
        c, number = copy.deepcopy(base), 544365967 + 1000 * i  # id order is the default sort
        c["id"], c["legacyResourceId"] = f"gid://shopify/Customer/{number}", str(number)
        c["lastName"] = f"Bobsen{i}"
        c["displayName"] = f"Bob Bobsen{i}"
        c["defaultEmailAddress"]["emailAddress"] = f"bob{i}@example.com"
        customers.append(c)
    return customers


def shopify_routes(app: web.Application, customers: list[dict[str, Any]]) -> None:
    numbers = [int(c["legacyResourceId"]) for c in customers]
    index = {n: i for i, n in enumerate(numbers)}

    def cursor_of(i: int) -> str:
        # Shopify's documented cursor: base64 of {"last_id": N, "last_value": "N"}.
        raw = json.dumps({"last_id": numbers[i], "last_value": str(numbers[i])}, separators=(",", ":"))
        return base64.b64encode(raw.encode()).decode()

    async def graphql(request: web.Request) -> web.Response:
        if request.headers.get("X-Shopify-Access-Token") != SHOPIFY_TOKEN:
            return web.json_response(load_fixture("shopify", "error-401.json"), status=401)
        payload = await request.json()
        query, n, cursor = payload["query"], payload["variables"]["n"], payload["variables"]["cursor"]
        cost = 3 + n * SHOPIFY_NODE_COST
        if n > SHOPIFY_MAX_FIRST or cost > SHOPIFY_MAX_COST:
            error = {
                "message": f"Query cost is {cost}, which exceeds the single query max cost limit (1000).",
                "extensions": {"code": "MAX_COST_EXCEEDED", "cost": cost, "maxCost": SHOPIFY_MAX_COST},
            }
            return web.json_response({"errors": [error]})  # GraphQL refusals are HTTP 200
        pivot = index[json.loads(base64.b64decode(cursor))["last_id"]] if cursor else None
        if "customers(first: $n, after: $cursor)" in query:
            start = 0 if pivot is None else pivot + 1
            chunk = range(start, min(start + n, len(customers)))
        elif "customers(last: $n, before: $cursor)" in query:
            end = len(customers) if pivot is None else pivot
            chunk = range(max(0, end - n), end)
        else:
            return web.json_response({"errors": [{"message": "not a customers query"}]}, status=400)
        info = {
            "hasNextPage": chunk.stop < len(customers),
            "hasPreviousPage": chunk.start > 0,
            "startCursor": cursor_of(chunk.start) if chunk else None,
            "endCursor": cursor_of(chunk.stop - 1) if chunk else None,
        }
        nodes = [customers[i] for i in chunk]
        return web.json_response({"data": {"customers": {"nodes": nodes, "pageInfo": info}}})

    app.router.add_post("/admin/api/2026-10/graphql.json", graphql)


# -- bigcommerce: v3 /customers, limit + after/before cursors -----------------------

BC_TOKEN, BC_STORE, BC_PAGE_MAX = "sqtna5wbk1ys8t9seu331zhifi3g8lu", "hc5d9t2irc", 250


def bigcommerce_customers() -> list[dict[str, Any]]:
    # address_count equals the inline addresses: no address call is needed.
    base = load_fixture("bigcommerce", "customer-23.json")["data"][0]
    customers = []
    for i in range(TOTAL):
        c = copy.deepcopy(base)
        c["id"], c["last_name"], c["email"] = 100 + i, f"Doe{i}", f"johndoe{i}@example.com"
        for address in c["addresses"]:
            address["customer_id"] = c["id"]
        customers.append(c)
    return customers


def bigcommerce_routes(app: web.Application, customers: list[dict[str, Any]]) -> None:
    index = {c["id"]: i for i, c in enumerate(customers)}

    def cursor_of(i: int) -> str:
        # As recorded: unpadded base64 of {"id": N} ("eyJpZCI6NH0").
        raw = json.dumps({"id": customers[i]["id"]}, separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    def position(cursor: str) -> int:
        return index[json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))["id"]]

    async def list_customers(request: web.Request) -> web.Response:
        if request.headers.get("X-Auth-Token") != BC_TOKEN:
            return web.json_response(load_fixture("bigcommerce", "error-401.json"), status=401)
        q = request.query
        limit = int(q.get("limit", "50"))
        if not 1 <= limit <= BC_PAGE_MAX or ("after" in q and "before" in q):
            problem = load_fixture("bigcommerce", "error-422.invalid-filter.json")
            return web.json_response({**problem, "title": "limit must be 1..250"}, status=422)
        if "before" in q:
            end = position(q["before"])
            chunk = range(max(0, end - limit), end)
        else:
            start = position(q["after"]) + 1 if "after" in q else 0
            chunk = range(start, min(start + limit, len(customers)))
        links = {}
        if chunk.stop < len(customers):
            links["next"] = f"?limit={limit}&after={cursor_of(chunk.stop - 1)}"
        if chunk.start > 0:
            links["previous"] = f"?limit={limit}&before={cursor_of(chunk.start)}"
        meta: dict[str, Any] = {
            "cursor_pagination": {
                "count": len(chunk), "per_page": limit, "links": links,
                "start_cursor": cursor_of(chunk.start) if chunk else None,
                "end_cursor": cursor_of(chunk.stop - 1) if chunk else None,
            }
        }
        if "after" not in q and "before" not in q:  # page paging's block comes with the first page
            meta["pagination"] = {
                "total": len(customers), "count": len(chunk), "per_page": limit,
                "current_page": 1, "total_pages": math.ceil(len(customers) / limit),
            }
        return web.json_response({"data": [customers[i] for i in chunk], "meta": meta})

    app.router.add_get(f"/stores/{BC_STORE}/v3/customers", list_customers)


# -- woocommerce: wc/v3 /customers, per_page + offset, X-WP-Total -------------------

WOO_KEY = "ck_4d2b8c5e9f1a3b7c6d0e2f4a8b9c1d3e5f7a9b0c"
WOO_SECRET = "cs_9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e0d"
WOO_AUTH = "Basic " + base64.b64encode(f"{WOO_KEY}:{WOO_SECRET}".encode()).decode()
WOO_PAGE_MAX = 100  # WordPress REST: per_page 1..100


def woocommerce_customers() -> list[dict[str, Any]]:
    base = load_fixture("woocommerce", "customer.json")
    customers = []
    for i in range(TOTAL):
        c = copy.deepcopy(base)
        c["id"], c["last_name"], c["email"] = 25 + i, f"Doe{i}", f"john.doe{i}@example.com"
        c["username"] = c["billing"]["email"] = c["email"]
        customers.append(c)
    return customers


def woocommerce_routes(app: web.Application, customers: list[dict[str, Any]]) -> None:
    async def list_customers(request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != WOO_AUTH:
            refusal = load_fixture("woocommerce", "error-401.consumer-key-invalid.json")
            return web.json_response(refusal, status=401)
        q = request.query
        per_page = int(q.get("per_page", "10"))
        # The module asks for id order; this double serves nothing else.
        if not 1 <= per_page <= WOO_PAGE_MAX or (q.get("orderby"), q.get("order")) != ("id", "asc"):
            reason = "per_page must be between 1 (inclusive) and 100 (inclusive)"
            return web.json_response(
                {"code": "rest_invalid_param", "message": "Invalid parameter(s): per_page",
                 "data": {"status": 400, "params": {"per_page": reason}}},
                status=400,
            )
        offset = int(q.get("offset", "0"))
        headers = {"X-WP-Total": str(len(customers)), "X-WP-TotalPages": str(math.ceil(len(customers) / per_page))}
        return web.json_response(customers[offset : offset + per_page], headers=headers)

    app.router.add_get("/shop/wp-json/wc/v3/customers", list_customers)


# -- wix: contacts v4, paging.limit + paging.offset, app OAuth ----------------------

WIX_APP_ID, WIX_APP_SECRET = "655104d6-d14c-42d8-8197-38384e647359", "53abe43a-17c2-43b7-8012-afa666917f9b"
WIX_INSTANCE_ID = "1d2c6a64-3f21-4e36-9a1f-4c7f4b0a9e11"
WIX_ACCESS_TOKEN = "OauthNG.JWS.walk-token"
WIX_PAGE_MAX = 1000  # List Contacts: paging.limit maximum


def wix_customers() -> list[dict[str, Any]]:
    base = load_fixture("wix", "contact-full.json")["contact"]
    customers = []
    for i in range(TOTAL):
        c = copy.deepcopy(base)
        c["id"] = f"8046df3c-7575-4098-a5ab-{i:012x}"
        c["createdDate"] = f"2019-10-30T17:{i // 60:02d}:{i % 60:02d}.299Z"  # the sort key, rising
        c["info"]["name"]["last"] = f"One{i}"
        c["primaryInfo"]["email"] = c["info"]["emails"]["items"][0]["email"] = f"email{i}@example.com"
        customers.append(c)
    return customers


def wix_routes(app: web.Application, customers: list[dict[str, Any]]) -> None:
    async def token(request: web.Request) -> web.Response:
        body = await request.json()
        if body != {"grant_type": "client_credentials", "client_id": WIX_APP_ID,
                    "client_secret": WIX_APP_SECRET, "instance_id": WIX_INSTANCE_ID}:
            return web.json_response(load_fixture("wix", "oauth-error-invalid-client.json"), status=400)
        return web.json_response({**load_fixture("wix", "oauth-token.json"), "access_token": WIX_ACCESS_TOKEN})

    async def list_contacts(request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != WIX_ACCESS_TOKEN:
            return web.json_response(load_fixture("wix", "error-401.json"), status=401)
        q = request.query
        limit, offset = int(q["paging.limit"]), int(q["paging.offset"])
        sort = (q.get("sort.fieldName"), q.get("sort.order"))
        if not 1 <= limit <= WIX_PAGE_MAX or sort != ("createdDate", "ASC"):
            return web.json_response(load_fixture("wix", "error-validation.json"), status=400)
        chunk = customers[offset : offset + limit]
        meta = {"count": len(chunk), "offset": offset, "total": len(customers)}
        return web.json_response({"contacts": chunk, "pagingMetadata": meta})

    app.router.add_post("/oauth2/token", token)
    app.router.add_get("/contacts/v4/contacts", list_contacts)


# -- commerce7: /v1/customer, cursor=start then the answer's cursor -----------------

C7_APP_ID, C7_APP_SECRET, C7_TENANT = "demo-app", "Zk4pQ9sT2vX7yB1nM6cR3wL8hJ5dF0gA", "spectrawinery"
C7_AUTH = "Basic " + base64.b64encode(f"{C7_APP_ID}:{C7_APP_SECRET}".encode()).decode()
C7_PAGE = 50  # Commerce7 cuts the pages (the documented maximum); the module sends no limit


def commerce7_customers() -> list[dict[str, Any]]:
    base = load_fixture("commerce7", "customers-cursor-list.json")["customers"][0]
    customers = []
    for i in range(TOTAL):
        c = copy.deepcopy(base)
        c["id"], c["lastName"] = f"a36b6ff1-7190-49a0-895e-{i:012x}", f"Andres{i}"
        c["emails"][0]["email"] = f"jason{i}@commerce7.com"
        customers.append(c)
    return customers


def commerce7_routes(app: web.Application, customers: list[dict[str, Any]]) -> None:
    def cursor_of(page: int) -> str:
        return f"584a97d0-3276-11ea-a64c-{page:012x}"  # the documented cursor's form

    pages = {"start": 0, **{cursor_of(p): p for p in range(1, math.ceil(len(customers) / C7_PAGE))}}

    async def list_customers(request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != C7_AUTH or request.headers.get("tenant") != C7_TENANT:
            return web.json_response(load_fixture("commerce7", "error-401.json"), status=401)
        q = request.query
        if int(q.get("limit", "1")) > C7_PAGE or q.get("cursor") not in pages:
            refusal = {"statusCode": 422, "type": "validationError", "message": "bad page", "errors": []}
            return web.json_response(refusal, status=422)
        page = pages[q["cursor"]]
        body: dict[str, Any] = {"customers": customers[page * C7_PAGE : (page + 1) * C7_PAGE]}
        if (page + 1) * C7_PAGE < len(customers):  # the last page carries no cursor
            body["cursor"] = cursor_of(page + 1)
        return web.json_response(body)

    app.router.add_get("/v1/customer", list_customers)


# -- zoho_inventory: /inventory/v1/contacts, page + per_page, refresh-token grant ---

ZOHO_CLIENT_ID = "1000.GMB0YULZHJK411248S8I5GZ4CHUEX0"
ZOHO_CLIENT_SECRET = "122c324d3496d5d777ceeebc129470715fbb856b7"
ZOHO_REFRESH_TOKEN = "1000.8ecd1a2b3c4d5e6f7a8b9c0d1e2f5cb7.46381a2b3c4d5e6f7a8b9c0d1e2febdc"
ZOHO_ORG, ZOHO_ACCESS_TOKEN = "10234695", "1000.walk-token.sig"
ZOHO_PAGE_MAX = 200  # per_page maximum


def zoho_customers() -> list[dict[str, Any]]:
    rows = load_fixture("zoho_inventory", "contacts-list-page.json")["contacts"]
    base = next(c for c in rows if c["contact_type"] == "customer")
    customers = []
    for i in range(TOTAL):
        c = copy.deepcopy(base)
        c["contact_id"] = 460000000026049 + 1000 * i
        c["contact_name"] = c["company_name"] = f"Bowman and Co {i}"
        c["last_name"], c["email"] = f"Smith{i}", f"willsmith{i}@bowmanfurniture.com"
        c["created_time"] = f"2013-08-05T{i // 60:02d}:{i % 60:02d}:10+0530"  # the sort key, rising
        customers.append(c)
    return customers


def zoho_routes(app: web.Application, customers: list[dict[str, Any]]) -> None:
    async def token(request: web.Request) -> web.Response:
        expected = {"refresh_token": ZOHO_REFRESH_TOKEN, "client_id": ZOHO_CLIENT_ID,
                    "client_secret": ZOHO_CLIENT_SECRET, "grant_type": "refresh_token"}
        if dict(request.query) != expected:
            return web.json_response(load_fixture("zoho_inventory", "oauth-error-invalid-code.json"))
        minted = load_fixture("zoho_inventory", "zoho-oauth-token-refresh.json")
        return web.json_response({**minted, "access_token": ZOHO_ACCESS_TOKEN})

    async def list_contacts(request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != f"Zoho-oauthtoken {ZOHO_ACCESS_TOKEN}":
            return web.json_response(load_fixture("zoho_inventory", "error-401-code-14.json"), status=401)
        q = request.query
        page, per_page = int(q.get("page", "1")), int(q.get("per_page", "200"))
        ours = (q.get("organization_id"), q.get("sort_column")) == (ZOHO_ORG, "created_time")
        if not ours or not 1 <= per_page <= ZOHO_PAGE_MAX:
            return web.json_response({"code": 2, "message": "Invalid value passed for per_page"}, status=400)
        chunk = customers[(page - 1) * per_page : page * per_page]
        context = {"page": page, "per_page": per_page, "has_more_page": page * per_page < len(customers)}
        return web.json_response({"code": 0, "message": "success", "contacts": chunk, "page_context": context})

    app.router.add_post("/oauth/v2/token", token)
    app.router.add_get("/inventory/v1/contacts", list_contacts)


# -- the table ---------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, kw_only=True)
class Dialect:
    page_max: int  # the most customers one provider request may return
    goes_back: bool  # the module issues prev_cursor
    customers: Callable[[], list[dict[str, Any]]]
    customer_id: Callable[[dict[str, Any]], str]
    routes: Callable[[web.Application, list[dict[str, Any]]], None]
    credentials: dict[str, str]
    settings: Callable[[str], dict[str, str]]
    token_path: str | None = None  # the OAuth token endpoint, not a list request
    provider_pages: bool = False  # the provider cuts pages itself; one is read whole or not at all

    def minimum_requests(self, position: int, size: int) -> int:
        """The fewest list requests that can serve ``size`` customers from ``position``."""
        if self.provider_pages:  # every provider page the API page touches
            return (position + max(size, 1) - 1) // self.page_max - position // self.page_max + 1
        return max(1, math.ceil(size / self.page_max))


DIALECTS = {
    "shopify": Dialect(
        page_max=SHOPIFY_PAGE_MAX, goes_back=True,
        customers=shopify_customers, customer_id=lambda c: c["legacyResourceId"], routes=shopify_routes,
        credentials={"access_token": SHOPIFY_TOKEN},
        settings=lambda origin: {"shop": "your-development-store", "base_url": origin},
    ),
    "bigcommerce": Dialect(
        page_max=BC_PAGE_MAX, goes_back=True,
        customers=bigcommerce_customers, customer_id=lambda c: str(c["id"]), routes=bigcommerce_routes,
        credentials={"access_token": BC_TOKEN},
        settings=lambda origin: {"store_hash": BC_STORE, "base_url": origin},
    ),
    "woocommerce": Dialect(
        page_max=WOO_PAGE_MAX, goes_back=True,
        customers=woocommerce_customers, customer_id=lambda c: str(c["id"]), routes=woocommerce_routes,
        credentials={"consumer_key": WOO_KEY, "consumer_secret": WOO_SECRET},
        settings=lambda origin: {"store_url": "https://example.com/shop", "base_url": origin},
    ),
    "wix": Dialect(
        page_max=WIX_PAGE_MAX, goes_back=True,
        customers=wix_customers, customer_id=lambda c: c["id"], routes=wix_routes,
        credentials={"client_id": WIX_APP_ID, "client_secret": WIX_APP_SECRET},
        settings=lambda origin: {"instance_id": WIX_INSTANCE_ID, "base_url": origin, "auth_url": origin},
        token_path="/oauth2/token",
    ),
    "commerce7": Dialect(
        page_max=C7_PAGE, goes_back=False, provider_pages=True,
        customers=commerce7_customers, customer_id=lambda c: c["id"], routes=commerce7_routes,
        credentials={"app_id": C7_APP_ID, "app_secret": C7_APP_SECRET},
        settings=lambda origin: {"tenant": C7_TENANT, "base_url": origin},
    ),
    "zoho_inventory": Dialect(
        page_max=ZOHO_PAGE_MAX, goes_back=True,
        customers=zoho_customers, customer_id=lambda c: str(c["contact_id"]), routes=zoho_routes,
        credentials={
            "client_id": ZOHO_CLIENT_ID, "client_secret": ZOHO_CLIENT_SECRET, "refresh_token": ZOHO_REFRESH_TOKEN,
        },
        settings=lambda origin: {
            "organization_id": ZOHO_ORG, "data_center": "com", "base_url": origin, "auth_url": origin,
        },
        token_path="/oauth/v2/token",
    ),
}


class Upstream:
    """A provider's local store: its customers in list order and every request it saw."""

    def __init__(self, dialect: Dialect) -> None:
        self.dialect = dialect
        self.customers = dialect.customers()
        self.ids = [dialect.customer_id(c) for c in self.customers]
        self.recorder = Recorder()

    def app(self) -> web.Application:
        app = self.recorder.app()
        self.dialect.routes(app, self.customers)
        return app

    def list_requests(self) -> int:
        return sum(r.path != self.dialect.token_path for r in self.recorder.requests)

    def token_requests(self) -> int:
        return sum(r.path == self.dialect.token_path for r in self.recorder.requests)


class Client:
    """``GET /ecommerce/customers`` for one connection, counting upstream list requests."""

    def __init__(self, api: Any, tenant: Any, token: str, upstream: Upstream) -> None:
        self.api, self.tenant, self.token, self.upstream = api, tenant, token, upstream

    async def get(self, **params: Any) -> tuple[Any, int]:
        before = self.upstream.list_requests()
        response = await self.api.client.get(
            "/ecommerce/customers",
            params=params,
            headers={"x-api-key": self.tenant.api_key, "x-connection-token": self.token},
        )
        return response, self.upstream.list_requests() - before

    async def page(self, limit: int, cursor: str | None = None) -> tuple[dict[str, Any], int]:
        params = {"limit": limit} if cursor is None else {"limit": limit, "cursor": cursor}
        response, requests = await self.get(**params)
        assert response.status_code == 200, response.text
        return response.json(), requests


async def connect(api: Any, tenant: Any, provider: str, origin: str, upstream: Upstream) -> tuple[str, Client]:
    dialect = DIALECTS[provider]
    connection_id, token = await api.connection(tenant, provider, dialect.credentials, dialect.settings(origin))
    return connection_id, Client(api, tenant, token, upstream)


def ids(page: dict[str, Any]) -> list[str]:
    return [c["id"] for c in page["data"]]


WALKS = [(provider, limit) for provider in DIALECTS for limit in (7, 50, 100)]
WALKS.append(("commerce7", 1))  # limit 1 once: pages cut inside Commerce7's own pages


@pytest.mark.parametrize("provider,limit", WALKS)
async def test_walk_every_customer_once_at_the_minimum_cost(tmp_path, provider, limit):
    dialect = DIALECTS[provider]
    upstream = Upstream(dialect)
    async with serve(upstream.app()) as origin, running_app(tmp_path) as api:
        _, client = await connect(api, await api.tenant(), provider, origin, upstream)
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
            if not dialect.goes_back:
                assert page["prev_cursor"] is None  # never a made-up way back
                continue
            assert page["prev_cursor"], f"page {i} has no way back"
            previous, requests = await client.page(limit, page["prev_cursor"])
            assert ids(previous) == ids(pages[i - 1]), f"prev_cursor of page {i}"
            back_costs.append(requests)
        token_requests = upstream.token_requests()

    assert [i for page in pages for i in ids(page)] == upstream.ids  # each once, in the store's order
    assert len(pages) == math.ceil(TOTAL / limit)
    assert all(len(page["data"]) == limit for page in pages[:-1])
    assert pages[-1]["data"] and all(page["next_cursor"] for page in pages[:-1])
    assert pages[0]["prev_cursor"] is None
    positions = [limit * i for i in range(len(pages))]
    assert costs == [dialect.minimum_requests(p, len(page["data"])) for p, page in zip(positions, pages)]
    if dialect.goes_back:  # going back re-reads a full page, at the same minimum
        assert back_costs == [dialect.minimum_requests(p, limit) for p in positions[:-1]]
    if dialect.token_path:
        assert token_requests == 1  # one token for the whole walk


@pytest.mark.parametrize("provider", list(DIALECTS))
async def test_tampered_and_foreign_cursors_are_refused_without_an_upstream_call(tmp_path, provider):
    upstream = Upstream(DIALECTS[provider])
    async with serve(upstream.app()) as origin, running_app(tmp_path) as api:
        tenant = await api.tenant()
        _, mine = await connect(api, tenant, provider, origin, upstream)
        other_id, theirs = await connect(api, tenant, provider, origin, upstream)
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
        before = upstream.list_requests()
        answers = [(await client.get(limit=7, cursor=cursor))[0] for client, cursor in refused]
        assert upstream.list_requests() == before  # nothing was read for anyone
    for response in answers:
        problem = response.json()
        assert response.status_code == 400, response.text
        assert (problem["code"], problem["parameter"]) == ("invalid_parameter", "cursor")
        assert "data" not in problem
