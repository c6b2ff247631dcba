"""Shopify: customers from the GraphQL Admin API (REST is legacy).

Endpoint: ``POST https://{shop}.myshopify.com/admin/api/{api_version}/graphql.json``
with ``X-Shopify-Access-Token: {access_token}`` and a JSON body
``{"query": ..., "variables": {...}}``. ``base_url`` replaces the
``https://{shop}.myshopify.com`` origin and keeps the path.

* get one: ``customer(id: "gid://shopify/Customer/{id}")``; ids are the
  numeric REST ids (``legacyResourceId``, UnsignedInt64), so anything else is
  not found without a call.
* list: ``customers(first: n, after: $cursor)`` / ``customers(last: n,
  before: $cursor)`` with ``pageInfo``, in id order (the default sort key).
  A query holds as many customers as fit in 1,000 points (below), so a page
  of 50 is one query; ``limit=100`` is two.
* remote_data (the raw payload) is ``data.customer`` / the list's node as
  queried: the fields the unified mapping reads, ``defaultAddress`` and the
  first ``ADDRESS_PAGE`` (5) entries of ``addressesV2``, and ``metafields``
  only when the connection's field mappings read them: the ``namespace.key``
  pairs their filters name, else the first 25 (providers.shopify_metafields).
  Five saved addresses besides the default cover the address books
  checkout builds (a home, a work address, a few gift recipients); each more
  costs a point per customer, 50 per page.
* verify: ``{ shop { id } }``.

Requested cost, in points, by the rate-limit guide's rules (scalars and
enums 0, objects 1, a connection 2 + first (or last) x its node; at most
1,000 a query), checked against the query text by
tests/providers/test_shopify_cost.py:

* get, no metafields mapped: 12
* get, 1 metafield named: 15
* get, metafields read unnamed: 39
* list page of 50, no metafields mapped: 603 (one query; 83 customers fit in one)
* list page of 50, 1 metafield named: 753 (one query; 66 fit)
* list page of 50, 5 metafields named: 953 (one query; 52 fit)
* list page of 50, metafields read unnamed: 978 (each of two queries of 25)
* verify: 1

Shopify refunds what a query did not return (``actualQueryCost``, e.g. 2
addresses of the 5), but the bucket must hold the requested cost first.

Settings: ``shop`` is the store's myshopify name (stored bare), ``api_version``
a quarterly ``YYYY-MM`` release or ``unstable``. Shopify answers a retired
version with the oldest supported one. ``auth_url`` replaces the token
endpoint's origin (``https://{shop}.myshopify.com``).

Credentials: an Admin API ``access_token`` (a custom app's, typed on the
connect form), or what an OAuth install (proxy/connect/oauth/shopify.py)
stores: the app's ``client_id``/``client_secret`` and the ``refresh_token``
of an expiring offline token. Those mint hour-long access tokens at
``POST {auth origin}/admin/oauth/access_token`` (JSON ``grant_type=
refresh_token``); the refresh token rotates with each, and the token store
keeps the current one (shared by every connection of the grant).

Errors: GraphQL failures come as HTTP 200 with ``errors[]``, read by their
``extensions.code``, and win over data: an ACCESS_DENIED comes with
``customer: null``, which is no missing customer. THROTTLED waits until the
bucket holds the query's cost: ``(requestedQueryCost - currentlyAvailable) /
restoreRate`` from ``extensions.cost``. HTTP 404 comes from a wrong shop or
api_version, never from a missing customer.

Mapping notes: ``name`` is ``displayName`` (first + last, else email, else
phone). ``status`` comes from ``state``, the only status Shopify has, and
Truto reports it too: it is the state of the customer's *login account*,
not of the relationship. ENABLED (an account in use) -> ``active``; DISABLED
(no account: most checkout customers, who may have ordered yesterday) and
DECLINED (the invitation was refused) -> ``inactive``, i.e. "no active
account"; INVITED (invited, not yet accepted: neither) passes through as
Shopify's own ``INVITED``, per the status rule (active/inactive where the
meaning is clear, else the platform's value). ``company_name`` is the default
address's company (customers have no company field). Addresses have no
billing/shipping type; the default address comes first.

Uncertain (not documented, handled defensively):
* the 1,000-point single-query maximum and the per-field costs behind the
  list page size come from the rate-limit guide, not from a measured query
  (``pageInfo`` is counted as an object, 1, which may be more than Shopify
  charges);
* ``metafields(keys:)`` (2023-01 changelog) is taken to return nodes whose
  ``key`` is the bare key, as without the argument;
* SHOP_INACTIVE / INTERNAL_SERVER_ERROR are handled from the Admin API
  reference's error-code list; no recorded body was found;
* a THROTTLED body without ``requestedQueryCost`` waits for our own
  estimate of the query's cost.

Sources: https://shopify.dev/docs/api/admin-graphql/latest/queries/customer
(Customer fields and examples, incl. ``addressesV2``/``metafields``);
https://shopify.dev/docs/api/admin-graphql/latest/queries/customers (the
``nodes`` example with ``defaultEmailAddress``/``provinceCode``/
``countryCodeV2``); https://shopify.dev/docs/api/admin-graphql/latest/objects/MailingAddress ;
https://shopify.dev/changelog/adding-defaultemailaddress-field-to-customer
(2025-04); https://shopify.dev/changelog/simplified-metafield-querying
(``keys``); https://shopify.dev/docs/api/admin-graphql/latest/interfaces/HasMetafields ;
https://shopify.dev/docs/apps/build/apis/graphql-admin/rate-limits ;
https://shopify.dev/docs/api/admin-rest (401 body);
https://shopify.dev/docs/api/usage/response-codes ;
recorded ACCESS_DENIED body in NangoHQ/integration-templates
``integrations/shopify/tests/set-customer-email-marketing-consent.test.json``.
"""

