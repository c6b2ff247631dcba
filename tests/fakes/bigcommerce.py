"""BigCommerce's v3 Customers API, every store on one host:
``/stores/{store_hash}/v3/...`` with ``X-Auth-Token``.

* ``GET .../customers?id:in=N&include=addresses``: the filtered list (v3 has
  no get-one), ``data: []`` (customers-empty.json's meta) when none match;
* ``GET .../customers?limit=N[&after|before=cursor]``: cursor paging, limit
  1..250 (else the documented 422 invalid filter), ``meta.cursor_pagination``
  with recorded cursors (unpadded base64 of ``{"id": N}``) and links only
  where such a page exists; the first page also carries ``meta.pagination``;
* ``GET .../customers/addresses?customer_id:in=...&page=P&limit=N``: the
  address book, page paging with ``meta.pagination``.

Addresses come inline only with ``include=addresses``. A wrong token gets the
documented 401 (error-401.json); a store hash the host does not serve, 404
(error-404.json). The 429 is the documented one (error-429.http.json) with
``X-Rate-Limit-Time-Reset-Ms: 15000``: a 15 s wait.

It is also login.bigcommerce.com for the apps registered with
``register_app`` (reference/connect-flows.md A.2), so one origin serves as
both an app's ``auth_url`` and ``base_url``:

* ``GET /app/{client_id}/install``: the merchant (already signed in) approves
  the app, and the browser is sent (302) to the app's auth callback with
  ``code``, ``scope``, ``context=stores/{hash}`` and ``account_uuid``;
* ``POST /oauth2/token``: the form body checked field by field (every one
  present, the app's secret, the code this app's and unused, its context
  and scope, ``grant_type=authorization_code``, the registered
  ``redirect_uri``); the documented answer with a new token for that store;
* ``signed_payload(...)``: a ``signed_payload_jwt`` for the load and
  uninstall callbacks, HS256 with the app's secret, claims as documented
  (made by hand here, so the test does not check PyJWT with PyJWT).

How BigCommerce answers a refused code is not documented (uncertain): here
an RFC 6749 ``{"error": "invalid_grant"}`` 400.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import hmac
import json
import math
import secrets
import time
import urllib.parse
from typing import Any, Iterable

from aiohttp import web

from tests.support import load_fixture

from .base import TOTAL, Answer, Fake, varied

TOKEN = "sqtna5wbk1ys8t9seu331zhifi3g8lu"  # shape of the recorded sandbox token
STORE = "hc5d9t2irc"
PAGE_MAX = 250
CUSTOMERS_PATH = f"/stores/{STORE}/v3/customers"
ADDRESSES_PATH = f"/stores/{STORE}/v3/customers/addresses"
TOKEN_PATH = "/oauth2/token"
ACCOUNT_UUID = "12345678-90ab-cdef-1234-567890abcdef"
SCOPE = "store_v2_customers_read_only"


def fixture(name: str) -> Any:
    return load_fixture("bigcommerce", name)


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def sign(secret: str, claims: dict[str, Any], *, alg: str = "HS256") -> str:
    """A compact JWT as BigCommerce makes its signed payloads (HS256 over
    ``header.claims`` with the client secret); ``alg="none"`` leaves the
    signature empty, any other name signs with HS256 anyway (a lying header)."""
    header = b64url(json.dumps({"typ": "JWT", "alg": alg}).encode())
    body = b64url(json.dumps(claims).encode())
    if alg == "none":
        return f"{header}.{body}."
    mac = hmac.new(secret.encode(), f"{header}.{body}".encode(), hashlib.sha256).digest()
    return f"{header}.{body}.{b64url(mac)}"


@dataclasses.dataclass
class App:
    client_id: str
    secret: str
    auth_callback: str  # the app's registered auth callback URL (its redirect_uri)
    scope: str = SCOPE


@dataclasses.dataclass
class Code:
    client_id: str
    store: str
    scope: str
    used: bool = False


def cursor_of(customer_id: int) -> str:
    """As recorded: unpadded base64 of {"id": N} ("eyJpZCI6NH0")."""
    raw = json.dumps({"id": customer_id}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def id_of(cursor: str) -> int:
    return json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))["id"]


class BigCommerceFake(Fake):
    provider = "bigcommerce"
    default_credentials = {"access_token": TOKEN}
    page_max = PAGE_MAX
    retry_after = 15.0
    missing_id = "99999"

    def __init__(
        self,
        customers: list[dict[str, Any]] | None = None,
        *,
        addresses: list[dict[str, Any]] | None = None,
        stores: Iterable[str] = (STORE,),
        **kwargs: Any,
    ) -> None:
        super().__init__(customers, **kwargs)
        # The full address books (the inline lists are "limited to 10").
        self.addresses = (
            addresses if addresses is not None else [a for c in self.customers for a in c.get("addresses") or []]
        )
        self.stores = set(stores)
        self.apps: dict[str, App] = {}
        self.codes: dict[str, Code] = {}
        self.minted: dict[str, str] = {}  # access token -> the store it was granted for
        self.installing = STORE  # the store the next install is for
        self.grants: list[dict[str, Any]] = []  # token request bodies

    # -- login.bigcommerce.com ------------------------------------------------------

    def register_app(self, client_id: str, secret: str, auth_callback: str, scope: str = SCOPE) -> App:
        self.apps[client_id] = app = App(client_id, secret, auth_callback, scope)
        return app

    def signed_payload(
        self, client_id: str, store: str = STORE, *, secret: str | None = None, alg: str = "HS256", **claims: Any,
    ) -> str:
        """BigCommerce's signed_payload_jwt for a load/uninstall callback:
        the documented claims, ``claims`` replacing them (None drops one)."""
        now = int(time.time())
        body: dict[str, Any] = {
            "aud": client_id, "iss": "bc", "iat": now, "nbf": now - 5, "exp": now + 86400,
            "jti": secrets.token_hex(16), "sub": f"stores/{store}",
            "user": {"id": 9876543, "email": "authorized_user@example.com", "locale": "en-US"},
            "owner": {"id": 7654321, "email": "owner@example.com"}, "url": "/", "channel_id": None,
        }
        body.update(claims)
        body = {k: v for k, v in body.items() if v is not None or k == "channel_id"}
        return sign(secret if secret is not None else self.apps[client_id].secret, body, alg=alg)

    async def install(self, request: web.Request) -> web.Response:
        """The merchant approved every scope: back to the app's auth callback."""
        app = self.apps.get(request.match_info["client_id"])
        if app is None:
            return web.Response(status=404, text="<html>App not found</html>", content_type="text/html")
        code = secrets.token_hex(8)
        self.codes[code] = Code(app.client_id, self.installing, app.scope)
        query = urllib.parse.urlencode({
            "account_uuid": ACCOUNT_UUID, "code": code, "context": f"stores/{self.installing}",
            "scope": app.scope, "external_install": "1",
        })
        raise web.HTTPFound(f"{app.auth_callback}?{query}")

    async def token(self, request: web.Request) -> web.Response:
        if request.content_type != "application/x-www-form-urlencoded":
            return self.refuse(400, "invalid_request", "send the fields as a form")
        pairs = urllib.parse.parse_qsl((await request.read()).decode(), keep_blank_values=True)
        body: Any = dict(pairs)
        if len(body) != len(pairs):
            return self.refuse(400, "invalid_request", "a field was sent twice")
        self.grants.append(body)
        fields = ("client_id", "client_secret", "code", "context", "scope", "grant_type", "redirect_uri")
        if not isinstance(body, dict) or sorted(body) != sorted(fields) or not all(isinstance(body[f], str) for f in fields):
            return self.refuse(400, "invalid_request", f"send exactly {', '.join(fields)}")
        app = self.apps.get(body["client_id"])
        if app is None or not hmac.compare_digest(app.secret, body["client_secret"]):
            return self.refuse(401, "invalid_client", "unknown client or wrong secret")
        if body["grant_type"] != "authorization_code" or body["redirect_uri"] != app.auth_callback:
            return self.refuse(400, "invalid_request", "grant_type or redirect_uri is not the app's")
        code = self.codes.get(body["code"])
        if code is None or code.used or code.client_id != app.client_id:
            return self.refuse(400, "invalid_grant", "The authorization code is invalid or was already used.")
        code.used = True  # spent even when the rest is wrong, as one-use codes are
        if body["context"] != f"stores/{code.store}" or body["scope"] != code.scope:
            return self.refuse(400, "invalid_grant", "context or scope differ from the authorization")
        token = secrets.token_hex(16)
        self.minted[token] = code.store
        return web.json_response({
            "access_token": token, "scope": code.scope,
            "user": {"id": 24654, "username": "merchant@example.com", "email": "merchant@example.com"},
            "owner": {"id": 12345, "username": "owner@example.com", "email": "owner@example.com"},
            "context": f"stores/{code.store}", "account_uuid": ACCOUNT_UUID,
        })

    def refuse(self, status: int, error: str, description: str) -> web.Response:
        return web.json_response({"error": error, "error_description": description}, status=status)

    @classmethod
    def make_customers(cls, total: int = TOTAL) -> list[dict[str, Any]]:
        # address_count equals the inline addresses: no address call is needed.
        def vary(c: dict[str, Any], i: int) -> None:
            c["id"], c["last_name"], c["email"] = 100 + i, f"Doe{i}", f"johndoe{i}@example.com"
            for address in c["addresses"]:
                address["customer_id"] = c["id"]

        return varied(fixture("customer-23.json")["data"][0], total, vary)

    def customer_id(self, raw: dict[str, Any]) -> str:
        return str(raw["id"])

    def settings(self, origin: str) -> dict[str, Any]:
        return {"store_hash": STORE, "base_url": origin}

    def secrets(self) -> list[str]:
        return [*super().secrets(), *self.minted, *(app.secret for app in self.apps.values())]

    def routes(self, app: web.Application) -> None:
        app.router.add_get("/app/{client_id}/install", self.install)
        app.router.add_post(TOKEN_PATH, self.token)
        app.router.add_get("/stores/{store}/v3/customers", self.customers_route)
        app.router.add_get("/stores/{store}/v3/customers/addresses", self.addresses_route)

    def kind(self, request: web.Request, body: bytes) -> str:
        if request.path == TOKEN_PATH:
            return "token"
        if request.path.startswith("/app/"):
            return "consent"
        if request.path.endswith("/addresses"):
            return "extra"
        return "get" if "id:in" in request.query else "list"

    # -- answers ------------------------------------------------------------------------

    def unauthorized(self) -> Answer:
        return Answer(401, fixture("error-401.json"))

    def rate_limited(self) -> Answer:
        recorded = fixture("error-429.http.json")
        return Answer(429, recorded["body"], headers=recorded["headers"])

    def error(self, status: int, message: str) -> Answer:
        return Answer(status, {"status": status, "title": message, "type": "/api-docs/getting-started/api-status-codes"})

    def server_error(self, status: int) -> Answer:
        return Answer(503, fixture("error-503.json")) if status == 503 else super().server_error(status)

    # -- routes ---------------------------------------------------------------------------

    def refusal(self, request: web.Request) -> web.Response | None:
        if request.match_info["store"] not in self.stores:
            return web.json_response(fixture("error-404.json"), status=404)
        token = request.headers.get("X-Auth-Token")
        granted = self.minted.get(token or "") == request.match_info["store"]
        if token != self.credentials["access_token"] and not granted:
            return self.unauthorized().response()
        return None

    def shown(self, customer: dict[str, Any], request: web.Request) -> dict[str, Any]:
        """Addresses come inline only when asked for."""
        if "addresses" in request.query.get("include", "").split(","):
            return customer
        return {k: v for k, v in customer.items() if k != "addresses"}

    async def customers_route(self, request: web.Request) -> web.Response:
        if (refused := self.refusal(request)) is not None:
            return refused
        q = request.query
        if "id:in" in q:
            found = [c for c in (self.lookup(i) for i in q["id:in"].split(",")) if c is not None]
            return web.json_response({"data": [self.shown(c, request) for c in found], "meta": first_meta(found, 50)})
        limit = int(q.get("limit", "50"))
        if not 1 <= limit <= PAGE_MAX or ("after" in q and "before" in q):
            problem = fixture("error-422.invalid-filter.json")
            return web.json_response({**problem, "title": "limit must be 1..250"}, status=422)
        position = {c["id"]: i for i, c in enumerate(self.customers)}
        if "before" in q:
            end = position[id_of(q["before"])]
            chunk = range(max(0, end - limit), end)
        else:
            start = position[id_of(q["after"])] + 1 if "after" in q else 0
            chunk = range(start, min(start + limit, len(self.customers)))
        ids = [c["id"] for c in self.customers]
        links = {}
        if chunk.stop < len(ids):
            links["next"] = f"?limit={limit}&after={cursor_of(ids[chunk.stop - 1])}"
        if chunk.start > 0:
            links["previous"] = f"?limit={limit}&before={cursor_of(ids[chunk.start])}"
        meta: dict[str, Any] = {
            "cursor_pagination": {
                "count": len(chunk), "per_page": limit, "links": links,
                "start_cursor": cursor_of(ids[chunk.start]) if chunk else None,
                "end_cursor": cursor_of(ids[chunk.stop - 1]) if chunk else None,
            }
        }
        if "after" not in q and "before" not in q:  # page paging's block comes with the first page
            meta["pagination"] = {
                "total": len(ids), "count": len(chunk), "per_page": limit,
                "current_page": 1, "total_pages": math.ceil(len(ids) / limit),
            }
        return web.json_response({"data": [self.shown(self.customers[i], request) for i in chunk], "meta": meta})

    async def addresses_route(self, request: web.Request) -> web.Response:
        """customer_id:in filter, page/limit paging, meta.pagination as documented."""
        if (refused := self.refusal(request)) is not None:
            return refused
        q = request.query
        wanted = set(q.get("customer_id:in", "").split(","))
        page, limit = int(q.get("page", "1")), int(q.get("limit", "50"))
        rows = [a for a in self.addresses if str(a["customer_id"]) in wanted]
        chunk = rows[(page - 1) * limit : page * limit]
        pagination = {
            "total": len(rows), "count": len(chunk), "per_page": limit,
            "current_page": page, "total_pages": math.ceil(len(rows) / limit),
        }
        return web.json_response({"data": chunk, "meta": {"pagination": pagination}})


def first_meta(found: list[dict[str, Any]], per_page: int) -> dict[str, Any]:
    """The meta of a one-page answer: customers-empty.json's, or customer-23.json's."""
    meta: dict[str, Any] = {
        "pagination": {
            "total": len(found), "count": len(found), "per_page": per_page,
            "current_page": 1, "total_pages": 1 if found else 0,
        }
    }
    if found:
        meta["cursor_pagination"] = {
            "count": len(found), "per_page": per_page, "links": {},
            "start_cursor": cursor_of(found[0]["id"]), "end_cursor": cursor_of(found[-1]["id"]),
        }
    return meta


FAKE = BigCommerceFake
