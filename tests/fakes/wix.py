"""Wix Contacts v4 and the OAuth 2 token endpoint, in both auth modes.

* ``POST /oauth2/token`` with ``{"grant_type": "client_credentials",
  "client_id", "client_secret", "instance_id"}``: mints ``{prefix}1``,
  ``{prefix}2``... in the documented token body (oauth-token.json, its
  placeholder replaced; ``expires_in`` as given, left out when None); any
  other grant is ``invalid_client`` (400, oauth-error-invalid-client.json);
* ``GET /installer/install?appId=...&postInstallationUrl=...`` (the
  external install flow; ``redirectUrl`` read when the other is absent):
  302 back to that URL with ``appId``, ``tenantId`` (the site) and
  ``instanceId`` appended (``install_instance``, ``install_site``), our own
  query parameters kept; an unknown ``appId`` is 400;
* ``POST /oauth2/token-info`` ``{"token"}``: for a live minted token,
  ``{"active": true, "subjectType": "APP", "clientId", "instanceId",
  "siteId", ...}`` (the fields Wix's Token Info documents); else
  ``{"active": false}``. ``token_info_site`` makes it name another site;
* ``GET /contacts/v4/contacts/{id}``: ``{"contact": ...}``, or 404
  (error-404.json);
* ``GET /contacts/v4/contacts?paging.limit=N&paging.offset=O
  &sort.fieldName=createdDate&sort.order=ASC``: offset paging, at most 1000 a
  page, else the documented validation error (400); without a sort this
  store answers newest first (Wix does not document its default order).

The API takes ``Authorization: <token>`` (a minted token still in
``accepted``) or ``Authorization: <api_key>`` with ``wix-site-id``; an API key
for another site is PERMISSION_DENIED (403, error-403.json), anything else
UNAUTHENTICATED (401, error-401.json). Wix documents no wait signal for its
429 (error-429.json); this store sends ``Retry-After: 30``, which the module
reads when present.
"""

from __future__ import annotations

import urllib.parse
from typing import Any

from aiohttp import web

from tests.support import load_fixture

from .base import TOTAL, Answer, TokenFake, varied

APP_ID = "655104d6-d14c-42d8-8197-38384e647359"
APP_SECRET = "53abe43a-17c2-43b7-8012-afa666917f9b"
INSTANCE_ID = "1d2c6a64-3f21-4e36-9a1f-4c7f4b0a9e11"
INSTANCE_SITE = "5e4a2f1b-7c3d-4e8f-9a0b-1c2d3e4f5a6b"  # the site INSTANCE_ID is installed on
# Shapes of real values: an API key is a long "IST." token; ids are GUIDs.
API_KEY = "IST.eyJraWQiOiJQb3pIX2FDMiIsImFsZyI6IlJTMjU2In0.eyJkYXRhIjoie30ifQ.c2lnbmF0dXJl"
SITE_ID = "c993128b-26be-41cd-9fcd-904abe23462f"
CONTACTS_PATH = "/contacts/v4/contacts"
TOKEN_PATH = "/oauth2/token"
TOKEN_INFO_PATH = "/oauth2/token-info"
INSTALLER_PATH = "/installer/install"
PAGE_MAX = 1000  # List Contacts: paging.limit maximum


def fixture(name: str) -> Any:
    return load_fixture("wix", name)


