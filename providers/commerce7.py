"""Commerce7: customers from the Commerce7 REST API (``https://api.commerce7.com/v1``).

Endpoints (``base_url`` replaces ``https://api.commerce7.com``; ``/v1`` is kept):

* get one: ``GET /v1/customer/{id}`` (bare customer object) **and**
  ``GET /v1/customer/{id}/address`` (``{"customerAddresses": [...], "total": N}``),
  sent concurrently: street addresses are not on the customer object. If
  either call fails, the other is cancelled and the classified error raised
  (the customer's own error wins when both fail);
* list: ``GET /v1/customer?cursor=start``, then ``?cursor={cursor}`` from the
  answer ``{"customers": [...], "cursor": "..."}`` until no cursor comes
  back. Cursor paging is the one Commerce7 recommends for customers and is
  exempt from the rate limit; page/limit paging slows to one request a
  minute after page 100. Listed customers carry no street addresses (one
  extra call per customer would spend the rate limit), so they map with the
  partial address below;
* verify: ``GET /v1/customer?limit=1`` (``limit`` is 1..50 in page paging).

Auth: HTTP Basic ``app_id:app_secret`` (the app's ID, the first label of
``{appId}.dev-center.platform.commerce7.com``, and its App Secret Key) plus
the header ``tenant: {tenant}`` (the first label of
``{tenant}.admin.platform.commerce7.com``) on every request. No OAuth, no
token expiry; access exists once the tenant has installed the app.

raw payload (remote_data) of a get: the customer object exactly as Commerce7
returns it, plus one key, ``customerAddresses``: the list from the address
endpoint (Commerce7's own name for it, in that endpoint's envelope; the
customer object has no field of that name). Listed customers have no such
key.

Mapping quirks:

* ``name`` is first + last; ``honorific`` (Mr/Ms/Dr) is not prefixed;
* ``emails[]``/``phones[]``: the first is the primary one. An email's
  ``status`` (``Ok``/``Bounced``) has no unified field and stays in remote_data;
* addresses: ``isDefault`` first, ``address_type`` null (Commerce7 does not
  say billing/shipping); ``company_name`` is the default address's ``company``;
* when no street address exists (empty address list, or a listed customer),
  one partial address is built from the customer's top-level ``city``,
  ``stateCode``, ``zipCode``, ``countryCode``: no street, ``id`` null;
* ``status`` from ``hasAccount``, the customer's login account (as Shopify's
  ``state``, the only account-level flag Commerce7 has; Truto reports a
  status for Commerce7 too): true -> ``active``, false -> ``inactive``
  ("no active account", not "no longer a customer"); absent -> null. Club
  memberships are not a status and stay in remote_data;
  ``currency`` null (amounts are in cents and carry no currency);
  dates are UTC ISO with milliseconds.

Errors have the shape ``{"statusCode", "type", "message", "errors": []}``:
401/403 -> ProviderAuthFailed (bad app credentials, app not installed on the
tenant, or a wrong tenant); 404 -> CustomerNotFound (on the collection, the
wrong base URL: ProviderBadResponse); 422 and other 4xx -> ProviderBadResponse;
429 -> ProviderRateLimited (Retry-After when sent; the limit is 100 requests
a minute per tenant); 5xx -> ProviderUnavailable.

Uncertain (noted, not guessed silently):
* the error body is documented only for a 401 (of ``/v1/account/user``); the
  same shape is assumed for the other statuses, and a 404 counts as not found
  whatever its body;
* whether Commerce7 sends ``Retry-After`` on a 429 is not documented;
* the per-customer address list is documented without paging parameters;
  only its first answer is read (``total`` beyond it is ignored);
* whether cursor paging honours ``limit`` is not documented, so it is not
  sent; a page is cut to the requested size and the next one resumes at the
  same cursor, skipping what was already served;
* the last cursor page is described only as having "no cursor id": an absent,
  null or empty ``cursor`` all end the list;
* a ``primaryEmail`` field appears in a third-party Zapier sample, not in the
  documented customer object; it is not read.

Sources: https://developer.commerce7.com/docs/commerce7-apis (endpoint,
auth, pagination, rate limits, data formatting),
https://developer.commerce7.com/docs/customers (customer object, enums
incl. ``customerEmailStatus`` Ok/Bounced),
https://developer.commerce7.com/docs/customer-addresses (address object,
``GET /customer/{customerId}/address``),
https://developer.commerce7.com/docs/authenticate-app (error body), read via
the mirror ``skynet-watcher/Commerce7`` ``docs/developer/``.
"""

