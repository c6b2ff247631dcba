"""Square: customer profiles from the Customers API (v2).

Endpoints, at ``https://connect.squareup.com`` (``environment: production``)
or ``https://connect.squareupsandbox.com`` (``sandbox``); ``base_url``
replaces it. Every request carries ``Square-Version`` (``square_version``,
else ``DEFAULT_VERSION``): without it Square runs the version the app is
pinned to in the Developer Console, which the merchant's app owner may move.

* get one: ``GET /v2/customers/{id}`` -> ``{"customer": {...}}``. Ids are
  opaque; every documented one is alphanumeric (26 upper-case base-32
  characters, e.g. ``JDKYHBWT1D4F8MFH63DBMEN8Y4``), so anything else is not
  found without a call. A merged profile gets a new id and the old one
  answers ``NOT_FOUND``; an answer about another id is refused.
* list: ``GET /v2/customers?limit=N&sort_field=CREATED_AT&sort_order=ASC
  [&cursor=C]`` -> ``{"customers": [...], "cursor": "..."}``; no cursor on
  the last page, and no ``customers`` key when there are none. ``limit`` is
  1..100 and "advisory" (a page may hold more or fewer); a cursor is only
  good with the limit and sort it was cut under, so the limit of a walk's
  first page travels in the state and later pages reuse it. Creation order,
  not the default (by name, which changes under edits). Forward only.
* verify: the list with ``limit=1``.

Calls (a warm token; one more, to the token endpoint, for the first OAuth
read after 7 days): a get is 1 call; a list page at limit 1, 50 or 100 is 1
call when the walk keeps its limit (Square honours it). A page served from a
Square page of another size, or a short "advisory" page, reads further
Square pages, at most 10.

Auth: ``Authorization: Bearer`` with a personal ``access_token`` (Developer
Console, Credentials; no expiry documented), or OAuth ``client_id``,
``client_secret``, ``refresh_token``: ``POST {origin}/oauth2/token`` (JSON,
``grant_type=refresh_token``; ``auth_url`` replaces the origin) answers
``{"access_token", "expires_at": RFC 3339, "refresh_token", ...}``. Access
tokens live 30 days (24 h when ``short_lived``); Square asks apps to refresh
every 7 days or less, so a token is used for at most ``REFRESH_EVERY`` and
refreshed before its ``expires_at`` whichever comes first. Code-flow
refresh tokens come back unchanged; PKCE ones are single-use and each
refresh hands a new one, which is kept with the token and sent next
(providers.token_endpoint). A 401 from the token endpoint marks the
connection needs-reauth.

Errors: ``{"errors": [{"category", "code", "detail"?, "field"?}]}``, the
status matching the first error; the first ``code`` decides
(``UNAUTHORIZED``, ``ACCESS_TOKEN_EXPIRED``/``REVOKED`` -> auth failed;
``FORBIDDEN``, ``INSUFFICIENT_SCOPES`` -> auth failed, the grant lacks
``CUSTOMERS_READ``; ``NOT_FOUND`` -> not found; ``RATE_LIMITED`` -> 429),
else the status. Messages quote the code only (``detail`` can echo request
values). The 429 documents no wait signal: ``Retry-After`` is honoured if
sent, else the shared backoff applies (Square asks for exponential backoff
with jitter).

Mapping: ``given_name``/``family_name``; ``name`` is both joined, else
``company_name``, else ``nickname``; one email (primary), one free-form phone
(not E.164 in the docs: ``+1-212-555-4240``); one address, untyped (Square
does not say billing or shipping): ``address_line_1`` -> street_1,
``address_line_2`` and ``_3`` -> street_2, ``locality`` -> city,
``administrative_district_level_1`` -> state, ``postal_code``, ``country``
(ISO alpha-2; ``ZZ``, "unknown", is null); ``created_at``/``updated_at`` are
RFC 3339 UTC with a fraction of 0-3 digits, normalised to milliseconds.
No status (Square has none) and no currency.

Uncertain (handled defensively):
* no whole-response body for a missing customer is documented: the shape is
  the bulk-retrieve per-id ``NOT_FOUND`` entry; any 404 is not found;
* the code -> status pairs for 401/403/5xx are inferred from the code names;
* the token endpoint's refusal body is not documented: the first
  ``errors[].code``, the legacy ``type``, or RFC 6749 ``error`` is read, and
  401 (or ``UNAUTHORIZED``/``ACCESS_TOKEN_REVOKED``) counts as for good;
* ids being alphanumeric is what every example shows, not a documented rule.

Sources: https://developer.squareup.com/reference/square/customers-api (retrieve, list: limit,
cursor, sort_field/sort_order, "empty object" when none), ``square/connect-api-specification``
``api.json`` @ e83ac55f (examples, default Square-Version 2025-08-20);
https://developer.squareup.com/docs/build-basics/common-api-patterns/pagination ;
https://developer.squareup.com/docs/build-basics/general-considerations/handling-errors ;
https://developer.squareup.com/docs/oauth-api/overview and .../refresh-revoke-limit-scope (30 days,
refresh every 7 days or less); https://developer.squareup.com/reference/square/oauth-api/obtain-token .
"""

