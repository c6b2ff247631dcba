"""Zoho Inventory's contacts API and the Zoho Accounts token endpoint.

* ``GET /oauth/v2/auth?client_id&response_type=code&redirect_uri&scope
  &access_type=offline&prompt=consent&state`` (the consent screen, already
  agreed to): every parameter checked (400 otherwise), then 302 to
  ``redirect_uri`` with ``code``, ``location``, ``accounts-server`` (this
  server's own origin unless ``accounts_server`` names another) and
  ``state``; ``consent_error`` answers ``error=<it>`` instead of a code;
* ``POST /oauth/v2/token`` form ``client_id, client_secret,
  grant_type=authorization_code, code, redirect_uri``: a code issued by the
  consent above, once, with its redirect URI -> ``{"access_token",
  "refresh_token", "api_domain", "token_type", "expires_in"}`` (the
  documented exchange answer); the refresh grant takes that refresh token
  as well as the credentials' own. Anything else is ``{"error": "invalid_code"}`` (HTTP 200);
* ``GET /inventory/v1/organizations``: ``{"code": 0, "organizations": ...}``
  (``organizations``, default the one ORG_ID; zoho-organizations.json);
* ``POST /oauth/v2/token?refresh_token=...&client_id=...&client_secret=...
  &grant_type=refresh_token``: mints ``{prefix}1.sig``, ``{prefix}2.sig``...
  in the documented refresh response (zoho-oauth-token-refresh.json, its
  token replaced; ``api_domain`` and ``expires_in`` as given); any other
  grant is ``{"error": "invalid_code"}`` with HTTP 200, as Zoho answers;
* ``GET /inventory/v1/contacts/{id}?organization_id=...``: ``{"code": 0,
  "contact": ...}``, the documented contact (zoho-inventory-customer.json)
  carrying the store row's id, names, type and creation time; an unknown id
  is 404 code 1002 (zoho-inventory-not-found.json);
* ``GET /inventory/v1/contacts?organization_id=...&page=P&per_page=N
  &sort_column=created_time``: list rows (contacts-list-page.json's shape,
  vendors included) with ``page_context``; per_page 1..200, else code 2
  (400). Without a sort column this store sorts by contact name (Zoho does
  not document its default), so a walk that forgets the order sees it.

The API takes ``Authorization: Zoho-oauthtoken <token>`` for a token still
in ``accepted``, else 401 code 14 (error-401-code-14.json); another
organization is code 6041 (error-6041.json, 400). Zoho documents no wait
signal; this store's 429 sends ``Retry-After: 7``.
"""

from __future__ import annotations

import copy
import urllib.parse
from typing import Any

from aiohttp import web

from tests.support import load_fixture

from .base import TOTAL, Answer, TokenFake, varied

CLIENT_ID = "1000.GMB0YULZHJK411248S8I5GZ4CHUEX0"  # "1000.<hex>" like Zoho's
CLIENT_SECRET = "122c324d3496d5d777ceeebc129470715fbb856b7"
REFRESH_TOKEN = "1000.8ecd1a2b3c4d5e6f7a8b9c0d1e2f5cb7.46381a2b3c4d5e6f7a8b9c0d1e2febdc"
ORG_ID = "10234695"
CONTACTS_PATH = "/inventory/v1/contacts"
TOKEN_PATH = "/oauth/v2/token"
AUTHORIZE_PATH = "/oauth/v2/auth"
ORGANIZATIONS_PATH = "/inventory/v1/organizations"
CONSENT_SCOPES = {"ZohoInventory.contacts.READ", "ZohoInventory.settings.READ"}
PAGE_MAX = 200  # per_page maximum


def fixture(name: str) -> Any:
    return load_fixture("zoho_inventory", name)


