"""Shopware 6: customers and their addresses from the Admin API.

The shop is self-hosted (or Shopware SaaS): ``store_url`` is the shop's URL
and may include a sub-directory; ``base_url``/``auth_url`` replace only the
``scheme://host[:port]`` of the API and of the token endpoint. Every request
sends ``Accept: application/json`` (JSON:API is the default format).

Endpoints (``{api}`` = ``store_url`` + ``/api``):

* token: ``POST {api}/oauth/token`` with ``{"grant_type":
  "client_credentials", "client_id", "client_secret"}`` (an integration's
  Access key ID and Secret access key) -> ``{"token_type": "Bearer",
  "expires_in": 600, "access_token"}``; no refresh token: a new one is
  minted shortly before expiry, or once after a 401;
* get one: ``POST {api}/search/customer`` with ``{"ids": [id],
  "associations": {"addresses": {"associations": {"country": {},
  "countryState": {}}}}}`` -> ``{"total", "data": [customer], ...}``, the
  customer with its addresses (and their country and state) in one call;
  an empty ``data`` is not found;
* list: the same search with ``{"page", "limit", "total-count-mode": 1,
  "sort": [createdAt ASC, id ASC]}``: pages of ``limit`` (at most 100 here;
  Shopware documents no maximum), more while ``page * limit < total``;
* verify: the search with ``limit`` 1 and the associations (the role must
  read them all).

Calls: a get is 1 (plus the token call when none is live); a list page is 1
at limit 1, 50 and 100 (``limit`` is sent as asked), plus the token call.

Errors: ``{"errors": [{"status", "code", "title", "detail", ...}]}`` (the
spec's examples carry ``description``). 401/403 (a missing ACL privilege)
-> ProviderAuthFailed; a 404 cannot be a missing customer (a search
answers an empty ``data``), so it means no Admin API at ``store_url`` ->
ProviderBadResponse; 429 (Shopware SaaS, the token endpoint's limiter)
-> ProviderRateLimited with ``Retry-After``. An answer without ``total``
(JSON:API, when something on the way dropped the Accept header) ->
ProviderBadResponse, never an empty customer. The token endpoint's 401
(a wrong key or secret, the integration deleted) marks the connection
needs-reauth.

Mapping: ``id`` is 32 lower-case hex (asked in lower case); ``active`` is
the status; ``guest`` accounts are customers. The default billing and
shipping addresses (``defaultBillingAddressId``/``defaultShippingAddressId``)
are typed ``billing``/``shipping`` and listed first; one address that is
both is listed under each type; the others are untyped. ``street`` ->
street_1, ``additionalAddressLine1``/``2`` -> street_2, ``country.iso``,
``countryState.shortCode`` without its country prefix (``DE-NW`` -> ``NW``).
Phones are the addresses' ``phoneNumber``, the billing one first.
``createdAt``/``updatedAt`` carry offsets and become UTC.

Uncertain: Shopware publishes no customer response example; the fixtures
are composed from the spec's ``Customer``/``CustomerAddress`` schemas. Which
not-found code a detail route uses does not matter here (searches only).
Sources: shopware/admin-api-reference ``adminapi.json`` (/search/customer,
schemas, responses 401/403/404), ``docs/concepts/authentication-authorisation.md``;
shopware/docs ``guides/development/integrations-api/``, ``search-criteria.md``
(page, limit, total-count-mode, associations), ``request-headers.md``;
https://docs.shopware.com/en/shopware-6-en/saas/rate-limits.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Mapping

import msgspec

from .auth import OAuthAccess
from .base import Credentials, HeaderValue, OAuthSettings, Page, PageRequest, Provider
from .error_table import ErrorTable, Say, Words
from .errors import CustomerNotFound, ProviderAuthFailed, ProviderBadResponse
from .models import Address, Customer, Phone, Email
from .normalize import joined_lines, text, unified_address, unified_customer, utc_timestamp
from .paging import Chunk, page_walk
from .site_url import has_segment, site_origin, site_path, site_url
from .token_endpoint import client_credentials

MAX_PAGE_SIZE = 100  # ours: Shopware documents no maximum limit
TOKEN_LIFETIME = 600  # "10 minutes"; the answer's expires_in wins
_ID = re.compile(r"^[0-9a-fA-F]{32}$")
ASSOCIATIONS = {"addresses": {"associations": {"country": {}, "countryState": {}}}}
SORT = [{"field": "createdAt", "order": "ASC"}, {"field": "id", "order": "ASC"}]


class ShopwareCredentials(Credentials, kw_only=True):
    client_id: Annotated[HeaderValue, msgspec.Meta(title="Access key ID", description=(
        "the integration's Access key ID: Settings > System > Integrations > Add integration "
        "(a role that may read customers, customer addresses, countries and country states)"
    ))]
    client_secret: Annotated[HeaderValue, msgspec.Meta(title="Secret access key", description=(
        "the integration's Secret access key, shown once when the integration is created"
    ))]


class ShopwareSettings(OAuthSettings, kw_only=True, forbid_unknown_fields=True):
    store_url: Annotated[str, msgspec.Meta(title="Shop URL", description=(
        "the shop's URL, https, may include a sub-directory, e.g. https://shop.example.com"
    ))]

    def __post_init__(self) -> None:
        super().__post_init__()
        self.store_url = site_url(self.store_url, "store_url", "https://shop.example.com")
        if has_segment(self.store_url, frozenset({"api", "admin"})):
            raise ValueError("store_url must be the shop's URL, not its /api or /admin URL")


class Iso(msgspec.Struct):
    iso: str | None = None


class State(msgspec.Struct):
    shortCode: str | None = None


class ShopwareAddress(msgspec.Struct):
    id: str | None = None
    company: str | None = None
    street: str | None = None
    additionalAddressLine1: str | None = None
    additionalAddressLine2: str | None = None
    zipcode: str | None = None
    city: str | None = None
    phoneNumber: str | None = None
    country: Iso | None = None
    countryState: State | None = None

    def mapped(self, kind: str | None) -> Address:
        country = text(self.country.iso) if self.country else None
        state = text(self.countryState.shortCode) if self.countryState else None
        if state and country and state.upper().startswith(country.upper() + "-"):
            state = state[len(country) + 1:]  # ISO 3166-2 "DE-NW": the subdivision part
        return unified_address(
            id=self.id, street_1=self.street,
            street_2=joined_lines((self.additionalAddressLine1, self.additionalAddressLine2)), city=self.city, state=state,
            postal_code=self.zipcode, country=country, address_type=kind,
        )


class ShopwareCustomer(msgspec.Struct):
    id: Annotated[str, msgspec.Meta(pattern=_ID.pattern)]
    firstName: str | None = None
    lastName: str | None = None
    email: str | None = None
    company: str | None = None
    active: bool | None = None
    defaultBillingAddressId: str | None = None
    defaultShippingAddressId: str | None = None
    addresses: list[ShopwareAddress] | None = None
    createdAt: str | None = None
    updatedAt: str | None = None


class SearchResult(msgspec.Struct):
    # "total" is in every JSON search answer; its absence means another
    # format (JSON:API, whose data[] holds only "attributes"), never a customer.
    total: int
    data: list[dict[str, Any]]  # raw: remote_data


class _Error(msgspec.Struct):
    code: str | int | None = None
    title: Any = None
    detail: Any = None
    description: Any = None


def sw_errors(body: Any) -> Words:
    first = msgspec.convert(body["errors"][0], _Error)
    return Words(first.code, text(first.detail) or text(first.description) or text(first.title))


NO_API = Say(ProviderBadResponse, "answered 404 for its customer search: check store_url")
REJECTED = Say(ProviderAuthFailed, "refused the integration's access (check its keys and that its role may "
               "read customers, addresses, countries and states)")


class ShopwareProvider(Provider[ShopwareCredentials, ShopwareSettings]):
    name = "shopware"
    display_name = "Shopware"
    payload_type = ShopwareCustomer
    destination_settings = Provider.destination_settings | {"store_url"}
    remote_query_supported = False  # a search takes its criteria as JSON, not a query string
    errors = ErrorTable("Shopware", read=sw_errors, statuses={
        401: REJECTED, 403: REJECTED,
        404: NO_API,  # a search has no missing customer: no Admin API answered
    }, collection=NO_API)

    @property
    def _path(self) -> str:
        return site_path(self.settings.store_url) + "/api"

    @property
    def default_origin(self) -> str:  # type: ignore[override]
        return site_origin(self.settings.store_url)

    default_auth_origin = default_origin  # the token endpoint is the shop's own

    @property
    def api_root(self) -> str:
        return self.origin + self._path

    def make_auth(self) -> OAuthAccess:
        c = self.credentials
        return client_credentials(
            "Shopware", self.http, self.auth_origin + self._path + "/oauth/token", c.client_id, c.client_secret,
            store=self.tokens, send="json", lifetime=TOKEN_LIFETIME,
        )

    def request_headers(self) -> dict[str, str]:
        return {"Accept": "application/json"}

    def valid_customer_id(self, customer_id: str) -> bool:
        return bool(_ID.match(customer_id))

    async def _search(self, criteria: dict[str, Any]) -> SearchResult:
        response = await self.send("POST", "/search/customer", json=criteria)
        return self.read_json(response, SearchResult, collection=True)  # the search always exists

    async def fetch_customer(self, customer_id: str, query: Mapping[str, str] | None = None) -> dict[str, Any]:
        customer_id = customer_id.lower()  # Shopware writes its ids in lower case
        found = (await self._search({"ids": [customer_id], "associations": ASSOCIATIONS})).data
        if not found:
            raise CustomerNotFound("Shopware has no such customer", remote_status=200)
        raw = found[0]
        self.check_customer_id(str(raw.get("id")).lower(), customer_id)
        return raw

    async def list_customers(self, request: PageRequest) -> Page:
        async def fetch(page: int, limit: int) -> Chunk:
            criteria = {"page": page, "limit": limit, "total-count-mode": 1, "sort": SORT, "associations": ASSOCIATIONS}
            result = await self._search(criteria)
            return Chunk(result.data, page * limit < result.total)

        return await page_walk(request, fetch, MAX_PAGE_SIZE)

    async def verify(self) -> None:
        # With the associations: the role's read privileges on addresses,
        # countries and states are checked too, not only on customers.
        await self._search({"limit": 1, "associations": ASSOCIATIONS})

    @staticmethod
    def map_payload(c: ShopwareCustomer) -> Customer:
        book = c.addresses or []
        by_id = {a.id: a for a in book if a.id}
        billing, shipping = by_id.get(c.defaultBillingAddressId or ""), by_id.get(c.defaultShippingAddressId or "")
        typed = [(a, kind) for a, kind in ((billing, "billing"), (shipping, "shipping")) if a is not None]
        rest = [(a, None) for a in book if a is not billing and a is not shipping]
        phones = [Phone(number=number, type=kind) for a, kind in [*typed, *rest] if (number := text(a.phoneNumber))]
        return unified_customer(
            remote_id=c.id, first_name=text(c.firstName), last_name=text(c.lastName),
            company_name=text(c.company) or (text(billing.company) if billing else None),
            status=None if c.active is None else ("active" if c.active else "inactive"), currency=None,
            emails=[Email(email=email)] if (email := text(c.email)) else [], phones=phones,
            addresses=[a.mapped(kind) for a, kind in [*typed, *rest]],
            created_at=utc_timestamp(c.createdAt), modified_at=utc_timestamp(c.updatedAt),
        )
