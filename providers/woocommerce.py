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
  ProviderUnavailable; other statuses and non-JSON 2xx (a security plugin,
  cache or host page in front of the REST API) -> ProviderBadResponse.

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

import msgspec

from .auth import Auth, BasicAuth
from .base import CommonSettings, Credentials, Page, PageRequest, Provider, is_numeric_id
from .error_table import ErrorTable, Say, Words
from .errors import ProviderAuthFailed, ProviderBadResponse, ProviderError, ProviderRateLimited
from .http import UpstreamResponse
from .models import Customer, Email, Phone
from .normalize import full_name, text, unified_address, unified_customer, utc_timestamp
from .paging import Batch, offset_walk
from .site_url import has_segment, site_origin, site_path, site_url

API_PATH = "/wp-json/wc/v3"
MAX_PAGE_SIZE = 100  # the WordPress REST maximum for per_page
MAX_USER_ID = 2**63 - 1  # WooCommerce casts the id to a PHP int
# Visible ASCII; the key is the Basic user-id, which cannot hold a ':'.
_KEY = re.compile(r"ck_[\x21-\x39\x3b-\x7e]{1,250}")
_SECRET = re.compile(r"cs_[\x21-\x7e]{1,250}")


class WooCommerceCredentials(Credentials):
    consumer_key: Annotated[str, msgspec.Meta(description=(
        "REST API consumer key (ck_...) with Read access: WooCommerce > Settings > Advanced > REST API"
    ))]
    consumer_secret: Annotated[str, msgspec.Meta(description="the consumer secret (cs_...) shown with the key")]

    def __post_init__(self) -> None:
        if not self.consumer_key or not self.consumer_secret:
            raise ValueError(f"{'consumer_secret' if self.consumer_key else 'consumer_key'} is required")
        if self.consumer_key.startswith("cs_") and self.consumer_secret.startswith("ck_"):
            raise ValueError("consumer_key and consumer_secret look swapped (the key starts with ck_)")
        if not _KEY.fullmatch(self.consumer_key):
            raise ValueError("consumer_key must be ck_ followed by visible characters, without spaces or ':'")
        if not _SECRET.fullmatch(self.consumer_secret):
            raise ValueError("consumer_secret must be cs_ followed by visible characters, without spaces")


class WooCommerceSettings(CommonSettings, kw_only=True, forbid_unknown_fields=True):
    store_url: Annotated[str, msgspec.Meta(description=(
        "the WordPress site URL, https, may include a sub-directory, e.g. https://example.com/shop"
    ))]

    def __post_init__(self) -> None:
        super().__post_init__()
        self.store_url = site_url(self.store_url, "store_url")
        # The site, not its REST API or admin: the API path is ours to add.
        if has_segment(self.store_url, frozenset({"wp-json", "wp-admin"})):
            raise ValueError("store_url must be the WordPress site URL, not a /wp-json or /wp-admin URL")


class Section(msgspec.Struct):  # billing/shipping: the fields the mapping reads
    first_name: str | None = None
    last_name: str | None = None
    company: str | None = None
    email: str | None = None  # billing's only
    phone: str | None = None  # shipping's too since WooCommerce 5.6
    address_1: str | None = None
    address_2: str | None = None
    city: str | None = None
    state: str | None = None
    postcode: str | None = None
    country: str | None = None


class WooCustomer(msgspec.Struct):
    # A WordPress user id: a positive JSON number (or its digits).
    id: Annotated[int, msgspec.Meta(gt=0)] | Annotated[str, msgspec.Meta(pattern=r"^[1-9][0-9]{0,19}$")]
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    username: str | None = None
    # PHP encodes an empty section as an empty array.
    billing: Section | Annotated[list[Any], msgspec.Meta(max_length=0)] | None = None
    shipping: Section | Annotated[list[Any], msgspec.Meta(max_length=0)] | None = None
    date_created_gmt: str | None = None
    date_modified_gmt: str | None = None


class WPError(msgspec.Struct):  # the WP REST error envelope; data.status repeats the status
    code: str
    message: Any = None


def wp_error(body: Any) -> Words:
    envelope = msgspec.convert(body, WPError)  # anything else (an HTML page...) says nothing
    return Words(envelope.code, text(envelope.message))


REJECTED = Say(ProviderAuthFailed, "rejected the consumer key/secret")
CANNOT_VIEW = Say(ProviderAuthFailed, "refused to show customers to this API key: its user must be allowed to "
                  "manage customers (Administrator or Shop Manager), or the server dropped the Authorization header")
