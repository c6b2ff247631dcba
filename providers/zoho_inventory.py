"""Zoho Inventory: customers are *contacts* with ``contact_type: "customer"``.

Endpoints (API origin: ``base_url`` if set, else the ``api_domain`` the token
endpoint returned with the access token, else ``https://www.zohoapis.{dc}``):

* get one: ``GET /inventory/v1/contacts/{contact_id}?organization_id={org}``
  -> ``{"code": 0, "message": "success", "contact": {...}}``
  (scope ``ZohoInventory.contacts.READ``). Ids are numbers of 15-19 digits;
  anything that is not all digits is not found without a call. A contact whose
  ``contact_type`` is not ``customer`` (a vendor) is not found either.
* list: ``GET /inventory/v1/contacts?organization_id={org}&page=P&per_page=N
  &sort_column=created_time`` -> ``{"code": 0, "contacts": [...],
  "page_context": {"page", "per_page", "has_more_page", ...}}`` (at most 200
  a page). Rows are partial (no addresses or contact persons; the primary
  person's name, email and phones are flattened onto the row). Vendors are
  dropped after the fetch (the list cannot filter on contact type) and a
  short page is topped up from the next Zoho pages (``MAX_LIST_CALLS``).
* verify: ``GET /inventory/v1/contacts?organization_id={org}&per_page=1``
  (the contacts scope only, and it proves the organization id;
  ``/organizations`` would need ``settings.READ``).

Auth: ``Authorization: Zoho-oauthtoken {access_token}`` (not ``Bearer``,
although the token response says so), from the refresh-token grant at the
data centre's accounts server (``auth_url`` replaces its origin), sent as a
query string as every Zoho "refresh access token" page documents it ->
``{"access_token", "api_domain", "expires_in": 3600}`` (the legacy shape has
``expires_in_sec`` and ``expires_in`` in milliseconds). ``api_domain`` is
stored with the token and used as the API origin.

Token refusals come with HTTP 200 or 400: ``{"error": "invalid_code"}``
(unknown or revoked refresh token), ``invalid_client``,
``invalid_client_secret`` are permanent. Zoho's throttle (HTTP 400 ``{"error":
"Access Denied", "error_description": "You have made too many requests
continuously. ..."}``) carries no wait; it is reported as a 429 with
``retry_after = TOKEN_THROTTLE_RETRY_AFTER`` (our choice: the retry layer
hands it to the client instead of re-asking at once, prolonging the block).

API errors: ``{"code": <non-zero>, "message"}``, also with HTTP 200, so
``code`` is always checked: 14 (invalid token) and 57 (not authorised) are
auth failures, 6041 ("This user is not associated with the CompanyID") means
organization_id is out of these credentials' reach, 1002 ("... does not
exist.") is not found. Messages quote the status and numeric code only.

Mapping: ids are parsed exactly (msgspec decodes big integers as ints, never
floats) and given as strings; ``zip`` (a number in the docs) is stringified;
``country`` is free text (``"U.S.A"``) and passes through, while an ISO
``country_code`` (documented on the contact address resource) wins when
present; ``created_time``/``last_modified_time`` are date-only in the docs
and ``2013-10-07T12:06:10+0530`` in real responses, both normalised to UTC.

Data centres (``data_center`` -> accounts server, API domain):
``com`` accounts.zoho.com / www.zohoapis.com, ``eu`` .eu, ``in`` .in,
``com.au`` .com.au, ``jp`` .jp, ``ca`` **accounts.zohocloud.ca** /
www.zohoapis.ca, ``com.cn`` accounts.zoho.com.cn / www.zohoapis.com.cn,
``sa`` accounts.zoho.sa / www.zohoapis.sa.

Uncertain (handled defensively, noted here):
* no Zoho page documents the body of a missing *contact*; 1002 "... does not
  exist." is the errors page's example (for an invoice), and a 404 status is
  taken as not found whatever the code;
* the token-endpoint error bodies (``invalid_code``, ``invalid_client``,
  ``Access Denied``) are not on a Zoho docs page; they are the bodies Zoho
  clients and their issues quote;
* code 6041 is from Zoho's Deluge help for Zoho Books (same finance platform);
* the list's default order is undocumented, hence ``sort_column=
  created_time`` (documented value); rows created in the same second may
  still swap between pages.

Sources:
https://www.zoho.com/inventory/api/v1/contacts/ (get/list/address examples);
https://www.zoho.com/inventory/api/v1/introduction/ (organization_id, the
eight API domains incl. www.zohoapis.ca);
https://www.zoho.com/inventory/api/v1/oauth/ (accounts servers, ca ->
accounts.zohocloud.ca);
https://zoho.com/accounts/protocol/oauth/multi-dc.html (accounts servers,
incl. accounts.zoho.sa);
https://www.bigin.com/developer/docs/apis/multi-dc.html (accounts + API
domain per DC, incl. CN accounts.zoho.com.cn, CA www.zohoapis.ca);
https://www.zoho.com/assist/api/refresh-access-token.html and
https://www.zoho.com/commerce/api/oauth-step-4.html (refresh request as
query parameters, response shape);
https://zoho.com.cn/writer/help/api/v1/oauth-step4.html (legacy
``expires_in_sec``);
https://zstatic.zohostatic.com/inventory/api/v1/errors (statuses, code 1002);
https://www.zoho.com/deluge/help/books/fetch-records (code 6041).
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Mapping

import msgspec

from .auth import OAuthAccess
from .base import OAuthSettings, Page, PageRequest, Provider, is_numeric_id, valid_origin
from .error_table import ErrorTable, Say, Words
from .errors import CustomerNotFound, ProviderAuthFailed, ProviderBadResponse, ProviderError, ProviderRateLimited
from .models import Address, Customer, Email, Phone
from .normalize import (
    country_code, full_name, keep_address, one_primary_email, one_primary_phone, text, utc_timestamp,
)
from .paging import Chunk, page_walk
from .token_endpoint import refresh_token
from .tokens import AccessToken

DATA_CENTERS = ("com", "eu", "in", "com.au", "jp", "ca", "com.cn", "sa")
CONTACTS_PATH = "/inventory/v1/contacts"
TOKEN_PATH = "/oauth/v2/token"
MAX_LIST_CALLS = 5  # Zoho pages read for one API page at most
MAX_PAGE_SIZE = 200  # List contacts: per_page "Default value is 200"; pagination page: max 200
TOKEN_LIFETIME = 3600  # "expires_in": 3600 in every documented refresh response
TOKEN_THROTTLE_RETRY_AFTER = 60.0  # ours: Zoho's "Access Denied" throttle names no wait
_SECRET = re.compile(r"^[\x21-\x7e]{1,4096}$")  # header and query values: visible ASCII, no spaces
_ORG_ID = re.compile(r"^[0-9]{1,20}$")

ACCESS = Say(ProviderAuthFailed, "rejected the connection's access token or its scopes")
NOT_FOUND = Say(CustomerNotFound, "has no contact with this id")
ORGANIZATION = Say(ProviderAuthFailed, "says these credentials cannot reach the connection's organization_id")
ERRORS = ErrorTable(
    "Zoho Inventory",
    read=lambda body: Words(code=body["code"] if type(body.get("code")) is int else None),
    statuses={401: ACCESS, 403: ACCESS, 404: NOT_FOUND},
    # 14 invalid OAuth token, 57 not authorized, 1002 "... does not exist.", 6041 user not in the organization
    codes={14: ACCESS, 57: ACCESS, 1002: NOT_FOUND, 6041: ORGANIZATION},
    quote_message=False,  # Zoho's words stay out: the status and code only
)


def accounts_origin(data_center: str) -> str:
    # Canada's alone is not accounts.zoho.{dc}.
    return "https://accounts.zohocloud.ca" if data_center == "ca" else f"https://accounts.zoho.{data_center}"


def api_origin(data_center: str) -> str:
    return f"https://www.zohoapis.{data_center}"


class ZohoInventoryCredentials(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    client_id: Annotated[str, msgspec.Meta(description="OAuth client id (Zoho API Console, e.g. a Self Client)")]
    client_secret: Annotated[str, msgspec.Meta(description="OAuth client secret")]
    refresh_token: Annotated[str, msgspec.Meta(
        description="a refresh token with the ZohoInventory.contacts.READ scope")]

    def __post_init__(self) -> None:
        for field in ("client_id", "client_secret", "refresh_token"):
            if not _SECRET.match(getattr(self, field)):
                raise ValueError(f"{field} must be non-empty, without spaces")

    def __repr__(self) -> str:  # never print a secret
        return "ZohoInventoryCredentials(client_id=..., client_secret=..., refresh_token=...)"


class ZohoInventorySettings(OAuthSettings, kw_only=True, forbid_unknown_fields=True):
    organization_id: Annotated[str, msgspec.Meta(description="the numeric Zoho Inventory organization ID")]
    data_center: Annotated[str, msgspec.Meta(description=f"the account's data centre: {', '.join(DATA_CENTERS)}")]

    def __post_init__(self) -> None:
        super().__post_init__()
        if not _ORG_ID.match(self.organization_id):
            raise ValueError("organization_id must be the numeric Zoho Inventory organization ID")
        if self.data_center not in DATA_CENTERS:
            raise ValueError(f"data_center must be one of {', '.join(DATA_CENTERS)}")


class Coded(msgspec.Struct):
    code: int = 0  # non-zero: a failure, also under HTTP 200


class ContactReply(msgspec.Struct):
    contact: dict[str, Any]  # raw: remote_data


class PageContext(msgspec.Struct):
    has_more_page: bool | None = None


class ContactList(msgspec.Struct):
    contacts: list[dict[str, Any]]  # raw: remote_data
    page_context: PageContext | None = None  # the doc example omits it


class ZohoAddress(msgspec.Struct):
    address_id: int | str | None = None
    address: str | None = None
    street2: str | None = None
    city: str | None = None
    state: str | None = None
    zip: int | str | None = None  # a number in the docs
    country: str | None = None  # free text ("U.S.A")
    country_code: str | None = None

    def mapped(self, kind: str) -> Address:
        return Address(
            id=text(self.address_id), street_1=text(self.address), street_2=text(self.street2),
            city=text(self.city), state=text(self.state), postal_code=text(self.zip), address_type=kind,
            # The ISO code where Zoho gives one; else the free-text country.
            country=country_code(self.country_code) or country_code(self.country),
        )


class Person(msgspec.Struct, kw_only=True):
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    phone: str | None = None
    mobile: str | None = None
    is_primary_contact: bool | None = None


class Contact(Person, kw_only=True):  # a list row: the primary person flattened onto the contact
    contact_id: int | str  # exact: msgspec decodes big integers as ints, never floats
    contact_name: str | None = None
    company_name: str | None = None
    status: str | None = None
    currency_code: str | None = None
    created_time: str | None = None
    last_modified_time: str | None = None
    contact_persons: list[Person] | None = None
    billing_address: ZohoAddress | None = None
    shipping_address: ZohoAddress | None = None


def token_refusal(status: int, body: dict[str, Any]) -> ProviderError | None:
    """Zoho's throttle: ``"Access Denied"``, "too many requests" (HTTP 400)."""
    error, description = body.get("error"), body.get("error_description")
    if (isinstance(error, str) and error.lower() == "access denied") or (
        isinstance(description, str) and "too many requests" in description.lower()
    ):
        message = "Zoho's token endpoint is throttling this client (too many token requests)"
        return ProviderRateLimited(message, remote_status=status, retry_after=TOKEN_THROTTLE_RETRY_AFTER)
    return None


