"""Zoho Inventory: customers are *contacts* with ``contact_type: "customer"``.

Endpoints, at ``base_url``, else the ``api_domain`` minted with the access
token, else ``https://www.zohoapis.{dc}`` for the data centre (``data_center``:
com, eu, in, com.au, jp, ca, com.cn, sa); scope ``ZohoInventory.contacts.READ``:

* get one: ``GET /inventory/v1/contacts/{contact_id}?organization_id={org}``
  -> ``{"code": 0, "message": "success", "contact": {...}}``; ids are numbers
  of 15-19 digits; a contact whose ``contact_type`` is not ``customer`` (a
  vendor) is not found.
* list: ``GET /inventory/v1/contacts?organization_id={org}&page=P&per_page=N
  &sort_column=created_time`` -> ``{"code": 0, "contacts": [...],
  "page_context": {"page", "per_page", "has_more_page", ...}}`` (at most 200
  a page). Rows are partial: no addresses or contact persons, the primary
  person's name, email and phones flattened onto the row. The list cannot
  filter on contact type: vendors are dropped after the fetch.
* verify: the list with ``per_page=1`` (the contacts scope suffices, and it
  proves the organization id; ``/organizations`` needs ``settings.READ``).

Auth: ``Authorization: Zoho-oauthtoken {access_token}`` (not the ``Bearer``
the token response names) from the refresh-token grant at the data centre's
accounts server, ``accounts.zoho.{dc}`` but **accounts.zohocloud.ca** for ca
(``auth_url`` replaces its origin), sent as a query string as every Zoho
"refresh access token" page shows -> ``{"access_token", "api_domain",
"expires_in": 3600}`` (legacy: ``expires_in_sec``, and ``expires_in`` in
milliseconds). Refusals come with HTTP 200 or 400: ``{"error":
"invalid_code"}`` (unknown or revoked refresh token), ``invalid_client`` and
``invalid_client_secret`` are permanent. The throttle (HTTP 400 ``{"error":
"Access Denied", "error_description": "You have made too many requests
continuously. ..."}``) names no wait: a 429 waiting ``TOKEN_THROTTLE_RETRY_AFTER``
(ours: handed to the client, as re-asking at once would prolong the block).

API errors: ``{"code": <non-zero>, "message"}``, also with HTTP 200, so the
code is always checked: 14 (invalid token) and 57 (not authorised) are auth
failures, 6041 ("This user is not associated with the CompanyID") puts
organization_id out of the credentials' reach, 1002 ("... does not exist.")
is not found.

Mapping: ids are big integers, read exactly and given as strings; ``zip`` (a
number in the docs) is stringified; an ISO ``country_code`` (documented on
the contact address resource) wins over the free-text ``country``
(``"U.S.A"``), which else passes through; ``created_time`` and
``last_modified_time``, date-only in the docs and ``2013-10-07T12:06:10+0530``
in real responses, become UTC. ``status`` is Zoho's own: ``active`` and
``inactive`` as they are, any other value (the list filter also names
duplicate and crm contacts) passed through as the platform's value.

Uncertain (handled defensively):
* no Zoho page documents the body of a missing *contact*: 1002 is the errors
  page's example (for an invoice), and a 404 is not found whatever the code;
* the token-endpoint error bodies (``invalid_code``, ``invalid_client``,
  ``Access Denied``) come from Zoho clients and their issues, not Zoho's docs;
* code 6041 is from Zoho's Deluge help for Zoho Books (same finance platform);
* the list's default order is undocumented, hence ``sort_column=created_time``
  (a documented value); rows created in the same second may still swap pages.

Sources: https://www.zoho.com/inventory/api/v1/ ``contacts/`` (get/list/address examples),
``introduction/`` (organization_id, the eight API domains incl. www.zohoapis.ca), ``oauth/``
(accounts servers, ca -> accounts.zohocloud.ca) and https://zstatic.zohostatic.com/inventory/api/v1/errors
(statuses, code 1002); https://zoho.com/accounts/protocol/oauth/multi-dc.html (accounts servers, incl.
accounts.zoho.sa); https://www.bigin.com/developer/docs/apis/multi-dc.html (accounts + API domain per
DC, incl. CN accounts.zoho.com.cn, CA www.zohoapis.ca); https://www.zoho.com/assist/api/refresh-access-token.html
and https://www.zoho.com/commerce/api/oauth-step-4.html (refresh request as query parameters, response
shape); https://zoho.com.cn/writer/help/api/v1/oauth-step4.html (legacy ``expires_in_sec``);
https://www.zoho.com/deluge/help/books/fetch-records (code 6041).
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Mapping

import msgspec

from .auth import OAuthAccess
from .base import Credentials, HeaderValue, NonBlank, OAuthSettings, Page, PageRequest, Provider, envelope
from .base import is_numeric_id, valid_origin
from .error_table import ErrorTable, Say, Words
from .errors import CustomerNotFound, ProviderAuthFailed, ProviderError, ProviderRateLimited
from .models import Address, Customer, Email, Phone
from .normalize import text, unified_address, unified_customer, utc_timestamp
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
_ORG_ID = re.compile(r"^[0-9]{1,20}$")

ACCESS = Say(ProviderAuthFailed, "rejected the connection's access token or its scopes")
NOT_FOUND = Say(CustomerNotFound, "has no contact with this id")
ORGANIZATION = Say(ProviderAuthFailed, "says these credentials cannot reach the connection's organization_id")
ERRORS = ErrorTable(  # the status and numeric code only: Zoho's words stay out
    "Zoho Inventory", read=lambda body: Words(code=body["code"] if type(body.get("code")) is int else None),
    statuses={401: ACCESS, 403: ACCESS, 404: NOT_FOUND},
    codes={14: ACCESS, 57: ACCESS, 1002: NOT_FOUND, 6041: ORGANIZATION},
)


def accounts_origin(data_center: str) -> str:
    # Canada's alone is not accounts.zoho.{dc}.
    return "https://accounts.zohocloud.ca" if data_center == "ca" else f"https://accounts.zoho.{data_center}"


def api_origin(data_center: str) -> str:
    return f"https://www.zohoapis.{data_center}"


class ZohoInventoryCredentials(Credentials, kw_only=True):
    client_id: Annotated[HeaderValue, msgspec.Meta(
        description="OAuth client id (Zoho API Console, e.g. a Self Client)")]
    client_secret: Annotated[HeaderValue, msgspec.Meta(description="OAuth client secret")]
    refresh_token: Annotated[HeaderValue, msgspec.Meta(
        description="a refresh token with the ZohoInventory.contacts.READ scope")]


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


class PageContext(msgspec.Struct):
    has_more_page: bool | None = None


class ContactList(msgspec.Struct):
    contacts: list[dict[str, Any]]  # raw: remote_data
    page_context: PageContext = msgspec.field(default_factory=PageContext)  # the doc example omits it


class ZohoAddress(msgspec.Struct):
    address_id: int | str | None = None
    address: str | None = None
    street2: str | None = None
    city: str | None = None
    state: str | None = None
    zip: int | str | None = None  # a number in the docs
    country: str | None = None  # free text ("U.S.A")
    country_code: str | None = None

    def mapped(self, kind: str) -> Address:  # the ISO country code where Zoho gives one; else the free text
        return unified_address(
            id=self.address_id, street_1=self.address, street_2=self.street2, city=self.city, state=self.state,
            postal_code=self.zip, country=text(self.country_code) or self.country, address_type=kind,
        )


class Person(msgspec.Struct, kw_only=True):
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    phone: str | None = None
    mobile: str | None = None
    is_primary_contact: bool | None = None


class Contact(Person, kw_only=True):  # a list row: the primary person flattened onto the contact
    contact_id: int | NonBlank  # exact: msgspec decodes big integers as ints, never floats
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
    error, description = text(body.get("error")) or "", text(body.get("error_description")) or ""
    if error.lower() != "access denied" and "too many requests" not in description.lower():
        return None
    message = "Zoho's token endpoint is throttling this client (too many token requests)"
    return ProviderRateLimited(message, remote_status=status, retry_after=TOKEN_THROTTLE_RETRY_AFTER)


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


class ZohoInventoryProvider(Provider[ZohoInventoryCredentials, ZohoInventorySettings]):
    name = "zoho_inventory"
    display_name = "Zoho Inventory"
    errors = ERRORS
    payload_type = Contact
    # Paging and ordering are ours (page numbers only hold under one order).
    remote_query_denied = Provider.remote_query_denied | {"sort_column", "sort_order"}
    destination_settings = Provider.destination_settings | {"data_center", "organization_id"}

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
    def default_origin(self) -> str:  # type: ignore[override]
        return api_origin(self.settings.data_center)

    @property
    def default_auth_origin(self) -> str:  # type: ignore[override]
        return accounts_origin(self.settings.data_center)

    def api_origin_for(self, token: AccessToken) -> str:
        """base_url, else the api_domain minted with the token, else the DC's."""
        domain = token.extra.get("api_domain")
        return domain if not self.settings.base_url and _is_origin(domain) else self.origin

    api_root_for = api_origin_for  # Provider.send: the token sent decides the origin

    valid_customer_id = staticmethod(is_numeric_id)  # ids are numbers

    async def fetch_customer(self, customer_id: str, query: Mapping[str, str] | None = None) -> dict[str, Any]:
        contact = (await self._get(f"{CONTACTS_PATH}/{customer_id}", query or {}, envelope("contact"))).contact
        if not _is_customer(contact):  # a vendor: it shares the contacts resource
            message = "Zoho Inventory has no customer with this id (the contact is not a customer)"
            raise CustomerNotFound(message, remote_status=200)
        self.check_customer_id(str(contact.get("contact_id")), customer_id)  # ids are exact ints (msgspec)
        return contact

    async def list_customers(self, request: PageRequest) -> Page:
        async def fetch(page: int, per_page: int) -> Chunk:
            params = {**request.query, "page": str(page), "per_page": str(per_page), "sort_column": "created_time"}
            reply = await self._get(CONTACTS_PATH, params, ContactList)
            more = reply.page_context.has_more_page
            more = len(reply.contacts) >= per_page if more is None else more  # unsaid: a full page may have more
            return Chunk([c for c in reply.contacts if _is_customer(c)], more)  # vendors dropped; page_walk tops up

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
        # The (one) primary person first, then the others in Zoho's order: sorted() is stable. A
        # list row has no persons but the primary one flattened onto it.
        ordered = sorted(contact.contact_persons or [], key=lambda p: not p.is_primary_contact) or [contact]
        primary = ordered[0]
        first, last = text(primary.first_name), text(primary.last_name)
        emails = [Email(email=email) for person in ordered if (email := text(person.email))]
        phones = [
            Phone(number=number, type=kind)
            for person in ordered
            for value, kind in ((person.phone, "work"), (person.mobile, "mobile"))
            if (number := text(value))
        ]
        sides = ((contact.billing_address, "billing"), (contact.shipping_address, "shipping"))
        status = text(contact.status)
        return unified_customer(
            remote_id=text(contact.contact_id), first_name=first, last_name=last, name=text(contact.contact_name),
            company_name=text(contact.company_name), currency=text(contact.currency_code),
            status=status, emails=emails, phones=phones,  # active/inactive, else Zoho's own value
            addresses=[address.mapped(kind) for address, kind in sides if address is not None],
            created_at=utc_timestamp(contact.created_time), modified_at=utc_timestamp(contact.last_modified_time),
        )
