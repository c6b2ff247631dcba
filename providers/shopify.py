"""Shopify: customers from the GraphQL Admin API (REST is legacy).

Endpoint: ``POST https://{shop}.myshopify.com/admin/api/{api_version}/graphql.json``
with ``X-Shopify-Access-Token: {access_token}`` and a JSON body
``{"query": ..., "variables": {...}}``. ``base_url`` replaces the
``https://{shop}.myshopify.com`` origin and keeps the path.

* get one: ``customer(id: "gid://shopify/Customer/{id}")``; ids are the
  numeric REST ids (``legacyResourceId``, UnsignedInt64), so anything else is
  not found without a call. The raw payload (remote_data) is
  ``data.customer``, which carries ``metafields`` (first 50) for tenants'
  field mappings and up to 50 ``addressesV2`` entries.
* list: ``customers(first: n, after: $cursor)`` / ``customers(last: n,
  before: $cursor)`` with ``pageInfo``, in id order (the default sort key).
  A single query may cost at most 1,000 points, and each customer node with
  its two 50-entry connections costs about 109, so a provider page holds 9
  customers and a larger ``limit`` is served by reading several pages.
* verify: ``{ shop { id } }``.

Settings: ``shop`` is the store's ``name`` or ``name.myshopify.com``
(lowercase letters, digits and hyphens; stored as the bare name);
``api_version`` is a quarterly ``YYYY-MM`` (MM in 01/04/07/10) or
``unstable``, default ``2026-10``. Shopify answers a retired version with
the oldest supported one.

Errors. GraphQL failures come as HTTP 200 with ``errors[]``:
``extensions.code`` THROTTLED -> ProviderRateLimited, waiting until the
bucket holds the query's cost: ``(requestedQueryCost - currentlyAvailable)
/ restoreRate`` from ``extensions.cost``; ACCESS_DENIED (missing
``read_customers`` scope, or the app is not approved for protected customer
data) -> ProviderAuthFailed; SHOP_INACTIVE and INTERNAL_SERVER_ERROR ->
ProviderUnavailable; any other error -> ProviderBadResponse. Errors win over
data: an ACCESS_DENIED comes with ``customer: null``, which is no missing
customer. ``data.customer: null`` without errors -> CustomerNotFound.
HTTP: 401/403 -> ProviderAuthFailed; 429 -> ProviderRateLimited
(``Retry-After``); 402 (frozen shop) and 423 (locked shop) and 5xx ->
ProviderUnavailable; 404 comes from a wrong shop or api_version, never a
missing customer -> ProviderBadResponse. Messages quote Shopify's error text
shortened and with the token removed.

Mapping notes: ``name`` is ``displayName`` (first + last, else email, else
phone). ``status`` is null: Shopify's ``state`` (ENABLED/DISABLED/INVITED/
DECLINED) is the login-account state of classic customer accounts, not a
customer status; it stays in remote_data. ``company_name`` is the default
address's company (customers have no company field). Addresses have no
billing/shipping type; the default address comes first. ``currency`` is
``amountSpent.currencyCode``.

Uncertain (not documented, handled defensively):
* the 1,000-point single-query maximum and the per-field costs behind the
  list page size come from the rate-limit guide, not from a measured query;
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
(2025-04); https://shopify.dev/docs/apps/build/apis/graphql-admin/rate-limits ;
https://shopify.dev/docs/api/admin-rest (401 body);
https://shopify.dev/docs/api/usage/response-codes ;
recorded ACCESS_DENIED body in NangoHQ/integration-templates
``integrations/shopify/tests/set-customer-email-marketing-consent.test.json``.
"""

from __future__ import annotations

import math
import re
from typing import Annotated, Any, Mapping

import msgspec

from . import calls
from .base import CommonSettings, Page, PageRequest, Provider, is_numeric_id
from .errors import (
    CustomerNotFound,
    ProviderAuthFailed,
    ProviderBadResponse,
    ProviderError,
    ProviderRateLimited,
    ProviderUnavailable,
)
from .http import UpstreamResponse, retry_after_seconds
from .models import Address, Customer, Email, Phone
from .normalize import (
    country_code,
    full_name,
    keep_address,
    one_primary_email,
    one_primary_phone,
    text,
    utc_timestamp,
)

DEFAULT_API_VERSION = "2026-10"
SHOP_DOMAIN = ".myshopify.com"
# A DNS label of lowercase letters, digits and hyphens.
_SHOP = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
_API_VERSION = re.compile(r"^(?:20[1-9][0-9]-(?:01|04|07|10)|unstable)$")
# Visible ASCII only: the token is sent as a header value.
_TOKEN = re.compile(r"^[\x21-\x7e]{1,512}$")
# gid://shopify/MailingAddress/544365967?model_name=CustomerAddress
_GID = re.compile(r"^gid://shopify/[A-Za-z]+/([0-9]+)(?:\?.*)?$")
_UINT64_MAX = 2**64 - 1

