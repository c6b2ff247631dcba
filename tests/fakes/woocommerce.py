"""WooCommerce's REST API (``wc/v3``) under a WordPress site, HTTP Basic
``consumer_key:consumer_secret``.

* ``GET {prefix}/wp-json/wc/v3/customers/{id}``: the bare customer, or the
  404 ``wc_user_invalid_id`` (error-404.wc-user-invalid-id.json);
* ``GET {prefix}/wp-json/wc/v3/customers?per_page=N&offset=M&orderby=id&order=asc``:
  a bare array with ``X-WP-Total``/``X-WP-TotalPages``; per_page 1..100,
  else ``rest_invalid_param`` (400). Without ``orderby`` WooCommerce sorts by
  name (here: the username), so a walk that forgets the order sees it.

``prefix`` is the site's sub-directory (``/shop`` in ``https://example.com/shop``).
Wrong keys get "Consumer key is invalid." (error-401.consumer-key-invalid.json).
WooCommerce has no rate limit of its own; hosts and WAFs send a 429 page
with ``Retry-After`` (30 s here).

``{prefix}/wc-auth/v1/authorize`` is WooCommerce's key handshake as
``class-wc-auth.php`` runs it (reference/connect-flows.md A.3), the merchant
already signed in with ``manage_woocommerce``: every parameter present,
``scope`` one of read/write/read_write, both URLs valid and ``callback_url``
https. On consent it makes a key pair, POSTs
``{key_id, user_id, consumer_key, consumer_secret, key_permissions}`` as JSON
to ``callback_url`` and, on a 200, sends the browser to
``return_url?success=1&user_id=...``; any other answer deletes the keys and
shows the documented error page (401). A refusal sends the browser to
``return_url?success=0&user_id=...``. The app is not on a socket in tests,
so the POST goes through ``deliver`` (the test hands the app's client).
"""

from __future__ import annotations

import json
import math
import secrets
import urllib.parse
from typing import Any, Awaitable, Callable

from aiohttp import web

from tests.support import load_fixture

from .base import TOTAL, Answer, Fake, basic, basic_forms, varied

KEY = "ck_4d2b8c5e9f1a3b7c6d0e2f4a8b9c1d3e5f7a9b0c"  # ck_/cs_ + 40 hex, as wc_rand_hash makes them
SECRET = "cs_9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e0d"
PAGE_MAX = 100  # WordPress REST: per_page 1..100
AUTHORIZE = "/wc-auth/v1/authorize"
SEND_FAILED = "An error occurred in the request and at the time were unable to send the consumer data"

# (callback_url, JSON body) -> the HTTP status the callback answered.
Deliver = Callable[[str, bytes], Awaitable[int]]


def fixture(name: str) -> Any:
    return load_fixture("woocommerce", name)



