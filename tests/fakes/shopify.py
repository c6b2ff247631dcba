"""Shopify's GraphQL Admin API: ``POST /admin/api/{version}/graphql.json``
with ``X-Shopify-Access-Token``.

* ``customer(id:)``: the customer, or ``{"data": {"customer": null}}``
  (customer-not-found.json) for an id the store does not hold;
* ``customers(first: $n, after: $cursor)`` / ``customers(last: $n, before:
  $cursor)`` in id order (the default sort key), with Relay ``pageInfo`` and
  Shopify's documented cursors (base64 of ``{"last_id": N, "last_value":
  "N"}``);
* every query is priced by Shopify's documented rules from its text
  (tests/fakes/graphql_cost.py) and one over 1,000 points is refused with
  MAX_COST_EXCEEDED (HTTP 200, as GraphQL refusals are);
* a customer is answered as queried: ``addressesV2`` cut to its ``first``,
  ``metafields`` only when selected, cut to its ``first`` and to the
  ``keys: $keys`` named;
* ``{ shop { id } }``: shop.json (verify).

A wrong token gets the REST-style 401 (error-401.json). The rate limit is
the THROTTLED GraphQL error (HTTP 200, error-throttled.json), whose bucket
wait is (752 requested - 666 available) / 50 restored a second = 1.72 s.

It is also the shop's authorization server (OAuth installs, connect-flows.md
A.1.3-A.1.5), for one app (``client_id``/``client_secret``) and one shop:

* ``GET /admin/oauth/authorize`` checks ``client_id``, ``scope`` (holds
  read_customers), ``redirect_uri`` (the registered one, when set),
  ``state`` and ``grant_options[]``, then (the merchant consents) 302s to
  the redirect URI with ``code, host, shop, state, timestamp`` and ``hmac``
  (hex HMAC-SHA256 of the others sorted, keyed with the app secret); or
  with ``error=access_denied`` when ``consent = "deny"``;
* ``POST /admin/oauth/access_token`` (JSON) checks the app's id and
  secret; exchanges a code once (a used or unknown one: 400
  ``invalid_request``); with ``"expiring": 1`` it answers an hour-long
  token with a rotating refresh token and, as Shopify, revokes every
  earlier expiring token of the app and shop; without it, a non-expiring
  token. ``grant_type=refresh_token`` spends the refresh token (an unknown
  or spent one: 400 ``invalid_grant``) for a new pair.

A live minted token reads customers as the key form's ``access_token`` does.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import json
import re
import secrets
import time
import urllib.parse
from typing import Any

from aiohttp import web
from graphql import GraphQLError

from tests.support import load_fixture

from .base import TOTAL, Answer, TokenFake, varied
from .graphql_cost import MAX_QUERY_COST, requested_cost

_ADDRESSES = re.compile(r"addressesV2\(first: (\d+)\)")
_METAFIELDS = re.compile(r"metafields\(first: (\d+)(, keys: \$keys)?\)")

TOKEN = "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"  # the documented shpat_ + 32 hex shape
SHOP = "your-development-store"
API_VERSION = "2026-10"
GRAPHQL_PATH = f"/admin/api/{API_VERSION}/graphql.json"
MAX_FIRST = 250
# The module's node without metafields costs 12 (tests/providers/test_shopify_cost.py):
# (1,000 - 3 for the connection and pageInfo) // 12 customers fit in one query.
PAGE_MAX = 83
CLIENT_ID = "4f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c"
CLIENT_SECRET = "shpss_0123456789abcdef0123456789abcdef"
SHOP_HOST = f"{SHOP}.myshopify.com"
AUTHORIZE_PATH = "/admin/oauth/authorize"
TOKEN_PATH = "/admin/oauth/access_token"


def sign(params: dict[str, str], secret: str) -> str:
    """Shopify's callback HMAC: the parameters but hmac/signature, sorted, k=v joined by &."""
    message = "&".join(f"{k}={v}" for k, v in sorted(params.items()) if k not in ("hmac", "signature"))
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()


def fixture(name: str) -> Any:
    return load_fixture("shopify", name)


def cursor_of(number: int) -> str:
    """Shopify's documented cursor: base64 of {"last_id": N, "last_value": "N"}."""
    raw = json.dumps({"last_id": number, "last_value": str(number)}, separators=(",", ":"))
    return base64.b64encode(raw.encode()).decode()