def token_api_domain(body: dict[str, Any]) -> dict[str, Any]:
    domain = body.get("api_domain")
    return {"api_domain": domain} if _is_origin(domain) else {}


def _is_origin(value: Any) -> bool:
    try:
        return isinstance(value, str) and valid_origin(value, "api_domain") is None
    except ValueError:
        return False


def _is_customer(contact: dict[str, Any]) -> bool:
    """False for an explicit non-customer (vendor); a missing type is kept."""
    kind = contact.get("contact_type")
    return not isinstance(kind, str) or not kind or kind.lower() == "customer"


class ZohoInventoryProvider(Provider):
    name = "zoho_inventory"
    display_name = "Zoho Inventory"
    credentials_type = ZohoInventoryCredentials
    settings_type = ZohoInventorySettings
    default_origin = "https://www.zohoapis.com"
    errors = ERRORS
    payload_type = Contact
    # Paging and ordering are ours (page numbers only hold under one order).
    remote_query_denied = Provider.remote_query_denied | {"sort_column", "sort_order"}
    destination_settings = Provider.destination_settings | {"data_center", "organization_id"}

    credentials: ZohoInventoryCredentials
    settings: ZohoInventorySettings

    def make_auth(self) -> OAuthAccess:
        c = self.credentials
        return refresh_token(
            "Zoho", self.http, self.auth_origin + TOKEN_PATH, c.client_id, c.client_secret, c.refresh_token,
            store=self.tokens, scheme="Zoho-oauthtoken", send="query", lifetime=TOKEN_LIFETIME,
            permanent_codes=frozenset({"invalid_code", "invalid_client_secret"}),  # besides RFC 6749's
            permanent_statuses=frozenset(),  # a 401 without one of those codes may heal
            refusal=token_refusal, extra=token_api_domain,
            expires_in_keys=("expires_in_sec", "expires_in"),  # legacy: expires_in in milliseconds
        )

    @property
    def origin(self) -> str:
        return self.settings.base_url or api_origin(self.settings.data_center)

    @property
    def auth_origin(self) -> str:
        return self.settings.auth_url or accounts_origin(self.settings.data_center)

    def api_origin_for(self, token: AccessToken) -> str:
        """base_url, else the api_domain minted with the token, else the DC's."""
        domain = token.extra.get("api_domain")
        return domain if not self.settings.base_url and _is_origin(domain) else self.origin

    api_root_for = api_origin_for  # Provider.send: the token sent decides the origin

    def valid_customer_id(self, customer_id: str) -> bool:
        return is_numeric_id(customer_id)

    async def fetch_customer(self, customer_id: str, query: Mapping[str, str] | None = None) -> dict[str, Any]:
        contact = (await self._get(f"{CONTACTS_PATH}/{customer_id}", query or {}, ContactReply)).contact
        if not _is_customer(contact):  # a vendor: it shares the contacts resource
            message = "Zoho Inventory has no customer with this id (the contact is not a customer)"
            raise CustomerNotFound(message, remote_status=200)
        if str(contact.get("contact_id")) != customer_id:  # ids are exact ints (msgspec)
            raise ProviderBadResponse("Zoho Inventory answered with another contact than the one asked for")
        return contact

    async def list_customers(self, request: PageRequest) -> Page:
        # Vendors are dropped after the fetch (the list cannot filter on
        # contact_type): page_walk tops a short page up from the next ones.
        async def fetch(page: int, per_page: int) -> Chunk:
            params = {**request.query, "page": str(page), "per_page": str(per_page), "sort_column": "created_time"}
            reply = await self._get(CONTACTS_PATH, params, ContactList)
            more = reply.page_context.has_more_page if reply.page_context else None
            more = len(reply.contacts) >= per_page if more is None else more
            return Chunk([c for c in reply.contacts if _is_customer(c)], more)

        return await page_walk(request, fetch, MAX_PAGE_SIZE, max_calls=MAX_LIST_CALLS)

    async def verify(self) -> None:
        await self._get(CONTACTS_PATH, {"per_page": "1"}, ContactList)

    async def _get(self, path: str, params: Mapping[str, str], type_: Any) -> Any:
        # organization_id last: nothing forwarded can replace it.
        params = {**params, "organization_id": self.settings.organization_id}
        response = await self.send("GET", path, params=params)
        if self.read_json(response, Coded).code != 0:  # Zoho reports some failures with HTTP 200
            raise self.classify_error(response)
        return self.read_json(response, type_)

    @staticmethod
    def map_payload(contact: Contact) -> Customer:
        remote_id = text(contact.contact_id)
        if remote_id is None:
            raise ValueError("a Zoho contact_id must not be empty")
        persons = contact.contact_persons or []
        at = next((i for i, p in enumerate(persons) if p.is_primary_contact), 0)
        # The primary person first, then the others in Zoho's order; a list
        # row has no persons but the primary one flattened onto it.
        ordered = (persons[at:at + 1] + persons[:at] + persons[at + 1:]) or [contact]
        primary = ordered[0]
        first, last = text(primary.first_name), text(primary.last_name)
        emails = one_primary_email(
            Email(email=email, is_primary=person is primary) for person in ordered if (email := text(person.email))
        )
        phones = one_primary_phone(
            Phone(number=number, type=kind, is_primary=person is primary)
            for person in ordered
            for value, kind in ((person.phone, "work"), (person.mobile, "mobile"))
            if (number := text(value))
        )
        sides = ((contact.billing_address, "billing"), (contact.shipping_address, "shipping"))
        addresses = [address.mapped(kind) for address, kind in sides if address is not None]
        status = text(contact.status)
        return Customer(
            id=remote_id, remote_id=remote_id,
            first_name=first, last_name=last, name=text(contact.contact_name) or full_name(first, last),
            company_name=text(contact.company_name), currency=text(contact.currency_code),
            status=status if status in ("active", "inactive") else None,
            email=emails[0].email if emails else None, emails=emails,
            phone_number=phones[0].number if phones else None, phones=phones,
            addresses=[address for address in addresses if keep_address(address)],
            created_at=utc_timestamp(contact.created_time), modified_at=utc_timestamp(contact.last_modified_time),
        )
