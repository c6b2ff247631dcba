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
* ``status`` null (``hasAccount`` is about logins, clubs are not a status);
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
from typing import Annotated, Any, Callable, Mapping

import msgspec

from .base import CommonSettings, Page, PageRequest, Provider, is_uuid
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

API_PATH = "/v1"
ADDRESSES_KEY = "customerAddresses"  # the key the address list is attached under
# A DNS label, as in {tenant}.admin.platform.commerce7.com.
_TENANT = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
# The Basic user-id cannot hold a ':'; visible ASCII keeps the header unambiguous.
_APP_ID = re.compile(r"[\x21-\x39\x3b-\x7e]{1,200}")
_SECRET = re.compile(r"[\x21-\x7e]{1,500}")
_CURSOR = re.compile(r"[\x21-\x7e]{1,1000}")


class Commerce7Credentials(msgspec.Struct, forbid_unknown_fields=True):
    app_id: Annotated[str, msgspec.Meta(description=(
        "the app ID, the first label of {appId}.dev-center.platform.commerce7.com"
    ))]
    app_secret: Annotated[str, msgspec.Meta(description="the app's App Secret Key")]

    def __post_init__(self) -> None:
        if not self.app_id:
            raise ValueError("app_id is required")
        if not self.app_secret:
            raise ValueError("app_secret is required")
        if not _APP_ID.fullmatch(self.app_id):
            raise ValueError(
                "app_id must be the Commerce7 app ID (the first label of "
                "{appId}.dev-center.platform.commerce7.com), without spaces or ':'"
            )
        if not _SECRET.fullmatch(self.app_secret):
            raise ValueError("app_secret must be the app's App Secret Key, without spaces")


class Commerce7Settings(CommonSettings, kw_only=True, forbid_unknown_fields=True):
    tenant: Annotated[str, msgspec.Meta(description=(
        "the tenant ID, the first label of {tenant}.admin.platform.commerce7.com"
    ))]

    def __post_init__(self) -> None:
        super().__post_init__()
        if not _TENANT.fullmatch(self.tenant):
            raise ValueError(
                "tenant must be the Commerce7 tenant ID: lowercase letters, digits and hyphens, "
                "the first label of {tenant}.admin.platform.commerce7.com (e.g. spectrawinery)"
            )