class ShopifyFake(TokenFake):
    provider = "shopify"
    default_credentials = {"access_token": TOKEN}
    page_max = PAGE_MAX
    retry_after = 1.72
    missing_id = "999"
    # token_path stays None: the key form's connections mint no tokens
    # (the contract tests read it so); OAuth installs' token endpoint is TOKEN_PATH.

    def __init__(
        self, customers: list[dict[str, Any]] | None = None, *, client_id: str = CLIENT_ID,
        client_secret: str = CLIENT_SECRET, expires_in: Any = 3600, **kwargs: Any,
    ) -> None:
        super().__init__(customers, expires_in=expires_in, token_prefix="shpat_oauth_", **kwargs)
        self.client_id, self.client_secret = client_id, client_secret
        self.shop = SHOP_HOST
        self.redirect_uri: str | None = None  # the app's registered callback (None: any)
        self.consent = "allow"  # "deny": the merchant declines
        self.expiring_offered = True  # False: "expiring" is ignored (apps exempt from expiring tokens)
        self.sign_with: str | None = None  # another secret: a callback Shopify did not sign
        self.codes: dict[str, bool] = {}  # issued code -> used
        self.refresh_tokens: set[str] = set()  # live ones
        self.issued_refresh: list[str] = []
        self.authorizations: list[dict[str, str]] = []  # the consent requests' queries

    def secrets(self) -> list[str]:
        return [*super().secrets(), self.client_secret, *self.issued_refresh]

    @classmethod
    def make_customers(cls, total: int = TOTAL) -> list[dict[str, Any]]:
        def vary(c: dict[str, Any], i: int) -> None:
            number = 544365967 + 1000 * i  # id order is the default sort
            c["id"], c["legacyResourceId"] = f"gid://shopify/Customer/{number}", str(number)
            c["lastName"], c["displayName"] = f"Bobsen{i}", f"Bob Bobsen{i}"
            c["defaultEmailAddress"]["emailAddress"] = f"bob{i}@example.com"

        return varied(fixture("customer.json")["data"]["customer"], total, vary)

    def customer_id(self, raw: dict[str, Any]) -> str:
        return raw["legacyResourceId"]

    def settings(self, origin: str) -> dict[str, Any]:
        return {"shop": SHOP, "base_url": origin}

    def routes(self, app: web.Application) -> None:
        # Any version: Shopify answers a retired one with the oldest supported.
        app.router.add_post("/admin/api/{version}/graphql.json", self.graphql)
        app.router.add_get(AUTHORIZE_PATH, self.authorize)
        app.router.add_post(TOKEN_PATH, self.token)

    def kind(self, request: web.Request, body: bytes) -> str:
        if request.path == TOKEN_PATH:
            return "token"
        if request.path == AUTHORIZE_PATH:
            return "consent"
        try:
            query = json.loads(body).get("query", "")
        except (ValueError, AttributeError):
            return "other"
        if "customer(id:" in query:
            return "get"
        if "customers(" in query:
            return "list"
        return "verify" if "shop" in query else "other"

    # -- answers ------------------------------------------------------------------------

    def unauthorized(self) -> Answer:
        return Answer(401, fixture("error-401.json"))

    def rate_limited(self) -> Answer:
        return Answer(200, fixture("error-throttled.json"))

    def error(self, status: int, message: str) -> Answer:
        return Answer(status, {"errors": message})

    # -- routes ---------------------------------------------------------------------------

    async def graphql(self, request: web.Request) -> web.Response:
        token = request.headers.get("X-Shopify-Access-Token")
        if token != self.credentials.get("access_token") and token not in self.accepted:
            return self.unauthorized().response()
        payload = await request.json()
        query, variables = payload.get("query", ""), payload.get("variables") or {}
        try:
            cost = priced(query, variables.get("n"))
        except (GraphQLError, KeyError, TypeError, ValueError):  # unparseable, or a variable not sent
            return web.json_response({"errors": [{"message": "not a query this store answers"}]}, status=400)
        if cost > MAX_QUERY_COST:
            error = {
                "message": f"Query cost is {cost}, which exceeds the single query max cost limit (1000).",
                "extensions": {"code": "MAX_COST_EXCEEDED", "cost": cost, "maxCost": MAX_QUERY_COST},
            }
            return web.json_response({"errors": [error]})  # GraphQL refusals are HTTP 200
        if "customer(id:" in query:
            number = str(variables.get("id", "")).rsplit("/", 1)[-1]
            found = self.lookup(number)
            return web.json_response({"data": {"customer": found and as_queried(found, query, variables)}})
        if "customers(" in query:
            return self.customers_page(query, variables)
        if "shop" in query:
            return web.json_response(fixture("shop.json"))
        return web.json_response({"errors": [{"message": "not a query this store answers"}]}, status=400)

    # -- the authorization server --------------------------------------------------------

    async def authorize(self, request: web.Request) -> web.Response:
        query = dict(request.query)
        problems = []
        if query.get("client_id") != self.client_id:
            problems.append("client_id")
        if "read_customers" not in query.get("scope", "").split(","):
            problems.append("scope")
        redirect = query.get("redirect_uri", "")
        if not redirect or (self.redirect_uri is not None and redirect != self.redirect_uri):
            problems.append("redirect_uri")
        if not query.get("state") or query.get("grant_options[]") != "":
            problems.append("state or grant_options[]")
        if problems:  # Shopify shows its own error page; it never redirects
            return web.Response(status=400, text=f"Oauth error invalid_request: {', '.join(problems)}")
        self.authorizations.append(query)
        if self.consent == "deny":
            back = {"error": "access_denied", "state": query["state"]}
        else:
            code = secrets.token_hex(16)
            self.codes[code] = False
            back = {
                "code": code, "host": base64.b64encode(f"admin.shopify.com/store/{SHOP}".encode()).decode().rstrip("="),
                "shop": self.shop, "state": query["state"], "timestamp": str(int(time.time())),
            }
            back["hmac"] = sign(back, self.sign_with or self.client_secret)
        raise web.HTTPFound(f"{redirect}?{urllib.parse.urlencode(back)}")

    async def token(self, request: web.Request) -> web.Response:
        if request.content_type != "application/json":
            return web.json_response({"error": "invalid_request"}, status=400)
        grant = await request.json()
        await self.received(grant)
        if grant.get("client_id") != self.client_id or grant.get("client_secret") != self.client_secret:
            return web.json_response({"error": "invalid_client"}, status=401)
        if grant.get("grant_type") == "refresh_token":
            if grant.get("refresh_token") not in self.refresh_tokens:
                return web.json_response({"error": "invalid_grant", "error_description": "refresh token revoked"},
                                         status=400)
            self.refresh_tokens.discard(grant["refresh_token"])  # rotated: spent
            return web.json_response(self._issue())
        code = grant.get("code")
        if code not in self.codes or self.codes[code]:
            return web.json_response({"error": "invalid_request", "error_description": (
                "The authorization code was not found or was already used")}, status=400)
        self.codes[code] = True
        if grant.get("expiring") != 1 or not self.expiring_offered:
            return web.json_response({"access_token": self.mint(), "scope": "read_customers"})
        # One live expiring token per app and shop: the new grant revokes the old.
        self.revoke_all()
        self.refresh_tokens.clear()
        return web.json_response(self._issue())

    def _issue(self) -> dict[str, Any]:
        refresh = f"shprt_{secrets.token_hex(16)}"
        self.refresh_tokens.add(refresh)
        self.issued_refresh.append(refresh)
        return {
            "access_token": self.mint(), "expires_in": self.expires_in, "refresh_token": refresh,
            "refresh_token_expires_in": 7776000, "scope": "read_customers",
        }

    def customers_page(self, query: str, variables: dict[str, Any]) -> web.Response:
        numbers = [int(n) for n in self.ids]
        n, cursor = variables["n"], variables["cursor"]
        if n > MAX_FIRST:
            error = {"message": f"The first argument is limited to {MAX_FIRST}."}
            return web.json_response({"errors": [error]})
        pivot = numbers.index(json.loads(base64.b64decode(cursor))["last_id"]) if cursor else None
        if "customers(first: $n, after: $cursor)" in query:
            start = 0 if pivot is None else pivot + 1
            chunk = range(start, min(start + n, len(numbers)))
        elif "customers(last: $n, before: $cursor)" in query:
            end = len(numbers) if pivot is None else pivot
            chunk = range(max(0, end - n), end)
        else:
            return web.json_response({"errors": [{"message": "not a customers query"}]}, status=400)
        info = {
            "hasNextPage": chunk.stop < len(numbers),
            "hasPreviousPage": chunk.start > 0,
            "startCursor": cursor_of(numbers[chunk.start]) if chunk else None,
            "endCursor": cursor_of(numbers[chunk.stop - 1]) if chunk else None,
        }
        nodes = [as_queried(self.customers[i], query, variables) for i in chunk]
        return web.json_response({"data": {"customers": {"nodes": nodes, "pageInfo": info}}})


@functools.lru_cache(maxsize=64)
def priced(query: str, n: int | None) -> int:
    """The query's requested cost (cached: the benchmark serves this fake)."""
    return requested_cost(query, {"n": n} if n is not None else {})


def as_queried(customer: dict[str, Any], query: str, variables: dict[str, Any]) -> dict[str, Any]:
    """The stored customer as ``query`` selects it: its address and metafield connections cut."""
    node = dict(customer)
    addresses = _ADDRESSES.search(query)
    if addresses and isinstance(node.get("addressesV2"), dict) and "nodes" in node["addressesV2"]:
        node["addressesV2"] = {"nodes": node["addressesV2"]["nodes"][: int(addresses[1])]}
    metafields = _METAFIELDS.search(query)
    if metafields is None:
        node.pop("metafields", None)
        return node
    stored = (node.get("metafields") or {}).get("nodes") or []
    if metafields[2]:
        keys = set(variables.get("keys") or ())
        stored = [m for m in stored if f"{m.get('namespace')}.{m.get('key')}" in keys]
    node["metafields"] = {"nodes": stored[: int(metafields[1])]}
    return node


FAKE = ShopifyFake