ADDRESS_PAGE = 50
METAFIELD_PAGE = 50
MAX_QUERY_COST = 1000  # Shopify refuses a single query above this (MAX_COST_EXCEEDED)
# Objects cost 1, scalars 0, a connection 2 + first * node: the customer,
# defaultEmailAddress, defaultPhoneNumber, amountSpent, defaultAddress, then
# addressesV2 and metafields.
CUSTOMER_COST = 5 + (2 + ADDRESS_PAGE) + (2 + METAFIELD_PAGE)
LIST_PAGE_SIZE = (MAX_QUERY_COST - 3) // CUSTOMER_COST  # 3: the connection + pageInfo
MAX_CURSOR_LENGTH = 1024

_ADDRESS_FIELDS = (
    "id firstName lastName company address1 address2 city province provinceCode "
    "zip country countryCodeV2 phone"
)
CUSTOMER_FIELDS = f"""fragment CustomerFields on Customer {{
  id legacyResourceId firstName lastName displayName state createdAt updatedAt
  note tags verifiedEmail taxExempt
  defaultEmailAddress {{ emailAddress marketingState }}
  defaultPhoneNumber {{ phoneNumber marketingState }}
  amountSpent {{ amount currencyCode }}
  defaultAddress {{ ...AddressFields }}
  addressesV2(first: {ADDRESS_PAGE}) {{ nodes {{ ...AddressFields }} }}
  metafields(first: {METAFIELD_PAGE}) {{ nodes {{ namespace key value type }} }}
}}
fragment AddressFields on MailingAddress {{ {_ADDRESS_FIELDS} }}
"""
CUSTOMER_QUERY = (
    "query GetCustomer($id: ID!) { customer(id: $id) { ...CustomerFields } }\n" + CUSTOMER_FIELDS
)
_PAGE_INFO = "pageInfo { hasNextPage hasPreviousPage startCursor endCursor }"
LIST_FORWARD_QUERY = (
    "query ListCustomers($n: Int!, $cursor: String) { customers(first: $n, after: $cursor) "
    f"{{ nodes {{ ...CustomerFields }} {_PAGE_INFO} }} }}\n" + CUSTOMER_FIELDS
)
LIST_BACKWARD_QUERY = (
    "query ListCustomersBefore($n: Int!, $cursor: String) { customers(last: $n, before: $cursor) "
    f"{{ nodes {{ ...CustomerFields }} {_PAGE_INFO} }} }}\n" + CUSTOMER_FIELDS
)
VERIFY_QUERY = "query Verify { shop { id } }"
VERIFY_COST = 1


class ShopifyCredentials(msgspec.Struct, forbid_unknown_fields=True):
    access_token: Annotated[str, msgspec.Meta(description=(
        "Admin API access token of a custom app (shpat_...), with the read_customers scope"
    ))]

    def __post_init__(self) -> None:
        if not _TOKEN.match(self.access_token):
            raise ValueError(
                "access_token must be the Admin API access token (shpat_..., shpca_...), "
                "without spaces"
            )

    def __repr__(self) -> str:  # never print a secret
        return "ShopifyCredentials(access_token=...)"


class ShopifySettings(CommonSettings, kw_only=True, forbid_unknown_fields=True):
    shop: Annotated[str, msgspec.Meta(description="the store's name, or name.myshopify.com")]
    api_version: Annotated[str, msgspec.Meta(description=(
        "Admin API release YYYY-MM (MM one of 01, 04, 07, 10), or unstable"
    ))] = DEFAULT_API_VERSION

    def __post_init__(self) -> None:
        super().__post_init__()
        self.shop = normalise_shop(self.shop)
        if not _API_VERSION.match(self.api_version):
            raise ValueError(
                "api_version must be a Shopify release like 2026-10 (YYYY-01, -04, -07 or -10) "
                "or 'unstable'"
            )


def normalise_shop(value: str) -> str:
    """``name`` or ``name.myshopify.com`` (any case) -> ``name``."""
    shop = value.strip().lower()
    if shop.endswith(SHOP_DOMAIN):
        shop = shop[: -len(SHOP_DOMAIN)]
    if not _SHOP.match(shop):
        raise ValueError(
            "shop must be the store's myshopify name, e.g. my-store or my-store.myshopify.com "
            "(letters, digits and hyphens; no https:// and no custom domain)"
        )
    return shop


