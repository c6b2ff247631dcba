"""Square's Customers API and its OAuth token endpoint.

* ``POST /oauth2/token`` (JSON): the refresh grant ``{"client_id",
  "client_secret", "grant_type": "refresh_token", "refresh_token"}`` exactly,
  for a live refresh token, mints ``EAAA-fake-1``, ``-2``... in the documented
  answer (oauth-token.json; ``expires_at`` 30 days ahead unless given). A
  code-flow grant hands the same refresh token back; with ``rotate`` (PKCE
  grants) each refresh hands a new one and the old one dies. Anything else
  is a 401 ``UNAUTHORIZED`` (error-401.json).
* ``GET /v2/customers/{id}``: ``{"customer": ...}``; an unknown id is 404
  ``NOT_FOUND`` (error-404.json's shape, naming the id).
* ``GET /v2/customers?limit=N&sort_field=CREATED_AT&sort_order=ASC[&cursor=C]``:
  ``{"customers": [...], "cursor": ...}``, no cursor on the last page, no
  ``customers`` key past the end. ``limit`` 1..100 (else 400
  ``VALUE_TOO_LOW``/``VALUE_TOO_HIGH``); a cursor used with another limit or
  order is 400 ``INVALID_CURSOR``. Without ``sort_field=CREATED_AT`` this
  store sorts by name (Square's DEFAULT), so a walk forgetting the order
  sees it.

The authorization server (the connect flow, PKCE):

* ``GET /oauth2/authorize?client_id&scope&session=false&state&code_challenge
  &code_challenge_method=S256&redirect_uri``: every parameter checked (the
  app's id, ``CUSTOMERS_READ`` among the space-separated scopes, a 43-character
  base64url S256 challenge, the registered ``redirect_uri`` when one is set);
  the seller "approves" at once: 302 to ``redirect_uri?code=...&response_type=code
  &state=...``, or with ``deny`` to ``?error=access_denied
  &error_description=user_denied&state=...`` (Square's documented refusal).
  Anything else is a 400 page.
* ``POST /oauth2/token`` with ``{"client_id", "grant_type":
  "authorization_code", "code", "code_verifier", "redirect_uri"}`` exactly:
  a code is good once, for five minutes, for its app, redirect URL and the
  verifier whose SHA-256 (base64url) is its challenge; else 400
  ``INVALID_REQUEST_ERROR`` (composed: Square documents no body for it).
  The grant is PKCE: refresh tokens rotate from then on.

Every API request needs ``Authorization: Bearer`` with the connection's
``access_token`` or a live minted token (else 401 ``UNAUTHORIZED``) and a
``Square-Version: YYYY-MM-DD`` header (else 400: Square itself would run the
app's pinned version; this store insists, to prove the header always goes).
Square documents no wait signal for its 429 (``RATE_LIMITED``); this store
sends ``Retry-After: 5``.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import re
import time
import urllib.parse
from datetime import datetime, timezone
from typing import Any

from aiohttp import web

from tests.support import load_fixture

from .base import TOTAL, Answer, TokenFake, varied

CLIENT_ID = "sq0idp-wGVapF8sNt9PLrdj5znuKA"  # the form of Square application ids
CLIENT_SECRET = "sq0csp-5yJ3k9XbLq1mVt7RzP2wHc8NdFgA4sUeKo6TiYjB0"
REFRESH_TOKEN = "EQAAl0OcByu3IYJYScGGg-8E5YNf0r0b6jCTCMy5nOcRZ4ok0wbWAL8vY3tZWNcc"  # the documented one
ACCESS_TOKEN = "EAAAEOuLQObrVwJvCvoio2bG7f9aoBgEMFXb2pWVJ5vNVpMT-personal"
CUSTOMERS_PATH = "/v2/customers"
TOKEN_PATH = "/oauth2/token"
PAGE_MAX = 100
MISSING_ID = "2GYD7WNXF7BJZW1PMGNXZ3Y8M8"  # the documented missing id
MERCHANT_ID = "MLQW2MYBY81PZ"  # the documented merchant
AUTHORIZE_PATH = "/oauth2/authorize"
CODE_TTL = 300  # "Authorization codes ... expire after 5 minutes"
_VERSION = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_CHALLENGE = re.compile(r"^[A-Za-z0-9_-]{43}$")


def fixture(name: str) -> Any:
    return load_fixture("square", name)


def error(status: int, category: str, code: str, detail: str, **more: str) -> web.Response:
    return web.json_response({"errors": [{"category": category, "code": code, "detail": detail, **more}]}, status=status)


def challenge_of(verifier: str) -> str:
    """RFC 7636 S256: base64url(SHA-256(verifier)), unpadded."""
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")


def rfc3339(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class SquareFake(TokenFake):
    provider = "square"
    default_credentials = {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "refresh_token": REFRESH_TOKEN}
    page_max = PAGE_MAX
    goes_back = False
    token_path = TOKEN_PATH
    list_path = CUSTOMERS_PATH
    retry_after = 5.0
    missing_id = MISSING_ID

    def __init__(
        self,
        customers: list[dict[str, Any]] | None = None,
        *,
        expires_at: str | None = None,
        rotate: bool = False,
        token_delay: float = 0.0,
        environment: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(customers, expires_in=None, token_prefix="EAAA-fake-", token_delay=token_delay, **kwargs)
        self.expires_at = expires_at  # what the token answer names; 30 days ahead when None
        self.rotate = rotate
        self.environment = environment  # sent as settings.environment when given
        # Refresh tokens handed out (the connection's own, in credentials, is
        # good too) and those a rotation spent.
        self.live_refresh: set[str] = set()
        self.spent_refresh: set[str] = set()
        self.handed_refresh: list[str] = []  # rotated refresh tokens handed out, newest last
        self.versions: list[str | None] = []  # Square-Version of each API request
        # The authorization server: the registered redirect URL (checked when
        # set), whether the seller declines, and the codes issued.
        self.redirect_uri: str | None = None
        self.deny = False
        self.codes: dict[str, dict[str, Any]] = {}
        self.merchant_id = MERCHANT_ID

    @classmethod
    def make_customers(cls, total: int = TOTAL) -> list[dict[str, Any]]:
        def vary(c: dict[str, Any], i: int) -> None:
            c["id"] = f"JDKYHBWT1D4F8MFH63DB{i:06d}"  # 26 characters like Square's
            # Names fall as creation rises: Square's DEFAULT (by name) order is the reverse.
            c["family_name"], c["email_address"] = f"Earhart{total - i:04d}", f"amelia{i}@example.com"
            c["created_at"] = c["updated_at"] = f"2016-03-23T{i // 3600:02d}:{i // 60 % 60:02d}:{i % 60:02d}.859Z"

        return varied(fixture("customer.json")["customer"], total, vary)

    def customer_id(self, raw: dict[str, Any]) -> str:
        return raw["id"]

    def settings(self, origin: str) -> dict[str, Any]:
        settings = {"base_url": origin, "auth_url": origin}
        return settings if self.environment is None else {**settings, "environment": self.environment}

    def kind(self, request: web.Request, body: bytes) -> str:
        return "authorize" if request.path == AUTHORIZE_PATH else super().kind(request, body)

    def routes(self, app: web.Application) -> None:
        app.router.add_get(AUTHORIZE_PATH, self.authorize)
        app.router.add_post(TOKEN_PATH, self.token)
        app.router.add_get(CUSTOMERS_PATH + "/{id}", self.customer)
        app.router.add_get(CUSTOMERS_PATH, self.collection)

    def secrets(self) -> list[str]:
        return [*super().secrets(), *self.handed_refresh]

    # -- answers ------------------------------------------------------------------------

    def unauthorized(self) -> Answer:
        return Answer(401, fixture("error-401.json"))

    def rate_limited(self) -> Answer:
        return Answer(429, fixture("error-429.json"), headers={"Retry-After": "5"})

    def error(self, status: int, message: str) -> Answer:
        category = "API_ERROR" if status >= 500 else "INVALID_REQUEST_ERROR"
        code = {401: "UNAUTHORIZED", 503: "SERVICE_UNAVAILABLE"}.get(status, "INTERNAL_SERVER_ERROR" if status >= 500 else "BAD_REQUEST")
        return Answer(status, {"errors": [{"category": category, "code": code, "detail": message}]})

    def server_error(self, status: int) -> Answer:
        return Answer(status, fixture("error-500.json")) if status == 500 else self.error(status, "Service Unavailable")

    # -- the token endpoint ---------------------------------------------------------------

    async def token(self, request: web.Request) -> web.Response:
        try:
            grant = json.loads(await request.read()) if request.content_type == "application/json" else None
        except ValueError:
            grant = None
        await self.received(grant)
        if not isinstance(grant, dict):
            return error(400, "INVALID_REQUEST_ERROR", "BAD_REQUEST", "expected a JSON body")
        if grant.get("grant_type") == "authorization_code":
            return self.exchange(grant)
        return self.refresh(grant)

    # -- the authorization server ------------------------------------------------------------

    async def authorize(self, request: web.Request) -> web.Response:
        q = request.query
        expected = {"client_id", "scope", "session", "state", "code_challenge", "code_challenge_method", "redirect_uri"}
        wrong = sorted(set(q) ^ expected) or [name for name, ok in (
            ("client_id", q.get("client_id") == self.credentials.get("client_id")),
            ("scope", "CUSTOMERS_READ" in q.get("scope", "").split(" ")),
            ("session", q.get("session") == "false"),
            ("state", len(q.get("state", "")) >= 22),
            ("code_challenge", bool(_CHALLENGE.match(q.get("code_challenge", "")))),
            ("code_challenge_method", q.get("code_challenge_method") == "S256"),
            ("redirect_uri", self.redirect_uri is None or q.get("redirect_uri") == self.redirect_uri),
        ) if not ok]
        if wrong or len(request.query.getall("state", [])) != 1:
            return web.Response(status=400, text=f"bad authorization request: {', '.join(wrong)}")
        back = {"state": q["state"]}
        if self.deny:
            back = {"error": "access_denied", "error_description": "user_denied", **back}
        else:
            code = f"sq0cgp-code-{len(self.codes) + 1}"
            self.codes[code] = {"client_id": q["client_id"], "challenge": q["code_challenge"],
                                "redirect_uri": q["redirect_uri"], "issued": time.time(), "used": False}
            back = {"code": code, "response_type": "code", **back}
        raise web.HTTPFound(f"{q['redirect_uri']}?{urllib.parse.urlencode(back)}")

    def exchange(self, grant: dict[str, Any]) -> web.Response:
        code = self.codes.get(str(grant.get("code")))
        expected = {"client_id", "grant_type", "code", "code_verifier", "redirect_uri"}
        verifier = grant.get("code_verifier")
        if (
            code is None or code["used"] or time.time() - code["issued"] > CODE_TTL or set(grant) != expected
            or grant["client_id"] != code["client_id"] or grant["redirect_uri"] != code["redirect_uri"]
            or not isinstance(verifier, str) or challenge_of(verifier) != code["challenge"]
        ):
            return error(400, "INVALID_REQUEST_ERROR", "BAD_REQUEST", "The authorization code is not valid")
        code["used"] = True
        self.rotate = True  # a PKCE grant: single-use refresh tokens
        refresh = f"EQAA-pkce-{sum(c['used'] for c in self.codes.values())}"
        self.handed_refresh.append(refresh)
        self.live_refresh.add(refresh)
        return web.json_response({**self.token_answer(refresh), "merchant_id": self.merchant_id})

    def refresh(self, grant: dict[str, Any]) -> web.Response:
        expected = {
            "client_id": self.credentials.get("client_id"), "client_secret": self.credentials.get("client_secret"),
            "grant_type": "refresh_token", "refresh_token": grant.get("refresh_token"),
        }
        refresh = grant["refresh_token"]
        live = refresh in self.live_refresh or refresh == self.credentials.get("refresh_token")
        if grant != expected or not live or refresh in self.spent_refresh:
            return self.unauthorized().response()
        if self.rotate:  # PKCE: single-use, a new one each time
            self.spent_refresh.add(refresh)
            refresh = f"EQAA-rotated-{sum(t.startswith('EQAA-rotated-') for t in self.handed_refresh) + 1}"
            self.handed_refresh.append(refresh)
            self.live_refresh.add(refresh)
        return web.json_response(self.token_answer(refresh))

    def token_answer(self, refresh: str) -> dict[str, Any]:
        expires_at = self.expires_at or rfc3339(time.time() + 30 * 24 * 3600)
        return {**fixture("oauth-token.json"), "access_token": self.mint(), "refresh_token": refresh,
                "expires_at": expires_at}

    # -- the API ----------------------------------------------------------------------------

    def refusal(self, request: web.Request) -> web.Response | None:
        version = request.headers.get("Square-Version")
        self.versions.append(version)
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme != "Bearer" or not (token in self.accepted or token == self.credentials.get("access_token")):
            return self.unauthorized().response()
        if version is None or not _VERSION.match(version):
            return error(400, "INVALID_REQUEST_ERROR", "INVALID_VALUE", "Square-Version must be YYYY-MM-DD")
        return None

    async def customer(self, request: web.Request) -> web.Response:
        if (refused := self.refusal(request)) is not None:
            return refused
        raw = self.lookup(request.match_info["id"])
        if raw is None:
            missing = copy.deepcopy(fixture("error-404.json"))
            missing["errors"][0]["detail"] = f"Customer with ID `{request.match_info['id']}` not found."
            return web.json_response(missing, status=404)
        return web.json_response({"customer": raw})

    async def collection(self, request: web.Request) -> web.Response:
        if (refused := self.refusal(request)) is not None:
            return refused
        q = request.query
        try:
            limit = int(q.get("limit", str(PAGE_MAX)))
        except ValueError:
            return error(400, "INVALID_REQUEST_ERROR", "INVALID_VALUE", "limit is not a number", field="limit")
        if not 1 <= limit <= PAGE_MAX:
            code = "VALUE_TOO_LOW" if limit < 1 else "VALUE_TOO_HIGH"
            return error(400, "INVALID_REQUEST_ERROR", code, "limit is out of range", field="limit")
        order = (q.get("sort_field", "DEFAULT"), q.get("sort_order", "ASC"))
        offset = 0
        if "cursor" in q:
            cut = self.read_cursor(q["cursor"])
            if cut is None or cut[1:] != (limit, *order):
                return error(400, "INVALID_REQUEST_ERROR", "INVALID_CURSOR", "The cursor is not valid", field="cursor")
            offset = cut[0]
        rows = self.customers
        if order[0] != "CREATED_AT":
            rows = sorted(rows, key=lambda c: (c.get("given_name", ""), c.get("family_name", "")))
        if order[1] == "DESC":
            rows = rows[::-1]
        chunk = rows[offset : offset + limit]
        body: dict[str, Any] = {"customers": chunk} if chunk else {}  # none: no customers key
        if offset + limit < len(rows):
            body["cursor"] = self.cut(offset + limit, limit, *order)
        return web.json_response(body)

    @staticmethod
    def cut(offset: int, limit: int, field: str, order: str) -> str:
        return base64.urlsafe_b64encode(f"{offset}:{limit}:{field}:{order}".encode()).decode().rstrip("=")

    @staticmethod
    def read_cursor(cursor: str) -> tuple[int, int, str, str] | None:
        try:
            offset, limit, field, order = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode().split(":")
            return int(offset), int(limit), field, order
        except ValueError:
            return None


FAKE = SquareFake