class WixFake(TokenFake):
    provider = "wix"
    default_credentials = {"client_id": APP_ID, "client_secret": APP_SECRET}
    page_max = PAGE_MAX
    token_path = TOKEN_PATH
    list_path = CONTACTS_PATH
    retry_after = 30.0
    refused_status = 400  # the token endpoint's invalid_client
    answer_id_unchecked = "Get Contact on a merged contact answers with the merge target, whose id the module maps"
    missing_id = "00000000-0000-4000-8000-000000000000"

    def __init__(
        self,
        customers: list[dict[str, Any]] | None = None,
        *,
        expires_in: Any = 14400,
        token_delay: float = 0.0,
        token_prefix: str = "OauthNG.JWS.token-",
        **kwargs: Any,
    ) -> None:
        super().__init__(
            customers, expires_in=expires_in, token_prefix=token_prefix, token_delay=token_delay, **kwargs
        )
        # API keys this site takes, with its site id.
        self.api_keys: set[str] = {self.credentials["api_key"]} if "api_key" in self.credentials else set()
        # App instances of this app (instance -> its site): Wix mints tokens for these only.
        self.instances: dict[str, str] = {INSTANCE_ID: INSTANCE_SITE}
        self.token_instances: dict[str, str] = {}  # minted token -> its instance
        self.install_instance, self.install_site = INSTANCE_ID, INSTANCE_SITE  # what the installer returns
        self.token_info_site: str | None = None  # a token-info answer naming another site

    @classmethod
    def make_customers(cls, total: int = TOTAL) -> list[dict[str, Any]]:
        def vary(c: dict[str, Any], i: int) -> None:
            c["id"] = f"8046df3c-7575-4098-a5ab-{i:012x}"
            c["createdDate"] = f"2019-10-30T17:{i // 60:02d}:{i % 60:02d}.299Z"  # the sort key, rising
            c["info"]["name"]["last"] = f"One{i}"
            c["primaryInfo"]["email"] = c["info"]["emails"]["items"][0]["email"] = f"email{i}@example.com"

        return varied(fixture("contact-full.json")["contact"], total, vary)

    def customer_id(self, raw: dict[str, Any]) -> str:
        return raw["id"]

    def settings(self, origin: str) -> dict[str, Any]:
        if "api_key" in self.credentials:
            return {"site_id": SITE_ID, "base_url": origin}
        return {"instance_id": INSTANCE_ID, "base_url": origin, "auth_url": origin}

    def kind(self, request: web.Request, body: bytes) -> str:
        if request.path in (INSTALLER_PATH, TOKEN_INFO_PATH):
            return request.path.rsplit("/", 1)[1]  # "install", "token-info"
        return super().kind(request, body)

    def routes(self, app: web.Application) -> None:
        app.router.add_get(INSTALLER_PATH, self.installer)
        app.router.add_post(TOKEN_PATH, self.token)
        app.router.add_post(TOKEN_INFO_PATH, self.token_info)
        app.router.add_get(CONTACTS_PATH + "/{id}", self.contact)
        app.router.add_get(CONTACTS_PATH, self.contacts)

    # -- answers ------------------------------------------------------------------------

    def unauthorized(self) -> Answer:
        return Answer(401, fixture("error-401.json"))

    def rate_limited(self) -> Answer:
        return Answer(429, fixture("error-429.json"), headers={"Retry-After": "30"})

    def error(self, status: int, message: str) -> Answer:
        body = fixture("error-401.json")
        body["message"] = body["details"]["applicationError"]["description"] = message
        return Answer(status, body)

    def server_error(self, status: int) -> Answer:
        return Answer(status, fixture("error-system.json"))

    # -- routes ---------------------------------------------------------------------------

    async def token(self, request: web.Request) -> web.Response:
        grant = await request.json()
        await self.received(grant)
        expected = {
            "grant_type": "client_credentials",
            "client_id": self.credentials.get("client_id"),
            "client_secret": self.credentials.get("client_secret"),
            "instance_id": grant.get("instance_id") if isinstance(grant, dict) else None,
        }
        if grant != expected or grant["instance_id"] not in self.instances:
            return web.json_response(fixture("oauth-error-invalid-client.json"), status=400)
        value = self.mint()
        self.token_instances[value] = grant["instance_id"]
        body = {**fixture("oauth-token.json"), "access_token": value}
        if self.expires_in is None:
            del body["expires_in"]
        else:
            body["expires_in"] = self.expires_in
        return web.json_response(body)

    async def installer(self, request: web.Request) -> web.Response:
        """The install happened (the merchant consented on Wix); back to the app's URL."""
        back = request.query.get("postInstallationUrl") or request.query.get("redirectUrl")
        if request.query.get("appId") != self.credentials.get("client_id") or not back:
            return web.json_response({"message": "unknown app"}, status=400)
        parts = urllib.parse.urlsplit(back)
        added = {"appId": request.query["appId"], "tenantId": self.install_site, "instanceId": self.install_instance}
        query = urllib.parse.urlencode([*urllib.parse.parse_qsl(parts.query), *added.items()])
        raise web.HTTPFound(urllib.parse.urlunsplit(parts._replace(query=query)))

    async def token_info(self, request: web.Request) -> web.Response:
        token = (await request.json()).get("token")
        if token not in self.accepted or token not in self.token_instances:
            return web.json_response({"active": False})
        instance = self.token_instances[token]
        return web.json_response({
            "active": True, "subjectType": "APP", "subjectId": self.credentials.get("client_id"),
            "exp": "2026-12-02T16:00:00Z", "iat": "2026-12-02T12:00:00Z",
            "clientId": self.credentials.get("client_id"), "accountId": "0b3c5f1e-2d4a-4b6c-8e9f-a1b2c3d4e5f6",
            "siteId": self.token_info_site or self.instances[instance], "instanceId": instance,
        })

    def refusal(self, request: web.Request) -> web.Response | None:
        authorization = request.headers.get("Authorization")
        if authorization in self.api_keys:
            if request.headers.get("wix-site-id") != SITE_ID:
                return web.json_response(fixture("error-403.json"), status=403)
            return None
        if authorization in self.accepted:
            return None
        return self.unauthorized().response()

    async def contact(self, request: web.Request) -> web.Response:
        if (refused := self.refusal(request)) is not None:
            return refused
        raw = self.lookup(request.match_info["id"])
        if raw is None:
            return web.json_response(fixture("error-404.json"), status=404)
        return web.json_response({**fixture("contact-full.json"), "contact": raw})

    async def contacts(self, request: web.Request) -> web.Response:
        if (refused := self.refusal(request)) is not None:
            return refused
        q = request.query
        limit, offset = int(q.get("paging.limit", "50")), int(q.get("paging.offset", "0"))
        sort = (q.get("sort.fieldName", "createdDate"), q.get("sort.order"))
        if not 1 <= limit <= PAGE_MAX or sort not in (("createdDate", "ASC"), ("createdDate", None)):
            return web.json_response(fixture("error-validation.json"), status=400)
        ordered = self.customers if sort[1] == "ASC" else self.customers[::-1]
        chunk = ordered[offset : offset + limit]
        meta = {"count": len(chunk), "offset": offset, "total": len(ordered)}
        return web.json_response({"contacts": chunk, "pagingMetadata": meta})


FAKE = WixFake