class Commerce7Provider(Provider):
    name = "commerce7"
    display_name = "Commerce7"
    credentials_type = Commerce7Credentials
    settings_type = Commerce7Settings
    default_origin = "https://api.commerce7.com"
    destination_settings = Provider.destination_settings | {"tenant"}

    credentials: Commerce7Credentials
    settings: Commerce7Settings

    # -- requests --------------------------------------------------------------

    def valid_customer_id(self, customer_id: str) -> bool:
        return is_uuid(customer_id)

    async def fetch_customer(
        self, customer_id: str, query: Mapping[str, str] | None = None
    ) -> dict[str, Any]:
        # Commerce7 shows ids in lower case; asking in that form is safe
        # whether it compares them as UUIDs or as text.
        customer_id = customer_id.lower()
        try:
            async with asyncio.TaskGroup() as group:
                customer_task = group.create_task(self._customer(customer_id, dict(query or {})))
                addresses_task = group.create_task(self._addresses(customer_id))
        except ExceptionGroup as failed:
            if failed.split(ProviderError)[1] is not None:
                raise  # a bug, not an upstream failure
            # The first failure cancelled the other call. When both failed,
            # the customer's own error says most.
            for task in (customer_task, addresses_task):
                if task.done() and not task.cancelled() and task.exception() is not None:
                    raise task.exception() from None  # type: ignore[misc]
            raise
        raw = customer_task.result()
        raw[ADDRESSES_KEY] = addresses_task.result()
        return raw

    async def _customer(self, customer_id: str, query: dict[str, str]) -> dict[str, Any]:
        response = await self._get(f"/customer/{customer_id}", query)
        raw = self._body(response)
        if not isinstance(raw, dict):
            raise ProviderBadResponse("Commerce7 answered with a customer that is not a JSON object")
        if not isinstance(raw.get("id"), str) or raw["id"].lower() != customer_id:
            raise ProviderBadResponse("Commerce7 answered with another customer than the one asked for")
        return raw

    async def _addresses(self, customer_id: str) -> list[dict[str, Any]]:
        response = await self._get(f"/customer/{customer_id}/address", {})
        body = self._body(response)
        addresses = body.get(ADDRESSES_KEY) if isinstance(body, dict) else None
        if not isinstance(addresses, list) or not all(isinstance(a, dict) for a in addresses):
            raise ProviderBadResponse("Commerce7 answered without a list of customer addresses")
        return addresses

    async def list_customers(self, request: PageRequest) -> Page:
        """Cursor paging. The state is the cursor of the Commerce7 page the
        next customer is on, and how many of that page were already served."""
        cursor, skip = _cursor_state(request.state)
        items: list[dict[str, Any]] = []
        while True:
            customers, next_cursor = self._customer_list(
                await self._collection({**request.query, "cursor": cursor})
            )
            remaining = customers[skip:]
            wanted = request.limit - len(items)
            if len(remaining) > wanted:
                items += remaining[:wanted]
                return Page(items=items, next={"cursor": cursor, "skip": skip + wanted})
            items += remaining
            # An empty page ends the walk too: following its cursor would
            # spend calls without serving anyone.
            if next_cursor is None or not customers:
                return Page(items=items, next=None)
            if next_cursor == cursor:
                raise ProviderBadResponse("Commerce7 answered with the same cursor again")
            if len(items) == request.limit:
                return Page(items=items, next={"cursor": next_cursor, "skip": 0})
            cursor, skip = next_cursor, 0

    async def verify(self) -> None:
        self._customer_list(await self._collection({"limit": "1"}))

    async def _collection(self, params: dict[str, str]) -> UpstreamResponse:
        response = await self._get("/customer", params)
        if response.status == 404:
            # The customer collection always exists: the base URL is wrong.
            raise ProviderBadResponse(
                "Commerce7 answered 404 for its customer collection: check base_url"
                + _detail(response, self.redact),
                remote_status=404,
            )
        return response

    def _customer_list(self, response: UpstreamResponse) -> tuple[list[dict[str, Any]], str | None]:
        body = self._body(response)
        customers = body.get("customers") if isinstance(body, dict) else None
        if not isinstance(customers, list) or not all(isinstance(c, dict) for c in customers):
            raise ProviderBadResponse("Commerce7 answered without a list of customers")
        cursor = body.get("cursor")
        if cursor is None or cursor == "":
            return customers, None
        if not isinstance(cursor, str) or not _CURSOR.fullmatch(cursor):
            raise ProviderBadResponse("Commerce7 answered with a cursor of an unexpected form")
        return customers, cursor

    async def _get(self, path: str, params: dict[str, str]) -> UpstreamResponse:
        assert self.http is not None
        return await self.http.request(
            "GET",
            self.origin + API_PATH + path,
            headers={
                "Accept": "application/json",
                "Authorization": self.basic_auth(),
                "tenant": self.settings.tenant,
            },
            params=params,
        )

    def basic_auth_pair(self) -> tuple[str, str]:
        return self.credentials.app_id, self.credentials.app_secret

    def _body(self, response: UpstreamResponse) -> Any:
        """The JSON of a 2xx answer, or the classified error."""
        if not 200 <= response.status < 300:
            raise self.classify_error(response)
        return response.json()

    # -- errors ----------------------------------------------------------------

    def classify_error(self, response: UpstreamResponse) -> ProviderError:
        status = response.status
        detail = _detail(response, self.redact)
        if status in (401, 403):
            return ProviderAuthFailed(
                "Commerce7 rejected the app credentials for this tenant (check app_id, "
                "app_secret, the tenant ID and that the app is installed on the tenant)" + detail,
                remote_status=status,
            )
        if status == 404:
            return CustomerNotFound("Commerce7 has no such customer" + detail, remote_status=status)
        if status == 429:
            return ProviderRateLimited(
                "Commerce7 rate limit reached (100 requests a minute per tenant)" + detail,
                remote_status=status,
                retry_after=retry_after_seconds(response.headers.get("Retry-After")),
            )
        if status >= 500:
            return ProviderUnavailable("Commerce7 failed" + detail, remote_status=status)
        return ProviderBadResponse("Commerce7 refused the request" + detail, remote_status=status)

    # -- mapping ---------------------------------------------------------------

    @staticmethod
    def map_customer(raw: dict[str, Any]) -> Customer:
        remote_id = raw["id"]
        if not isinstance(remote_id, str) or not is_uuid(remote_id):
            raise ValueError("a Commerce7 customer id is a UUID")
        first, last = text(raw.get("firstName")), text(raw.get("lastName"))

        # The first email/phone is the primary one.
        email_values = [text(item.get("email")) for item in _items(raw, "emails")]
        emails = one_primary_email(
            Email(email=value, is_primary=index == 0)
            for index, value in enumerate(v for v in email_values if v)
        )
        numbers = [text(item.get("phone")) for item in _items(raw, "phones")]
        phones = one_primary_phone(
            Phone(number=value, is_primary=index == 0)
            for index, value in enumerate(v for v in numbers if v)
        )

        # sorted() is stable: the default address first, the rest as listed.
        book = sorted(_items(raw, ADDRESSES_KEY), key=lambda a: a.get("isDefault") is not True)
        addresses = [
            a
            for a in (
                Address(
                    id=text(item.get("id")),
                    street_1=text(item.get("address")),
                    street_2=text(item.get("address2")),
                    city=text(item.get("city")),
                    state=text(item.get("stateCode")),
                    postal_code=text(item.get("zipCode")),
                    country=country_code(item.get("countryCode")),
                    address_type=None,
                )
                for item in book
            )
            if keep_address(a)
        ]
        if not addresses:
            # No street address known: the customer's own location fields.
            partial = Address(
                id=None,
                city=text(raw.get("city")),
                state=text(raw.get("stateCode")),
                postal_code=text(raw.get("zipCode")),
                country=country_code(raw.get("countryCode")),
            )
            addresses = [partial] if keep_address(partial) else []
        default = next((a for a in book if a.get("isDefault") is True), None)

        return Customer(
            id=remote_id,
            remote_id=remote_id,
            email=emails[0].email if emails else None,
            first_name=first,
            last_name=last,
            name=full_name(first, last),
            company_name=text(default.get("company")) if default else None,
            phone_number=phones[0].number if phones else None,
            status=None,
            currency=None,
            emails=emails,
            phones=phones,
            addresses=addresses,
            created_at=utc_timestamp(raw.get("createdAt")),
            modified_at=utc_timestamp(raw.get("updatedAt")),
        )