from __future__ import annotations

import re
import time
from datetime import date, datetime
from typing import Annotated, Any, Literal

import msgspec

from .auth import Auth, HeaderToken
from .base import Credentials, HeaderValue, NonBlank, OAuthSettings, Page, PageRequest, Provider, envelope
from .error_table import ErrorTable, Say, Words
from .errors import CustomerNotFound, ProviderAuthFailed, ProviderBadResponse, ProviderRateLimited
from .models import Customer, Email, Phone
from .normalize import full_name, joined_lines, text, unified_address, unified_customer, utc_timestamp
from .paging import CursorPage, cursor_walk
from .token_endpoint import refresh_token

ORIGINS = {"production": "https://connect.squareup.com", "sandbox": "https://connect.squareupsandbox.com"}
CUSTOMERS_PATH = "/v2/customers"
TOKEN_PATH = "/oauth2/token"
DEFAULT_VERSION = "2025-08-20"  # the Square-Version the published API spec was cut for
MAX_PAGE_SIZE = 100  # ListCustomers: limit 1..100
REFRESH_EVERY = 7 * 24 * 3600.0  # Square: refresh "every 7 days or less"
MIN_LIFETIME = 600.0  # ours: the least time a minted token is used, whatever expires_at says
ORDER = {"sort_field": "CREATED_AT", "sort_order": "ASC"}
_ID = re.compile(r"^[A-Za-z0-9]{1,191}$")
Version = Annotated[str, msgspec.Meta(pattern=r"^\d{4}-\d{2}-\d{2}$")]  # YYYY-MM-DD
_CURSOR = Annotated[str, msgspec.Meta(pattern=r"\A[\x21-\x7e]{1,2048}\Z")]

AUTH = Say(ProviderAuthFailed, "rejected the connection's access token")
SCOPE = Say(ProviderAuthFailed, "refused access: the token lacks the CUSTOMERS_READ permission")
NOT_FOUND = Say(CustomerNotFound, "has no customer profile with this id")


def first_error(body: Any) -> dict[str, Any]:
    """The first of ``errors[]`` (the one the status matches), or {}."""
    errors = body.get("errors") if isinstance(body, dict) else None
    first = errors[0] if isinstance(errors, list) and errors else None
    return first if isinstance(first, dict) else {}


def token_error_code(body: dict[str, Any]) -> str | None:
    """A token refusal's code: v2 ``errors[].code``, legacy ``type``, or RFC 6749 ``error``."""
    for code in (first_error(body).get("code"), body.get("type"), body.get("error")):
        if isinstance(code, str):
            return code
    return None