class ShopifyProvider(Provider):
    name = "shopify"
    display_name = "Shopify"
    credentials_type = ShopifyCredentials
    settings_type = ShopifySettings
    destination_settings = Provider.destination_settings | {"shop"}
    # A GraphQL POST has no query string to forward parameters to.
    remote_query_supported = False

    credentials: ShopifyCredentials
    settings: ShopifySettings

    @property
    def origin(self) -> str:
        return self.settings.base_url or f"https://{self.settings.shop}{SHOP_DOMAIN}"

    @property
    def endpoint(self) -> str:
        return f"{self.origin}/admin/api/{self.settings.api_version}/graphql.json"

    # -- requests --------------------------------------------------------------

    def valid_customer_id(self, customer_id: str) -> bool:
        return is_numeric_id(customer_id) and int(customer_id) <= _UINT64_MAX

    async def fetch_customer(
        self, customer_id: str, query: Mapping[str, str] | None = None
    ) -> dict[str, Any]:
        data = await self._graphql(
            CUSTOMER_QUERY, {"id": f"gid://shopify/Customer/{customer_id}"}, CUSTOMER_COST
        )
        if "customer" not in data:
            raise ProviderBadResponse("Shopify answered without `data.customer`")
        raw = data["customer"]
        if raw is None:
            raise CustomerNotFound(f"no Shopify customer has id {customer_id!r}")
        if not isinstance(raw, dict):
            raise ProviderBadResponse("Shopify answered with a customer that is not an object")
        try:
            same = _customer_id(raw) == customer_id
        except ValueError:
            raise ProviderBadResponse("Shopify answered with a customer without an id") from None
        if not same:
            raise ProviderBadResponse(
                "Shopify answered with another customer than the one asked for"
            )
        return raw

    async def list_customers(self, request: PageRequest) -> Page:
        """Cursor paging over whole provider pages, forward (``after``) or
        backward (``before``), so page boundaries are Shopify's own cursors."""
        state = request.state or {}
        before = _cursor(state.get("before"))
        after = None if before else _cursor(state.get("after"))
        backward = before is not None
        more_key, cursor_key = (
            ("hasPreviousPage", "startCursor") if backward else ("hasNextPage", "endCursor")
        )
        cursor = before or after
        items: list[dict[str, Any]] = []
        infos: list[dict[str, Any]] = []  # pageInfo of each provider page, in reading order
        while not infos or len(items) < request.limit:
            size = max(1, min(request.limit - len(items), LIST_PAGE_SIZE))
            nodes, info = await self._customers_page(backward, size, cursor)
            items = nodes + items if backward else items + nodes
            infos.append(info)
            cursor = _cursor(info.get(cursor_key))
            if not nodes or info.get(more_key) is not True or cursor is None:
                break
        first, last = (infos[-1], infos[0]) if backward else (infos[0], infos[-1])
        start, end = _cursor(first.get("startCursor")), _cursor(last.get("endCursor"))
        # Coming from a cursor proves there is a page on that side.
        has_prev = first.get("hasPreviousPage") is True or after is not None
        has_next = last.get("hasNextPage") is True or before is not None
        return Page(
            items=items,
            next={"after": end} if items and end and has_next else None,
            prev={"before": start} if items and start and has_prev else None,
        )

    async def verify(self) -> None:
        data = await self._graphql(VERIFY_QUERY, {}, VERIFY_COST)
        if not isinstance(data.get("shop"), dict):
            raise ProviderBadResponse("Shopify answered without `data.shop`")

    async def _customers_page(
        self, backward: bool, size: int, cursor: str | None
    ) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        data = await self._graphql(
            LIST_BACKWARD_QUERY if backward else LIST_FORWARD_QUERY,
            {"n": size, "cursor": cursor},
            3 + size * CUSTOMER_COST,
        )
        connection = data.get("customers")
        nodes = connection.get("nodes") if isinstance(connection, dict) else None
        info = connection.get("pageInfo") if isinstance(connection, dict) else None
        if not isinstance(nodes, list) or not all(isinstance(n, dict) for n in nodes):
            raise ProviderBadResponse("Shopify answered without a `customers.nodes` list")
        if not isinstance(info, dict):
            raise ProviderBadResponse("Shopify answered without `customers.pageInfo`")
        return nodes, info

    async def _graphql(self, query: str, variables: dict[str, Any], cost: int) -> dict[str, Any]:
        """POST one operation; returns ``data`` or raises the classified error."""
        assert self.http is not None
        response = await self.http.request(
            "POST",
            self.endpoint,
            headers={
                "X-Shopify-Access-Token": self.credentials.access_token,
                "Accept": "application/json",
            },
            json={"query": query, "variables": variables},
        )
        body = self.ok_json(response)
        if not isinstance(body, dict):
            raise ProviderBadResponse("Shopify answered with JSON that is not an object")
        _record_throttle_status(body)
        errors = body.get("errors")
        if errors:
            raise self._graphql_error(errors, body, cost, response.status)
        data = body.get("data")
        if not isinstance(data, dict):
            raise ProviderBadResponse("Shopify answered without a `data` object")
        return data

    # -- errors ----------------------------------------------------------------

    def _graphql_error(
        self, errors: Any, body: dict[str, Any], cost: int, status: int
    ) -> ProviderError:
        """Top-level ``errors[]`` of a 200 answer, by ``extensions.code``."""
        if not isinstance(errors, list):
            return ProviderBadResponse(
                "Shopify answered with errors" + self._detail(errors), remote_status=status
            )
        entries = [e for e in errors if isinstance(e, dict)]
        codes = [_obj(e, "extensions").get("code") for e in entries]

        def first(code: str | None) -> str:
            fallback = entries[0] if entries else {}
            entry = next((e for e, c in zip(entries, codes) if c == code), fallback)
            return self._detail(entry.get("message"), code)

        if "THROTTLED" in codes:
            return ProviderRateLimited(
                "Shopify GraphQL query cost limit reached" + first("THROTTLED"),
                remote_status=status,
                retry_after=_throttle_wait(body, cost),
            )
        if "ACCESS_DENIED" in codes:
            return ProviderAuthFailed(
                "Shopify denied access to customers: the app needs the read_customers scope and "
                "approval for protected customer data" + first("ACCESS_DENIED"),
                remote_status=status,
            )
        for code in ("SHOP_INACTIVE", "INTERNAL_SERVER_ERROR"):
            if code in codes:
                return ProviderUnavailable(
                    "Shopify could not serve the shop" + first(code), remote_status=status
                )
        code = next((c for c in codes if isinstance(c, str)), None)
        return ProviderBadResponse("Shopify rejected the query" + first(code), remote_status=status)

    def classify_error(self, response: UpstreamResponse) -> ProviderError:
        status = response.status
        detail = self._detail(_error_text(response.body), str(status))
        if status in (401, 403):
            return ProviderAuthFailed(
                "Shopify rejected the access token or its scopes" + detail, remote_status=status
            )
        if status == 404:
            return ProviderBadResponse(
                "Shopify has no GraphQL Admin API here: check shop and api_version" + detail,
                remote_status=status,
            )
        if status == 429:
            wait = retry_after_seconds(response.headers.get("Retry-After"))
            if wait is None:
                wait = _throttle_wait(_json_object(response.body), None)
            return ProviderRateLimited(
                "Shopify rate limit reached" + detail, remote_status=status, retry_after=wait
            )
        if status == 402:
            return ProviderUnavailable(
                "Shopify shop is frozen (unpaid)" + detail, remote_status=status
            )
        if status == 423:
            return ProviderUnavailable("Shopify shop is locked" + detail, remote_status=status)
        if status >= 500:
            return ProviderUnavailable("Shopify failed" + detail, remote_status=status)
        return ProviderBadResponse("Shopify refused the request" + detail, remote_status=status)

    def _detail(self, message: Any, code: str | None = None) -> str:
        """`` (code: message)``, short, with the token scrubbed."""
        words = text(message) if isinstance(message, str) else None
        if words:
            words = self.redact(words)
        parts = [p for p in (code, words) if p]
        return f" ({': '.join(parts)})" if parts else ""

    # -- mapping ---------------------------------------------------------------

    @staticmethod
    def map_customer(raw: dict[str, Any]) -> Customer:
        remote_id = _customer_id(raw)
        first, last = text(raw.get("firstName")), text(raw.get("lastName"))
        email = text(_obj(raw, "defaultEmailAddress").get("emailAddress"))
        phone = text(_obj(raw, "defaultPhoneNumber").get("phoneNumber"))
        addresses = [_address(a) for a in _address_book(raw)]
        return Customer(
            id=remote_id,
            remote_id=remote_id,
            email=email,
            first_name=first,
            last_name=last,
            name=text(raw.get("displayName")) or full_name(first, last),
            company_name=text(_obj(raw, "defaultAddress").get("company")),
            phone_number=phone,
            status=None,  # `state` is the login account's state, not a customer status
            currency=text(_obj(raw, "amountSpent").get("currencyCode")),
            emails=one_primary_email([Email(email=email, is_primary=True)] if email else []),
            phones=one_primary_phone([Phone(number=phone, is_primary=True)] if phone else []),
            addresses=[a for a in addresses if keep_address(a)],
            created_at=utc_timestamp(raw.get("createdAt")),
            modified_at=utc_timestamp(raw.get("updatedAt")),
        )


