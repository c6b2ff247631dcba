"""Adobe Commerce (Magento 2): customers from the REST web API.

The store is self-hosted (or Adobe's cloud), so every connection names it:
``store_url`` is the store's base URL and may include a sub-directory or
``/index.php`` (stores without URL rewrites); ``base_url`` replaces only its
``scheme://host[:port]``. ``store_code`` is the store view (``default``).

Endpoints (``{rest}`` = ``{store_url}/rest/{store_code}/V1``):

* get one: ``GET {rest}/customers/{id}`` -> the bare ``CustomerInterface``;
* list: ``GET {rest}/customers/search?searchCriteria[pageSize]=N
  &searchCriteria[currentPage]=P&searchCriteria[sortOrders][0][field]=entity_id
  &searchCriteria[sortOrders][0][direction]=ASC`` -> ``{"items", "search_criteria",
  "total_count"}``. A page past the end answers the last page again (the
  collection clamps ``currentPage``), so the walk stops on ``total_count``
  and a page it reads past the end is dropped, never served twice; without
  ``pageSize`` Magento answers every customer, so it is always sent (100 at
  most: no maximum is documented);
* verify: the search with ``pageSize=1`` (proves the token and the
  Customers ACL resource).

Auth, by the credentials given:

* ``{access_token}``: ``Authorization: Bearer`` (an admin token, which
  lasts 4 hours by default, or an integration's access token where the
  store allows integration tokens as bearer tokens, off by default since
  2.4.4: its 401 says where to allow it);
* ``{consumer_key, consumer_secret, access_token, access_token_secret}`` of
  an integration: each request signed with OAuth 1.0a HMAC-SHA256
  (providers.auth.OAuth1Signature, oauthlib), a fresh nonce every time.
  Magento rebuilds the base string from the request line it received, so
  a redirect (even same-origin) meets a signature of another URL: 401.

Errors are ``{"message": template, "parameters": [..] | {..}, "trace"?}``:
the message is a template (``%1`` for a list, ``%name`` for an object),
rendered here as Magento's Phrase renderer does. 401 (``The consumer isn't
authorized to access %resources.``, OAuth's ``The signature is invalid``,
``A consumer having the specified key does not exist``...) and 403 ->
ProviderAuthFailed, as is the 400 OAuth answers for a token of the wrong
length; 404 ``No such entity with %fieldName = %fieldValue`` ->
CustomerNotFound, any other 404 (``Request does not match any route.``, a
wrong store_code or sub-directory; an HTML page) -> ProviderBadResponse;
429 (2.4.7 rate limiting, Adobe's gateway) -> ProviderRateLimited waiting
``Retry-After`` when sent; 5xx -> ProviderUnavailable (503: maintenance).

Mapping: ids as strings; ``created_at``/``updated_at`` ("YYYY-MM-DD
HH:MM:SS", no zone) are UTC, as Magento stores them; addresses typed by the
customer's ``default_billing``/``default_shipping`` address ids (else the
address's own flags): one that is both is given once per type, billing
first; the others untyped. ``street`` lines: the first is street_1, the rest
joined by ", " street_2; the state is ``region.region_code``, else
``region.region``. No customer-level company or phone: the default billing
address's (else shipping's) company, and its telephone. No status (REST
exposes no active flag) and no currency. ``custom_attributes`` and
``extension_attributes`` stay in remote_data only.

Calls: one per get; one per list page at limit 1, 50 and 100 (pageSize is
the limit, so pages line up), one for verify.

Uncertain (handled defensively): that the timestamps are UTC is platform
knowledge, not stated on the pages read; the Customers ACL resource name
(``Magento_Customer::customer``) comes from core's webapi.xml; no maximum
page size is documented; 404 bodies are composed from Magento's functional
tests (no documented example).

Sources: Adobe Commerce web API docs (developer.adobe.com/commerce/webapi):
get-started/gs-web-api-request (search example), gs-web-api-response (error
templates), rest/use-rest/performing-searches (searchCriteria), rate-limiting,
get-started/authentication/gs-authentication-oauth (OAuth 1.0a, HMAC-SHA256);
magento/magento2 ``Framework/Oauth`` (Request helper, Oauth::_validateSignature),
``Integration/Model/Oauth/Token/Provider.php``, ``Webapi/Controller/Rest``,
``dev/tests/api-functional/.../CustomerRepositoryTest.php`` (404/401 bodies).
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Mapping

import msgspec

from .auth import Auth, HeaderToken, OAuth1Signature
from .base import CommonSettings, Credentials, HeaderValue, Page, PageRequest, Provider, is_numeric_id
from .error_table import ErrorTable, Say, Words, json_body
from .errors import CustomerNotFound, ProviderAuthFailed, ProviderBadResponse, ProviderError
from .http import UpstreamResponse
from .models import Address, Customer, Email, Phone
from .normalize import joined_lines, text, unified_address, unified_customer, utc_timestamp
from .paging import Chunk, page_walk
from .site_url import has_segment, site_origin, site_path, site_url

MAX_PAGE_SIZE = 100  # ours: Magento documents no maximum (and none means "all")
MAX_ENTITY_ID = 2**32 - 1  # customer_entity.entity_id is an unsigned int
# Magento's store code rule (letters, digits, underscore; a letter first),
# 32 characters at most (store.code).
_STORE_CODE = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,31}$")
# Integration keys, secrets and tokens are 32 characters (Helper\Oauth::LENGTH_*).
OAuthValue = Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9]{32}$")]
WHERE = "Admin > System > Extensions > Integrations > (the integration) > Integration Info"


class MagentoCredentials(Credentials, kw_only=True):
    access_token: Annotated[HeaderValue, msgspec.Meta(title="Access token", description=(
        f"the integration's Access Token ({WHERE}), or an admin token; alone, it is sent as a bearer "
        "token (integration tokens only where Stores > Configuration > Services > OAuth > Consumer "
        "Settings allows them as bearer tokens)"
    ))]
    consumer_key: Annotated[OAuthValue | None, msgspec.Meta(title="Consumer key", description=(
        f"the integration's Consumer Key ({WHERE}); with the three others, requests are OAuth 1.0a signed"
    ))] = None
    consumer_secret: Annotated[OAuthValue | None, msgspec.Meta(title="Consumer secret", description=(
        f"the integration's Consumer Secret ({WHERE})"
    ))] = None
    access_token_secret: Annotated[OAuthValue | None, msgspec.Meta(title="Access token secret", description=(
        f"the integration's Access Token Secret ({WHERE})"
    ))] = None

    def __post_init__(self) -> None:
        oauth = (self.consumer_key, self.consumer_secret, self.access_token_secret)
        if any(oauth) and not all(oauth):
            raise ValueError(
                "give access_token alone (bearer), or all four of consumer_key, consumer_secret, "
                "access_token and access_token_secret (OAuth 1.0a)"
            )
        if all(oauth) and not re.fullmatch(r"[A-Za-z0-9]{32}", self.access_token):
            raise ValueError("an integration's access_token is 32 letters and digits")

    @property
    def signed(self) -> bool:
        return self.consumer_key is not None


class MagentoSettings(CommonSettings, kw_only=True, forbid_unknown_fields=True):
    store_url: Annotated[str, msgspec.Meta(title="Store URL", description=(
        "the store's base URL (Stores > Configuration > General > Web > Base URLs), https, with any "
        "sub-directory or /index.php, e.g. https://example.com/shop"
    ))]
    store_code: Annotated[str, msgspec.Meta(title="Store view code", description=(
        "the store view's code (Stores > All Stores), default: default"
    ))] = "default"

    def __post_init__(self) -> None:
        super().__post_init__()
        self.store_url = site_url(self.store_url, "store_url")
        if has_segment(self.store_url, frozenset({"rest"})):  # the API path is ours to add
            raise ValueError("store_url must be the store's base URL, not its /rest API URL")
        if not _STORE_CODE.match(self.store_code):
            raise ValueError("store_code must be a store view code: letters, digits and _, a letter first")


# -- the payloads as read -------------------------------------------------------------

Id = int | Annotated[str, msgspec.Meta(pattern=r"^[0-9]{1,20}$")]


class Region(msgspec.Struct):
    region_code: str | None = None
    region: str | None = None


class AddressPayload(msgspec.Struct):
    id: Id | None = None
    street: list[str | None] | None = None
    city: str | None = None
    region: Region | None = None
    postcode: str | None = None
    country_id: str | None = None
    company: str | None = None
    telephone: str | None = None
    default_billing: bool | None = None
    default_shipping: bool | None = None


class CustomerPayload(msgspec.Struct):
    id: Id
    email: str | None = None
    firstname: str | None = None
    lastname: str | None = None
    created_at: str | None = None
    updated_at: str | None = None
    default_billing: Id | None = None  # an address id ("2" in the docs)
    default_shipping: Id | None = None
    addresses: list[AddressPayload] | None = None


class SearchResult(msgspec.Struct):
    items: list[dict[str, Any]] | None  # null read as none
    total_count: Annotated[int, msgspec.Meta(ge=0)]


# -- errors --------------------------------------------------------------------------

class ErrorBody(msgspec.Struct):
    message: str
    parameters: list[Any] | dict[str, Any] | None = None


def render(template: str, parameters: list[Any] | dict[str, Any] | None) -> str:
    """The message as Magento's Phrase renderer makes it: ``%1`` is the first
    of a list, ``%name`` an object's ``name``, each replaced once, longest
    placeholder first (PHP's strtr); values that are not scalars stay out."""
    pairs = enumerate(parameters, 1) if isinstance(parameters, list) else (parameters or {}).items()
    values = {f"%{key}": value for key, raw in list(pairs)[:50] if (value := text(raw)) is not None}
    if not values:
        return template
    pattern = re.compile("|".join(re.escape(k) for k in sorted(values, key=len, reverse=True)))
    return pattern.sub(lambda m: values[m.group(0)][:200], template)


def magento_error(body: Any) -> Words:
    error = msgspec.convert(body, ErrorBody)
    return Words(message=render(error.message, error.parameters))


def template_of(response: UpstreamResponse) -> str | None:
    """The untranslated template of a Magento error body; None without one."""
    try:
        return msgspec.convert(json_body(response), ErrorBody).message
    except msgspec.ValidationError:
        return None


NOT_FOUND = "No such entity with %fieldName = %fieldValue"
CHECK = "check store_url (with any sub-directory or /index.php) and store_code"
REJECTED = Say(ProviderAuthFailed, "rejected the connection's token or integration keys, or its API access")
BEARER_REJECTED = Say(ProviderAuthFailed, (
    "rejected the access token (an admin token expires; an integration's is taken alone only where Stores > "
    "Configuration > Services > OAuth > Consumer Settings allows OAuth access tokens as bearer tokens)"
))
# Where the status and the message template decide together (else the table's rows).
BY_STATUS_AND_TEMPLATE = {
    (404, NOT_FOUND): Say(CustomerNotFound, "has no such customer"),
    (400, "The token length is invalid. Check the length and try again."): REJECTED,
}


class MagentoProvider(Provider[MagentoCredentials, MagentoSettings]):
    name = "magento"
    display_name = "Adobe Commerce (Magento 2)"
    payload_type = CustomerPayload
    destination_settings = Provider.destination_settings | {"store_url", "store_code"}
    # Magento's filters live inside searchCriteria, whose paging and sort are
    # ours to set: nothing is forwarded.
    remote_query_supported = False
    errors = ErrorTable("Adobe Commerce (Magento 2)", read=magento_error, statuses={
        401: REJECTED,
        403: REJECTED,
        404: Say(ProviderBadResponse, f"answered 404 without naming a missing customer: {CHECK}"),
    }, collection=Say(ProviderBadResponse, f"answered 404 for its customer search: {CHECK}"))

    @property
    def origin(self) -> str:
        return self.settings.base_url or site_origin(self.settings.store_url)

    @property
    def api_root(self) -> str:
        return f"{self.origin}{site_path(self.settings.store_url)}/rest/{self.settings.store_code}/V1"

    def make_auth(self) -> Auth:
        c = self.credentials
        if c.signed:
            return OAuth1Signature(c.consumer_key, c.consumer_secret, c.access_token, c.access_token_secret)
        return HeaderToken(c.access_token, scheme="Bearer")

    def request_headers(self) -> dict[str, str]:
        return {"Accept": "application/json"}  # XML is offered too

    def valid_customer_id(self, customer_id: str) -> bool:
        return is_numeric_id(customer_id) and int(customer_id) <= MAX_ENTITY_ID

    def classify_error(self, response: UpstreamResponse) -> ProviderError:
        row = BY_STATUS_AND_TEMPLATE.get((response.status, template_of(response)))
        if row is None and response.status == 401 and not self.credentials.signed:
            row = BEARER_REJECTED
        return self.errors.classify(response, self.redact, row=row)  # None: the table's row

    async def fetch_customer(self, customer_id: str, query: Mapping[str, str] | None = None) -> dict[str, Any]:
        raw = await self.get_json(f"/customers/{customer_id}", dict[str, Any])
        self.check_customer_id(str(raw.get("id")), customer_id)  # the number or its digits
        return raw

    async def list_customers(self, request: PageRequest) -> Page:
        async def fetch(page: int, per_page: int) -> Chunk:
            result = await self._search(page, per_page)
            items = result.items or []
            if (page - 1) * per_page >= result.total_count:
                return Chunk([], False)  # past the end: the last page again, already served
            if len(items) > per_page:
                raise ProviderBadResponse(f"{self.display_name} answered more customers than the page size asked")
            # An empty page before total_count says the end is near: the count moved.
            return Chunk(items, bool(items) and page * per_page < result.total_count)

        return await page_walk(request, fetch, MAX_PAGE_SIZE)

    async def verify(self) -> None:
        await self._search(1, 1)

    async def _search(self, page: int, per_page: int) -> SearchResult:
        params = {
            "searchCriteria[pageSize]": str(per_page),
            "searchCriteria[currentPage]": str(page),
            "searchCriteria[sortOrders][0][field]": "entity_id",
            "searchCriteria[sortOrders][0][direction]": "ASC",
        }
        return await self.get_json("/customers/search", SearchResult, params, collection=True)

    @staticmethod
    def map_payload(payload: CustomerPayload) -> Customer:
        billing_id, shipping_id = text(payload.default_billing), text(payload.default_shipping)
        addresses: list[Address] = []
        defaults: dict[str, AddressPayload] = {}
        for a in payload.addresses or []:
            kinds = [kind for kind, default_id, flag in (
                ("billing", billing_id, a.default_billing), ("shipping", shipping_id, a.default_shipping),
            ) if (text(a.id) == default_id if default_id is not None else flag)]
            for kind in kinds:
                defaults.setdefault(kind, a)
            addresses += [_address(a, kind) for kind in kinds or [None]]
        sections = [(kind, defaults[kind]) for kind in ("billing", "shipping") if kind in defaults]
        phones = [Phone(number=n, type=kind) for kind, a in sections if (n := text(a.telephone))]
        first, last = text(payload.firstname), text(payload.lastname)
        return unified_customer(
            remote_id=str(payload.id), first_name=first, last_name=last,
            company_name=next((c for _, a in sections if (c := text(a.company))), None),
            status=None, currency=None,
            emails=[Email(email=email)] if (email := text(payload.email)) else [],
            phones=phones, addresses=addresses,
            created_at=utc_timestamp(payload.created_at),  # zone-less, UTC
            modified_at=utc_timestamp(payload.updated_at),
        )


def _address(a: AddressPayload, kind: str | None) -> Address:
    lines = [line for line in (text(s) for s in a.street or []) if line]
    region = a.region or Region()
    return unified_address(
        id=a.id, street_1=lines[0] if lines else None, street_2=joined_lines(lines[1:]), city=a.city,
        state=text(region.region_code) or text(region.region), postal_code=a.postcode, country=a.country_id,
        address_type=kind,
    )
