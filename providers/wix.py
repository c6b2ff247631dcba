"""Wix: store buyers are Contacts (CRM), read from the Contacts v4 API.

Endpoints (origin ``https://www.wixapis.com``, replaced by ``base_url``):

* get one: ``GET /contacts/v4/contacts/{id}`` -> ``{"contact": {...}}``. The
  default fieldset is ``FULL``. Ids are GUIDs; anything else is not found
  without a call. For a *merged* contact Wix answers with the merge target,
  so the returned ``id`` can differ from the one asked for: the mapping uses
  the returned id.
* list: ``GET /contacts/v4/contacts?paging.limit=N&paging.offset=O
  &sort.fieldName=createdDate&sort.order=ASC`` -> ``{"contacts": [...],
  "pagingMetadata": {"count", "offset", "total" | "tooManyToCount"}}``
  (offset paging, at most 1000 a page).
* verify: ``GET /contacts/v4/contacts?paging.limit=1``.

Auth, one of two modes (credentials decide, settings must match):

* API key (site owner): ``Authorization: {api_key}`` and
  ``wix-site-id: {site_id}`` (Contacts is a site-level API).
* App OAuth (client credentials): ``POST {auth_url}/oauth2/token`` with JSON
  ``{"grant_type": "client_credentials", "client_id", "client_secret",
  "instance_id"}`` -> ``{"access_token", "token_type": "Bearer",
  "expires_in": 14400}``. There is no refresh token: a new one is minted
  shortly before expiry (TokenManager, single-flight per connection) or once
  after a 401. The token is sent bare, ``Authorization: {access_token}``,
  as Wix's "REST API Authentication" page states (``Authorization:
  <token>``) and every Wix curl example shows (``-H 'Authorization:
  <AUTH>'``), although ``token_type`` says Bearer.

Errors: Wix's body is ``{"message", "details": {"applicationError": {"code",
"description", "data"}}}`` or ``details.validationError.fieldViolations``;
system errors are ``{"message": "", "details": {}}``. 401/403 ->
ProviderAuthFailed (403: missing "Read Contacts" permission or a site id the
key's account does not own); 404 -> CustomerNotFound; 429 (Wix: "resource
exhausted", 200 requests/minute per app instance) -> ProviderRateLimited
(Retry-After if sent; Wix documents none); 5xx -> ProviderUnavailable.
Messages carry only the status and Wix's error *code*, never free text, so no
credential or token can leak through them.

Token endpoint failures: Wix says its errors "follow the conventions of the
IETF", i.e. RFC 6749 section 5.2 ``{"error": "invalid_client", ...}``; the
Wix general shape is read too. A 401, or a 400/403 whose code is
``invalid_grant``/``invalid_client``/``unauthorized_client`` (or Wix's
``UNAUTHENTICATED``/``PERMISSION_DENIED``), is permanent: the connection is
marked needs-reauth and ReauthRequired raised. 429/5xx/transport failures
are transient and mark nothing.

Mapping notes: ``state`` is the ISO 3166-2 ``subdivision`` without its
country prefix (``US-ME`` -> ``ME``; the country is in ``country``); a value
that is not ``{country}-{code}`` passes through unchanged. Email/phone
``type`` is the tag lower-cased (``UNTAGGED`` -> null). ``address_type`` is
set only for the ``BILLING``/``SHIPPING`` tags. Contacts include everyone who
interacted with the site (form fills, subscribers, members), not only buyers;
Wix has no "customer" flag.

Uncertain (not documented, handled defensively):
* no recorded Wix body for a 401/403/404 on contacts or for a refused token
  request; the classification rests on the status and the documented shapes;
* ``pagingMetadata`` may omit ``total`` (``tooManyToCount``; one doc example
  spells it ``too_many_to_count``): then a full page means "maybe more";
* ``ecom.totalSpentCurrency`` (extended field) is a spend currency, not a
  customer currency, so ``currency`` stays null.

Sources:
https://dev.wix.com/docs/rest/crm/members-contacts/contacts/contacts/contact-v4/get-contact
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
import time
from typing import Annotated, Any, Mapping

import msgspec

from .base import CommonSettings, Page, PageRequest, Provider, is_uuid, valid_origin
from .errors import (
    ConfigurationError,
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

WIX_ORIGIN = "https://www.wixapis.com"
CONTACTS_PATH = "/contacts/v4/contacts"
TOKEN_PATH = "/oauth2/token"
MAX_PAGE_SIZE = 1000  # List Contacts: "Maximum: 1000"
TOKEN_LIFETIME = 14400  # Create Access Token: expires_in "Always 14400 (4 hours)"

# Header values: visible ASCII only, no spaces.
_SECRET = re.compile(r"^[\x21-\x7e]{1,4096}$")
# An error code worth repeating in a message: an identifier, nothing else.
_CODE = re.compile(r"^[A-Za-z][A-Za-z0-9_.\-]{0,63}$")
# ISO 3166-2: the country's alpha-2, a hyphen, up to three alphanumerics.
_SUBDIVISION = re.compile(r"^([A-Za-z]{2})-([A-Za-z0-9]{1,3})$")
_PERMANENT_OAUTH_ERRORS = frozenset({"invalid_grant", "invalid_client", "unauthorized_client"})
# Errors.md names these application error codes for authentication/permission.
_PERMANENT_WIX_CODES = frozenset({"UNAUTHENTICATED", "PERMISSION_DENIED"})
_ADDRESS_TYPES = {"BILLING": "billing", "SHIPPING": "shipping"}


class WixCredentials(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Either ``api_key``, or ``client_id`` + ``client_secret`` (app OAuth)."""

    api_key: Annotated[str | None, msgspec.Meta(description=(
        "an API key with the Read Contacts permission (goes with settings.site_id)"
    ))] = None
    client_id: Annotated[str | None, msgspec.Meta(description=(
        "app OAuth instead of api_key: the app id (goes with client_secret and settings.instance_id)"
    ))] = None
    client_secret: Annotated[str | None, msgspec.Meta(description="app OAuth: the app's secret key")] = None

    def __post_init__(self) -> None:
        oauth_parts = (self.client_id, self.client_secret)
        if self.api_key is not None:
            if any(part is not None for part in oauth_parts):
                raise ValueError(
                    "give either api_key or client_id + client_secret, not both"
                )
            if not _SECRET.match(self.api_key):
                raise ValueError("api_key must be the Wix API key, without spaces")
            return
        if all(part is None for part in oauth_parts):
            raise ValueError("give either api_key, or client_id and client_secret (app OAuth)")
        if any(part is None for part in oauth_parts):
            raise ValueError("app OAuth needs both client_id (the app id) and client_secret")
        if not _SECRET.match(self.client_id or "") or not _SECRET.match(self.client_secret or ""):
            raise ValueError("client_id and client_secret must be non-empty, without spaces")

    @property
    def oauth(self) -> bool:
        return self.api_key is None

    def __repr__(self) -> str:  # never print a secret
        return f"WixCredentials(mode={'oauth' if self.oauth else 'api_key'})"