from __future__ import annotations

import asyncio
import re
from typing import Annotated, Any, Mapping

import msgspec

from .auth import Auth, BasicAuth
from .base import CommonSettings, Credentials, Guid, Page, PageRequest, Provider, envelope, is_uuid
from .error_table import ErrorTable, Say, Words
from .errors import ProviderAuthFailed, ProviderError, ProviderRateLimited
from .models import Address, Customer, Email, Phone
from .normalize import keep_address, text, unified_address, unified_customer, utc_timestamp
from .paging import CursorPage, cursor_walk

# A DNS label, as in {tenant}.admin.platform.commerce7.com.
_TENANT = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
# The Basic user-id cannot hold a ':'; visible ASCII keeps the header unambiguous.
_APP_ID = re.compile(r"[\x21-\x39\x3b-\x7e]{1,200}")
_SECRET = re.compile(r"[\x21-\x7e]{1,500}")


class Commerce7Credentials(Credentials):
    app_id: Annotated[str, msgspec.Meta(
        description="the app ID, the first label of {appId}.dev-center.platform.commerce7.com")]
    app_secret: Annotated[str, msgspec.Meta(title="App Secret Key", description="the app's App Secret Key")]

    def __post_init__(self) -> None:
        for name in ("app_id", "app_secret"):
            if not getattr(self, name):
                raise ValueError(f"{name} is required")
        if not _APP_ID.fullmatch(self.app_id):
            raise ValueError("app_id must be the Commerce7 app ID (the first label of "
                             "{appId}.dev-center.platform.commerce7.com), without spaces or ':'")
        if not _SECRET.fullmatch(self.app_secret):
            raise ValueError("app_secret must be the app's App Secret Key, without spaces")


class Commerce7Settings(CommonSettings, kw_only=True, forbid_unknown_fields=True):
    tenant: Annotated[str, msgspec.Meta(
        title="Tenant ID", description="the tenant ID, the first label of {tenant}.admin.platform.commerce7.com")]

    def __post_init__(self) -> None:
        super().__post_init__()
        if not _TENANT.fullmatch(self.tenant):
            raise ValueError("tenant must be the Commerce7 tenant ID: lowercase letters, digits and hyphens, "
                             "the first label of {tenant}.admin.platform.commerce7.com (e.g. spectrawinery)")


# Answers: envelopes keep raw customers (remote_data exactly); payloads type what the mapping reads.
class _CustomerList(msgspec.Struct):
    customers: list[dict[str, Any]]
    # Visible ASCII; "" (like absent or null) ends the list.
    cursor: Annotated[str, msgspec.Meta(pattern=r"\A[\x21-\x7e]{0,1000}\Z")] | None = None


_ADDRESS_BOOK = envelope("customerAddresses", list[dict[str, Any]])  # {"customerAddresses": [...], "total"}


class _Email(msgspec.Struct):
    email: str | None = None  # its status (Ok/Bounced) stays in remote_data


class _Phone(msgspec.Struct):
    phone: str | None = None


class _Place(msgspec.Struct, rename="camel"):  # named alike on an address and on the customer
    city: str | None = None
    state_code: str | None = None
    zip_code: str | None = None
    country_code: str | None = None

    def located(self, **street: str | None) -> Address:  # address_type None: Commerce7 says no billing/shipping
        return unified_address(city=self.city, state=self.state_code, postal_code=self.zip_code,
                               country=self.country_code, **street)


class _Address(_Place):
    id: str | None = None
    address: str | None = None
    address2: str | None = None
    company: str | None = None
    is_default: bool | None = None


class Commerce7Customer(_Place, kw_only=True):  # null where Commerce7 has no data
    id: Guid
    first_name: str | None = None
    last_name: str | None = None
    emails: list[_Email] | None = None
    phones: list[_Phone] | None = None
    customer_addresses: list[_Address] | None = None  # attached by a get, absent from lists
    created_at: str | None = None
    updated_at: str | None = None
    has_account: bool | None = None  # the login account, see the docstring


# Errors: {"statusCode", "type", "message", "errors": []}.
def _words(body: Any) -> Words:
    return Words(text(body.get("type")), body.get("message"))


_REFUSED = Say(ProviderAuthFailed, "rejected the app credentials for this tenant (check app_id, "
               "app_secret, the tenant ID and that the app is installed on the tenant)")