def _customer_id(raw: dict[str, Any]) -> str:
    """``legacyResourceId`` (UnsignedInt64, sent as a string), else the gid's number."""
    legacy = raw.get("legacyResourceId")
    if isinstance(legacy, int) and not isinstance(legacy, bool) and legacy > 0:
        return str(legacy)
    if isinstance(legacy, str) and is_numeric_id(legacy):
        return legacy
    number = _gid_number(raw.get("id"))
    if number is None:
        raise ValueError("a Shopify customer needs a numeric legacyResourceId or gid")
    return number


def _gid_number(value: Any) -> str | None:
    match = _GID.match(value) if isinstance(value, str) else None
    return match.group(1) if match else None


def _address_book(raw: dict[str, Any]) -> list[dict[str, Any]]:
    """``addressesV2`` nodes with the default address first; the default is
    added when it is not among them (beyond the first 50)."""
    book = _nodes(raw.get("addressesV2"))
    default = _obj(raw, "defaultAddress")
    if not default:
        return book
    key = _gid_number(default.get("id")) or default.get("id")
    index = next(
        (i for i, a in enumerate(book) if (_gid_number(a.get("id")) or a.get("id")) == key), None
    )
    if index is None:
        return [default, *book]
    return [book[index], *book[:index], *book[index + 1 :]]