from __future__ import annotations

import functools
import math
import re
from typing import Annotated, Any, Generic, Mapping, NamedTuple, TypeVar

import msgspec

from . import calls, paging
from .auth import HeaderToken
from .auth import OAuthAccess
from .base import Credentials, HeaderValue, OAuthSettings, Page, PageRequest, Provider, is_numeric_id
from .error_table import ErrorTable, Say, Words, json_body, retry_after_header
from .errors import CustomerNotFound, ProviderAuthFailed, ProviderBadResponse, ProviderRateLimited
from .errors import ProviderUnavailable
from .http import UpstreamResponse
from .models import Address, Customer, Email, Phone
from .normalize import text, unified_address, unified_customer, utc_timestamp
from .shopify_metafields import NONE, UNNAMED, Metafields, metafields_read
from .token_endpoint import refresh_token

T = TypeVar("T")
SHOP_DOMAIN = ".myshopify.com"
_SHOP = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")  # a DNS label
_API_VERSION = re.compile(r"^(?:20[1-9][0-9]-(?:01|04|07|10)|unstable)$")
_TOKEN = re.compile(r"^[\x21-\x7e]{1,512}$")  # visible ASCII: it is sent as a header value
# gid://shopify/MailingAddress/544365967?model_name=CustomerAddress
_GID = re.compile(r"^gid://shopify/[A-Za-z]+/([0-9]+)(?:\?.*)?$")

# Requested cost, by the rules of the rate-limit guide (see the docstring):
# the customer and its four object fields (defaultEmailAddress,
# defaultPhoneNumber, amountSpent, defaultAddress) 1 each, addressesV2 2 + N.
ADDRESS_PAGE = 5
MAX_QUERY_COST = 1000  # Shopify refuses a single query above this (MAX_COST_EXCEEDED)
MAX_FIRST = 250  # the most nodes a connection returns
CUSTOMER_COST = 5 + (2 + ADDRESS_PAGE)
LIST_COST = 3  # the customers connection (2) and its pageInfo object (1)
VERIFY_COST = 1

_ADDRESS_FIELDS = (
    "id firstName lastName company address1 address2 city province provinceCode "
    "zip country countryCodeV2 phone"
)
_METAFIELD_NODES = "{ nodes { namespace key value type } }"
VERIFY_QUERY = "query Verify { shop { id } }"


class Queries(NamedTuple):
    """The operations for one set of metafields read, their cost, and the
    customers one list query may hold within MAX_QUERY_COST."""

    get: str
    forward: str
    backward: str
    customer_cost: int
    page_size: int
    variables: dict[str, Any]  # the metafield keys, sent with every query