_ROWS = {401: _REFUSED, 403: _REFUSED,
         429: Say(ProviderRateLimited, "rate limit reached (100 requests a minute per tenant)")}


class Commerce7Provider(Provider[Commerce7Credentials, Commerce7Settings]):
    name = "commerce7"
    display_name = "Commerce7"
    default_origin = "https://api.commerce7.com"
    destination_settings = Provider.destination_settings | {"tenant"}
    payload_type = Commerce7Customer
    # The collection row (the default): GET /customer always exists, its 404 means a wrong base URL.
    errors = ErrorTable("Commerce7", read=_words, statuses=_ROWS)

    def make_auth(self) -> Auth:
        return BasicAuth(self.credentials.app_id, self.credentials.app_secret)

    def request_headers(self) -> dict[str, str]:
        return {"Accept": "application/json", "tenant": self.settings.tenant}

    @property
    def api_root(self) -> str:
        return self.origin + "/v1"

    valid_customer_id = staticmethod(is_uuid)  # ids are UUIDs

    # -- get: the customer and its address list, concurrently -------------------------

    async def fetch_customer(self, customer_id: str, query: Mapping[str, str] | None = None) -> dict[str, Any]:
        # Commerce7 shows ids in lower case; asking in that form is safe
        # whether it compares them as UUIDs or as text.
        customer_id = customer_id.lower()
        try:
            async with asyncio.TaskGroup() as group:
                customer = group.create_task(self._customer(customer_id, query))
                book = group.create_task(self.get_json(f"/customer/{customer_id}/address", _ADDRESS_BOOK))
        except ExceptionGroup as failed:
            if failed.split(ProviderError)[1] is not None:
                raise  # a bug, not an upstream failure
            # The first failure cancelled the other call. When both failed,
            # the customer's own error says most.
            for task in (customer, book):
                if task.done() and not task.cancelled() and task.exception() is not None:
                    raise task.exception() from None  # type: ignore[misc]
            raise
        raw = customer.result()
        raw["customerAddresses"] = book.result().customerAddresses  # Commerce7's own name for the list
        return raw

    async def _customer(self, customer_id: str, query: Mapping[str, str] | None) -> dict[str, Any]:
        raw = await self.get_json(f"/customer/{customer_id}", dict[str, Any], query)
        self.check_customer_id(str(raw.get("id")).lower(), customer_id)  # a missing or non-text id never matches
        return raw

    # -- list and verify: GET /customer ---------------------------------------------

    async def list_customers(self, request: PageRequest) -> Page:
        # Commerce7 cuts its pages (no limit is sent): an API page ending
        # inside one resumes at the same cursor, re-reading that page and
        # skipping what was served. The first page is Commerce7's "start".
        start = msgspec.structs.replace(request, state=request.state or {"cursor": "start"})

        async def fetch(cursor: str | None) -> CursorPage:
            params = {**request.query, "cursor": cursor or "start"}
            page = await self.get_json("/customer", _CustomerList, params, collection=True)
            return CursorPage(page.customers, page.cursor or None)

        return await cursor_walk(start, fetch)

    async def verify(self) -> None:
        await self.get_json("/customer", _CustomerList, {"limit": "1"}, collection=True)

    @staticmethod
    def map_payload(c: Commerce7Customer) -> Customer:
        first, last = text(c.first_name), text(c.last_name)

        # The first email/phone is the primary one (unified_customer makes it so).
        emails = [Email(email=email) for e in c.emails or [] if (email := text(e.email))]
        phones = [Phone(number=number) for p in c.phones or [] if (number := text(p.phone))]

        # sorted() is stable: the default address first, the rest as listed.
        book = sorted(c.customer_addresses or [], key=lambda a: not a.is_default)
        located = (a.located(id=a.id, street_1=a.address, street_2=a.address2) for a in book)
        addresses = [a for a in located if keep_address(a)]
        if not addresses:
            # No street address known: the customer's own location fields.
            addresses = [a for a in [c.located(id=None)] if keep_address(a)]
        default = next((a for a in book if a.is_default), None)

        return unified_customer(
            remote_id=c.id, first_name=first, last_name=last, emails=emails, phones=phones,
            company_name=text(default.company) if default else None, addresses=addresses,
            status=None if c.has_account is None else ("active" if c.has_account else "inactive"),
            currency=None,  # see the docstring's mapping quirks
            created_at=utc_timestamp(c.created_at), modified_at=utc_timestamp(c.updated_at),
        )

