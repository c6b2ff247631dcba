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
from typing import Annotated, Any, Mapping

import msgspec

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

# Store hashes are short lowercase alphanumerics ("abc123", "hc5d9t2irc").
_STORE_HASH = re.compile(r"^[a-z0-9]{1,32}$")
# Visible ASCII only: a token is sent as a header value.
_TOKEN = re.compile(r"^[\x21-\x7e]{1,512}$")
_INT32_MAX = 2**31 - 1  # customer ids are int32 in customer_Full
INLINE_ADDRESS_CAP = 10  # "Array of customer addresses. Limited to 10."
MAX_PAGE_SIZE = 250  # BigCommerce's maximum `limit`
MAX_ADDRESS_PAGES = 40  # a bound on paging, far above any real address book


class BigCommerceCredentials(msgspec.Struct, forbid_unknown_fields=True):
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


class BigCommerceProvider(Provider):
    name = "bigcommerce"
    display_name = "BigCommerce"
    credentials_type = BigCommerceCredentials
    settings_type = BigCommerceSettings
    default_origin = "https://api.bigcommerce.com"
    # include_fields/exclude_fields could drop `id` or `addresses` from the
    # payload the mapping and the id check rely on.
    remote_query_denied = Provider.remote_query_denied | {"include_fields", "exclude_fields"}
    destination_settings = Provider.destination_settings | {"store_hash"}
    address_page_size = MAX_PAGE_SIZE

    credentials: BigCommerceCredentials
    settings: BigCommerceSettings

    # -- requests --------------------------------------------------------------

    def valid_customer_id(self, customer_id: str) -> bool:
        return is_numeric_id(customer_id) and int(customer_id) <= _INT32_MAX

    async def fetch_customer(
        self, customer_id: str, query: Mapping[str, str] | None = None
    ) -> dict[str, Any]:
        params = {**(query or {}), "id:in": customer_id, "include": "addresses"}
        customers = _data(await self._get("/customers", params))
        raw = next((c for c in customers if _same_id(c.get("id"), customer_id)), None)
        if raw is None:
            if customers:
                # The filter was not applied: never hand out another customer.
                raise ProviderBadResponse("BigCommerce answered with customers other than the one asked for")
            raise CustomerNotFound(f"no BigCommerce customer has id {customer_id!r}")
        await self._complete_addresses([raw])
        return raw

    async def list_customers(self, request: PageRequest) -> Page:
        params = {
            **request.query,
            "limit": str(min(request.limit, MAX_PAGE_SIZE)),
            "include": "addresses",
        }
        state = request.state or {}
        for key in ("after", "before"):
            if isinstance(state.get(key), str):
                params[key] = state[key]
                break
        body = await self._get("/customers", params)
        customers = _data(body)
        await self._complete_addresses(customers)
        meta = _obj(body, "meta")
        cursors, pagination = _obj(meta, "cursor_pagination"), _obj(meta, "pagination")
        links = _obj(cursors, "links")
        # `pagination` comes only with the first page, `cursor_pagination.links` with cursor pages.
        more = bool(links.get("next")) or _int(pagination.get("current_page")) < _int(
            pagination.get("total_pages")
        )
        end, start = cursors.get("end_cursor"), cursors.get("start_cursor")
        return Page(
            items=customers,
            next={"after": end} if more and customers and isinstance(end, str) and end else None,
            prev={"before": start}
            if state and links.get("previous") and isinstance(start, str) and start
            else None,
        )

    async def verify(self) -> None:
        _data(await self._get("/customers", {"limit": "1"}))

    async def _complete_addresses(self, customers: list[dict[str, Any]]) -> None:
        """Replace capped inline address lists with the full ones, in place."""
        partial = {
            _id_text(c["id"]): c for c in customers if _has_more_addresses(c) and _has_id(c)
        }
        if not partial:
            return
        found: dict[str, list[dict[str, Any]]] = {i: [] for i in partial}
        page, pages = 1, 1
        while page <= pages and page <= MAX_ADDRESS_PAGES:
            body = await self._get(
                "/customers/addresses",
                {
                    "customer_id:in": ",".join(partial),
                    "page": str(page),
                    "limit": str(self.address_page_size),
                },
            )
            for address in _data(body):
                owner = found.get(str(address.get("customer_id")))
                if owner is not None:
                    owner.append(address)
            pages = _int(_obj(_obj(body, "meta"), "pagination").get("total_pages"))
            page += 1
        for key, customer in partial.items():
            customer["addresses"] = found[key]

    async def _get(self, path: str, params: Mapping[str, str]) -> dict[str, Any]:
        assert self.http is not None
        url = f"{self.origin}/stores/{self.settings.store_hash}/v3{path}"
        response = await self.http.request(
            "GET",
            url,
            headers={"X-Auth-Token": self.credentials.access_token, "Accept": "application/json"},
            params=params,
        )
        body = self.ok_json(response)
        if not isinstance(body, dict):
            raise ProviderBadResponse("BigCommerce answered with JSON that is not an object")
        return body

    # -- errors ----------------------------------------------------------------

    def classify_error(self, response: UpstreamResponse) -> ProviderError:
        status = response.status
        title = self._problem_title(response)
        detail = f" ({status}: {title})" if title else f" ({status})"
        if status in (401, 403):
            return ProviderAuthFailed(
                "BigCommerce rejected the access token, its scopes or the store hash" + detail,
                remote_status=status,
            )
        if status == 404:
            return ProviderAuthFailed(
                "BigCommerce has no store at this store_hash/base_url" + detail, remote_status=status
            )
        if status == 429:
            return ProviderRateLimited(
                "BigCommerce rate limit reached" + detail,
                remote_status=status,
                retry_after=_retry_after(response.headers),
            )
        if status == 503:
            return ProviderUnavailable(
                "BigCommerce store is unavailable (maintenance, upgrade or suspended)" + detail,
                remote_status=status,
            )
        if status >= 500:
            return ProviderUnavailable("BigCommerce failed" + detail, remote_status=status)
        return ProviderBadResponse("BigCommerce refused the request" + detail, remote_status=status)

    def _problem_title(self, response: UpstreamResponse) -> str | None:
        """The problem body's ``title``, short and with the token scrubbed."""
        try:
            body = msgspec.json.decode(response.body)
        except msgspec.DecodeError:
            return None
        title = text(body.get("title")) if isinstance(body, dict) else None
        if title is None:
            return None
        return self.redact(title)

    # -- mapping ---------------------------------------------------------------

    @staticmethod
    def map_customer(raw: dict[str, Any]) -> Customer:
        remote_id = _id_text(raw["id"])
        first, last = text(raw.get("first_name")), text(raw.get("last_name"))
        email, phone = text(raw.get("email")), text(raw.get("phone"))
        addresses = [
            Address(
                id=text(a.get("id")),
                street_1=text(a.get("address1")),
                street_2=text(a.get("address2")),
                city=text(a.get("city")),
                state=text(a.get("state_or_province")),
                postal_code=text(a.get("postal_code")),
                country=country_code(a.get("country_code")),
                # address_type is residential/commercial, not billing/shipping.
                address_type=None,
            )
            for a in raw.get("addresses") or []
            if isinstance(a, dict)
        ]
        return Customer(
            id=remote_id,
            remote_id=remote_id,
            email=email,
            first_name=first,
            last_name=last,
            name=full_name(first, last),
            company_name=text(raw.get("company")),
            phone_number=phone,
            status=None,
            currency=None,
            emails=one_primary_email([Email(email=email, is_primary=True)] if email else []),
            phones=one_primary_phone([Phone(number=phone, is_primary=True)] if phone else []),
            addresses=[a for a in addresses if keep_address(a)],
            created_at=utc_timestamp(raw.get("date_created")),
            modified_at=utc_timestamp(raw.get("date_modified")),
        )


