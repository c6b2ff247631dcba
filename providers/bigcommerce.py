"""BigCommerce: customers from the v3 Customers API.

Endpoints (origin ``https://api.bigcommerce.com``, replaced by ``base_url``):

* get one: ``GET /stores/{store_hash}/v3/customers?id:in={id}&include=addresses``.
  v3 has no ``GET /customers/{id}``, so a lookup is a filtered list: the
  customer is ``data[0]`` and an empty ``data`` means not found.
* all addresses: the inline ``addresses`` are "Limited to 10"; when
  ``address_count`` says there are more, they are read from
  ``GET /stores/{store_hash}/v3/customers/addresses?customer_id:in={id}&page=N&limit=250``
  and replace the inline list in the raw payload.
* list: ``GET /stores/{store_hash}/v3/customers?limit=N&include=addresses``,
  then ``after={end_cursor}`` / ``before={start_cursor}`` (cursor paging).
* verify: ``GET /stores/{store_hash}/v3/customers?limit=1``.

Auth: ``X-Auth-Token: {access_token}`` and ``Accept: application/json``
(``X-Auth-Client`` is no longer required). Tokens do not expire; no refresh.

Errors are problem JSON ``{"status", "title", "type", "instance", "errors"}``:
401/403 -> ProviderAuthFailed (403 is also BigCommerce's answer for a wrong
store hash or a missing ``store_v2_customers_read_only`` scope); 404 ->
ProviderAuthFailed as well: the customers collection exists in every store,
so a 404 there means the connection addresses no store (wrong store hash or
``base_url`` path), a fault of the connection's settings that verify() must
report as rejected, not a missing customer; 422 (invalid filter) and other
4xx -> ProviderBadResponse; 429 -> ProviderRateLimited, waiting
``X-Rate-Limit-Time-Reset-Ms`` (ms), else ``X-Retry-After``/``Retry-After``
(s); a 429 without them is platform load (no hint); 503 (store down for
maintenance or suspended) and other 5xx -> ProviderUnavailable.

Uncertain (not documented, handled defensively):
* whether ``address_count`` is always sent with ``include=addresses`` (a
  retired doc example shows it); without it, 10 inline addresses (the cap)
  are taken as "maybe more" and the addresses endpoint is read;
* the cursor ``links.next``/``links.previous`` are taken as present exactly
  when such a page exists (a recorded last page shows ``"links": {}``).

Sources: bigcommerce/docs ``reference/customers.v3.yml`` (paths, params,
``customer_Full``/``address_Full``, ``_metaCollectionWithCursorPagination``),
``docs/start/about/status-codes.mdx``, ``docs/start/about/index.mdx``
(``X-Retry-After``), ``docs/api-docs/getting-started/api-rate-limits.mdx``,
``docs/start/authentication/index.mdx``;
https://developer.bigcommerce.com/docs/rest-management/customers
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Mapping, Union

import msgspec

from .auth import HeaderToken
from .base import CommonSettings, Credentials, Page, PageRequest, Provider, is_numeric_id
from .error_table import ErrorTable, Say, Words
from .errors import CustomerNotFound, ProviderAuthFailed, ProviderBadResponse, ProviderUnavailable
from .http import UpstreamResponse, retry_after_seconds
from .models import Customer, Email, Phone
from .normalize import text, unified_address, unified_customer, utc_timestamp

# Store hashes are short lowercase alphanumerics ("abc123", "hc5d9t2irc").
_STORE_HASH = re.compile(r"^[a-z0-9]{1,32}$")
# Visible ASCII only: a token is sent as a header value.
_TOKEN = re.compile(r"^[\x21-\x7e]{1,512}$")
_INT32_MAX = 2**31 - 1  # customer ids are int32 in customer_Full
INLINE_ADDRESS_CAP = 10  # "Array of customer addresses. Limited to 10."
MAX_PAGE_SIZE = 250  # BigCommerce's maximum `limit`
MAX_ADDRESS_PAGES = 40  # a bound on paging, far above any real address book
# An id as BigCommerce sends it: an integer (a string of digits is read too).
Id = Union[int, Annotated[str, msgspec.Meta(pattern=r"^[0-9]+$")]]


class BigCommerceCredentials(Credentials):
    access_token: Annotated[str, msgspec.Meta(description=(
        "API account access token (X-Auth-Token) with the Customers read-only scope"
    ))]

    def __post_init__(self) -> None:
        if not _TOKEN.match(self.access_token):
            raise ValueError("access_token must be a non-empty token without spaces")


class BigCommerceSettings(CommonSettings, kw_only=True, forbid_unknown_fields=True):
    store_hash: Annotated[str, msgspec.Meta(description=(
        "the store hash, the part after /stores/ in the API path, e.g. abc123"
    ))]

    def __post_init__(self) -> None:
        super().__post_init__()
        if not _STORE_HASH.match(self.store_hash):
            raise ValueError(
                "store_hash must be the store's lowercase alphanumeric hash, e.g. abc123 "
                "(the part after /stores/ in the API path)"
            )


# -- envelopes: `data` stays raw (it is remote_data), `meta` is read typed -------------


class Links(msgspec.Struct):
    next: str | None = None
    previous: str | None = None


class CursorPagination(msgspec.Struct):
    start_cursor: str | None = None
    end_cursor: str | None = None
    links: Links = msgspec.field(default_factory=Links)


class Pagination(msgspec.Struct):
    current_page: int = 0
    total_pages: int = 0


class Meta(msgspec.Struct):
    pagination: Pagination = msgspec.field(default_factory=Pagination)
    cursor_pagination: CursorPagination = msgspec.field(default_factory=CursorPagination)


class Envelope(msgspec.Struct):
    data: list[dict[str, Any]]
    meta: Meta = msgspec.field(default_factory=Meta)


# -- the customer as the mapping and the address completion read it ---------------------


class AddressPayload(msgspec.Struct):
    id: int | str | None = None
    address1: str | None = None
    address2: str | None = None
    city: str | None = None
    state_or_province: str | None = None
    postal_code: str | None = None
    country_code: str | None = None


class CustomerPayload(msgspec.Struct):
    id: Id
    email: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    company: str | None = None
    phone: str | None = None
    date_created: str | None = None
    date_modified: str | None = None
    addresses: list[AddressPayload] | None = None
    address_count: int | None = None  # not mapped: says whether `addresses` is complete


# -- errors: problem JSON {"status", "title", "type", "instance", "errors"} --------------


def reset_wait(response: UpstreamResponse) -> float | None:
    """BigCommerce's wait: the window's reset in ms, else the seconds headers."""
    try:
        reset_ms = float(response.headers.get("X-Rate-Limit-Time-Reset-Ms") or "")
    except ValueError:
        reset_ms = -1.0
    if 0 <= reset_ms < float("inf"):
        return reset_ms / 1000
    waits = (retry_after_seconds(response.headers.get(h)) for h in ("X-Retry-After", "Retry-After"))
    return next((seconds for seconds in waits if seconds is not None), None)


_REJECTED = Say(ProviderAuthFailed, "rejected the access token, its scopes or the store hash")


class BigCommerceProvider(Provider[BigCommerceCredentials, BigCommerceSettings]):
    name = "bigcommerce"
    display_name = "BigCommerce"
    payload_type = CustomerPayload
    default_origin = "https://api.bigcommerce.com"
    # include_fields/exclude_fields could drop `id` or `addresses` from the
    # payload the mapping and the id check rely on.
    remote_query_denied = Provider.remote_query_denied | {"include_fields", "exclude_fields"}
    destination_settings = Provider.destination_settings | {"store_hash"}
    address_page_size = MAX_PAGE_SIZE
    errors = ErrorTable(
        "BigCommerce",
        read=lambda problem: Words(message=problem.get("title")),
        wait=reset_wait,
        statuses={
            401: _REJECTED,
            403: _REJECTED,
            404: Say(ProviderAuthFailed, "has no store at this store_hash/base_url"),
            503: Say(ProviderUnavailable, "store is unavailable (maintenance, upgrade or suspended)"),
        },
    )

    def make_auth(self) -> HeaderToken:
        return HeaderToken(self.credentials.access_token, header="X-Auth-Token")

    def request_headers(self) -> dict[str, str]:
        return {"Accept": "application/json"}

    @property
    def api_root(self) -> str:
        return f"{self.origin}/stores/{self.settings.store_hash}/v3"

    def valid_customer_id(self, customer_id: str) -> bool:
        return is_numeric_id(customer_id) and int(customer_id) <= _INT32_MAX

    async def fetch_customer(self, customer_id: str, query: Mapping[str, str] | None = None) -> dict[str, Any]:
        params = {**(query or {}), "id:in": customer_id, "include": "addresses"}
        customers = (await self.get_json("/customers", Envelope, params)).data
        # customer_id is digits: only the id 23 or "23" reads as "23".
        raw = next((c for c in customers if str(c.get("id")) == customer_id), None)
        if raw is None:
            if customers:
                # The filter was not applied: never hand out another customer.
                raise ProviderBadResponse("BigCommerce answered with customers other than the one asked for")
            raise CustomerNotFound(f"no BigCommerce customer has id {customer_id!r}")
        await self._complete_addresses([raw])
        return raw

    async def list_customers(self, request: PageRequest) -> Page:
        # One platform page per page, next/prev as BigCommerce's meta says
        # (connection_walk would top a short page up, and take a way back for
        # granted after a cursor).
        params = {**request.query, "limit": str(min(request.limit, MAX_PAGE_SIZE)), "include": "addresses"}
        state = request.state or {}
        if key := next((k for k in ("after", "before") if isinstance(state.get(k), str)), None):
            params[key] = state[key]
        body = await self.get_json("/customers", Envelope, params)
        await self._complete_addresses(body.data)
        cursors, pagination = body.meta.cursor_pagination, body.meta.pagination
        # `pagination` comes only with the first page, `cursor_pagination.links` with cursor pages.
        more = bool(cursors.links.next) or pagination.current_page < pagination.total_pages
        end, start = cursors.end_cursor, cursors.start_cursor
        return Page(
            items=body.data,
            next={"after": end} if more and body.data and end else None,
            prev={"before": start} if state and cursors.links.previous and start else None,
        )

    async def verify(self) -> None:
        await self.get_json("/customers", Envelope, {"limit": "1"})

    async def _complete_addresses(self, customers: list[dict[str, Any]]) -> None:
        """Replace capped inline address lists with the full ones, in place."""
        partial = {key: c for c in customers if (key := _cut_short(c)) is not None}
        if not partial:
            return
        found: dict[str, list[dict[str, Any]]] = {key: [] for key in partial}
        page, pages = 1, 1
        while page <= pages and page <= MAX_ADDRESS_PAGES:
            params = {"customer_id:in": ",".join(partial), "page": str(page), "limit": str(self.address_page_size)}
            body = await self.get_json("/customers/addresses", Envelope, params)
            for address in body.data:
                if (owner := found.get(str(address.get("customer_id")))) is not None:
                    owner.append(address)
            pages, page = body.meta.pagination.total_pages, page + 1
        for key, customer in partial.items():
            customer["addresses"] = found[key]

    @staticmethod
    def map_payload(payload: CustomerPayload) -> Customer:
        first, last = text(payload.first_name), text(payload.last_name)
        email, phone = text(payload.email), text(payload.phone)
        addresses = [  # no address_type: BigCommerce's is residential/commercial, not billing/shipping
            unified_address(id=a.id, street_1=a.address1, street_2=a.address2, city=a.city,
                            state=a.state_or_province, postal_code=a.postal_code, country=a.country_code)
            for a in payload.addresses or []
        ]
        return unified_customer(
            remote_id=str(payload.id), first_name=first, last_name=last,
            company_name=text(payload.company), status=None, currency=None,
            emails=[Email(email=email)] if email else [], phones=[Phone(number=phone)] if phone else [],
            addresses=addresses,
            created_at=utc_timestamp(payload.date_created),
            modified_at=utc_timestamp(payload.date_modified),
        )


def _cut_short(customer: dict[str, Any]) -> str | None:
    """The customer's id when its inline addresses may be fewer than it has."""
    try:
        payload = msgspec.convert(customer, CustomerPayload)
    except msgspec.ValidationError:
        return None  # the mapping will name what is wrong with it
    count, total = len(payload.addresses or []), payload.address_count
    # No count: a full inline list may be the cap, not the whole book.
    more = total > count if total is not None else count >= INLINE_ADDRESS_CAP
    return str(payload.id) if more else None