class ZohoInventoryFake(TokenFake):
    provider = "zoho_inventory"
    default_credentials = {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "refresh_token": REFRESH_TOKEN}
    page_max = PAGE_MAX
    token_path = TOKEN_PATH
    list_path = CONTACTS_PATH
    retry_after = 7.0
    refused_status = 200  # Zoho refuses a refresh token with HTTP 200
    missing_id = "460000009999999"

    def __init__(
        self,
        customers: list[dict[str, Any]] | None = None,
        *,
        expires_in: Any = 3600,
        token_delay: float = 0.0,
        api_domain: str | None = None,
        token_prefix: str = "1000.token-",
        **kwargs: Any,
    ) -> None:
        super().__init__(
            customers, expires_in=expires_in, token_prefix=token_prefix, token_delay=token_delay, **kwargs
        )
        self.api_domain = api_domain
        self.refresh_tokens: set[str] = set()  # issued by code exchanges; taken beside credentials' own
        self.codes: dict[str, str] = {}  # authorization code -> its redirect_uri, until used
        self.used_codes: set[str] = set()
        self.accounts_server: str | None = None  # the accounts-server the consent redirect names
        self.consent_error: str | None = None
        self.organizations: list[dict[str, Any]] = [fixture("zoho-organizations.json")["organizations"][0]]

    @classmethod
    def make_customers(cls, total: int = TOTAL) -> list[dict[str, Any]]:
        rows = fixture("contacts-list-page.json")["contacts"]

        def vary(c: dict[str, Any], i: int) -> None:
            c["contact_id"] = 460000000026049 + 1000 * i
            c["contact_name"] = c["company_name"] = f"Bowman and Co {i}"
            c["last_name"], c["email"] = f"Smith{i}", f"willsmith{i}@bowmanfurniture.com"
            c["created_time"] = f"2013-08-05T{i // 60:02d}:{i % 60:02d}:10+0530"  # the sort key, rising

        return varied(next(c for c in rows if c["contact_type"] == "customer"), total, vary)

    def customer_id(self, raw: dict[str, Any]) -> str:
        return str(raw["contact_id"])

    def secrets(self) -> list[str]:
        return [*super().secrets(), *sorted(self.refresh_tokens)]  # the exchange's too

    def settings(self, origin: str) -> dict[str, Any]:
        return {"organization_id": ORG_ID, "data_center": "com", "base_url": origin, "auth_url": origin}

    def kind(self, request: web.Request, body: bytes) -> str:
        if request.path in (AUTHORIZE_PATH, ORGANIZATIONS_PATH):
            return request.path.rsplit("/", 1)[1]  # "auth", "organizations"
        return super().kind(request, body)

    def routes(self, app: web.Application) -> None:
        app.router.add_get(AUTHORIZE_PATH, self.consent)
        app.router.add_get(ORGANIZATIONS_PATH, self.organizations_list)
        app.router.add_post(TOKEN_PATH, self.token)
        app.router.add_get(CONTACTS_PATH + "/{id}", self.contact)
        app.router.add_get(CONTACTS_PATH, self.contacts)

    # -- answers ------------------------------------------------------------------------

    def unauthorized(self) -> Answer:
        return Answer(401, fixture("error-401-code-14.json"))

    def rate_limited(self) -> Answer:
        return Answer(429, {"code": 429, "message": "rate limit"}, headers={"Retry-After": "7"})

    def error(self, status: int, message: str) -> Answer:
        return Answer(status, {**fixture("error-internal.json"), "message": message})

    def server_error(self, status: int) -> Answer:
        return Answer(status, fixture("error-internal.json"))

    # -- routes ---------------------------------------------------------------------------

    async def consent(self, request: web.Request) -> web.Response:
        q = request.query
        expected = {"client_id": self.credentials["client_id"], "response_type": "code", "access_type": "offline",
                    "prompt": "consent"}
        scopes = set(q.get("scope", "").split(","))
        if any(q.get(k) != v for k, v in expected.items()) or not CONSENT_SCOPES <= scopes \
                or not q.get("redirect_uri") or not q.get("state"):
            return web.json_response({"error": "invalid_request"}, status=400)
        if self.consent_error is not None:
            added = {"error": self.consent_error, "state": q["state"]}
        else:
            code = f"1000.code{len(self.codes) + len(self.used_codes) + 1}.{'c' * 32}"
            self.codes[code] = q["redirect_uri"]
            origin = f"{request.scheme}://{request.host}"
            added = {"code": code, "location": "us", "accounts-server": self.accounts_server or origin,
                     "state": q["state"]}
        raise web.HTTPFound(f"{q['redirect_uri']}?{urllib.parse.urlencode(added)}")

    async def exchange(self, request: web.Request) -> web.Response:
        grant = dict(await request.post())
        await self.received(grant)
        code = grant.get("code", "")
        expected = {"client_id": self.credentials["client_id"], "client_secret": self.credentials["client_secret"],
                    "grant_type": "authorization_code", "code": code, "redirect_uri": self.codes.get(code)}
        if grant != expected or request.query:  # the secret belongs in the body, not the URL
            return web.json_response(fixture("oauth-error-invalid-code.json"))
        self.used_codes.add(code)
        del self.codes[code]  # one use
        refresh = f"1000.refresh{len(self.used_codes)}.{'r' * 32}"
        self.refresh_tokens.add(refresh)
        body = {"access_token": self.mint(".sig"), "refresh_token": refresh,
                "api_domain": self.api_domain or "https://www.zohoapis.com", "token_type": "Bearer",
                "expires_in": self.expires_in}
        return web.json_response(body)

    async def organizations_list(self, request: web.Request) -> web.Response:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme != "Zoho-oauthtoken" or token not in self.accepted:
            return self.unauthorized().response()
        return web.json_response({"code": 0, "message": "success", "organizations": self.organizations})

    async def token(self, request: web.Request) -> web.Response:
        if request.query.get("grant_type") is None:  # the code exchange posts a form
            return await self.exchange(request)
        grant = dict(request.query)  # Zoho's refresh request carries the secrets in the query string
        await self.received(grant)
        expected = {
            "refresh_token": grant.get("refresh_token"), "client_id": self.credentials["client_id"],
            "client_secret": self.credentials["client_secret"], "grant_type": "refresh_token",
        }
        if grant != expected or grant["refresh_token"] not in {self.credentials["refresh_token"], *self.refresh_tokens}:
            return web.json_response(fixture("oauth-error-invalid-code.json"))
        value = self.mint(".sig")
        body = {**fixture("zoho-oauth-token-refresh.json"), "access_token": value, "expires_in": self.expires_in}
        if self.api_domain is not None:
            body["api_domain"] = self.api_domain
        return web.json_response(body)

    def refusal(self, request: web.Request) -> web.Response | None:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme != "Zoho-oauthtoken" or token not in self.accepted:
            return self.unauthorized().response()
        if request.query.get("organization_id") != ORG_ID:
            return web.json_response(fixture("error-6041.json"), status=400)
        return None

    def detail(self, row: dict[str, Any]) -> dict[str, Any]:
        """The documented full contact, as the store row it stands for."""
        contact = copy.deepcopy(fixture("zoho-inventory-customer.json")["contact"])
        for key in ("contact_id", "contact_name", "company_name", "contact_type", "created_time"):
            if key in row:
                contact[key] = row[key]
        return contact

    async def contact(self, request: web.Request) -> web.Response:
        if (refused := self.refusal(request)) is not None:
            return refused
        row = self.lookup(request.match_info["id"])
        if row is None:
            return web.json_response(fixture("zoho-inventory-not-found.json"), status=404)
        return web.json_response({"code": 0, "message": "success", "contact": self.detail(row)})

    async def contacts(self, request: web.Request) -> web.Response:
        if (refused := self.refusal(request)) is not None:
            return refused
        q = request.query
        page, per_page = int(q.get("page", "1")), int(q.get("per_page", "200"))
        sort = q.get("sort_column", "contact_name")
        if sort not in ("created_time", "contact_name") or not 1 <= per_page <= PAGE_MAX:
            return web.json_response({"code": 2, "message": "Invalid value passed for per_page"}, status=400)
        ordered = self.customers if sort == "created_time" else sorted(self.customers, key=lambda c: c["contact_name"])
        chunk = ordered[(page - 1) * per_page : page * per_page]
        context = {"page": page, "per_page": per_page, "has_more_page": page * per_page < len(ordered)}
        return web.json_response({"code": 0, "message": "success", "contacts": chunk, "page_context": context})


FAKE = ZohoInventoryFake
