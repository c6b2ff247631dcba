"""PrestaShop: customers and their addresses from the Webservice (``/api/``).

The shop is self-hosted, so every connection names it: ``store_url`` is the
shop's URL and may include a sub-directory (``https://example.com/shop``);
``base_url`` replaces only its ``scheme://host[:port]``. The Webservice must
be enabled (Advanced Parameters > Webservice) with URL rewriting on.

Endpoints (``{api}`` = ``store_url`` + ``/api``; every call carries
``output_format=JSON``, since XML is the default):

* get one: ``GET {api}/customers/{id}`` -> ``{"customer": {...}}``, and, at
  the same time, its addresses ``GET {api}/addresses?display=full
  &filter[id_customer]=[{id}]&filter[deleted]=[0]&sort=[id_ASC]`` ->
  ``{"addresses": [...]}`` (an empty result is a bare ``[]``). The addresses
  are kept in the raw payload under ``addresses`` (the resource's own name);
* list: ``GET {api}/customers?display=full&filter[deleted]=[0]&sort=[id_ASC]
  &limit={offset},{count+1}`` -> ``{"customers": [...]}``. PrestaShop sends
  no total, so one row more than served is asked for: it says whether a next
  page exists without an empty last call. Then the addresses of the whole
  page in **one** call: the filter's documented OR operator,
  ``filter[id_customer]=[3|7|9]`` (webservice cheat sheet: ``[1|5]``, "OR
  operator: list of possible values");
* country and state codes: addresses carry ``id_country``/``id_state`` only.
  ``GET {api}/countries`` and ``{api}/states`` with ``display=[id,iso_code]
  &filter[id]=[..|..]`` (one call each, concurrently, only for ids this
  connection has not seen yet; the codes are kept per connection, at most
  ``ISO_CACHE`` of each);
* verify: ``GET {api}/customers?limit=1``.

Calls: a get is 2 (customer and addresses, concurrently), plus at most 2
(countries, states) the first time an address names a country or state;
a list page is 2 (customers, then the page's addresses) at limit 1, 50 and
100 alike, plus the same at most 2 code lookups.

Auth: HTTP Basic with the 32-character webservice key as user name and an
empty password (the ``ws_key`` query parameter would put it in URLs).

Errors: ``{"errors": [{"code": <int>, "message"}]}``. 401 (codes 16-21:
key missing, malformed, unknown, inactive, without permissions; and a
resource the key may not read) -> ProviderAuthFailed; 404 code 87 ("Id(s)
not exists") -> not found, any other 404 (an HTML page: rewriting off,
wrong store_url) -> ProviderBadResponse; code 22 (the Webservice disabled,
503) -> ProviderAuthFailed, as retrying cannot heal it. PrestaShop has no
rate limit; hosts and WAFs answer 429 with ``Retry-After``.

Timestamps: ``date_add``/``date_upd`` are ``YYYY-MM-DD HH:MM:SS`` in the
shop's local time (PHP's default zone, set from ``PS_TIMEZONE``), with no
offset. The zone comes from the ``timezone`` setting (an IANA name,
default ``UTC``), which the merchant reads in International > Localization >
Configuration. It is not read from ``/api/configurations``: that resource
would need the key to read every configuration value, SMTP and payment
secrets included. A wall time that does not exist or occurs twice around a
DST change is read as its first occurrence (``fold=0``).
``0000-00-00 00:00:00`` (unset) is null.

remote_data is the Webservice's customer with its ``addresses``, less
``passwd``, ``secure_key`` and ``reset_password_token`` (``HIDDEN``).

Mapping: ``id`` (a number in JSON; every other value is a string); ``active``
``"1"``/``"0"`` is the status; a soft-deleted customer (``deleted: "1"``)
is not found and not listed; guests (``is_guest: "1"``) are customers.
``company`` (the B2B field), else the first address's. Phones from the
addresses: ``phone`` (untyped) then ``phone_mobile`` (``mobile``).
PrestaShop addresses have no billing/shipping type (orders pick them), so
``address_type`` is null.

Uncertain: the JSON shapes come from ``WebserviceOutputJSON`` (core source);
the docs show XML only. Sources: https://devdocs.prestashop-project.org/8/webservice/
(getting-started, cheat-sheet, resources/customers, resources/addresses,
tutorials/advanced-use/additional-list-parameters); PrestaShop/PrestaShop
``classes/webservice/WebserviceRequest.php`` (authenticate(), codes 16-22,
87) and ``WebserviceOutputJSON.php``.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Mapping
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import msgspec

from .auth import Auth, BasicAuth
from .base import CommonSettings, Credentials, Page, PageRequest, Provider, envelope, is_numeric_id
from .error_table import ErrorTable, Say, Words
from .errors import CustomerNotFound, ProviderAuthFailed, ProviderBadResponse, ProviderRateLimited
from .models import Customer, Email, Phone
from .normalize import local_timestamp, text, unified_address, unified_customer
from .paging import Batch, offset_walk
from .site_url import has_segment, site_origin, site_path, site_url
from .together import together

MAX_PAGE_SIZE = 100  # none documented: ours, so one page's id filter stays short
ISO_CACHE = 1000  # country/state codes kept per connection
# Secrets in every customer the Webservice shows (a get cannot choose its
# fields): the password hash, the key of guest order links, a reset token.
# Removed from remote_data: a tenant reading customers has no use for them.
HIDDEN = ("passwd", "secure_key", "reset_password_token")
_KEY = re.compile(r"[\x21-\x39\x3b-\x7e]{32}")  # 32 characters (strlen check); the Basic user cannot hold ':'
# Digits, as ids are in the Webservice's JSON ("0" where an address has no state).
_ID = Annotated[int, msgspec.Meta(ge=0)] | Annotated[str, msgspec.Meta(pattern=r"^[0-9]{1,20}$")]


class PrestaShopCredentials(Credentials):
    api_key: Annotated[str, msgspec.Meta(title="Webservice key", description=(
        "the 32-character webservice key: Advanced Parameters > Webservice > Add new webservice key, "
        "with GET on customers, addresses, countries and states"
    ))]

    def __post_init__(self) -> None:
        if not _KEY.fullmatch(self.api_key):
            raise ValueError("api_key must be the 32-character webservice key (no spaces or ':')")


class PrestaShopSettings(CommonSettings, kw_only=True, forbid_unknown_fields=True):
    store_url: Annotated[str, msgspec.Meta(title="Shop URL", description=(
        "the shop's URL, https, may include a sub-directory, e.g. https://example.com/shop"
    ))]
    timezone: Annotated[str, msgspec.Meta(title="Shop time zone", description=(
        "the shop's time zone (International > Localization > Configuration > Time zone), "
        "e.g. Europe/Paris; PrestaShop dates carry no offset. Default UTC"
    ))] = "UTC"

    def __post_init__(self) -> None:
        super().__post_init__()
        self.store_url = site_url(self.store_url, "store_url")
        if has_segment(self.store_url, frozenset({"api"})):
            raise ValueError("store_url must be the shop's URL, not its /api URL")
        zone(self.timezone)  # raises on an unknown name


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError("timezone must be an IANA time zone name, e.g. Europe/Paris") from None


class PrestaAddress(msgspec.Struct):
    id: _ID | None = None
    id_country: _ID | None = None
    id_state: _ID | None = None
    company: str | None = None
    address1: str | None = None
    address2: str | None = None
    postcode: str | None = None
    city: str | None = None
    phone: str | None = None
    phone_mobile: str | None = None
    deleted: str | int | None = None


class PrestaCustomer(msgspec.Struct):
    id: _ID
    firstname: str | None = None
    lastname: str | None = None
    email: str | None = None
    company: str | None = None
    active: str | int | None = None
    date_add: str | None = None
    date_upd: str | None = None
    addresses: list[PrestaAddress] = msgspec.field(default_factory=list)


class _Coded(msgspec.Struct):  # one entry of {"errors": [...]}
    code: int | str | None = None
    message: Any = None


def ps_errors(body: Any) -> Words:
    first = msgspec.convert(body["errors"][0], _Coded)
    return Words(first.code, text(first.message))


REJECTED = Say(ProviderAuthFailed, "rejected the webservice key (or it may not read this resource)")
# A JSON list, whichever key it comes under; an empty result is a bare [].
Rows = dict[str, list[dict[str, Any]]] | Annotated[list[Any], msgspec.Meta(max_length=0)]


class PrestaShopProvider(Provider[PrestaShopCredentials, PrestaShopSettings]):
    name = "prestashop"
    display_name = "PrestaShop"
    payload_type = PrestaCustomer
    destination_settings = Provider.destination_settings | {"store_url"}
    query_names = "php"  # PrestaShop is PHP: names are checked as PHP reads them
    # The list's filters a client may add (date=1 enables date filters); paging,
    # display, sort and output format are ours.
    remote_query_allowed = frozenset({"filter", "date"})
    errors = ErrorTable("PrestaShop", read=ps_errors, statuses={
        401: REJECTED, 403: REJECTED,
        404: Say(ProviderBadResponse, "answered a 404 page, not its Webservice: check store_url, that the "
                 "Webservice is enabled and that URL rewriting works"),
        429: Say(ProviderRateLimited, "shop (or its host) rate limit reached"),
    }, codes={
        87: Say(CustomerNotFound, "has no such customer"),
        22: Say(ProviderAuthFailed, "has its Webservice disabled (Advanced Parameters > Webservice)"),
    }, collection=Say(ProviderBadResponse, "answered 404 for its customers resource"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Country and state ids -> ISO codes, per connection (they do not change).
        self.codes: dict[str, dict[str, str]] = {"countries": {}, "states": {}}

    @property
    def default_origin(self) -> str:  # type: ignore[override]
        return site_origin(self.settings.store_url)

    @property
    def api_root(self) -> str:
        return self.origin + site_path(self.settings.store_url) + "/api"

    def make_auth(self) -> Auth:
        return BasicAuth(self.credentials.api_key, "")

    def request_headers(self) -> dict[str, str]:
        return {"Accept": "application/json"}

    def valid_customer_id(self, customer_id: str) -> bool:
        return is_numeric_id(customer_id) and int(customer_id) < 2**32  # id_customer is INT UNSIGNED

    async def _rows(self, path: str, key: str, params: Mapping[str, str], *, collection: bool = False) -> list[dict[str, Any]]:
        response = await self.send("GET", path, params={**params, "output_format": "JSON"})
        rows = self.read_json(response, Rows, collection=collection)
        return rows.get(key, []) if isinstance(rows, dict) else []

    async def _addresses(self, customer_ids: list[str]) -> list[dict[str, Any]]:
        params = {"display": "full", "filter[id_customer]": "[" + "|".join(customer_ids) + "]",
                  "filter[deleted]": "[0]", "sort": "[id_ASC]"}
        return await self._rows("/addresses", "addresses", params)

    async def fetch_customer(self, customer_id: str, query: Mapping[str, str] | None = None) -> dict[str, Any]:
        customer, addresses = await together(
            self.get_json(f"/customers/{customer_id}", envelope("customer"), {**(query or {}), "output_format": "JSON"}),
            self._addresses([customer_id]),
        )
        raw = customer.customer
        self.check_customer_id(str(raw.get("id")), customer_id)
        if str(raw.get("deleted")) == "1":  # soft-deleted in the back office
            raise CustomerNotFound("PrestaShop has no such customer (it was deleted)", remote_status=200)
        raw["addresses"] = addresses
        await self._learn_codes(addresses)
        return _without_secrets(raw)

    async def list_customers(self, request: PageRequest) -> Page:
        async def fetch(offset: int, count: int) -> Batch:
            params = {**request.query, "display": "full", "filter[deleted]": "[0]", "sort": "[id_ASC]",
                      "limit": f"{offset},{count + 1}"}  # one more: whether a next page exists
            rows = await self._rows("/customers", "customers", params, collection=True)
            served = [_without_secrets(row) for row in rows[:count]]
            return Batch(served, offset + len(rows))  # a total that says "more" exactly when the extra row came

        page = await offset_walk(request, fetch, MAX_PAGE_SIZE)
        # Only ids that are ids go into a filter: what a shop answered is not trusted to be.
        ids = [i for c in page.items if is_numeric_id(i := str(c.get("id")))]
        if ids:
            addresses = await self._addresses(ids)
            owned: dict[str, list[Any]] = {}
            for address in addresses:  # in the shop's order, as a get lists them
                owned.setdefault(str(address.get("id_customer")), []).append(address)
            for customer in page.items:
                customer["addresses"] = owned.get(str(customer.get("id")), [])
            await self._learn_codes(addresses)
        return page

    async def verify(self) -> None:
        await self._rows("/customers", "customers", {"limit": "1"}, collection=True)

    async def _learn_codes(self, addresses: list[dict[str, Any]]) -> None:
        """The ISO codes of the countries and states these addresses name, for those not known yet."""
        wanted = {
            resource: sorted({i for a in addresses if is_numeric_id(i := str(a.get(field)))} - self.codes[resource].keys())
            for resource, field in (("countries", "id_country"), ("states", "id_state"))
        }
        lookups = [(resource, ids) for resource, ids in wanted.items() if ids]
        found = await together(*(
            self._rows(f"/{resource}", resource, {"display": "[id,iso_code]", "filter[id]": "[" + "|".join(ids) + "]"})
            for resource, ids in lookups
        ))
        for (resource, _), rows in zip(lookups, found):
            known = self.codes[resource]
            if len(known) + len(rows) > ISO_CACHE:
                known.clear()
            known.update({str(r.get("id")): code for r in rows if (code := text(r.get("iso_code")))})

    def map_customer(self, raw: dict[str, Any]) -> Customer:  # type: ignore[override]
        """The mapping with this connection's zone and known country/state codes."""
        return map_prestashop(msgspec.convert(raw, PrestaCustomer), zone(self.settings.timezone), self.codes)



