"""Adobe Commerce (Magento 2)'s REST web API under a store URL.

* ``GET {prefix}/rest/{store_code}/V1/customers/{id}``: the bare customer, or
  the 404 ``No such entity with %fieldName = %fieldValue`` (error-404.composed.json);
* ``GET {prefix}/rest/{store_code}/V1/customers/search?searchCriteria[...]``:
  ``{"items", "search_criteria", "total_count"}``. Without ``pageSize`` every
  customer comes back; ``currentPage`` past the end answers the last page
  again (Magento's collection clamps it); without a sort on ``entity_id``
  ASC the rows come newest first, so a walk that forgets the sort sees it;
* an unknown store code, or any other path: 404 ``Request does not match any route.``

Auth as Magento checks it: ``Bearer {access_token}``, or an OAuth 1.0a
header verified here independently of the client's library, the way
``Framework\\Oauth\\Helper\\Request`` and ``Oauth::_validateSignature``
read it: header values rawurldecoded, the raw query split on ``&`` and
``=`` and urldecoded, the base string's parameters in PHP's natural order,
HMAC-SHA256 over ``consumer_secret&token_secret``; keys and tokens of 32
characters, a nonce used once. Wrong values get Magento's 401 bodies.
Rate limiting answers the documented 429 body with ``Retry-After`` (as
Adobe's gateway sends it; 30 s here).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import time
from typing import Any
from urllib.parse import quote, unquote, unquote_plus

from aiohttp import web

from tests.support import load_fixture

from .base import TOTAL, Answer, Fake, varied

# Integration values are 32 letters and digits (Helper\Oauth::LENGTH_*).
CONSUMER_KEY = "c2m8x4kq9n1v7b3z5t6w0y2p4r8s1d3f"
CONSUMER_SECRET = "s9d8f7g6h5j4k3l2z1x0c9v8b7n6m5q4"
ACCESS_TOKEN = "t4o7k2e9n1a3c5c8e6s0s2t4o6k8e1n3"
ACCESS_TOKEN_SECRET = "w3e5r7t9y1u2i4o6p8a0s2d4f6g8h0j1"
BEARER = "eyJraWQiOiIxIiwiYWxnIjoiSFMyNTYifQ.eyJ1aWQiOjEsInV0eXBpZCI6Mn0.c2lnbmF0dXJlLWFkbWluLXRva2Vu"
CONSUMER_ID = 7
PAGE_MAX = 100  # the module's own bound: Magento documents none


def fixture(name: str) -> Any:
    return load_fixture("magento", name)


def rfc3986(value: str) -> str:
    return quote(value, safe="~")  # PHP's rawurlencode


def natural(key: str) -> list[Any]:
    """PHP's strnatcmp order: runs of digits compare as numbers."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", key)]


def oauth_params(header: str) -> dict[str, str] | None:
    """``Helper\\Request::_processHeader``: the oauth_* pairs after "OAuth "."""
    at = header.lower().find("oauth ")
    if at < 0:
        return None
    params = {}
    for pair in header[at + 6 :].split(","):
        name, sep, value = pair.strip().partition("=")
        if sep and re.search(r"oauth_[a-z_-]+", name):
            params[unquote(name)] = unquote(value.strip('"'))
    return params


def signature(method: str, url: str, params: dict[str, str], consumer_secret: str, token_secret: str) -> str:
    """The HMAC-SHA256 signature Magento (laminas-oauth) computes."""
    encoded = {rfc3986(k): rfc3986(v) for k, v in params.items() if k != "oauth_signature"}
    normalized = "&".join(f"{k}={encoded[k]}" for k in sorted(encoded, key=natural))
    base = "&".join((method.upper(), rfc3986(url), rfc3986(normalized)))
    key = f"{rfc3986(consumer_secret)}&{rfc3986(token_secret)}".encode()
    return base64.b64encode(hmac.new(key, base.encode(), hashlib.sha256).digest()).decode()