def _address(item: dict[str, Any]) -> Address:
    return Address(
        id=_gid_number(item.get("id")) or text(item.get("id")),
        street_1=text(item.get("address1")),
        street_2=text(item.get("address2")),
        city=text(item.get("city")),
        state=text(item.get("provinceCode")) or text(item.get("province")),
        postal_code=text(item.get("zip")),
        country=country_code(item.get("countryCodeV2")) or country_code(item.get("country")),
        address_type=None,  # Shopify's address book has no billing/shipping type
    )


def _nodes(connection: Any) -> list[dict[str, Any]]:
    """A connection's nodes, from ``nodes`` or ``edges[].node``."""
    if not isinstance(connection, dict):
        return []
    nodes = connection.get("nodes")
    if not isinstance(nodes, list):
        edges = connection.get("edges")
        edges = edges if isinstance(edges, list) else []
        nodes = [e.get("node") for e in edges if isinstance(e, dict)]
    return [n for n in nodes if isinstance(n, dict)]


def _obj(parent: Any, key: str) -> dict[str, Any]:
    value = parent.get(key) if isinstance(parent, dict) else None
    return value if isinstance(value, dict) else {}


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def _throttle_wait(body: Any, fallback_cost: int | None) -> float | None:
    """Seconds until the bucket holds the query's cost again:
    ``(requestedQueryCost - currentlyAvailable) / restoreRate``, at least the
    time to restore one point."""
    cost = _obj(_obj(body, "extensions"), "cost")
    status = _obj(cost, "throttleStatus")
    available, rate = _number(status.get("currentlyAvailable")), _number(status.get("restoreRate"))
    requested = _number(cost.get("requestedQueryCost"))
    if requested is None and fallback_cost is not None:
        requested = float(fallback_cost)
    if available is None or rate is None or rate <= 0 or requested is None:
        return None
    return round(max((requested - available) / rate, 1 / rate), 3)


def _record_throttle_status(body: dict[str, Any]) -> None:
    """Expose the cost bucket like a rate-limit header would (limit/remaining)."""
    status = _obj(_obj(_obj(body, "extensions"), "cost"), "throttleStatus")
    limit = _number(status.get("maximumAvailable"))
    remaining = _number(status.get("currentlyAvailable"))
    if limit is not None and remaining is not None:
        calls.current().rate_limit = calls.RateLimitState(limit=limit, remaining=remaining)


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        decoded = msgspec.json.decode(body)
    except msgspec.DecodeError:
        return {}
    return decoded if isinstance(decoded, dict) else {}


def _error_text(body: bytes) -> str | None:
    """Shopify's HTTP error text: ``{"errors": "..."}``, or the first
    message of ``{"errors": [{"message": ...}]}``."""
    errors = _json_object(body).get("errors")
    if isinstance(errors, str):
        return errors
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        message = errors[0].get("message")
        return message if isinstance(message, str) else None
    return None


def _cursor(value: Any) -> str | None:
    if isinstance(value, str) and 0 < len(value) <= MAX_CURSOR_LENGTH:
        return value
    return None