def _without_secrets(customer: dict[str, Any]) -> dict[str, Any]:
    for name in HIDDEN:
        customer.pop(name, None)
    return customer


def map_prestashop(
    c: PrestaCustomer, shop_zone: ZoneInfo = ZoneInfo("UTC"), codes: Mapping[str, Mapping[str, str]] | None = None
) -> Customer:
    codes = codes or {}
    countries, states = codes.get("countries", {}), codes.get("states", {})
    book = [a for a in c.addresses if str(a.deleted) != "1"]
    addresses = [
        unified_address(
            id=a.id, street_1=a.address1, street_2=a.address2, city=a.city, postal_code=a.postcode,
            state=states.get(str(a.id_state)), country=countries.get(str(a.id_country)),
            address_type=None,  # PrestaShop addresses are not typed; orders pick them
        )
        for a in book
    ]
    phones = [
        Phone(number=number, type=kind)
        for a in book
        for value, kind in ((a.phone, None), (a.phone_mobile, "mobile"))
        if (number := text(value))
    ]
    active = str(c.active) if c.active is not None else None
    return unified_customer(
        remote_id=str(c.id), first_name=text(c.firstname), last_name=text(c.lastname),
        company_name=text(c.company) or next((company for a in book if (company := text(a.company))), None),
        status={"1": "active", "0": "inactive"}.get(active or ""), currency=None,
        emails=[Email(email=email)] if (email := text(c.email)) else [], phones=phones, addresses=addresses,
        created_at=local_timestamp(c.date_add, shop_zone), modified_at=local_timestamp(c.date_upd, shop_zone),
    )