class WooCommerceFake(Fake):
    provider = "woocommerce"
    default_credentials = {"consumer_key": KEY, "consumer_secret": SECRET}
    page_max = PAGE_MAX
    retry_after = 30.0
    missing_id = "999"

    def __init__(self, customers: list[dict[str, Any]] | None = None, *, prefix: str = "/shop", **kwargs: Any) -> None:
        super().__init__(customers, **kwargs)
        self.prefix = prefix
        self.deliver: Deliver | None = None
        self.consent = True  # the merchant approves (else "Deny")
        self.working_keys = True  # the keys it sends work on this store
        self.posted: list[dict[str, Any]] = []  # what it sent to callback_url
        self.authorizations: list[dict[str, str]] = []  # the authorize queries
        self.key_ids = 0

    @classmethod
    def make_customers(cls, total: int = TOTAL) -> list[dict[str, Any]]:
        def vary(c: dict[str, Any], i: int) -> None:
            c["id"], c["last_name"], c["email"] = 25 + i, f"Doe{i}", f"john.doe{i}@example.com"
            c["username"] = c["billing"]["email"] = c["email"]

        return varied(fixture("customer.json"), total, vary)

    def customer_id(self, raw: dict[str, Any]) -> str:
        return str(raw["id"])

    def settings(self, origin: str) -> dict[str, Any]:
        return {"store_url": f"https://example.com{self.prefix}", "base_url": origin}

    @property
    def path(self) -> str:
        return f"{self.prefix}/wp-json/wc/v3/customers"

    def routes(self, app: web.Application) -> None:
        app.router.add_get(self.prefix + AUTHORIZE, self.authorize)
        app.router.add_get(self.path + r"/{id:\d+}", self.customer)  # the route matches digits only
        app.router.add_get(self.path, self.collection)

    def kind(self, request: web.Request, body: bytes) -> str:
        if request.path.endswith(AUTHORIZE):
            return "consent"
        return "list" if request.path == self.path else "get"

    @property
    def authorization(self) -> str:
        return basic(self.credentials["consumer_key"], self.credentials["consumer_secret"])

    def secrets(self) -> list[str]:
        sent = [body[k] for body in self.posted for k in ("consumer_key", "consumer_secret")]
        return [*super().secrets(), *basic_forms(self.authorization), *sent]

    # -- wc-auth -----------------------------------------------------------------------

    async def authorize(self, request: web.Request) -> web.Response:
        q = request.query
        names = ("app_name", "scope", "user_id", "return_url", "callback_url")
        missing = [n for n in names if len(q.getall(n, [])) != 1 or not q[n]]
        if missing:
            return self.wc_error(400, f"Missing parameter {missing[0]}")
        if q["scope"] not in ("read", "write", "read_write"):
            return self.wc_error(400, "Invalid scope")
        for name in ("return_url", "callback_url"):
            parts = urllib.parse.urlsplit(q[name])
            if parts.scheme not in ("http", "https") or not parts.netloc:
                return self.wc_error(400, f"The {name} is not a valid URL")
        if not q["callback_url"].startswith("https://"):
            return self.wc_error(400, "The callback_url needs to be over SSL")
        self.authorizations.append(dict(q))
        if not self.consent:
            raise web.HTTPFound(self.back(q["return_url"], "0", q["user_id"]))
        self.key_ids += 1
        keys = {"consumer_key": "ck_" + secrets.token_hex(20), "consumer_secret": "cs_" + secrets.token_hex(20)}
        body = {"key_id": self.key_ids, "user_id": q["user_id"], **keys,
                "key_permissions": q["scope"]}
        self.posted.append(body)
        before = self.credentials
        if self.working_keys:
            self.credentials = keys
        assert self.deliver is not None, "set fake.deliver to reach the callback_url"
        status = await self.deliver(q["callback_url"], json.dumps(body).encode())
        if status != 200:
            self.credentials = before  # the keys are deleted
            return self.wc_error(401, SEND_FAILED)
        raise web.HTTPFound(self.back(q["return_url"], "1", q["user_id"]))

    @staticmethod
    def back(return_url: str, success: str, user_id: str) -> str:
        """add_query_arg: the return URL keeps its own query."""
        parts = urllib.parse.urlsplit(return_url)
        query = urllib.parse.parse_qsl(parts.query) + [("success", success), ("user_id", user_id)]
        return urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(query)))

    @staticmethod
    def wc_error(status: int, message: str) -> web.Response:
        return web.Response(status=status, text=f"<html><h1>Error</h1><p>{message}</p></html>", content_type="text/html")

    # -- answers ------------------------------------------------------------------------

    def unauthorized(self) -> Answer:
        return Answer(401, fixture("error-401.consumer-key-invalid.json"))

    def rate_limited(self) -> Answer:
        return Answer(429, text="<html>Too Many Requests</html>", headers={"Retry-After": "30"}, content_type="text/html")

    def error(self, status: int, message: str) -> Answer:
        code = "woocommerce_rest_authentication_error" if status in (401, 403) else "rest_error"
        return Answer(status, {"code": code, "message": message, "data": {"status": status}})

    def server_error(self, status: int) -> Answer:
        if status == 500:
            message = "There has been a critical error on this website."
            return Answer(500, {"code": "internal_server_error", "message": message, "data": {"status": 500}})
        return Answer(status, text="<html>Service Unavailable</html>", content_type="text/html")

    # -- routes ---------------------------------------------------------------------------

    async def customer(self, request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != self.authorization:
            return self.unauthorized().response()
        raw = self.lookup(request.match_info["id"])
        if raw is None:
            return web.json_response(fixture("error-404.wc-user-invalid-id.json"), status=404)
        return web.json_response(raw)

    async def collection(self, request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != self.authorization:
            return self.unauthorized().response()
        q = request.query
        per_page = int(q.get("per_page", "10"))
        orderby, order = q.get("orderby", "name"), q.get("order", "asc")
        if not 1 <= per_page <= PAGE_MAX or orderby not in ("id", "name") or order != "asc":
            reason = "per_page must be between 1 (inclusive) and 100 (inclusive)"
            return web.json_response(
                {"code": "rest_invalid_param", "message": "Invalid parameter(s): per_page",
                 "data": {"status": 400, "params": {"per_page": reason}}},
                status=400,
            )
        ordered = sorted(self.customers, key=lambda c: int(c["id"]) if orderby == "id" else c.get("username", ""))
        offset = int(q.get("offset", "0"))
        headers = {"X-WP-Total": str(len(ordered)), "X-WP-TotalPages": str(math.ceil(len(ordered) / per_page))}
        return web.json_response(ordered[offset : offset + per_page], headers=headers)


FAKE = WooCommerceFake
