"""Squarespace: customers are *profiles* of the Profiles API (version 1.0).

Endpoints (origin ``https://api.squarespace.com``, replaced by ``base_url``):

* get one: ``GET /1.0/profiles/{id}`` -> ``{"profiles": [...]}`` (the
  endpoint takes up to 50 comma-separated ids; one is sent). Ids are 24
  hexadecimal digits (``5ede64464561317766bdc632``); an empty ``profiles``
  or a 404 is not found.
* list: ``GET /1.0/profiles?filter=isCustomer,true``, then
  ``GET /1.0/profiles?cursor={pagination.nextPageCursor}`` while
  ``pagination.hasNextPage``. Squarespace cuts the pages (up to 50, no size
  parameter) and ``cursor`` "cannot be used with other parameters", so the
  filter and sort only go with the first page. Cursors are dynamic (not a
  snapshot). Profiles are also mailing-list subscribers and donors: the
  list keeps the profiles with orders or donations (``isCustomer``) unless
  ``remote_query[filter]`` says otherwise (``hasAccount,true`` or
  ``email,{address}``); a get reads any profile.
* verify: the first list page.

Calls: a get is 1 call. A list page is 1 call at limit 1; at limit 50, 1
call when it starts on a Squarespace page boundary (as a walk at 50 does),
else 2; at limit 100, 2 calls (3 unaligned). An API page ending inside a
Squarespace page resumes there, reading that page again (``cursor_walk``).
No ``prev_cursor``: the cursors go forward only.

Auth: ``Authorization: Bearer {api_key}`` (a key made under Settings >
Developer Tools, or Advanced, > Developer API Keys with the Profiles
permission; each key belongs to one site), and the
**required** ``User-Agent`` (requests without one are rejected; generic
ones get stricter limits): shoprelay's own, ``providers.http.USER_AGENT``.

Errors: every error has the standard object ``{"type", "subtype",
"message", "details", "contextId"}``: 401 (bad or revoked key) and 403
(permission) -> ProviderAuthFailed; 404 -> CustomerNotFound (on the list:
a wrong ``base_url``); 429 -> ProviderRateLimited: 300 requests a minute,
then "a cool down period of one minute" (``Retry-After`` when sent, else
60 s); 5xx -> ProviderUnavailable.

Mapping: ``id`` as given; names and ``email`` trimmed, ``""`` -> null;
the one ``address`` ("an approximate address for the user based on
existing data; it should not be used for shipping or billing", null when
none) becomes an untyped address without id, its ``phone`` the phone;
``currency`` from ``transactionsSummary.totalOrderAmount.currency``
(the site's currency, in which the profile's amounts are); ``status`` and
``company_name`` null (``hasAccount``/``isCustomer`` are not a status);
``createdOn`` is ISO 8601 UTC; there is no update timestamp.

Uncertain (handled defensively):
* the published profile example is commented JSON and the stored copies
  break off inside the first profile: the address and summary fields come
  from the field docs as quoted by clients (SquareSpaceSharp), so the
  fixtures are composed (tests/fixtures/squarespace/README.md);
* whether a missing id is a 404 or an empty ``profiles``: both are not found;
* cursors are dynamic: a profile added or removed during a walk may shift
  the rows of a page read again, so one may be served twice or skipped
  (only the platform's own page boundaries are exact);
* the error ``type`` values of the Profiles endpoints are not published;
  only the status is read for the table, the words are quoted;
* the Profiles API is in maintenance (Squarespace points to a Contacts API
  whose endpoints are not published).

Sources: https://developers.squarespace.com/commerce-apis/profiles-overview,
.../retrieve-specific-profiles, .../retrieve-all-profiles (paths, filter,
sort, cursor rules, fields), .../responses-error-handling (error object,
null or empty arrays), .../rate-limits, .../making-requests (User-Agent),
.../faq (dynamic cursors); ``PrimePenguin/SquareSpaceSharp``
``SquareSpaceSharp/Entities/{Profile,Address,TransactionsSummary,Pagination}.cs``
(field docs).
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Mapping

import msgspec

from .auth import HeaderToken
from .base import CommonSettings, Credentials, HeaderValue, NonBlank, Page, PageRequest, Provider
from .error_table import ErrorTable, Say, Words, retry_after_header
from .errors import CustomerNotFound, ProviderAuthFailed, ProviderBadResponse, ProviderRateLimited
from .http import USER_AGENT, UpstreamResponse
from .models import Customer, Email, Phone
from .normalize import text, unified_address, unified_customer, utc_timestamp
from .paging import CursorPage, cursor_walk

PROFILES_PATH = "/1.0/profiles"
CUSTOMERS_ONLY = "isCustomer,true"
COOL_DOWN = 60.0  # "a cool down period of one minute"
_ID = re.compile(r"^[0-9a-f]{24}$")


class SquarespaceCredentials(Credentials):
    api_key: Annotated[HeaderValue, msgspec.Meta(title="API key", description=(
        "a Squarespace API key with the Profiles permission, made under Settings > Developer Tools "
        "(older sites: Settings > Advanced) > Developer API Keys; it is shown once"
    ))]


class SquarespaceSettings(CommonSettings, kw_only=True, forbid_unknown_fields=True):
    pass  # the key names the site


class _Pagination(msgspec.Struct, rename="camel"):
    has_next_page: bool | None = None
    # Opaque, and carried in shoprelay's own cursors: visible ASCII, bounded.
    next_page_cursor: Annotated[str, msgspec.Meta(pattern=r"\A[\x21-\x7e]{0,1000}\Z")] | None = None


class _Profiles(msgspec.Struct):
    profiles: list[dict[str, Any]] | None  # raw: remote_data; "null or an empty array" when none
    pagination: _Pagination | None = None


class _Money(msgspec.Struct):
    currency: str | None = None


class _Summary(msgspec.Struct, rename="camel"):
    total_order_amount: _Money | None = None


class _Address(msgspec.Struct, rename="camel"):
    address1: str | None = None
    address2: str | None = None
    city: str | None = None
    state: str | None = None
    country_code: str | None = None
    postal_code: str | None = None
    phone: str | None = None


class SquarespaceProfile(msgspec.Struct, rename="camel"):
    id: NonBlank
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    created_on: str | None = None
    address: _Address | None = None
    transactions_summary: _Summary | None = None


def is_profile_id(value: str) -> bool:
    """One profile id (24 hexadecimal digits, any case): never a comma list."""
    return bool(_ID.match(value.lower()))


def cool_down(response: UpstreamResponse) -> float:
    """``Retry-After`` when Squarespace sends one, else its documented minute."""
    wait = retry_after_header(response)
    return COOL_DOWN if wait is None else wait


_KEY_REFUSED = Say(ProviderAuthFailed, "rejected the API key (revoked, or without the Profiles permission)")
ERRORS = ErrorTable(
    "Squarespace", read=lambda body: Words(body.get("type"), body.get("message")), wait=cool_down,
    statuses={401: _KEY_REFUSED, 403: _KEY_REFUSED,
              429: Say(ProviderRateLimited, "rate limit reached (300 requests a minute, then a minute's cool down)")},
)


class SquarespaceProvider(Provider[SquarespaceCredentials, SquarespaceSettings]):
    name = "squarespace"
    display_name = "Squarespace"
    errors = ERRORS
    payload_type = SquarespaceProfile
    default_origin = "https://api.squarespace.com"
    # The first page's documented parameters; the cursor is the paging's own.
    remote_query_allowed = frozenset({"filter", "sortField", "sortDirection"})

    def make_auth(self) -> HeaderToken:
        return HeaderToken(self.credentials.api_key, scheme="Bearer")

    def request_headers(self) -> dict[str, str]:
        return {"Accept": "application/json", "User-Agent": USER_AGENT}

    valid_customer_id = staticmethod(is_profile_id)

    async def fetch_customer(self, customer_id: str, query: Mapping[str, str] | None = None) -> dict[str, Any]:
        customer_id = customer_id.lower()  # Squarespace writes its ids in lower case
        profiles = (await self.get_json(f"{PROFILES_PATH}/{customer_id}", _Profiles, query)).profiles or []
        raw = next((p for p in profiles if str(p.get("id")) == customer_id), None)
        if raw is None:
            if profiles:  # the id was not applied: never hand out another profile
                raise ProviderBadResponse("Squarespace answered with profiles other than the one asked for")
            raise CustomerNotFound("Squarespace has no profile with this id", remote_status=200)
        return raw

    async def list_customers(self, request: PageRequest) -> Page:
        async def fetch(cursor: str | None) -> CursorPage:
            # A cursor goes alone; the filter and sort went with the first page.
            params = {"cursor": cursor} if cursor else {"filter": CUSTOMERS_ONLY, **request.query}
            body = await self.get_json(PROFILES_PATH, _Profiles, params, collection=True)
            more = body.pagination or _Pagination()
            # hasNextPage false ends the list; a cursor without the flag is followed.
            return CursorPage(body.profiles or [], None if more.has_next_page is False else more.next_page_cursor)

        return await cursor_walk(request, fetch)

    async def verify(self) -> None:
        await self.get_json(PROFILES_PATH, _Profiles, {"filter": CUSTOMERS_ONLY}, collection=True)

    @staticmethod
    def map_payload(p: SquarespaceProfile) -> Customer:
        email = text(p.email)
        address = p.address or _Address()
        phone = text(address.phone)
        summary = p.transactions_summary or _Summary()
        return unified_customer(
            remote_id=p.id, first_name=text(p.first_name), last_name=text(p.last_name),
            company_name=None, status=None,  # hasAccount/isCustomer are not a status
            currency=text((summary.total_order_amount or _Money()).currency),
            emails=[Email(email=email)] if email else [], phones=[Phone(number=phone)] if phone else [],
            addresses=[unified_address(  # approximate, so untyped ("not for shipping or billing")
                street_1=address.address1, street_2=address.address2, city=address.city, state=address.state,
                postal_code=address.postal_code, country=address.country_code,
            )],
            created_at=utc_timestamp(p.created_on), modified_at=None,
        )