def _items(raw: dict[str, Any], key: str) -> list[dict[str, Any]]:
    """A list of objects; Commerce7 sends null when there is no data."""
    value = raw.get(key)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise TypeError(f"Commerce7 {key} must be a list of objects")
    return value


def _detail(response: UpstreamResponse, redact: Callable[..., str]) -> str:
    """`` (401 unauthorized: Unauthorized user)`` from a Commerce7 error body,
    short and scrubbed of the credentials (``redact``, the provider's);
    `` (status)`` otherwise."""
    try:
        body = msgspec.json.decode(response.body)
    except msgspec.DecodeError:
        body = None
    if not isinstance(body, dict) or not (isinstance(body.get("type"), str) or "message" in body):
        return f" ({response.status})"
    kind = text(body.get("type")) or ""
    message = text(body.get("message")) or ""
    kind, message = redact(kind, 60), redact(message)
    parts = " ".join(part for part in (str(response.status), kind) if part)
    return f" ({parts}: {message})" if message else f" ({parts})"


def _cursor_state(state: dict[str, Any] | None) -> tuple[str, int]:
    cursor = (state or {}).get("cursor", "start")
    skip = (state or {}).get("skip", 0)
    if not isinstance(cursor, str) or not _CURSOR.fullmatch(cursor):
        cursor = "start"
    if not isinstance(skip, int) or isinstance(skip, bool) or skip < 0:
        skip = 0
    return cursor, skip