class WixSettings(CommonSettings, kw_only=True, forbid_unknown_fields=True):
    """``site_id`` goes with an API key, ``instance_id`` with app OAuth."""

    site_id: Annotated[str | None, msgspec.Meta(description="the site's GUID, with an api_key")] = None
    instance_id: Annotated[str | None, msgspec.Meta(description=(
        "the app instance GUID on the site, with app OAuth"
    ))] = None
    auth_url: Annotated[str | None, msgspec.Meta(description=(
        "replaces the OAuth token endpoint's origin (https://www.wixapis.com)"
    ))] = None

    def __post_init__(self) -> None:
        super().__post_init__()
        valid_origin(self.auth_url, "auth_url")
        for field in ("site_id", "instance_id"):
            value = getattr(self, field)
            if value is not None and not is_uuid(value):
                raise ValueError(f"{field} must be a Wix GUID like 1a2b3c4d-0000-4000-8000-123456789abc")


class WixProvider(Provider):
    name = "wix"
    display_name = "Wix"
    credentials_type = WixCredentials
    settings_type = WixSettings
    default_origin = WIX_ORIGIN
    # fields/fieldsets could drop the info the mapping reads; paging.* is ours.
    remote_query_denied = Provider.remote_query_denied | {"fields", "fieldsets", "paging"}
    destination_settings = Provider.destination_settings | {"site_id", "instance_id"}

    credentials: WixCredentials
    settings: WixSettings

    def __init__(self, credentials: Any, settings: Any, http: Any, tokens: Any = None) -> None:
        super().__init__(credentials, settings, http, tokens)
        # One manager per provider instance (= per connection): refreshes are
        # single-flight, so a cold burst mints exactly one token.
        self._token_manager: TokenManager | None = (
            TokenManager(tokens or MemoryTokenStore(), self._mint_token)
            if credentials.oauth
            else None
        )

    # -- configuration -------------------------------------------------------

    @classmethod
    def parse_config(cls, credentials: Any, settings: Any) -> tuple[msgspec.Struct, msgspec.Struct]:
        creds, sets = super().parse_config(credentials, settings)
        assert isinstance(creds, WixCredentials) and isinstance(sets, WixSettings)
        if creds.oauth:
            if sets.instance_id is None:
                raise ConfigurationError(
                    "settings: instance_id (the app instance on the site) is required with "
                    "client_id/client_secret"
                )
            if sets.site_id is not None:
                raise ConfigurationError(
                    "settings: site_id goes with an api_key; app OAuth takes instance_id"
                )
        else:
            if sets.site_id is None:
                raise ConfigurationError(
                    "settings: site_id (sent as wix-site-id) is required with an api_key"
                )
            if sets.instance_id is not None:
                raise ConfigurationError(
                    "settings: instance_id goes with client_id/client_secret; an api_key takes site_id"
                )
        return creds, sets

    @property
    def auth_origin(self) -> str:
        return self.settings.auth_url or WIX_ORIGIN

    # -- requests --------------------------------------------------------------

    def valid_customer_id(self, customer_id: str) -> bool:
        return is_uuid(customer_id)

    async def fetch_customer(
        self, customer_id: str, query: Mapping[str, str] | None = None
    ) -> dict[str, Any]:
        body = await self._get(f"{CONTACTS_PATH}/{customer_id}", dict(query or {}))
        contact = body.get("contact")
        if not isinstance(contact, dict):
            raise ProviderBadResponse("Wix answered without a `contact` object")
        return contact

    async def list_customers(self, request: PageRequest) -> Page:
        limit = min(request.limit, MAX_PAGE_SIZE)
        offset = (request.state or {}).get("offset", 0)
        if not isinstance(offset, int) or isinstance(offset, bool) or offset < 0:
            offset = 0
        params = {
            **request.query,
            "paging.limit": str(limit),
            "paging.offset": str(offset),
            # A stable order for offset paging (the default order is undocumented).
            "sort.fieldName": "createdDate",
            "sort.order": "ASC",
        }
        body = await self._get(CONTACTS_PATH, params)
        contacts = body.get("contacts", [])  # proto JSON may omit an empty list
        if not isinstance(contacts, list) or not all(isinstance(c, dict) for c in contacts):
            raise ProviderBadResponse("Wix answered without a `contacts` list")
        meta = body.get("pagingMetadata")
        total = meta.get("total") if isinstance(meta, dict) else None
        count = len(contacts)
        if isinstance(total, int) and not isinstance(total, bool):
            more = count > 0 and offset + count < total
        else:  # tooManyToCount: no total, so a full page may have a successor
            more = count >= limit
        return Page(
            items=contacts,
            next={"offset": offset + count} if more else None,
            prev={"offset": max(0, offset - limit)} if offset > 0 else None,
        )

    async def verify(self) -> None:
        try:
            await self._get(CONTACTS_PATH, {"paging.limit": "1"})
        except CustomerNotFound as exc:
            # The contacts collection exists on every site: a 404 here means
            # the connection points at nothing, a fault of its settings.
            raise ProviderAuthFailed(
                "Wix found no contacts API for this connection (404)", remote_status=exc.remote_status
            ) from None

    async def _get(self, path: str, params: Mapping[str, str]) -> dict[str, Any]:
        assert self.http is not None
        url = f"{self.origin}{path}"
        manager = self._token_manager
        if manager is None:
            headers = {
                "Authorization": self.credentials.api_key or "",
                "wix-site-id": self.settings.site_id or "",
            }
            response = await self.http.request("GET", url, headers=headers, params=params or None)
        else:
            token = await manager.get()
            response = await self.http.request(
                "GET", url, headers={"Authorization": token.access_token}, params=params or None
            )
            if response.status == 401:
                # Revoked or expired early: one retry with a new token.
                token = await manager.get(stale=token)
                response = await self.http.request(
                    "GET", url, headers={"Authorization": token.access_token}, params=params or None
                )
        body = self.ok_json(response)
        if not isinstance(body, dict):
            raise ProviderBadResponse("Wix answered with JSON that is not an object")
        return body

    # -- OAuth tokens ------------------------------------------------------------

    async def _mint_token(self) -> AccessToken:
        assert self.http is not None
        response = await self.http.request(
            "POST",
            f"{self.auth_origin}{TOKEN_PATH}",
            json={
                "grant_type": "client_credentials",
                "client_id": self.credentials.client_id,
                "client_secret": self.credentials.client_secret,
                "instance_id": self.settings.instance_id,
            },
        )
        if not 200 <= response.status < 300:
            raise await self._token_refused(response)
        body = response.json()
        token = body.get("access_token") if isinstance(body, dict) else None
        if not isinstance(token, str) or not _SECRET.match(token):
            raise ProviderBadResponse("Wix's token endpoint answered without an access_token")
        expires_in = body.get("expires_in")
        if not isinstance(expires_in, (int, float)) or isinstance(expires_in, bool) or expires_in <= 0:
            expires_in = TOKEN_LIFETIME
        return AccessToken(access_token=token, expires_at=time.time() + float(expires_in))

    async def _token_refused(self, response: UpstreamResponse) -> ProviderError:
        status = response.status
        code = _error_code(response)
        detail = f" ({status}: {code})" if code else f" ({status})"
        if status == 429:
            return ProviderRateLimited(
                "Wix's token endpoint rate limit reached" + detail,
                remote_status=status,
                retry_after=retry_after_seconds(response.headers.get("Retry-After")),
            )
        if status >= 500:
            return ProviderUnavailable("Wix's token endpoint failed" + detail, remote_status=status)
        permanent = status == 401 or (
            status in (400, 403)
            and code is not None
            and (code.lower() in _PERMANENT_OAUTH_ERRORS or code.upper() in _PERMANENT_WIX_CODES)
        )
        if permanent:
            if self.tokens is not None:
                await self.tokens.mark_needs_reauth()
            return ReauthRequired(
                "Wix refused the app credentials or instance for good" + detail
                + "; reconnect the store",
                remote_status=status,
            )
        return ProviderAuthFailed("Wix refused to issue an access token" + detail, remote_status=status)

    # -- errors ----------------------------------------------------------------

    def classify_error(self, response: UpstreamResponse) -> ProviderError:
        status = response.status
        code = _error_code(response)
        detail = f" ({status}: {code})" if code else f" ({status})"
        what = "app's access token" if self.credentials.oauth else "API key"
        if status == 401:
            return ProviderAuthFailed(
                f"Wix rejected the connection's {what}" + detail, remote_status=status
            )
        if status == 403:
            return ProviderAuthFailed(
                f"Wix refused access: the {what} lacks the Read Contacts permission "
                "or does not own this site" + detail,
                remote_status=status,
            )
        if status == 404:
            return CustomerNotFound("Wix has no contact with this id" + detail, remote_status=status)
        if status == 429:
            return ProviderRateLimited(
                "Wix rate limit reached" + detail,
                remote_status=status,
                retry_after=retry_after_seconds(response.headers.get("Retry-After")),
            )
        if status >= 500:
            return ProviderUnavailable("Wix failed" + detail, remote_status=status)
        return ProviderBadResponse("Wix refused the request" + detail, remote_status=status)

    # -- mapping ---------------------------------------------------------------

    @staticmethod
    def map_customer(raw: dict[str, Any]) -> Customer:
        remote_id = text(raw["id"]) if isinstance(raw["id"], str) else None
        if remote_id is None:
            raise ValueError("a Wix contact id must be a non-empty string")
        info = _obj(raw, "info")
        primary_info = _obj(raw, "primaryInfo")
        name = _obj(info, "name")
        first, last = text(name.get("first")), text(name.get("last"))

        emails = [
            Email(email=email, type=_tag(item), is_primary=item.get("primary") is True)
            for item in _items(info, "emails")
            if (email := text(item.get("email")))
        ]
        if not emails and (fallback := text(primary_info.get("email"))):
            emails = [Email(email=fallback, is_primary=True)]
        emails = one_primary_email(emails)

        phones = [
            Phone(number=number, type=_tag(item), is_primary=item.get("primary") is True)
            for item in _items(info, "phones")
            if (number := text(item.get("e164Phone")) or text(item.get("phone")))
        ]
        if not phones and (fallback := text(primary_info.get("phone"))):
            phones = [Phone(number=fallback, is_primary=True)]
        phones = one_primary_phone(phones)

        addresses = [_address(item) for item in _items(info, "addresses")]
        return Customer(
            id=remote_id,
            remote_id=remote_id,
            email=emails[0].email if emails else None,
            first_name=first,
            last_name=last,
            name=full_name(first, last),
            company_name=text(info.get("company")),
            phone_number=phones[0].number if phones else None,
            status=None,
            currency=None,
            emails=emails,
            phones=phones,
            addresses=[a for a in addresses if keep_address(a)],
            created_at=utc_timestamp(raw.get("createdDate")),
            modified_at=utc_timestamp(raw.get("updatedDate")),
        )