def token_expiry(body: dict[str, Any]) -> float | None:
    """When to refresh: ``REFRESH_EVERY`` from now, or the ``expires_at``
    Square names if sooner (a 24-hour ``short_lived`` token); None (the
    lifetime, ``REFRESH_EVERY``) when the answer names none we can read."""
    try:
        named = datetime.fromisoformat(body["expires_at"])
    except (KeyError, TypeError, ValueError):
        return None
    if named.tzinfo is None:
        return None
    now = time.time()
    # Never sooner than MIN_LIFETIME: a clock far off Square's would
    # otherwise make every request mint a token.
    return min(now + REFRESH_EVERY, max(named.timestamp(), now + MIN_LIFETIME))


ERRORS = ErrorTable(
    "Square",
    read=lambda body: Words(code=first_error(body).get("code")),
    quote_message=False,  # a detail may echo the request's values
    statuses={401: AUTH, 403: SCOPE, 404: NOT_FOUND},
    codes={
        "UNAUTHORIZED": AUTH, "ACCESS_TOKEN_EXPIRED": AUTH, "ACCESS_TOKEN_REVOKED": AUTH,
        "FORBIDDEN": SCOPE, "INSUFFICIENT_SCOPES": SCOPE,
        "NOT_FOUND": NOT_FOUND,
        "RATE_LIMITED": Say(ProviderRateLimited, "rate limit reached"),
    },
)


class SquareCredentials(Credentials, kw_only=True):
    """Either ``access_token``, or ``client_id`` + ``client_secret`` + ``refresh_token`` (OAuth)."""

    access_token: Annotated[HeaderValue | None, msgspec.Meta(title="Access token", description=(
        "a personal access token: Developer Console, your application, Credentials "
        "(the Production or the Sandbox one, matching settings.environment)"))] = None
    client_id: Annotated[HeaderValue | None, msgspec.Meta(title="Application ID", description=(
        "OAuth instead of access_token: the Application ID on the OAuth page of the Developer Console"))] = None
    client_secret: Annotated[HeaderValue | None, msgspec.Meta(title="Application secret", description=(
        "OAuth: the Application secret on the same OAuth page"))] = None
    refresh_token: Annotated[HeaderValue | None, msgspec.Meta(title="Refresh token", description=(
        "OAuth: the refresh token Square returned when the seller authorized the app (CUSTOMERS_READ)"))] = None

    def __post_init__(self) -> None:
        oauth = (self.client_id, self.client_secret, self.refresh_token)
        if self.access_token is not None and any(part is not None for part in oauth):
            raise ValueError("give either access_token or client_id + client_secret + refresh_token, not both")
        if self.access_token is None and None in oauth:
            raise ValueError("give either access_token, or client_id, client_secret and refresh_token (OAuth)")

    @property
    def oauth(self) -> bool:
        return self.access_token is None


class SquareSettings(OAuthSettings, kw_only=True, forbid_unknown_fields=True):
    environment: Annotated[Literal["production", "sandbox"], msgspec.Meta(description=(
        "production (connect.squareup.com) or sandbox (connect.squareupsandbox.com): where the "
        "access token or application was issued"))] = "production"
    square_version: Annotated[Version | None, msgspec.Meta(title="Square-Version",
        description=f"the API version to pin, YYYY-MM-DD (Developer Console, your application); "
                    f"default {DEFAULT_VERSION}")] = None

    def __post_init__(self) -> None:
        super().__post_init__()
        try:
            date.fromisoformat(self.square_version or DEFAULT_VERSION)
        except ValueError:
            raise ValueError("square_version must be a date, YYYY-MM-DD (e.g. 2025-08-20)") from None


class SquareAddress(msgspec.Struct):
    address_line_1: str | None = None
    address_line_2: str | None = None
    address_line_3: str | None = None
    locality: str | None = None
    administrative_district_level_1: str | None = None
    postal_code: str | None = None
    country: str | None = None  # ISO 3166-1 alpha-2; ZZ is "unknown"


class SquareCustomer(msgspec.Struct):
    id: NonBlank
    given_name: str | None = None
    family_name: str | None = None
    nickname: str | None = None
    company_name: str | None = None
    email_address: str | None = None
    phone_number: str | None = None
    address: SquareAddress | None = None
    created_at: str | None = None
    updated_at: str | None = None


