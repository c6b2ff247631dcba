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
  person's ``first_name``/``last_name``/``email``/``phone``/``mobile`` are
  flattened onto the row). Vendors are dropped after the fetch (the list
  cannot filter on contact type), and a page left short is topped up from
  the next Zoho pages, reading at most ``MAX_LIST_CALLS`` of them, so the
  cursor may point inside a Zoho page. Going back returns the records just
  before the current position, at most one Zoho page of them.
* verify: ``GET /inventory/v1/contacts?organization_id={org}&per_page=1``
  (needs only the contacts scope the connection needs anyway, and proves
  the organization id; ``/organizations`` would need ``settings.READ``).

Auth: ``Authorization: Zoho-oauthtoken {access_token}`` (not ``Bearer``,
although the token response says ``token_type: "Bearer"``). Access tokens
come from the accounts server of the organisation's data centre (``auth_url``
replaces its origin): ``POST {accounts}/oauth/v2/token?refresh_token=...
&client_id=...&client_secret=...&grant_type=refresh_token`` -- the query
string is how every Zoho "refresh access token" page documents it -- ->
``{"access_token", "api_domain", "token_type", "expires_in": 3600}`` (extra
keys such as ``scope`` are ignored; the legacy shape with ``expires_in_sec``
and ``expires_in`` in milliseconds is read too). The token lives one hour; it
is refreshed ``REFRESH_MARGIN_SECONDS`` before expiry or once after a 401, by
one TokenManager per provider instance (= per connection), so a cold burst
makes one token request. ``api_domain`` is stored with the token
(``AccessToken.extra``) and used as the API origin.

Token endpoint failures: Zoho answers HTTP 200 (or 400) with ``{"error":
"invalid_code"}`` (unknown or revoked refresh token), ``invalid_client`` or
``invalid_client_secret``; those, and RFC 6749's ``invalid_grant`` /
``unauthorized_client``, are permanent: the connection is marked
needs-reauth and ReauthRequired raised. Zoho's throttle (HTTP 400 ``{"error":
"Access Denied", "error_description": "You have made too many requests
continuously. ...", "status": "failure"}``), 429, 5xx and transport errors
are transient and mark nothing. The throttle carries no wait; it is reported
with ``retry_after = TOKEN_THROTTLE_RETRY_AFTER`` (our choice: it makes the
retry layer hand the 429 to the client instead of re-asking at once, which
would prolong the block).

API errors: the body is ``{"code": <non-zero>, "message": "..."}`` -- also
with HTTP 200, so ``code`` is always checked. 401 (code 14 invalid token,
code 57 not authorised) and 403 -> ProviderAuthFailed after one refresh and
retry (the 401 only); code 6041 ("This user is not associated with the
CompanyID/CompanyName") -> ProviderAuthFailed (organization_id not reachable
with these credentials); 404 or code 1002 ("... does not exist.") ->
CustomerNotFound; 429 -> ProviderRateLimited (``Retry-After`` if sent; Zoho
documents none); 5xx -> ProviderUnavailable; anything else ->
ProviderBadResponse. Messages carry the HTTP status and Zoho's numeric code
only, never Zoho's text, a token or a secret.

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
import time
from typing import Annotated, Any, Mapping

import msgspec

from .base import CommonSettings, Page, PageRequest, Provider, is_numeric_id, valid_origin
from .errors import (
    CustomerNotFound,
    ProviderAuthFailed,
    ProviderBadResponse,
    ProviderError,
    ProviderRateLimited,
    ProviderUnavailable,
    ReauthRequired,
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
from .tokens import AccessToken, MemoryTokenStore, TokenManager

# data_center -> (accounts server, API domain).
DATA_CENTERS: dict[str, tuple[str, str]] = {
    "com": ("https://accounts.zoho.com", "https://www.zohoapis.com"),
    "eu": ("https://accounts.zoho.eu", "https://www.zohoapis.eu"),
    "in": ("https://accounts.zoho.in", "https://www.zohoapis.in"),
    "com.au": ("https://accounts.zoho.com.au", "https://www.zohoapis.com.au"),
    "jp": ("https://accounts.zoho.jp", "https://www.zohoapis.jp"),
    "ca": ("https://accounts.zohocloud.ca", "https://www.zohoapis.ca"),
    "com.cn": ("https://accounts.zoho.com.cn", "https://www.zohoapis.com.cn"),
    "sa": ("https://accounts.zoho.sa", "https://www.zohoapis.sa"),
}
CONTACTS_PATH = "/inventory/v1/contacts"
TOKEN_PATH = "/oauth/v2/token"
MAX_LIST_CALLS = 5  # Zoho pages read for one API page at most
MAX_PAGE_SIZE = 200  # List contacts: per_page "Default value is 200"; pagination page: max 200
TOKEN_LIFETIME = 3600  # "expires_in": 3600 in every documented refresh response
TOKEN_THROTTLE_RETRY_AFTER = 60.0  # ours: Zoho's "Access Denied" throttle names no wait

# Header and query values: visible ASCII only, no spaces.
_SECRET = re.compile(r"^[\x21-\x7e]{1,4096}$")
_ORG_ID = re.compile(r"^[0-9]{1,20}$")
# A token-endpoint error code worth repeating in a message.
_CODE = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,63}$")
_PERMANENT_OAUTH_ERRORS = frozenset(
    {
        "invalid_code",  # Zoho: unknown or revoked refresh token
        "invalid_client",
        "invalid_client_secret",
        "invalid_grant",  # RFC 6749
        "unauthorized_client",
    }
)
_AUTH_CODES = frozenset({14, 57})  # invalid OAuth token / not authorized to perform this operation
_ORG_CODES = frozenset({6041})  # user not associated with the organization
_NOT_FOUND_CODES = frozenset({1002})  # "... does not exist."