@functools.lru_cache(maxsize=64)
def queries(metafields: Metafields = NONE) -> Queries:
    """The GraphQL text for ``metafields`` (see providers.shopify_metafields)."""
    declared, line, cost, variables = "", "", 0, {}
    if metafields.named:
        count = len(metafields.keys)
        declared, variables = ", $keys: [String!]", {"keys": list(metafields.keys)}
        line, cost = f"\n  metafields(first: {count}, keys: $keys) {_METAFIELD_NODES}", 2 + count
    elif metafields.read:
        line, cost = f"\n  metafields(first: {UNNAMED}) {_METAFIELD_NODES}", 2 + UNNAMED
    fields = f"""fragment CustomerFields on Customer {{
  id legacyResourceId firstName lastName displayName state createdAt updatedAt
  note tags verifiedEmail taxExempt
  defaultEmailAddress {{ emailAddress marketingState }}
  defaultPhoneNumber {{ phoneNumber marketingState }}
  amountSpent {{ amount currencyCode }}
  defaultAddress {{ ...AddressFields }}
  addressesV2(first: {ADDRESS_PAGE}) {{ nodes {{ ...AddressFields }} }}{line}
}}
fragment AddressFields on MailingAddress {{ {_ADDRESS_FIELDS} }}
"""
    listing = (
        "query %s($n: Int!, $cursor: String" + declared + ") { customers(%s) { nodes { ...CustomerFields } "
        "pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }\n" + fields
    )
    customer_cost = CUSTOMER_COST + cost
    return Queries(
        get=f"query GetCustomer($id: ID!{declared}) {{ customer(id: $id) {{ ...CustomerFields }} }}\n" + fields,
        forward=listing % ("ListCustomers", "first: $n, after: $cursor"),
        backward=listing % ("ListCustomersBefore", "last: $n, before: $cursor"),
        customer_cost=customer_cost,
        page_size=min(MAX_FIRST, (MAX_QUERY_COST - LIST_COST) // customer_cost),
        variables=variables,
    )


class ShopifyCredentials(Credentials):
    access_token: Annotated[str, msgspec.Meta(title="Admin API access token", description=(
        "Admin API access token of a custom app (shpat_...), with the read_customers scope "
        "(Settings > Apps and sales channels > Develop apps)"
    ))]

    def __post_init__(self) -> None:
        if not _TOKEN.match(self.access_token):
            raise ValueError(
                "access_token must be the Admin API access token (shpat_..., shpca_...), without spaces"
            )


class ShopifyOAuthCredentials(Credentials):
    """What an OAuth install stores (an expiring offline token's grant)."""

    client_id: Annotated[HeaderValue, msgspec.Meta(description="the Shopify app's client ID")]
    client_secret: Annotated[HeaderValue, msgspec.Meta(description="the Shopify app's client secret")]
    refresh_token: Annotated[HeaderValue, msgspec.Meta(description=(
        "refresh token of the expiring offline access token the install returned"
    ))]


TOKEN_PATH = "/admin/oauth/access_token"


class ShopifySettings(OAuthSettings, kw_only=True, forbid_unknown_fields=True):
    shop: Annotated[str, msgspec.Meta(title="Store name", description="the store's name, or name.myshopify.com")]
    api_version: Annotated[str, msgspec.Meta(description=(
        "Admin API release YYYY-MM (MM one of 01, 04, 07, 10), or unstable"
    ))] = "2026-10"

    def __post_init__(self) -> None:
        super().__post_init__()
        self.shop = self.shop.strip().lower().removesuffix(SHOP_DOMAIN)  # stored as the bare name
        if not _SHOP.match(self.shop):
            raise ValueError(
                "shop must be the store's myshopify name, e.g. my-store or my-store.myshopify.com "
                "(letters, digits and hyphens; no https:// and no custom domain)"
            )
        if not _API_VERSION.match(self.api_version):
            raise ValueError(
                "api_version must be a Shopify release like 2026-10 (YYYY-01, -04, -07 or -10) or 'unstable'"
            )


# -- the GraphQL envelope ------------------------------------------------------------


class ThrottleStatus(msgspec.Struct, rename="camel"):
    maximum_available: float | None = None
    currently_available: float | None = None
    restore_rate: float | None = None


class Cost(msgspec.Struct, rename="camel"):
    requested_query_cost: float | None = None
    throttle_status: ThrottleStatus = msgspec.field(default_factory=ThrottleStatus)

    def wait(self, query_cost: float | None = None) -> float | None:
        """Seconds until the bucket holds the query's cost (``requestedQueryCost``, else
        ``query_cost``) again, at least the time to restore one point."""
        requested = self.requested_query_cost if self.requested_query_cost is not None else query_cost
        available, rate = self.throttle_status.currently_available, self.throttle_status.restore_rate
        if available is None or rate is None or rate <= 0 or requested is None:
            return None
        return round(max((requested - available) / rate, 1 / rate), 3)


class Extensions(msgspec.Struct):
    cost: Cost = msgspec.field(default_factory=Cost)


class ErrorExtensions(msgspec.Struct):
    code: str | None = None


class GraphQLError(msgspec.Struct):
    message: str | None = None
    extensions: ErrorExtensions = msgspec.field(default_factory=ErrorExtensions)


class Envelope(msgspec.Struct, Generic[T]):
    """Every answer's body. ``Envelope`` (``data`` Any) is read first and
    ``data`` typed once ``errors``, which win over it, are read; a call that
    keeps no raw tries ``Envelope[...]`` first, in one pass (``_graphql``)."""

    data: T | None = None
    errors: list[GraphQLError] | str | None = None  # a string in HTTP error answers
    extensions: Extensions = msgspec.field(default_factory=Extensions)


# A node of the answer: the platform's JSON (dict[str, Any], the raw kept) or,
# for a call that keeps no raw, decoded straight into ShopifyCustomer.
N = TypeVar("N")
RawNode = dict[str, Any]


class CustomerData(msgspec.Struct, Generic[N]):
    customer: N | None  # required: absent is a bad answer, null no customer


class PageInfo(msgspec.Struct, rename="camel"):
    has_next_page: bool = False
    has_previous_page: bool = False
    start_cursor: str | None = None
    end_cursor: str | None = None


class Customers(msgspec.Struct, Generic[N], rename="camel"):
    nodes: list[N]
    page_info: PageInfo


class CustomersData(msgspec.Struct, Generic[N]):
    customers: Customers[N]


class ShopData(msgspec.Struct):
    shop: dict[str, Any]


# -- the customer node as the mapping reads it ----------------------------------------


class MailingAddress(msgspec.Struct, rename="camel"):
    id: str | None = None
    company: str | None = None
    address1: str | None = None
    address2: str | None = None
    city: str | None = None
    province: str | None = None
    province_code: str | None = None
    zip: str | None = None
    country: str | None = None
    country_code_v2: str | None = None


class AddressEdge(msgspec.Struct):
    node: MailingAddress


class AddressConnection(msgspec.Struct):
    nodes: list[MailingAddress] | None = None
    edges: list[AddressEdge] = []  # the documented edges[].node shape


class Detail(msgspec.Struct, rename="camel"):  # defaultEmailAddress, defaultPhoneNumber, amountSpent
    email_address: str | None = None
    phone_number: str | None = None
    currency_code: str | None = None


class ShopifyCustomer(msgspec.Struct, rename="camel"):
    id: str | None = None
    legacy_resource_id: int | str | None = None  # UnsignedInt64, sent as a string
    first_name: str | None = None
    last_name: str | None = None
    display_name: str | None = None
    state: str | None = None  # the login account's: ENABLED, DISABLED, INVITED, DECLINED
    created_at: str | None = None
    updated_at: str | None = None
    default_email_address: Detail | None = None
    default_phone_number: Detail | None = None
    amount_spent: Detail | None = None
    default_address: MailingAddress | None = None
    addresses_v2: AddressConnection = msgspec.field(default_factory=AddressConnection)

    @property
    def remote_id(self) -> str:
        """``legacyResourceId``, else the gid's number."""
        legacy = self.legacy_resource_id
        if isinstance(legacy, int) and legacy > 0 or isinstance(legacy, str) and is_numeric_id(legacy):
            return str(legacy)
        if (number := _gid_number(self.id)) is None:
            raise ValueError("a Shopify customer needs a numeric legacyResourceId or gid")
        return number


# -- errors: HTTP statuses, and GraphQL errors' codes in 200 answers ------------------

_UNSERVED = Say(ProviderUnavailable, "could not serve the shop")
CODES = {  # extensions.code; of several errors, the one whose code comes first here wins
    "THROTTLED": Say(ProviderRateLimited, "GraphQL query cost limit reached"),
    "ACCESS_DENIED": Say(ProviderAuthFailed, "denied access to customers: the app needs the "
                         "read_customers scope and approval for protected customer data"),
    "SHOP_INACTIVE": _UNSERVED,
    "INTERNAL_SERVER_ERROR": _UNSERVED,
    "MAX_COST_EXCEEDED": Say(ProviderBadResponse, "rejected the query as too costly"),
}


def _words(body: Any) -> Words:
    """``{"errors": "..."}``, or the error of ``{"errors": [...]}`` whose code comes
    first in CODES, else the first with a code, else the first."""
    errors = msgspec.convert(body, Envelope).errors or [GraphQLError()]
    if isinstance(errors, str):
        return Words(message=errors)
    rank = {**{code: i for i, code in enumerate(CODES)}, None: len(CODES) + 1}
    error = min(errors, key=lambda e: rank.get(e.extensions.code, len(CODES)))
    return Words(error.extensions.code, error.message)


def _wait(response: UpstreamResponse) -> float | None:
    """``Retry-After``, else the bucket of a THROTTLED body."""
    if (wait := retry_after_header(response)) is not None:
        return wait
    try:
        return msgspec.convert(json_body(response), Envelope).extensions.cost.wait()
    except msgspec.ValidationError:
        return None


class ShopifyProvider(Provider[ShopifyCredentials, ShopifySettings]):
    name = "shopify"
    display_name = "Shopify"
    destination_settings = Provider.destination_settings | {"shop"}
    remote_query_supported = False  # a GraphQL POST has no query string to forward parameters to
    payload_type = ShopifyCustomer
    errors = ErrorTable("Shopify", read=_words, wait=_wait, codes=CODES, statuses={
        401: Say(ProviderAuthFailed, "rejected the access token or its scopes"),
        403: Say(ProviderAuthFailed, "rejected the access token or its scopes"),
        404: Say(ProviderBadResponse, "has no GraphQL Admin API here: check shop and api_version"),
        402: Say(ProviderUnavailable, "shop is frozen (unpaid)"),
        423: Say(ProviderUnavailable, "shop is locked"),
        200: Say(ProviderBadResponse, "rejected the query"),  # GraphQL errors of no code in CODES
    })

    # The OAuth install's credentials, beside the key form's (credentials_type).
    credentials_alternatives = (ShopifyOAuthCredentials,)

    @property
    def shop_origin(self) -> str:
        return f"https://{self.settings.shop}{SHOP_DOMAIN}"

    @property
    def endpoint(self) -> str:
        origin = self.settings.base_url or self.shop_origin
        return f"{origin}/admin/api/{self.settings.api_version}/graphql.json"

    @property
    def auth_origin(self) -> str:
        return self.settings.auth_url or self.shop_origin

    def make_auth(self) -> HeaderToken | OAuthAccess:
        c = self.credentials
        if isinstance(c, ShopifyOAuthCredentials):
            return refresh_token(
                "Shopify", self.http, self.auth_origin + TOKEN_PATH, c.client_id, c.client_secret, c.refresh_token,
                store=self.tokens, header="X-Shopify-Access-Token", scheme=None, send="json",
            )
        return HeaderToken(c.access_token, header="X-Shopify-Access-Token")

    def valid_customer_id(self, customer_id: str) -> bool:
        return is_numeric_id(customer_id) and int(customer_id) < 2**64  # UnsignedInt64

    @staticmethod
    def _queries() -> Queries:
        """The operations for the metafields this call's field mappings read."""
        return queries(metafields_read(calls.current().mapped))

    async def fetch_customer(
        self, customer_id: str, query: Mapping[str, str] | None = None
    ) -> dict[str, Any] | ShopifyCustomer:
        """The raw customer, or, when the call keeps no raw, its payload
        decoded straight from the answer (no plain copy, no second pass)."""
        ops = self._queries()
        variables = {"id": f"gid://shopify/Customer/{customer_id}", **ops.variables}
        typed = None if calls.current().keep_raw else CustomerData[ShopifyCustomer]
        raw = (await self._graphql(ops.get, variables, ops.customer_cost, CustomerData[RawNode], typed)).customer
        if raw is None:
            raise CustomerNotFound(f"no Shopify customer has id {customer_id!r}")
        try:
            payload = raw if isinstance(raw, ShopifyCustomer) else msgspec.convert(raw, ShopifyCustomer)
            found = payload.remote_id
        except ValueError as exc:  # msgspec.ValidationError is one; so is remote_id's refusal
            raise ProviderBadResponse(f"Shopify answered with a customer of an unexpected shape: {exc}") from None
        self.check_customer_id(found, customer_id)
        return raw

    async def list_customers(self, request: PageRequest) -> Page:
        ops = self._queries()
        typed = None if calls.current().keep_raw else CustomersData[ShopifyCustomer]  # see fetch_customer

        async def fetch(backward: bool, size: int, cursor: str | None) -> paging.Edge:
            cost = LIST_COST + size * ops.customer_cost
            variables = {"n": size, "cursor": cursor, **ops.variables}
            query = ops.backward if backward else ops.forward
            data = await self._graphql(query, variables, cost, CustomersData[RawNode], typed)
            info = data.customers.page_info
            return paging.Edge(
                data.customers.nodes, info.has_next_page, info.has_previous_page, info.start_cursor, info.end_cursor
            )

        # Many mapped metafields make small queries: a full page still fits.
        max_calls = max(paging.MAX_CALLS, math.ceil(request.limit / ops.page_size))
        return await paging.connection_walk(request, fetch, ops.page_size, max_calls)

    async def verify(self) -> None:
        await self._graphql(VERIFY_QUERY, {}, VERIFY_COST, ShopData)

    async def _graphql(
        self, query: str, variables: dict[str, Any], cost: int, type_: type[T], typed: type[Any] | None = None
    ) -> Any:
        """POST one operation; ``data`` as ``type_``, or the classified error.
        ``typed``: try the answer straight into these Structs first, in one pass."""
        payload = {"query": query, "variables": variables}
        response = await self.send("POST", self.endpoint, json=payload, headers={"Accept": "application/json"})
        if typed is not None and 200 <= response.status < 300:
            try:
                answer = self.read_json(response, Envelope[typed])  # type: ignore[valid-type]
            except ProviderBadResponse:
                answer = None  # read again as an Envelope: what is wrong is said there
            if answer is not None and not answer.errors and answer.data is not None:
                _note_bucket(answer.extensions)
                return answer.data
        body = self.read_json(response, Envelope)
        _note_bucket(body.extensions)
        if body.errors:
            error = self.classify_error(response)
            if isinstance(error, ProviderRateLimited) and error.retry_after is None:
                error.retry_after = body.extensions.cost.wait(cost)  # no requestedQueryCost: ours
            raise error
        try:
            return msgspec.convert(body.data, type_)
        except msgspec.ValidationError as exc:
            raise ProviderBadResponse(
                f"Shopify answered with unexpected data: {exc}", remote_status=response.status
            ) from None

    @staticmethod
    def map_payload(raw: ShopifyCustomer) -> Customer:
        first, last = text(raw.first_name), text(raw.last_name)
        email = text((raw.default_email_address or Detail()).email_address)
        phone = text((raw.default_phone_number or Detail()).phone_number)
        state = text(raw.state)
        return unified_customer(
            remote_id=raw.remote_id, first_name=first, last_name=last, name=text(raw.display_name),
            company_name=text((raw.default_address or MailingAddress()).company),
            status=_STATUS.get(state, state) if state else None,  # see the docstring
            currency=text((raw.amount_spent or Detail()).currency_code),
            emails=[Email(email=email)] if email else [],  # one each at most
            phones=[Phone(number=phone)] if phone else [],
            addresses=map(_address, _address_book(raw)),
            created_at=utc_timestamp(raw.created_at),
            modified_at=utc_timestamp(raw.updated_at),
        )


def _note_bucket(extensions: Extensions) -> None:
    """The query-cost bucket, passed on as a rate-limit header would be."""
    bucket = extensions.cost.throttle_status
    if bucket.maximum_available is not None and bucket.currently_available is not None:
        calls.current().rate_limit = calls.RateLimitState(
            limit=bucket.maximum_available, remaining=bucket.currently_available
        )


_STATUS = {"ENABLED": "active", "DISABLED": "inactive", "DECLINED": "inactive"}  # INVITED: as is


def _address_book(raw: ShopifyCustomer) -> list[tuple[str | None, MailingAddress]]:
    """``addressesV2``, each with its id, the default address first; the
    default is added when it is not among them (beyond the first ADDRESS_PAGE)."""
    nodes = raw.addresses_v2.nodes
    nodes = nodes if nodes is not None else [edge.node for edge in raw.addresses_v2.edges]
    book = [(_gid_number(a.id) or a.id, a) for a in nodes]
    if (default := raw.default_address) is None:
        return book
    key = _gid_number(default.id) or default.id
    index = next((i for i, (id_, _) in enumerate(book) if id_ == key), None)
    return [(key, default), *book] if index is None else [book[index], *book[:index], *book[index + 1 :]]


def _address(entry: tuple[str | None, MailingAddress]) -> Address:
    """No address_type: Shopify's book has no billing or shipping."""
    id_, item = entry
    return unified_address(
        id=id_, street_1=item.address1, street_2=item.address2, city=item.city,
        state=text(item.province_code) or item.province, postal_code=item.zip,
        country=text(item.country_code_v2) or item.country,
    )


def _gid_number(value: str | None) -> str | None:
    match = _GID.match(value) if value is not None else None
    return match.group(1) if match else None