def _data(body: dict[str, Any]) -> list[dict[str, Any]]:
    data = body.get("data")
    if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
        raise ProviderBadResponse("BigCommerce answered without a `data` list")
    return data


def _id_text(value: Any) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return value
    raise ValueError("a BigCommerce id must be an integer")


def _same_id(value: Any, customer_id: str) -> bool:
    try:
        return _id_text(value) == customer_id
    except ValueError:
        return False


def _has_id(customer: dict[str, Any]) -> bool:
    try:
        _id_text(customer.get("id"))
    except ValueError:
        return False
    return True


def _obj(parent: dict[str, Any], key: str) -> dict[str, Any]:
    value = parent.get(key)
    return value if isinstance(value, dict) else {}


def _has_more_addresses(customer: dict[str, Any]) -> bool:
    inline = customer.get("addresses")
    count = len(inline) if isinstance(inline, list) else 0
    total = customer.get("address_count")
    if isinstance(total, int) and not isinstance(total, bool):
        return total > count
    # No count: a full inline list may be the cap, not the whole book.
    return isinstance(inline, list) and count >= INLINE_ADDRESS_CAP


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _retry_after(headers: Mapping[str, str]) -> float | None:
    """BigCommerce's wait: the window's reset in ms, else the seconds headers."""
    try:
        reset_ms = float(headers.get("X-Rate-Limit-Time-Reset-Ms") or "")
    except ValueError:
        reset_ms = -1.0
    if 0 <= reset_ms < float("inf"):
        return reset_ms / 1000
    for name in ("X-Retry-After", "Retry-After"):
        seconds = retry_after_seconds(headers.get(name))
        if seconds is not None:
            return seconds
    return None