def accounts_origin(data_center: str) -> str:
    """The Zoho Accounts server (token endpoint origin) of a data centre."""
    return DATA_CENTERS[data_center][0]


def api_origin(data_center: str) -> str:
    """The default API domain of a data centre (when no api_domain is known)."""
    return DATA_CENTERS[data_center][1]


class ZohoInventoryCredentials(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    client_id: Annotated[str, msgspec.Meta(description="OAuth client id (Zoho API Console, e.g. a Self Client)")]
    client_secret: Annotated[str, msgspec.Meta(description="OAuth client secret")]
    refresh_token: Annotated[str, msgspec.Meta(description=(
        "a refresh token with the ZohoInventory.contacts.READ scope"
    ))]

    def __post_init__(self) -> None:
        for field in ("client_id", "client_secret", "refresh_token"):
            if not _SECRET.match(getattr(self, field)):
                raise ValueError(f"{field} must be non-empty, without spaces")

    def __repr__(self) -> str:  # never print a secret
        return "ZohoInventoryCredentials(client_id=..., client_secret=..., refresh_token=...)"


class ZohoInventorySettings(CommonSettings, kw_only=True, forbid_unknown_fields=True):
    organization_id: Annotated[str, msgspec.Meta(description="the numeric Zoho Inventory organization ID")]
    data_center: Annotated[str, msgspec.Meta(description=(
        f"the account's data centre: {', '.join(DATA_CENTERS)}"
    ))]
    auth_url: Annotated[str | None, msgspec.Meta(description=(
        "replaces the accounts server's origin (the token endpoint)"
    ))] = None

    def __post_init__(self) -> None:
        super().__post_init__()
        valid_origin(self.auth_url, "auth_url")
        if not _ORG_ID.match(self.organization_id):
            raise ValueError("organization_id must be the numeric Zoho Inventory organization ID")
        if self.data_center not in DATA_CENTERS:
            raise ValueError(f"data_center must be one of {', '.join(DATA_CENTERS)}")


class ZohoInventoryProvider(Provider):
    name = "zoho_inventory"
    display_name = "Zoho Inventory"
    credentials_type = ZohoInventoryCredentials
    settings_type = ZohoInventorySettings
    default_origin = "https://www.zohoapis.com"
    # Paging and ordering are ours (page numbers only hold under one order).
    remote_query_denied = Provider.remote_query_denied | {"sort_column", "sort_order"}
    destination_settings = Provider.destination_settings | {"data_center", "organization_id"}

    credentials: ZohoInventoryCredentials
    settings: ZohoInventorySettings

    def __init__(self, credentials: Any, settings: Any, http: Any, tokens: Any = None) -> None:
        super().__init__(credentials, settings, http, tokens)
        # One manager per provider instance (= per connection): refreshes are
        # single-flight, so a cold burst mints exactly one token.
        self._token_manager = TokenManager(tokens or MemoryTokenStore(), self._mint_token)

    @property
    def origin(self) -> str:
        return self.settings.base_url or api_origin(self.settings.data_center)

    @property
    def auth_origin(self) -> str:
        return self.settings.auth_url or accounts_origin(self.settings.data_center)

    def api_origin_for(self, token: AccessToken) -> str:
        """base_url, else the api_domain minted with the token, else the DC's."""
        if self.settings.base_url:
            return self.settings.base_url
        api_domain = token.extra.get("api_domain")
        if isinstance(api_domain, str) and _is_origin(api_domain):
            return api_domain
        return api_origin(self.settings.data_center)

    # -- requests --------------------------------------------------------------

    def valid_customer_id(self, customer_id: str) -> bool:
        return is_numeric_id(customer_id)

    async def fetch_customer(
        self, customer_id: str, query: Mapping[str, str] | None = None
    ) -> dict[str, Any]:
        body = await self._get(f"{CONTACTS_PATH}/{customer_id}", dict(query or {}))
        contact = body.get("contact")
        if not isinstance(contact, dict):
            raise ProviderBadResponse("Zoho Inventory answered without a `contact` object")
        if not _is_customer(contact):
            # Vendors share the contacts resource; they are not customers.
            raise CustomerNotFound(
                "Zoho Inventory has no customer with this id (the contact is not a customer)",
                remote_status=200,
            )
        return contact

    async def list_customers(self, request: PageRequest) -> Page:
        # A position is (Zoho page, customers of that page already served):
        # vendors are dropped after the fetch (Zoho's list cannot filter on
        # contact_type), so a short page is topped up from the next Zoho page
        # and the cursor may point into the middle of one.
        state = request.state or {}
        per_page = state.get("per_page", min(request.limit, MAX_PAGE_SIZE))
        if not _positive_int(per_page) or per_page > MAX_PAGE_SIZE:
            per_page = min(request.limit, MAX_PAGE_SIZE)
        start = _position(state.get("page"), state.get("skip", 0)) or (1, 0)
        stop = _position(*state["stop"]) if _is_pair(state.get("stop")) else None
        items: list[dict[str, Any]] = []
        page, skip = start
        for call in range(1, MAX_LIST_CALLS + 1):
            customers, more = await self._customer_page(request.query, page, per_page)
            end = stop[1] if stop is not None and stop[0] == page else len(customers)
            chunk = customers[skip:end]
            room = request.limit - len(items)
            if len(chunk) > room:
                items += chunk[:room]
                resume: tuple[int, int] | None = (page, skip + room)
                break
            items += chunk
            if stop is not None and (stop[0] == page or stop == (page + 1, 0)):
                resume = stop  # a page going back ends where the one it came from begins
                break
            if not more:
                resume = None
                break
            resume = (page + 1, 0)
            # Bounded: a store of mostly vendors gives a short page, not a slow one.
            if len(items) == request.limit or call == MAX_LIST_CALLS:
                break
            page, skip = page + 1, 0
        return Page(
            items=items,
            # per_page travels with the position: pages only line up under one size.
            next=_state(resume, per_page) if resume is not None else None,
            prev=_back(start, per_page),
        )

    async def _customer_page(
        self, query: Mapping[str, str], page: int, per_page: int
    ) -> tuple[list[dict[str, Any]], bool]:
        params = {**query, "page": str(page), "per_page": str(per_page), "sort_column": "created_time"}
        body = await self._get(CONTACTS_PATH, params)
        contacts = body.get("contacts")
        if not isinstance(contacts, list) or not all(isinstance(c, dict) for c in contacts):
            raise ProviderBadResponse("Zoho Inventory answered without a `contacts` list")
        context = body.get("page_context")
        more = context.get("has_more_page") if isinstance(context, dict) else None
        if not isinstance(more, bool):  # the doc example omits page_context
            more = len(contacts) >= per_page
        return [c for c in contacts if _is_customer(c)], more

    async def verify(self) -> None:
        body = await self._get(CONTACTS_PATH, {"per_page": "1"})
        if not isinstance(body.get("contacts"), list):
            raise ProviderBadResponse("Zoho Inventory answered without a `contacts` list")

    async def _get(self, path: str, params: Mapping[str, str]) -> dict[str, Any]:
        manager = self._token_manager
        token = await manager.get()
        response = await self._send(token, path, params)
        if response.status == 401:
            # Revoked or expired early: one retry with a new token.
            token = await manager.get(stale=token)
            response = await self._send(token, path, params)
        if not 200 <= response.status < 300:
            raise self.classify_error(response)
        body = response.json()
        if not isinstance(body, dict):
            raise ProviderBadResponse("Zoho Inventory answered with JSON that is not an object")
        code = body.get("code", 0)
        if code != 0:  # Zoho reports some failures with HTTP 200
            number = code if isinstance(code, int) and not isinstance(code, bool) else None
            raise self._api_error(response.status, number, response)
        return body

    async def _send(
        self, token: AccessToken, path: str, params: Mapping[str, str]
    ) -> UpstreamResponse:
        assert self.http is not None
        return await self.http.request(
            "GET",
            f"{self.api_origin_for(token)}{path}",
            headers={"Authorization": f"Zoho-oauthtoken {token.access_token}"},
            # organization_id last: nothing forwarded can replace it.
            params={**params, "organization_id": self.settings.organization_id},
        )

    # -- OAuth tokens ------------------------------------------------------------

    async def _mint_token(self) -> AccessToken:
        assert self.http is not None
        response = await self.http.request(
            "POST",
            f"{self.auth_origin}{TOKEN_PATH}",
            params={
                "refresh_token": self.credentials.refresh_token,
                "client_id": self.credentials.client_id,
                "client_secret": self.credentials.client_secret,
                "grant_type": "refresh_token",
            },
        )
        status = response.status
        if status == 429:
            raise ProviderRateLimited(
                "Zoho's token endpoint rate limit reached (429)",
                remote_status=status,
                retry_after=retry_after_seconds(response.headers.get("Retry-After")),
            )
        if status >= 500:
            raise ProviderUnavailable(
                f"Zoho's token endpoint failed ({status})", remote_status=status
            )
        try:
            body = msgspec.json.decode(response.body)
        except msgspec.DecodeError:
            raise ProviderBadResponse(
                f"Zoho's token endpoint answered {status} with a body that is not JSON",
                remote_status=status,
            ) from None
        if not isinstance(body, dict):
            raise ProviderBadResponse(
                "Zoho's token endpoint answered with JSON that is not an object",
                remote_status=status,
            )
        if "error" in body or not 200 <= status < 300:
            raise await self._token_refused(status, body)
        access_token = body.get("access_token")
        if not isinstance(access_token, str) or not _SECRET.match(access_token):
            raise ProviderBadResponse("Zoho's token endpoint answered without an access_token")
        extra: dict[str, Any] = {}
        api_domain = body.get("api_domain")
        if isinstance(api_domain, str) and _is_origin(api_domain):
            extra["api_domain"] = api_domain
        return AccessToken(
            access_token=access_token, expires_at=time.time() + _lifetime(body), extra=extra
        )

    async def _token_refused(self, status: int, body: dict[str, Any]) -> ProviderError:
        error = body.get("error")
        code = error if isinstance(error, str) else None
        detail = f" ({status}: {code})" if code and _CODE.match(code) else f" ({status})"
        description = body.get("error_description")
        if (code or "").lower() == "access denied" or (
            isinstance(description, str) and "too many requests" in description.lower()
        ):
            return ProviderRateLimited(
                "Zoho's token endpoint is throttling this client (too many token requests)",
                remote_status=status,
                retry_after=TOKEN_THROTTLE_RETRY_AFTER,
            )
        if code is not None and code.lower() in _PERMANENT_OAUTH_ERRORS:
            if self.tokens is not None:
                await self.tokens.mark_needs_reauth()
            return ReauthRequired(
                "Zoho refused the refresh token or client credentials for good" + detail
                + "; reconnect the store",
                remote_status=status,
            )
        return ProviderAuthFailed(
            "Zoho refused to issue an access token" + detail, remote_status=status
        )

    # -- errors ----------------------------------------------------------------

    def classify_error(self, response: UpstreamResponse) -> ProviderError:
        code = None
        try:
            body = msgspec.json.decode(response.body)
        except msgspec.DecodeError:
            body = None
        if isinstance(body, dict) and isinstance(body.get("code"), int):
            code = body["code"]
        return self._api_error(response.status, code, response)

    def _api_error(
        self, status: int, code: int | None, response: UpstreamResponse
    ) -> ProviderError:
        detail = f" ({status}, code {code})" if code is not None else f" ({status})"
        if status == 429:
            return ProviderRateLimited(
                "Zoho Inventory rate limit reached" + detail,
                remote_status=status,
                retry_after=retry_after_seconds(response.headers.get("Retry-After")),
            )
        if status >= 500:
            return ProviderUnavailable("Zoho Inventory failed" + detail, remote_status=status)
        if code in _ORG_CODES:
            return ProviderAuthFailed(
                "Zoho Inventory says these credentials cannot reach the connection's "
                "organization_id" + detail,
                remote_status=status,
            )
        if status in (401, 403) or code in _AUTH_CODES:
            return ProviderAuthFailed(
                "Zoho Inventory rejected the connection's access token or its scopes" + detail,
                remote_status=status,
            )
        if status == 404 or code in _NOT_FOUND_CODES:
            return CustomerNotFound(
                "Zoho Inventory has no contact with this id" + detail, remote_status=status
            )
        return ProviderBadResponse(
            "Zoho Inventory refused the request" + detail, remote_status=status
        )

    # -- mapping ---------------------------------------------------------------

    @staticmethod
    def map_customer(raw: dict[str, Any]) -> Customer:
        contact_id = raw["contact_id"]
        if isinstance(contact_id, bool) or not isinstance(contact_id, (int, str)):
            raise ValueError("a Zoho contact_id must be a number or a string")
        remote_id = text(contact_id)
        if remote_id is None:
            raise ValueError("a Zoho contact_id must not be empty")

        persons = [p for p in raw.get("contact_persons") or [] if isinstance(p, dict)]
        primary_index = next(
            (i for i, p in enumerate(persons) if p.get("is_primary_contact") is True), 0
        )
        # The primary person first, then the others in Zoho's order.
        ordered = persons[primary_index:primary_index + 1] + [
            p for i, p in enumerate(persons) if i != primary_index
        ]
        if not ordered:
            # List rows flatten the primary person onto the contact itself.
            ordered = [raw]
        primary = ordered[0]
        first, last = text(primary.get("first_name")), text(primary.get("last_name"))

        emails = one_primary_email(
            Email(email=email, is_primary=person is primary)
            for person in ordered
            if (email := text(person.get("email")))
        )
        phones = one_primary_phone(
            Phone(number=number, type=kind, is_primary=person is primary)
            for person in ordered
            for field, kind in (("phone", "work"), ("mobile", "mobile"))
            if (number := text(person.get(field)))
        )
        addresses = [
            _address(raw.get(f"{kind}_address"), kind) for kind in ("billing", "shipping")
        ]
        status = text(raw.get("status"))
        return Customer(
            id=remote_id,
            remote_id=remote_id,
            email=emails[0].email if emails else None,
            first_name=first,
            last_name=last,
            name=text(raw.get("contact_name")) or full_name(first, last),
            company_name=text(raw.get("company_name")),
            phone_number=phones[0].number if phones else None,
            status=status if status in ("active", "inactive") else None,
            currency=text(raw.get("currency_code")),
            emails=emails,
            phones=phones,
            addresses=[a for a in addresses if a is not None and keep_address(a)],
            created_at=utc_timestamp(raw.get("created_time")),
            modified_at=utc_timestamp(raw.get("last_modified_time")),
        )


def _address(value: Any, kind: str) -> Address | None:
    if not isinstance(value, dict):
        return None
    return Address(
        id=text(value.get("address_id")),
        street_1=text(value.get("address")),
        street_2=text(value.get("street2")),
        city=text(value.get("city")),
        state=text(value.get("state")),
        postal_code=text(value.get("zip")),
        # The ISO code where Zoho gives one; else the free-text country.
        country=country_code(value.get("country_code")) or country_code(value.get("country")),
        address_type=kind,
    )


def _is_customer(contact: dict[str, Any]) -> bool:
    """False for an explicit non-customer (vendor); a missing type is kept."""
    kind = contact.get("contact_type")
    return not isinstance(kind, str) or not kind or kind.lower() == "customer"


def _lifetime(body: dict[str, Any]) -> float:
    # Older responses carry expires_in_sec with expires_in in milliseconds.
    for key in ("expires_in_sec", "expires_in"):
        value = body.get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0:
            return float(value)
    return float(TOKEN_LIFETIME)


def _is_origin(value: str) -> bool:
    try:
        valid_origin(value, "api_domain")
    except ValueError:
        return False
    return True


def _position(page: Any, skip: Any) -> tuple[int, int] | None:
    if _positive_int(page) and isinstance(skip, int) and not isinstance(skip, bool) and skip >= 0:
        return page, skip
    return None


def _is_pair(value: Any) -> bool:
    return isinstance(value, list) and len(value) == 2


def _state(position: tuple[int, int], per_page: int) -> dict[str, Any]:
    page, skip = position
    return {"page": page, "per_page": per_page, **({"skip": skip} if skip else {})}


def _back(start: tuple[int, int], per_page: int) -> dict[str, Any] | None:
    """The records just before ``start``: the rest of the Zoho page it is in,
    or else the whole previous Zoho page, stopping where ``start`` begins so
    that going back never repeats a record. Where vendors were dropped that
    page can be shorter than the limit; it is never a guess."""
    page, skip = start
    if skip:
        return {"page": page, "per_page": per_page, "stop": [page, skip]}
    if page > 1:
        return {"page": page - 1, "per_page": per_page, "stop": [page, 0]}
    return None


def _positive_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1
