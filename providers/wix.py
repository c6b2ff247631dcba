"""Wix: store buyers are Contacts (CRM), read from the Contacts v4 API.

Endpoints (origin ``https://www.wixapis.com``, replaced by ``base_url``): get
``GET /contacts/v4/contacts/{id}`` -> ``{"contact"}`` (fieldset ``FULL``; ids
are GUIDs, anything else is not found without a call; a *merged* contact
answers with the merge target, whose id the mapping uses); list ``GET
/contacts/v4/contacts?paging.limit&paging.offset&sort.fieldName=createdDate
&sort.order=ASC`` -> ``{"contacts", "pagingMetadata": {"count", "offset",
"total" | "tooManyToCount"}}`` (at most 1000 a page); verify: a list of 1.

Auth (credentials decide, settings must match): an API key with
``wix-site-id`` (Contacts is a site-level API), or app OAuth, the
client-credentials grant with ``instance_id`` (``expires_in`` 14400, no
refresh token), sent bare although ``token_type`` says Bearer, as every Wix
example does. Errors: ``{"message", "details": {"applicationError": {"code"}}}``
or ``details.validationError.fieldViolations``; messages quote the code only.
429 is "resource exhausted" (200 requests/minute per app instance).

Mapping: ``subdivision`` ``US-ME`` -> state ``ME``; tags give email/phone
``type`` (``UNTAGGED`` -> null) and ``address_type`` (``BILLING``/``SHIPPING``).
Contacts are everyone who interacted with the site, not only buyers: Wix has
no customer flag.

Uncertain (not documented, handled defensively):
* no recorded Wix body for a 401/403/404 on contacts or for a refused token
  request; the classification rests on the status and the documented shapes;
* ``pagingMetadata`` may omit ``total`` (``tooManyToCount``; one doc example
  spells it ``too_many_to_count``): then a full page means "maybe more";
* ``ecom.totalSpentCurrency`` (extended field) is a spend currency, not a
  customer currency, so ``currency`` stays null.

Sources: https://dev.wix.com/docs/rest/crm/members-contacts/contacts/contacts/contact-v4/get-contact
and .../list-contacts (``wix-incubator/wix-rest-docs``
``all/all-apis/contacts.service.json`` @ 8872b8f8);
https://dev.wix.com/docs/rest/api-reference/authorization/oauth-2/create-access-token ;
https://dev.wix.com/docs/api-reference/articles/authentication/rest-api-authentication ;
https://dev.wix.com/docs/go-headless/develop-your-project/admin-operations/make-rest-api-calls-with-an-api-key ;
https://dev.wix.com/api/rest/getting-started/errors (``guides/Errors.md``);
https://dev.wix.com/docs/rest/articles/get-started/rate-limits
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Generic, Mapping, TypeVar

import msgspec
from msgspec import Struct, field

from .auth import Auth, HeaderToken
from .base import Credentials, Guid, HeaderValue, NonBlank, OAuthSettings, Page, PageRequest, Provider
from .base import envelope, is_uuid
from .error_table import ErrorTable, Say, Words
from .errors import ConfigurationError, CustomerNotFound, ProviderAuthFailed
from .models import Address, Customer, Email, Phone
from .normalize import country_code, text, unified_address, unified_customer, utc_timestamp
from .paging import Batch, offset_walk
from .token_endpoint import client_credentials

CONTACTS_PATH = "/contacts/v4/contacts"
TOKEN_PATH = "/oauth2/token"
MAX_PAGE_SIZE = 1000  # List Contacts: "Maximum: 1000"
TOKEN_LIFETIME = 14400  # Create Access Token: expires_in "Always 14400 (4 hours)"

# An error code worth repeating in a message: an identifier, nothing else.
_CODE = re.compile(r"^[A-Za-z][A-Za-z0-9_.\-]{0,63}$")
# ISO 3166-2: the country's alpha-2, a hyphen, up to three alphanumerics.
_SUBDIVISION = re.compile(r"^([A-Za-z]{2})-([A-Za-z0-9]{1,3})$")
_ADDRESS_TYPES = {"BILLING": "billing", "SHIPPING": "shipping"}
T = TypeVar("T")


def error_code(body: Any) -> str | None:
    """The error's identifier: RFC 6749 ``error``, Wix ``applicationError.code``
    or the first validation ``ruleName``/``violatedRule``. Never free text."""
    if not isinstance(body, dict):
        return None
    details = body.get("details") if isinstance(body.get("details"), dict) else {}
    application = details.get("applicationError") if isinstance(details.get("applicationError"), dict) else {}
    candidates = [body.get("error"), application.get("code")]
    validation = details.get("validationError")
    violations = validation.get("fieldViolations") if isinstance(validation, dict) else None
    if isinstance(violations, list) and violations and isinstance(violations[0], dict):
        candidates += [violations[0].get("ruleName"), violations[0].get("violatedRule")]
    return next((c for c in candidates if isinstance(c, str) and _CODE.match(c)), None)


class WixCredentials(Credentials, kw_only=True):
    """Either ``api_key``, or ``client_id`` + ``client_secret`` (app OAuth)."""

    api_key: Annotated[HeaderValue | None, msgspec.Meta(
        description="an API key with the Read Contacts permission (goes with settings.site_id)")] = None
    client_id: Annotated[HeaderValue | None, msgspec.Meta(description=(
        "app OAuth instead of api_key: the app id (goes with client_secret and settings.instance_id)"
    ))] = None
    client_secret: Annotated[HeaderValue | None, msgspec.Meta(description="app OAuth: the app's secret key")] = None

    def __post_init__(self) -> None:
        oauth_parts = (self.client_id, self.client_secret)
        if self.api_key is not None and any(part is not None for part in oauth_parts):
            raise ValueError("give either api_key or client_id + client_secret, not both")
        if self.api_key is None and None in oauth_parts:
            raise ValueError("give either api_key, or both client_id (the app id) and client_secret (app OAuth)")

    @property
    def oauth(self) -> bool:
        return self.api_key is None


class WixSettings(OAuthSettings, kw_only=True, forbid_unknown_fields=True):
    """``site_id`` goes with an API key, ``instance_id`` with app OAuth."""

    site_id: Annotated[Guid | None, msgspec.Meta(description="the site's GUID, with an api_key")] = None
    instance_id: Annotated[Guid | None, msgspec.Meta(
        description="the app instance GUID on the site, with app OAuth")] = None


class _Tagged(Struct):
    tag: str | None = None
    primary: bool | None = None
    email: str | None = None  # in emails.items
    phone: str | None = None  # in phones.items, with e164Phone
    e164Phone: str | None = None


class _Items(Struct, Generic[T]):
    items: list[T] = []


class _Street(Struct):
    number: str | None = None
    name: str | None = None


class _AddressValue(Struct):
    addressLine: str | None = None
    addressLine2: str | None = None
    streetAddress: _Street = field(default_factory=_Street)
    city: str | None = None
    subdivision: str | None = None
    postalCode: str | None = None
    country: str | None = None


class _AddressItem(Struct):
    id: str | None = None
    tag: str | None = None
    address: _AddressValue = field(default_factory=_AddressValue)


class _Name(Struct):
    first: str | None = None
    last: str | None = None


class _Info(Struct):
    name: _Name = field(default_factory=_Name)
    company: str | None = None
    emails: _Items[_Tagged] = field(default_factory=_Items)
    phones: _Items[_Tagged] = field(default_factory=_Items)
    addresses: _Items[_AddressItem] = field(default_factory=_Items)


class WixContact(Struct):
    id: NonBlank
    info: _Info = field(default_factory=_Info)
    primaryInfo: _Tagged = field(default_factory=_Tagged)  # email and phone
    createdDate: str | None = None
    updatedDate: str | None = None


class _PagingMetadata(Struct):
    total: int | None = None


class _ContactList(Struct):
    contacts: list[dict[str, Any]] = []  # proto JSON may omit an empty list
    pagingMetadata: _PagingMetadata = field(default_factory=_PagingMetadata)


class WixProvider(Provider[WixCredentials, WixSettings]):
    name = "wix"
    display_name = "Wix"
    default_origin = default_auth_origin = "https://www.wixapis.com"
    payload_type = WixContact
    # fields/fieldsets could drop the info the mapping reads; paging.* is ours.
    remote_query_denied = Provider.remote_query_denied | {"fields", "fieldsets", "paging"}
    destination_settings = Provider.destination_settings | {"site_id", "instance_id"}
    errors = ErrorTable(
        "Wix", read=lambda body: Words(code=error_code(body)),
        quote_message=False,  # codes only: free text may echo the request
        statuses={
            401: Say(ProviderAuthFailed, "rejected the connection's API key or app token"),
            403: Say(ProviderAuthFailed, "refused access: the API key or app lacks the Read Contacts "
                     "permission or does not own this site"),
            404: Say(CustomerNotFound, "has no contact with this id"),
        },
        # Every site has contacts: a 404 for them is a fault of the settings.
        collection=Say(ProviderAuthFailed, "found no contacts API for this connection"),
    )

    @classmethod
    def parse_config(cls, credentials: Any, settings: Any) -> tuple[Struct, Struct]:
        creds, sets = super().parse_config(credentials, settings)
        assert isinstance(creds, WixCredentials) and isinstance(sets, WixSettings)
        mode, given, wrong = (
            ("client_id/client_secret", "instance_id", "site_id") if creds.oauth
            else ("an api_key", "site_id", "instance_id")
        )
        if getattr(sets, given) is None:
            raise ConfigurationError(f"settings: {given} is required with {mode}")
        if getattr(sets, wrong) is not None:
            raise ConfigurationError(f"settings: {wrong} does not go with {mode}; give {given}")
        return creds, sets

    def make_auth(self) -> Auth:
        creds = self.credentials
        if not creds.oauth:
            return HeaderToken(creds.api_key or "")
        return client_credentials(
            "Wix", self.http, self.auth_origin + TOKEN_PATH, creds.client_id or "", creds.client_secret or "",
            fields={"instance_id": self.settings.instance_id or ""},
            store=self.tokens, scheme=None, send="json", lifetime=TOKEN_LIFETIME,  # scheme=None: sent bare
            read_code=error_code, permanent_codes=frozenset({"UNAUTHENTICATED", "PERMISSION_DENIED"}),
        )

    def request_headers(self) -> dict[str, str]:  # an API key names its site
        return {} if self.credentials.oauth else {"wix-site-id": self.settings.site_id or ""}

    valid_customer_id = staticmethod(is_uuid)  # ids are GUIDs

    async def fetch_customer(self, customer_id: str, query: Mapping[str, str] | None = None) -> dict[str, Any]:
        return (await self.get_json(f"{CONTACTS_PATH}/{customer_id}", envelope("contact"), query)).contact

    async def list_customers(self, request: PageRequest) -> Page:
        async def fetch(offset: int, count: int) -> Batch:
            # A stable order for offset paging (the default order is undocumented).
            order = {"sort.fieldName": "createdDate", "sort.order": "ASC"}
            params = {**request.query, "paging.limit": str(count), "paging.offset": str(offset), **order}
            body = await self.get_json(CONTACTS_PATH, _ContactList, params)
            return Batch(body.contacts, body.pagingMetadata.total)  # no total (tooManyToCount): maybe more

        return await offset_walk(request, fetch, MAX_PAGE_SIZE)

    async def verify(self) -> None:
        await self.get_json(CONTACTS_PATH, _ContactList, {"paging.limit": "1"}, collection=True)

    @staticmethod
    def map_payload(contact: WixContact) -> Customer:
        info, primary = contact.info, contact.primaryInfo
        first, last = text(info.name.first), text(info.name.last)
        emails = [Email(email=email, type=_tag(item), is_primary=item.primary is True)
                  for item in info.emails.items if (email := text(item.email))]
        if not emails and (fallback := text(primary.email)):
            emails = [Email(email=fallback)]
        phones = [Phone(number=number, type=_tag(item), is_primary=item.primary is True)
                  for item in info.phones.items if (number := text(item.e164Phone) or text(item.phone))]
        if not phones and (fallback := text(primary.phone)):
            phones = [Phone(number=fallback)]
        return unified_customer(
            remote_id=text(contact.id), first_name=first, last_name=last, company_name=text(info.company),
            emails=emails, phones=phones, addresses=[_address(item) for item in info.addresses.items],
            created_at=utc_timestamp(contact.createdDate), modified_at=utc_timestamp(contact.updatedDate),
        )


def _address(item: _AddressItem) -> Address:
    place, street = item.address, item.address.streetAddress
    country = country_code(place.country)
    # addressLine, or the structured form: "5" + "Wingate" -> "5 Wingate".
    structured = " ".join(part for part in (text(street.number), text(street.name)) if part)
    return unified_address(
        id=item.id, street_1=text(place.addressLine) or structured, street_2=place.addressLine2, city=place.city,
        state=_state(place.subdivision, country), postal_code=place.postalCode, country=country,
        address_type=_ADDRESS_TYPES.get(str(item.tag).upper()),
    )


def _state(value: str | None, country: str | None) -> str | None:
    """``US-ME`` -> ``ME`` when the prefix is the address's country (or the
    country is unknown); anything else unchanged."""
    subdivision = text(value)
    match = _SUBDIVISION.match(subdivision or "")
    if match and (country is None or match.group(1).upper() == country.upper()):
        return match.group(2).upper()
    return subdivision


def _tag(item: _Tagged) -> str | None:
    tag = text(item.tag)
    return None if tag is None or tag.upper() == "UNTAGGED" else tag.lower()