CHECK_URL = "store_url (including any sub-directory) and that permalinks are not set to 'Plain'"
# Where the status and the envelope's code (None: no envelope) decide together.
BY_STATUS_AND_CODE = {
    (401, "woocommerce_rest_cannot_view"): CANNOT_VIEW,
    (403, "woocommerce_rest_cannot_view"): CANNOT_VIEW,
    (403, None): Say(ProviderBadResponse, "store's host or firewall blocked the request (no WordPress error)"),
    (404, None): Say(ProviderBadResponse, f"site answered a 404 page, not its REST API: check {CHECK_URL}"),
    (404, "rest_no_route"): Say(ProviderBadResponse, "store has no REST route /wc/v3/customers: "
                                f"check that WooCommerce 3.5+ is active, {CHECK_URL}"),
}


class WooCommerceProvider(Provider[WooCommerceCredentials, WooCommerceSettings]):
    name = "woocommerce"
    display_name = "WooCommerce"
    payload_type = WooCustomer
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
    errors = ErrorTable("WooCommerce", read=wp_error, statuses={
        401: REJECTED,
        403: REJECTED,  # with the envelope; without, see BY_STATUS_AND_CODE
        429: Say(ProviderRateLimited, "store (or its host) rate limit reached"),
    }, collection=Say(ProviderBadResponse, "answered 404 for its customers collection"))  # it always exists

    @property
    def origin(self) -> str:
        return self.settings.base_url or site_origin(self.settings.store_url)

    @property
    def api_root(self) -> str:
        """``{origin}{sub-directory}/wp-json/wc/v3``."""
        return self.origin + site_path(self.settings.store_url) + API_PATH

    def make_auth(self) -> Auth:
        return BasicAuth(self.credentials.consumer_key, self.credentials.consumer_secret)

    def request_headers(self) -> dict[str, str]:
        return {"Accept": "application/json"}

    def valid_customer_id(self, customer_id: str) -> bool:
        # The route only matches digits; ids are WordPress user ids.
        return is_numeric_id(customer_id) and int(customer_id) <= MAX_USER_ID

    async def fetch_customer(self, customer_id: str, query: Mapping[str, str] | None = None) -> dict[str, Any]:
        raw = await self.get_json(f"/customers/{customer_id}", dict[str, Any], query)
        self.check_customer_id(str(raw.get("id")), customer_id)  # canonical digits: the number or its digits
        return raw

    async def list_customers(self, request: PageRequest) -> Page:
        """Offset paging in id order; ``X-WP-Total`` says whether more follow."""

        async def fetch(offset: int, count: int) -> Batch:
            params = {**request.query, "per_page": str(count), "orderby": "id", "order": "asc"}
            if offset:
                params["offset"] = str(offset)
            items, response = await self._customers(params)
            total = response.headers.get("X-WP-Total", "")
            return Batch(items, int(total) if total.isascii() and total.isdecimal() else None)

        return await offset_walk(request, fetch, MAX_PAGE_SIZE)

    async def verify(self) -> None:
        await self._customers({"per_page": "1"})

    async def _customers(self, params: dict[str, str]) -> tuple[list[dict[str, Any]], UpstreamResponse]:
        response = await self.send("GET", "/customers", params=params)
        return self.read_json(response, list[dict[str, Any]], collection=True), response

    def classify_error(self, response: UpstreamResponse) -> ProviderError:
        row = BY_STATUS_AND_CODE.get((response.status, self.errors.words(response).code))
        return self.errors.classify(response, self.redact, row=row)  # None: the table's row

    @staticmethod
    def map_payload(payload: WooCustomer) -> Customer:
        billing, shipping = (  # PHP's [] or none at all: an empty section
            s if isinstance(s, Section) else Section() for s in (payload.billing, payload.shipping)
        )
        sections = (("billing", billing), ("shipping", shipping))
        # Top-level names are often empty for customers created at checkout.
        first = text(payload.first_name) or text(billing.first_name)
        last = text(payload.last_name) or text(billing.last_name)
        emails = [Email(email=email)] if (email := text(payload.email)) else []
        if billing_email := text(billing.email):  # dropped when equal to the account's
            emails.append(Email(email=billing_email, type="billing"))
        # Billing first, so its phone is the primary one when present.
        phones = [Phone(number=number, type=kind) for kind, section in sections if (number := text(section.phone))]
        addresses = [  # WooCommerce addresses have no ids
            unified_address(street_1=s.address_1, street_2=s.address_2, city=s.city, state=s.state,
                            postal_code=s.postcode, country=s.country, address_type=kind)
            for kind, s in sections
        ]
        return unified_customer(
            remote_id=str(payload.id), first_name=first, last_name=last,
            name=full_name(first, last) or text(payload.username),
            company_name=text(billing.company) or text(shipping.company),
            status=None, currency=None,  # is_paying_customer is no status; the currency is the store's
            emails=emails, phones=phones, addresses=addresses,
            # *_gmt are UTC; never the site-local date_created/date_modified.
            created_at=utc_timestamp(payload.date_created_gmt),
            modified_at=utc_timestamp(payload.date_modified_gmt),
        )
