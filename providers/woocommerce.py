"""WooCommerce: customers from the WooCommerce REST API (``wc/v3``).

The store is self-hosted WordPress, so every connection names its site:
``store_url`` is the WordPress site URL and may include a sub-directory
(``https://example.com/shop``). ``base_url`` replaces only its
``scheme://host[:port]``; the sub-directory is kept.

Endpoints (``{store}`` = origin + sub-directory of ``store_url``):

* get one: ``GET {store}/wp-json/wc/v3/customers/{id}`` -> bare object;
* list: ``GET {store}/wp-json/wc/v3/customers?per_page=N&orderby=id&order=asc
  [&offset=M]`` -> bare array, ``X-WP-Total`` header (default ``role=customer``,
  so only customers are listed, while get-one answers for any user id;
  ``remote_query[role]=all`` lists every user);
* verify: ``GET {store}/wp-json/wc/v3/customers?per_page=1``.

Auth: HTTP Basic ``consumer_key:consumer_secret`` (keys ``ck_...``/``cs_...``),
which WooCommerce accepts over HTTPS only. Plain http is refused by the
UpstreamClient unless private networks are allowed; a real store reached
over plain http would then want OAuth 1.0a signatures, which are not
implemented (on-prem stores should sit behind TLS).

Errors use the WP REST envelope ``{"code", "message", "data": {"status"}}``:

* 404 ``rest_no_route``: the route is missing (permalinks "Plain", WooCommerce
  inactive or older than 3.5, wrong store_url) -> ProviderBadResponse;
* any other 404 in the envelope (``wc_user_invalid_id`` "Invalid user ID." in
  current WooCommerce, ``woocommerce_rest_invalid_id`` in older ones) ->
  CustomerNotFound; a 404 *without* the envelope (an HTML page) means no
  WordPress REST API answered -> ProviderBadResponse;
* 401 (``woocommerce_rest_authentication_error`` "Consumer key is invalid.",
  "Consumer secret is invalid.", "The API key provided does not have read
  permissions.", ``woocommerce_rest_cannot_view`` when the request arrives
  unauthenticated or the key's user lacks the capability) and 403 in the
  envelope -> ProviderAuthFailed; a 403 HTML page is a host/WAF block ->
  ProviderBadResponse;
* 429 (WooCommerce has no rate limit of its own; hosts and WAFs send it)
  -> ProviderRateLimited with ``Retry-After``; 5xx, whatever the body ->
  ProviderUnavailable; other statuses and non-JSON 2xx -> ProviderBadResponse.

Quirks handled: dates come without an offset; ``*_gmt`` are UTC and the
only ones read (``date_created``/``date_modified`` are site-local). Unset
fields are ``""``. An empty PHP array encodes as ``[]``, so an empty
``billing``/``shipping`` may arrive as a list. A UTF-8 BOM before the JSON
(a PHP file saved with a BOM by some plugin) is skipped.

Uncertain (noted, not guessed silently):
* ``date_created_gmt`` had timezone bugs in some WooCommerce releases
  (woocommerce/woocommerce#22247, PR #22269); it is still the field read;
* key shape: WooCommerce has generated ``ck_``/``cs_`` + 40 hex characters
  since 2.4 (``wc_rand_hash``), but the docs only show the prefixes
  (``ck_xxxxxxxxxxxxxxxx``), so only the prefixes are required;
* the query-string auth fallback the docs offer for servers that strip the
  ``Authorization`` header is not used (it would put the secret in URLs).

Sources: woocommerce/woocommerce-rest-api-docs ``source/includes/wp-api-v3/``
``_customers.md``, ``_introduction.md`` (errors, pagination headers),
``_authentication.md`` (https://woocommerce.github.io/woocommerce-rest-api-docs/);
woocommerce/woocommerce ``class-wc-rest-customers-v1-controller.php`` (route
``customers/(?P<id>[\\d]+)``, ``get_items`` offset/X-WP-Total),
``class-wc-rest-customers-controller.php`` (v3 fields, dates),
``class-wc-rest-authentication.php`` (Basic over SSL, 401 messages),
``src/Internal/Utilities/Users.php`` (``wc_user_invalid_id``).
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Mapping
from urllib.parse import urlsplit

import msgspec
from yarl import URL

from .base import CommonSettings, Page, PageRequest, Provider, is_numeric_id, valid_host_name
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

API_PATH = "/wp-json/wc/v3"
MAX_PAGE_SIZE = 100  # the WordPress REST maximum for per_page
MAX_USER_ID = 2**63 - 1  # WooCommerce casts the id to a PHP int
_UTF8_BOM = b"\xef\xbb\xbf"
# Visible ASCII; the key is the Basic user-id, which cannot hold a ':'.
_KEY = re.compile(r"ck_[\x21-\x39\x3b-\x7e]{1,250}")
_SECRET = re.compile(r"cs_[\x21-\x7e]{1,250}")
_URL_TEXT = re.compile(r"[^\s\x00-\x1f\x7f]{1,2048}")


class WooCommerceCredentials(msgspec.Struct, forbid_unknown_fields=True):
    consumer_key: Annotated[str, msgspec.Meta(description=(
        "REST API consumer key (ck_...) with Read access: WooCommerce > Settings > Advanced > REST API"
    ))]
    consumer_secret: Annotated[str, msgspec.Meta(description="the consumer secret (cs_...) shown with the key")]

    def __post_init__(self) -> None:
        if not self.consumer_key:
            raise ValueError("consumer_key is required")
        if not self.consumer_secret:
            raise ValueError("consumer_secret is required")
        if self.consumer_key.startswith("cs_") and self.consumer_secret.startswith("ck_"):
            raise ValueError("consumer_key and consumer_secret look swapped (the key starts with ck_)")
        if not _KEY.fullmatch(self.consumer_key):
            raise ValueError(
                "consumer_key must be a WooCommerce REST API consumer key: ck_ followed by "
                "visible characters, without spaces or ':'"
            )
        if not _SECRET.fullmatch(self.consumer_secret):
            raise ValueError(
                "consumer_secret must be a WooCommerce REST API consumer secret: cs_ followed by "
                "visible characters, without spaces"
            )


class WooCommerceSettings(CommonSettings, kw_only=True, forbid_unknown_fields=True):
    store_url: Annotated[str, msgspec.Meta(description=(
        "the WordPress site URL, https, may include a sub-directory, e.g. https://example.com/shop"
    ))]

    def __post_init__(self) -> None:
        super().__post_init__()
        self.store_url = normalise_store_url(self.store_url)


def normalise_store_url(value: str) -> str:
    """The WordPress site URL as ``scheme://host[:port][/sub/dir]``, no
    trailing slash; ValueError (without echoing the value) otherwise."""
    if not _URL_TEXT.fullmatch(value):
        raise ValueError("store_url must be an http(s) URL without spaces, e.g. https://example.com/shop")
    try:
        url = URL(value)
        scheme, host, port = url.scheme, url.host, url.port  # port raises on a bad one
    except (ValueError, TypeError):
        raise ValueError("store_url is not a valid URL") from None
    if scheme not in ("http", "https") or not host or port is None:
        raise ValueError("store_url must be an http(s) URL with a host, e.g. https://example.com/shop")
    if not valid_host_name(url):
        raise ValueError("store_url has a host name that is not valid (empty or over-long labels)")
    if url.raw_user is not None or url.raw_password is not None:
        raise ValueError("store_url must not contain a user name or password")
    if "?" in value or "#" in value:
        raise ValueError("store_url must not have a query string or fragment")
    segments = [s for s in url.raw_path.split("/") if s]
    # yarl resolves dot segments away; look at the text as typed.
    if any(s in (".", "..", "%2e", "%2E", "%2e%2e", "%2E%2E") for s in urlsplit(value).path.split("/")):
        raise ValueError("store_url must not contain '.' or '..' path segments")
    if any(s.lower() in ("wp-json", "wp-admin") for s in segments):
        raise ValueError(
            "store_url must be the WordPress site URL (e.g. https://example.com/shop), "
            "not a /wp-json or /wp-admin URL"
        )
    return str(url.origin()) + "".join("/" + s for s in segments)


class WooCommerceProvider(Provider):
    name = "woocommerce"
    display_name = "WooCommerce"
    credentials_type = WooCommerceCredentials
    settings_type = WooCommerceSettings
    destination_settings = Provider.destination_settings | {"store_url"}
    # WordPress is PHP: ".method", " method" and "x[method" all reach it as
    # "_method" (an HTTP method override, so a read could become a DELETE).
    query_names = "php"
    # Only the documented read filters of GET /wc/v3/customers a client may
    # choose (the others page, sort or pick resources: ours to set) and
    # WordPress's _locale. Anything else is refused, in every spelling.
    remote_query_allowed = frozenset({"search", "email", "role", "_locale"})
    # Kept under the allow-list as a second guard: _fields/context could drop
    # the fields the mapping reads; the oauth_* and _wpnonce names belong to
    # the other WordPress auth schemes.
    remote_query_denied = Provider.remote_query_denied | {
        "_fields", "context", "_wpnonce", "oauth_nonce", "oauth_timestamp",
        "oauth_signature_method", "oauth_version", "oauth_callback",
    }

    credentials: WooCommerceCredentials
    settings: WooCommerceSettings

    @property
    def origin(self) -> str:
        return self.settings.base_url or str(URL(self.settings.store_url).origin())

    @property
    def api_root(self) -> str:
        """``{origin}{sub-directory}/wp-json/wc/v3``."""
        return self.origin + URL(self.settings.store_url).raw_path.rstrip("/") + API_PATH

    # -- requests --------------------------------------------------------------

    def valid_customer_id(self, customer_id: str) -> bool:
        # The route only matches digits; ids are WordPress user ids.
        return is_numeric_id(customer_id) and int(customer_id) <= MAX_USER_ID

    async def fetch_customer(
        self, customer_id: str, query: Mapping[str, str] | None = None
    ) -> dict[str, Any]:
        raw = self._body(await self._get(f"/customers/{customer_id}", dict(query or {})))
        if not isinstance(raw, dict):
            raise ProviderBadResponse("WooCommerce answered with a customer that is not a JSON object")
        if not _same_id(raw.get("id"), customer_id):
            raise ProviderBadResponse("WooCommerce answered with another customer than the one asked for")
        return raw

    async def list_customers(self, request: PageRequest) -> Page:
        """Offset paging in id order: offsets survive a change of ``limit``
        between pages, and ``X-WP-Total`` says whether more follow."""
        start = _offset(request.state)
        offset, items, more = start, [], True
        while more and len(items) < request.limit:
            per_page = min(request.limit - len(items), MAX_PAGE_SIZE)
            params = {**request.query, "per_page": str(per_page), "orderby": "id", "order": "asc"}
            if offset:
                params["offset"] = str(offset)
            response = await self._collection(params)
            batch = self._customer_list(response)
            items += batch
            offset += len(batch)
            total = _header_int(response.headers.get("X-WP-Total"))
            # Without the header, a full page may be followed by more.
            more = bool(batch) and (offset < total if total is not None else len(batch) == per_page)
        return Page(
            items=items,
            next={"offset": offset} if more else None,
            prev={"offset": max(0, start - request.limit)} if start > 0 else None,
        )

    async def verify(self) -> None:
        self._customer_list(await self._collection({"per_page": "1"}))

    async def _collection(self, params: dict[str, str]) -> UpstreamResponse:
        response = await self._get("/customers", params)
        if response.status == 404:
            error = self.classify_error(response)
            if isinstance(error, CustomerNotFound):
                # The collection always exists: its 404 is no missing customer.
                error = ProviderBadResponse(
                    "WooCommerce answered 404 for its customers collection", remote_status=404
                )
            raise error
        return response

    async def _get(self, path: str, params: dict[str, str]) -> UpstreamResponse:
        assert self.http is not None
        return await self.http.request(
            "GET",
            self.api_root + path,
            headers={"Accept": "application/json", "Authorization": self.basic_auth()},
            params=params,
        )

    def basic_auth_pair(self) -> tuple[str, str]:
        return self.credentials.consumer_key, self.credentials.consumer_secret

    def _body(self, response: UpstreamResponse) -> Any:
        """The JSON of a 2xx answer (a leading BOM skipped), or the error."""
        if not 200 <= response.status < 300:
            raise self.classify_error(response)
        body = response.body.removeprefix(_UTF8_BOM)
        try:
            return msgspec.json.decode(body)
        except msgspec.DecodeError:
            raise ProviderBadResponse(
                "WooCommerce answered with a body that is not JSON (a security plugin, cache or "
                "host page in front of the REST API?)",
                remote_status=response.status,
            ) from None

    def _customer_list(self, response: UpstreamResponse) -> list[dict[str, Any]]:
        body = self._body(response)
        if not isinstance(body, list) or not all(isinstance(item, dict) for item in body):
            raise ProviderBadResponse("WooCommerce answered without a list of customers")
        return body

    # -- errors ----------------------------------------------------------------

    def classify_error(self, response: UpstreamResponse) -> ProviderError:
        status = response.status
        envelope = self._envelope(response.body)
        code = envelope[0] if envelope else None
        detail = f" ({status} {code}: {envelope[1]})" if envelope else f" ({status})"
        if status == 429:
            return ProviderRateLimited(
                "WooCommerce store (or its host) rate limit reached" + detail,
                remote_status=status,
                retry_after=retry_after_seconds(response.headers.get("Retry-After")),
            )
        if status >= 500:
            return ProviderUnavailable("WooCommerce store failed" + detail, remote_status=status)
        if status == 401 or (status == 403 and envelope):
            if code == "woocommerce_rest_cannot_view":
                reason = (
                    "WooCommerce refused to show customers to this API key: its user must be "
                    "allowed to manage customers (Administrator or Shop Manager), or the server "
                    "dropped the Authorization header"
                )
            else:
                reason = "WooCommerce rejected the consumer key/secret"
            return ProviderAuthFailed(reason + detail, remote_status=status)
        if status == 403:
            return ProviderBadResponse(
                "the store's host or firewall blocked the request (403 without a WordPress error)",
                remote_status=status,
            )
        if status == 404:
            if envelope is None:
                return ProviderBadResponse(
                    "no WordPress REST API answered at store_url (404 page): check store_url "
                    "(including any sub-directory) and that permalinks are not set to 'Plain'",
                    remote_status=status,
                )
            if code == "rest_no_route":
                return ProviderBadResponse(
                    "the store has no WooCommerce REST route /wc/v3/customers: check that store_url "
                    "is the WordPress site URL (including any sub-directory), that WooCommerce 3.5+ "
                    "is active and that permalinks are not set to 'Plain'" + detail,
                    remote_status=status,
                )
            return CustomerNotFound("WooCommerce has no such customer" + detail, remote_status=status)
        return ProviderBadResponse("WooCommerce refused the request" + detail, remote_status=status)

    def _envelope(self, body: bytes) -> tuple[str, str] | None:
        """``(code, message)`` of a WP REST error body, short and scrubbed of
        the credentials; None when the body is not one (an HTML page...)."""
        try:
            decoded = msgspec.json.decode(body.removeprefix(_UTF8_BOM))
        except msgspec.DecodeError:
            return None
        if not isinstance(decoded, dict) or not isinstance(decoded.get("code"), str):
            return None
        return self.redact(decoded["code"], 100), self.redact(text(decoded.get("message")) or "")

    # -- mapping ---------------------------------------------------------------

    @staticmethod
    def map_customer(raw: dict[str, Any]) -> Customer:
        remote_id = _id_text(raw["id"])
        billing, shipping = _section(raw, "billing"), _section(raw, "shipping")
        # Top-level names are often empty for customers created at checkout.
        first = text(raw.get("first_name")) or text(billing.get("first_name"))
        last = text(raw.get("last_name")) or text(billing.get("last_name"))

        emails = []
        if account_email := text(raw.get("email")):
            emails.append(Email(email=account_email, type=None, is_primary=True))
        if billing_email := text(billing.get("email")):
            emails.append(Email(email=billing_email, type="billing"))
        emails = one_primary_email(emails)  # drops a billing email equal to the account's

        phones = [
            Phone(number=number, type=kind)
            for kind, section in (("billing", billing), ("shipping", shipping))
            if (number := text(section.get("phone")))
        ]
        phones = one_primary_phone(phones)  # billing first, so primary when present

        addresses = [
            Address(
                id=None,  # WooCommerce addresses have no ids
                street_1=text(section.get("address_1")),
                street_2=text(section.get("address_2")),
                city=text(section.get("city")),
                state=text(section.get("state")),
                postal_code=text(section.get("postcode")),
                country=country_code(section.get("country")),
                address_type=kind,
            )
            for kind, section in (("billing", billing), ("shipping", shipping))
        ]
        company = text(billing.get("company")) or text(shipping.get("company"))
        return Customer(
            id=remote_id,
            remote_id=remote_id,
            email=emails[0].email if emails else None,
            first_name=first,
            last_name=last,
            name=full_name(first, last) or text(raw.get("username")),
            company_name=company,
            phone_number=phones[0].number if phones else None,
            status=None,  # is_paying_customer is not a status
            currency=None,  # the store currency is a store setting
            emails=emails,
            phones=phones,
            addresses=[a for a in addresses if keep_address(a)],
            # Never the site-local date_created/date_modified.
            created_at=utc_timestamp(raw.get("date_created_gmt")),
            modified_at=utc_timestamp(raw.get("date_modified_gmt")),
        )


def _section(raw: dict[str, Any], key: str) -> dict[str, Any]:
    """``billing``/``shipping``; PHP encodes an empty one as ``[]``."""
    value = raw.get(key)
    if isinstance(value, dict):
        return value
    if value is None or value == []:
        return {}
    raise TypeError(f"WooCommerce {key} must be an object")


def _id_text(value: Any) -> str:
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return str(value)
    if isinstance(value, str) and is_numeric_id(value):
        return value
    raise ValueError("a WooCommerce customer id must be a positive integer")


def _same_id(value: Any, customer_id: str) -> bool:
    try:
        return _id_text(value) == customer_id
    except ValueError:
        return False


def _offset(state: dict[str, Any] | None) -> int:
    value = (state or {}).get("offset", 0)
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def _header_int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None