class CustomerList(msgspec.Struct):
    # raw (remote_data); "an empty object ({}) if none are found": absent, or {}
    customers: list[dict[str, Any]] | dict[str, Any] = []
    cursor: _CURSOR | None = None


class SquareProvider(Provider[SquareCredentials, SquareSettings]):
    name = "square"
    display_name = "Square"
    errors = ERRORS
    payload_type = SquareCustomer
    remote_query_supported = False  # a get takes no parameters; the list's are paging and order, ours
    destination_settings = Provider.destination_settings | {"environment"}

    @property
    def default_origin(self) -> str:  # type: ignore[override]
        return ORIGINS[self.settings.environment]

    default_auth_origin = default_origin  # the token endpoint lives on the API origin

    def make_auth(self) -> Auth:
        c = self.credentials
        if not c.oauth:
            return HeaderToken(c.access_token or "", scheme="Bearer")
        return refresh_token(
            "Square", self.http, self.auth_origin + TOKEN_PATH, c.client_id or "", c.client_secret or "",
            c.refresh_token or "", store=self.tokens, send="json", lifetime=REFRESH_EVERY, expiry=token_expiry,
            read_code=token_error_code, permanent_codes=frozenset({"UNAUTHORIZED", "ACCESS_TOKEN_REVOKED"}),
        )

    def request_headers(self) -> dict[str, str]:
        return {"Square-Version": self.settings.square_version or DEFAULT_VERSION, "Accept": "application/json"}

    def valid_customer_id(self, customer_id: str) -> bool:
        return bool(_ID.match(customer_id))

    async def fetch_customer(self, customer_id: str, query: Any = None) -> dict[str, Any]:
        customer = (await self.get_json(f"{CUSTOMERS_PATH}/{customer_id}", envelope("customer"))).customer
        self.check_customer_id(str(customer.get("id")), customer_id)
        return customer

    async def list_customers(self, request: PageRequest) -> Page:
        # A Square cursor holds only under the limit it was cut with: the
        # walk's first limit is its page size for good.
        size = (request.state or {}).get("size")
        if not isinstance(size, int) or isinstance(size, bool) or not 1 <= size <= MAX_PAGE_SIZE:
            size = min(request.limit, MAX_PAGE_SIZE)

        async def fetch(cursor: str | None) -> CursorPage:
            params = {"limit": str(size), **ORDER, **({"cursor": cursor} if cursor else {})}
            page = await self.get_json(CUSTOMERS_PATH, CustomerList, params, collection=True)
            if isinstance(page.customers, dict) and page.customers:
                raise ProviderBadResponse("Square answered with customers that are not a list")
            return CursorPage(page.customers or [], page.cursor or None)

        page = await cursor_walk(request, fetch)
        if page.next is not None:
            page.next = {**page.next, "size": size}
        return page

    async def verify(self) -> None:
        await self.get_json(CUSTOMERS_PATH, CustomerList, {"limit": "1"}, collection=True)

    @staticmethod
    def map_payload(c: SquareCustomer) -> Customer:
        first, last = text(c.given_name), text(c.family_name)
        company = text(c.company_name)
        email, phone = text(c.email_address), text(c.phone_number)
        addresses = []
        if (a := c.address) is not None:
            country = text(a.country)
            addresses.append(unified_address(
                street_1=a.address_line_1, street_2=joined_lines((a.address_line_2, a.address_line_3)),
                city=a.locality,
                state=a.administrative_district_level_1, postal_code=a.postal_code,
                country=None if country is not None and country.upper() == "ZZ" else country,
            ))
        return unified_customer(
            remote_id=text(c.id), first_name=first, last_name=last, name=full_name(first, last) or company or text(c.nickname),
            company_name=company, emails=[Email(email=email, is_primary=True)] if email else [],
            phones=[Phone(number=phone, is_primary=True)] if phone else [], addresses=addresses,
            created_at=utc_timestamp(c.created_at), modified_at=utc_timestamp(c.updated_at),
        )