class MagentoFake(Fake):
    provider = "magento"
    default_credentials = {
        "consumer_key": CONSUMER_KEY, "consumer_secret": CONSUMER_SECRET,
        "access_token": ACCESS_TOKEN, "access_token_secret": ACCESS_TOKEN_SECRET,
    }
    page_max = PAGE_MAX
    retry_after = 30.0
    missing_id = "999999"

    def __init__(
        self, customers: list[dict[str, Any]] | None = None, *, prefix: str = "/shop", store_code: str = "default",
        **kwargs: Any,
    ) -> None:
        super().__init__(customers, **kwargs)
        self.prefix, self.store_code = prefix, store_code
        self.nonces: set[str] = set()

    @classmethod
    def make_customers(cls, total: int = TOTAL) -> list[dict[str, Any]]:
        def vary(c: dict[str, Any], i: int) -> None:
            c["id"], c["lastname"], c["email"] = 1 + i, f"Costello{i}", f"roni_cost{i}@example.com"
            for n, address in enumerate(c["addresses"]):
                address["id"], address["customer_id"] = 1000 + 2 * i + n, c["id"]
            c["default_billing"] = c["default_shipping"] = str(c["addresses"][0]["id"])

        return varied(fixture("customers-search.json")["items"][0], total, vary)

    def customer_id(self, raw: dict[str, Any]) -> str:
        return str(raw["id"])

    def settings(self, origin: str) -> dict[str, Any]:
        store_url = f"https://shop.example.com{self.prefix}"
        return {"store_url": store_url, "store_code": self.store_code, "base_url": origin}

    def wrong_credentials(self) -> dict[str, str]:
        # Right shape (32 characters each), unknown to the store.
        return {k: v[:-1] + ("1" if v[-1] == "0" else "0") for k, v in self.credentials.items()}

    def routes(self, app: web.Application) -> None:
        app.router.add_get("/{tail:.*}", self.dispatch)

    def kind(self, request: web.Request, body: bytes) -> str:
        return "list" if request.path.endswith("/V1/customers/search") else "get"

    # -- answers ------------------------------------------------------------------------

    def unauthorized(self) -> Answer:
        return Answer(401, fixture("error-401.acl.composed.json"))

    def rate_limited(self) -> Answer:
        return Answer(429, fixture("error-429.json"), headers={"Retry-After": "30"})

    def error(self, status: int, message: str) -> Answer:
        return Answer(status, {"message": message})

    def server_error(self, status: int) -> Answer:
        if status == 503:  # maintenance mode: the web server's page, not the API's JSON
            return Answer(503, text="<html><h1>Service Temporarily Unavailable</h1></html>", content_type="text/html")
        return Answer(status, fixture("error-500.json"))

    # -- auth -------------------------------------------------------------------------------

    def refusal(self, request: web.Request) -> Answer | None:
        """None when the request carries this store's credentials, else Magento's answer."""
        header = request.headers.get("Authorization", "")
        if "consumer_key" not in self.credentials:
            return None if header == f"Bearer {self.credentials['access_token']}" else self.unauthorized()
        params = oauth_params(header)
        if params is None:
            return self.unauthorized()  # no OAuth header: an anonymous caller
        required = ("oauth_consumer_key", "oauth_signature", "oauth_signature_method", "oauth_nonce",
                    "oauth_timestamp", "oauth_token")
        if any(name not in params for name in required) or params.get("oauth_version", "1.0") != "1.0":
            return Answer(400, {"message": "One or more input exceptions have occurred."})
        if params["oauth_signature_method"] not in ("HMAC-SHA1", "HMAC-SHA256"):
            return Answer(400, {"message": "Signature method %1 is not supported",
                                "parameters": [params["oauth_signature_method"]]})
        if len(params["oauth_token"]) != 32:
            return Answer(400, {"message": "The token length is invalid. Check the length and try again."})
        if params["oauth_consumer_key"] != self.credentials["consumer_key"]:
            return Answer(401, fixture("error-401.consumer-unknown.json"))
        if not 0 < int(params["oauth_timestamp"] or "0") <= time.time() + 600:
            return Answer(400, {"message": "Incorrect timestamp value in the oauth_timestamp parameter"})
        if params["oauth_nonce"] in self.nonces:
            return Answer(401, {"message": "The nonce is already being used by the consumer with ID %1",
                                "parameters": [CONSUMER_ID]})
        self.nonces.add(params["oauth_nonce"])
        if params["oauth_token"] != self.credentials["access_token"]:
            return Answer(401, {"message": "Specified token does not exist"})
        query = request.raw_path.partition("?")[2]
        for pair in query.split("&") if query else []:  # Helper\Request::_extractQueryStringParams
            parts = pair.split("=")
            if len(parts) == 2 and not re.search(r"oauth_[a-z_-]+", parts[0]):
                params[unquote_plus(parts[0])] = unquote_plus(parts[1])
        url = f"{request.scheme}://{request.host.lower()}{request.raw_path.partition('?')[0]}"  # no default ports here
        expected = signature(request.method, url, params, self.credentials["consumer_secret"],
                             self.credentials["access_token_secret"])
        if params["oauth_signature_method"] != "HMAC-SHA256" or not hmac.compare_digest(
            expected, params["oauth_signature"]
        ):
            return Answer(401, fixture("error-401.signature-invalid.json"))
        return None

    # -- routes -----------------------------------------------------------------------------

    async def dispatch(self, request: web.Request) -> web.Response:
        rest = f"{self.prefix}/rest/{self.store_code}/V1/customers"
        path = request.path
        if path == f"{rest}/search":
            handler = self.search
        elif path.startswith(f"{rest}/") and path[len(rest) + 1 :].isdigit():
            handler = self.customer
        else:
            return web.json_response(fixture("error-404.no-route.json"), status=404)
        refused = self.refusal(request)
        return refused.response() if refused is not None else await handler(request)

    async def customer(self, request: web.Request) -> web.Response:
        customer_id = request.path.rsplit("/", 1)[1]
        raw = self.lookup(customer_id)
        if raw is None:
            body = {**fixture("error-404.composed.json")}
            body["parameters"] = {"fieldName": "customerId", "fieldValue": int(customer_id)}
            return web.json_response(body, status=404)
        return web.json_response(raw)

    async def search(self, request: web.Request) -> web.Response:
        q = request.query
        ascending = (q.get("searchCriteria[sortOrders][0][field]"), q.get("searchCriteria[sortOrders][0][direction]"))
        rows = sorted(self.customers, key=lambda c: int(c["id"]), reverse=ascending != ("entity_id", "ASC"))
        criteria: dict[str, Any] = {"filter_groups": []}
        if "searchCriteria[pageSize]" in q:
            size = int(q["searchCriteria[pageSize]"])
            last = max(1, -(-len(rows) // size))
            page = min(max(1, int(q.get("searchCriteria[currentPage]", "1"))), last)  # clamped, as Magento does
            criteria.update(page_size=size, current_page=int(q.get("searchCriteria[currentPage]", "1")))
            rows_out = rows[(page - 1) * size : page * size]
        else:
            rows_out = rows  # "If the pageSize is not specified, the system returns all matches."
        return web.json_response({"items": rows_out, "search_criteria": criteria, "total_count": len(rows)})


FAKE = MagentoFake
