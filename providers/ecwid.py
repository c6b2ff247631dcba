"""Ecwid (by Lightspeed): customers from the REST API v3.

Endpoints (origin ``https://app.ecwid.com``, replaced by ``base_url``), scope
``read_customers``:

* get one: ``GET /api/v3/{store_id}/customers/{customer_id}`` -> the bare
  customer; ids are numbers. A missing customer is a 404.
* list: ``GET /api/v3/{store_id}/customers?offset=N&limit=M&sortBy=REGISTERED_DATE_ASC``
  -> ``{"total", "count", "offset", "limit", "items": [...], "allCustomerCount"}``;
  ``limit`` is at most 100 (also the default). Offsets, stopping on ``total``;
  the order is by registration date, oldest first (the documented default,
  ``NAME_ASC``, moves rows between pages when a name changes).
* verify: the list with ``limit=1``.

Calls: a get is 1 call; a list page is 1 call at limit 1, 50 and 100 (a page
of at most 100 is one Ecwid page; more only if Ecwid answers short of
``total``, bounded by the offset walk).

Auth: ``Authorization: Bearer secret_...``, a store's private token (an app's
OAuth token or a custom app's, from the Control Panel's "Develop apps"
page); tokens do not expire. ``public_...`` tokens cannot read customers.

Errors: an optional JSON body ``{"errorMessage"}``, here read with an
``errorCode`` beside it when one comes (the code table names them; whether
the body carries the code is not documented). ``INVALID_API_TOKEN`` and
``INSUFFICIENT_APP_SCOPE`` are **403** (not 401) -> ProviderAuthFailed;
``STORE_NOT_FOUND`` (404) is a wrong ``store_id``: ProviderAuthFailed, never
a missing customer; another 404 on a customer is CustomerNotFound (on the
list, a wrong ``base_url``); ``STORE_IS_SUSPENDED``/402 -> ProviderUnavailable;
429 (600 requests a minute per token; a failing token is blocked after 20)
-> ProviderRateLimited waiting ``Retry-After``; 5xx -> ProviderUnavailable.

Mapping: ``id`` as a string; ``name`` trimmed; first/last name from
``billingPerson`` (Ecwid sends them only when the name has two words or
more, and they are not made up otherwise); ``company_name`` from
``billingPerson.companyName``; emails: ``email`` first (primary), then the
``contacts`` of type ``EMAIL`` in their ``orderBy`` order; phones: the
``PHONE`` contacts (the ``default`` one primary), then the phones of the
billing and shipping addresses, deduplicated; addresses: ``billingPerson``
as ``billing`` (no id), each of ``shippingAddresses`` as ``shipping`` (its
id); ``street`` holds lines 1 and 2 separated by ``\\n``; the state is
``stateOrProvinceCode``, else its name. ``status`` and ``currency`` are
null (Ecwid's customer has neither). Timestamps
(``registered``/``updated``) come as ``yyyy-MM-dd HH:mm:ss Z``
(``2014-06-06 18:57:19 +0400`` in the field docs, ``+0000`` in the
examples) and become UTC.

Uncertain (handled defensively):
* no error body is published: ``errorCode`` is read when present, and a
  403 is an auth failure whatever it says;
* the body of a missing customer is not documented (the delete page says
  "The customer with given ID is not found");
* how ``REGISTERED_DATE_ASC`` orders customers registered in the same second
  is not documented; such rows could swap between pages.

Sources: https://docs.ecwid.com/api-reference/rest-api/customers/get-customer and
.../search-customers (read through the GitBook markdown, mirror
``artem-kudriashov/REST_API_docs`` ``rest-api/customers/``);
https://docs.ecwid.com/api-reference (rate limits) and
https://docs.ecwid.com/api-reference/rest-api/rest-api-error-codes;
https://api-docs.ecwid.com/reference/rest-api (dates in UTC);
https://developers.ecwid.com/api-documentation/access-tokens;
``Ecwid/ecwid-api-docs`` ``includes/_customers.md`` (``errorMessage``).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Mapping, Union

import msgspec

from .auth import HeaderToken
from .base import CommonSettings, Credentials, Page, PageRequest, Provider, is_numeric_id
from .error_table import ErrorTable, Say, Words
from .errors import ProviderAuthFailed, ProviderUnavailable
from .models import Address, Customer, Email, Phone
from .normalize import joined_lines, text, unified_address, unified_customer, utc_timestamp
from .paging import Batch, offset_walk

MAX_PAGE_SIZE = 100  # "Maximum and default value (if not specified) is 100"
ORDER = "REGISTERED_DATE_ASC"
_STORE_ID = re.compile(r"^[1-9][0-9]{0,18}$")
_TOKEN = re.compile(r"^secret_[\x21-\x7e]{1,500}$")
_TIME = "%Y-%m-%d %H:%M:%S %z"  # "2014-06-06 18:57:19 +0400"
# An id as Ecwid sends it: a number (a string of digits is read too).
Id = Union[int, Annotated[str, msgspec.Meta(pattern=r"^[0-9]+$")]]


class EcwidCredentials(Credentials):
    access_token: Annotated[str, msgspec.Meta(title="Secret access token", description=(
        "the store's secret token (secret_...) with the read_customers scope: on the Ecwid Control Panel's "
        "Develop apps page (your custom app's details), or the token your app received when the store installed it"
    ))]

    def __post_init__(self) -> None:
        if not _TOKEN.match(self.access_token):
            raise ValueError("access_token must be the store's secret token (secret_..., without spaces); "
                             "public_ tokens cannot read customers")


class EcwidSettings(CommonSettings, kw_only=True, forbid_unknown_fields=True):
    store_id: Annotated[str, msgspec.Meta(title="Store ID", description=(
        "the numeric store ID, shown at the bottom of the Ecwid Control Panel and on the app's details page"
    ))]

    def __post_init__(self) -> None:
        super().__post_init__()
        if not _STORE_ID.match(self.store_id):
            raise ValueError("store_id must be the numeric Ecwid store ID, e.g. 1003")


class _Listing(msgspec.Struct):
    items: list[dict[str, Any]]  # raw: remote_data
    total: int | None = None


class _Contact(msgspec.Struct, rename={"kind": "type", "order_by": "orderBy"}):
    contact: str | None = None
    kind: str | None = None  # EMAIL, PHONE, FACEBOOK, ...
    default: bool | None = None
    order_by: int | None = None


class _Place(msgspec.Struct, rename="camel"):  # the fields billingPerson and shippingAddresses share
    company_name: str | None = None
    street: str | None = None  # "Address line 1 and address line 2, separated by \n"
    city: str | None = None
    country_code: str | None = None
    country_name: str | None = None
    postal_code: str | None = None
    state_or_province_code: str | None = None
    state_or_province_name: str | None = None
    phone: str | None = None

    def mapped(self, kind: str, id: Any = None) -> Address:
        lines = [line for line in (self.street or "").splitlines() if line.strip()]
        return unified_address(
            id=id, street_1=lines[0] if lines else None, street_2=joined_lines(lines[1:]),
            city=self.city, state=text(self.state_or_province_code) or self.state_or_province_name,
            postal_code=self.postal_code, country=text(self.country_code) or self.country_name, address_type=kind,
        )


class _Billing(_Place):
    name: str | None = None
    first_name: str | None = None
    last_name: str | None = None


class _Shipping(_Place):
    id: Id | None = None


class EcwidCustomer(msgspec.Struct, rename="camel"):
    id: Id
    name: str | None = None
    email: str | None = None
    registered: str | None = None
    updated: str | None = None
    billing_person: _Billing | None = None  # absent for a guest-checkout account
    shipping_addresses: list[_Shipping] | None = None
    contacts: list[_Contact] | None = None


def ecwid_time(value: Any) -> str | None:
    """Ecwid's ``2014-06-06 18:57:19 +0400`` as UTC; another ISO form as
    ``utc_timestamp`` reads it (zone-less: UTC, as Ecwid's dates are)."""
    raw = text(value)
    try:
        return utc_timestamp(datetime.strptime(raw or "", _TIME).isoformat())
    except ValueError:
        return utc_timestamp(raw)


_TOKEN_REFUSED = Say(ProviderAuthFailed, "rejected the access token or its scopes (read_customers is needed)")
_SUSPENDED = Say(ProviderUnavailable, "store is suspended or its plan lacks this feature")
ERRORS = ErrorTable(
    "Ecwid",
    read=lambda body: Words(body.get("errorCode"), body.get("errorMessage")),
    statuses={401: _TOKEN_REFUSED, 403: _TOKEN_REFUSED, 402: _SUSPENDED},
    codes={
        "INVALID_API_TOKEN": _TOKEN_REFUSED,
        "INSUFFICIENT_APP_SCOPE": _TOKEN_REFUSED,
        "STORE_NOT_FOUND": Say(ProviderAuthFailed, "has no store with this store_id"),
        "STORE_IS_SUSPENDED": _SUSPENDED,
    },
)


class EcwidProvider(Provider[EcwidCredentials, EcwidSettings]):
    name = "ecwid"
    display_name = "Ecwid"
    errors = ERRORS
    payload_type = EcwidCustomer
    default_origin = "https://app.ecwid.com"
    destination_settings = Provider.destination_settings | {"store_id"}
    # The documented search filters only: responseFields could drop the id
    # the checks rely on, sortBy/offset/limit are the paging's own.
    remote_query_allowed = frozenset({
        "keyword", "name", "email", "useExactEmailMatch", "phone", "city", "postalCode", "stateOrProvinceCode",
        "countryCodes", "companyName", "acceptMarketing", "lang", "customerGroupIds", "minOrderCount",
        "maxOrderCount", "minSalesValue", "maxSalesValue", "purchasedProductIds", "taxExempt", "b2b_b2c",
        "createdFrom", "createdTo", "updatedFrom", "updatedTo",
    })

    def make_auth(self) -> HeaderToken:
        return HeaderToken(self.credentials.access_token, scheme="Bearer")

    def request_headers(self) -> dict[str, str]:
        return {"Accept": "application/json"}

    @property
    def api_root(self) -> str:
        return f"{self.origin}/api/v3/{self.settings.store_id}"

    valid_customer_id = staticmethod(is_numeric_id)  # ids are numbers

    async def fetch_customer(self, customer_id: str, query: Mapping[str, str] | None = None) -> dict[str, Any]:
        raw = await self.get_json(f"/customers/{customer_id}", dict[str, Any], query)
        self.check_customer_id(str(raw.get("id")), customer_id)  # only 23 or "23" reads as "23"
        return raw

    async def list_customers(self, request: PageRequest) -> Page:
        async def fetch(offset: int, count: int) -> Batch:
            params = {**request.query, "offset": str(offset), "limit": str(count), "sortBy": ORDER}
            body = await self.get_json("/customers", _Listing, params, collection=True)
            return Batch(body.items, body.total)

        return await offset_walk(request, fetch, MAX_PAGE_SIZE)

    async def verify(self) -> None:
        await self.get_json("/customers", _Listing, {"limit": "1"}, collection=True)

    @staticmethod
    def map_payload(c: EcwidCustomer) -> Customer:
        billing = c.billing_person or _Billing()
        shipping = c.shipping_addresses or []
        # Ecwid's own order of the contacts (orderBy); sorted() is stable.
        contacts = sorted(c.contacts or [], key=lambda k: k.order_by if k.order_by is not None else 1 << 31)

        def reach(kind: str) -> list[tuple[str, bool]]:
            return [(value, bool(k.default)) for k in contacts if k.kind == kind and (value := text(k.contact))]

        email = text(c.email)
        emails = [Email(email=email, is_primary=True)] if email else []
        emails += [Email(email=value, is_primary=default) for value, default in reach("EMAIL")]
        phones = [Phone(number=value, is_primary=default) for value, default in reach("PHONE")]
        phones += [Phone(number=number) for place in (billing, *shipping) if (number := text(place.phone))]
        addresses = [billing.mapped("billing"), *(s.mapped("shipping", s.id) for s in shipping)]
        return unified_customer(
            remote_id=str(c.id), name=text(c.name) or text(billing.name),
            first_name=text(billing.first_name), last_name=text(billing.last_name),
            company_name=text(billing.company_name), status=None, currency=None,
            emails=emails, phones=phones, addresses=addresses,
            created_at=ecwid_time(c.registered), modified_at=ecwid_time(c.updated),
        )