def _address(item: dict[str, Any]) -> Address:
    address = _obj(item, "address")
    street = _obj(address, "streetAddress")
    country = country_code(address.get("country"))
    return Address(
        id=text(item.get("id")),
        # addressLine, or the structured form: "5" + "Wingate" -> "5 Wingate".
        street_1=text(address.get("addressLine"))
        or " ".join(p for p in (text(street.get("number")), text(street.get("name"))) if p)
        or None,
        street_2=text(address.get("addressLine2")),
        city=text(address.get("city")),
        state=_state(address.get("subdivision"), country),
        postal_code=text(address.get("postalCode")),
        country=country,
        address_type=_ADDRESS_TYPES.get(str(item.get("tag")).upper()),
    )


def _state(value: Any, country: str | None) -> str | None:
    """``US-ME`` -> ``ME`` when the prefix is the address's country (or the
    country is unknown); anything else unchanged."""
    subdivision = text(value)
    if subdivision is None:
        return None
    match = _SUBDIVISION.match(subdivision)
    if match and (country is None or match.group(1).upper() == country.upper()):
        return match.group(2).upper()
    return subdivision


def _tag(item: dict[str, Any]) -> str | None:
    tag = text(item.get("tag"))
    if tag is None or tag.upper() == "UNTAGGED":
        return None
    return tag.lower()


def _obj(parent: dict[str, Any], key: str) -> dict[str, Any]:
    value = parent.get(key)
    return value if isinstance(value, dict) else {}


def _items(info: dict[str, Any], key: str) -> list[dict[str, Any]]:
    """``info.<key>.items``: the dict entries, in order."""
    items = _obj(info, key).get("items")
    return [item for item in items if isinstance(item, dict)] if isinstance(items, list) else []


def _error_code(response: UpstreamResponse) -> str | None:
    """The error's identifier: RFC 6749 ``error``, Wix ``applicationError.code``
    or the first validation ``ruleName``/``violatedRule``. Never free text."""
    try:
        body = msgspec.json.decode(response.body)
    except msgspec.DecodeError:
        return None
    if not isinstance(body, dict):
        return None
    candidates: list[Any] = [body.get("error")]
    details = _obj(body, "details")
    candidates.append(_obj(details, "applicationError").get("code"))
    violations = _obj(details, "validationError").get("fieldViolations")
    if isinstance(violations, list) and violations and isinstance(violations[0], dict):
        candidates += [violations[0].get("ruleName"), violations[0].get("violatedRule")]
    return next((c for c in candidates if isinstance(c, str) and _CODE.match(c)), None)
