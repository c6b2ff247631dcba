"""PrestaShop: golden mappings from the composed Webservice payloads
(tests/fixtures/prestashop/README.md), the shop's time zone, settings rules,
and what is PrestaShop's own against its fake (tests/fakes/prestashop.py):
the addresses call beside the customer, one address call per list page
(the OR filter), country and state codes learnt once, soft-deleted
customers, and the Webservice's error codes. What every provider shares is
in tests/contract/."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

import msgspec
import pytest

from providers.base import PageRequest
from providers.errors import ConfigurationError, CustomerNotFound, ProviderAuthFailed, ProviderBadResponse
from providers.models import Address, Customer, Email, Phone
from providers.normalize import local_timestamp
from providers.prestashop import PrestaCustomer, PrestaShopProvider, map_prestashop
from tests.fakes.prestashop import KEY, PrestaShopFake, basic
from tests.support import load_fixture

PARIS = ZoneInfo("Europe/Paris")
CODES = {"countries": {"8": "FR", "21": "US"}, "states": {"12": "FL"}}


def fixture(name: str) -> Any:
    return load_fixture("prestashop", name)


def documented(**changes: Any) -> dict[str, Any]:
    """The documented customer with its addresses, as fetch_customer builds it."""
    return {**fixture("customer.json")["customer"], "addresses": fixture("addresses.json")["addresses"], **changes}


def mapped(raw: dict[str, Any], zone: ZoneInfo = PARIS, codes: Any = CODES) -> Customer:
    return map_prestashop(msgspec.convert(raw, PrestaCustomer), zone, codes)


# -- golden mappings -----------------------------------------------------------


def test_map_documented_customer():
    assert mapped(documented()) == Customer(
        id="2",
        remote_id="2",
        email="pub@prestashop.com",
        first_name="John",
        last_name="DOE",
        name="John DOE",
        company_name="My Company",  # the customer's B2B company is "": the first address's
        phone_number="0102030405",
        status="active",  # active "1"
        currency=None,
        emails=[Email(email="pub@prestashop.com", is_primary=True)],
        phones=[
            Phone(number="0102030405", type=None, is_primary=True),  # address 4's phone
            Phone(number="+1 305 555 0100", type="mobile"),  # address 7's phone_mobile ("phone" is "")
        ],
        addresses=[  # untyped: PrestaShop addresses are neither billing nor shipping
            Address(id="4", street_1="16, Main street", street_2="2nd floor", city="Paris", state=None,
                    postal_code="75002", country="FR", address_type=None),
            Address(id="7", street_1="767 Fifth Avenue", street_2=None, city="Miami", state="FL",
                    postal_code="33133", country="US", address_type=None),
        ],
        # Shop-local Paris time: CET (+01:00) in January, CEST (+02:00) in July.
        created_at="2019-01-15T21:46:55Z",
        modified_at="2019-07-01T07:05:12Z",
    )


def test_default_zone_is_utc_and_unknown_codes_are_null():
    customer = mapped(documented(), ZoneInfo("UTC"), codes=None)
    assert (customer.created_at, customer.modified_at) == ("2019-01-15T22:46:55Z", "2019-07-01T09:05:12Z")
    assert [(a.country, a.state) for a in customer.addresses] == [(None, None), (None, None)]


def test_inactive_unset_dates_deleted_addresses_and_no_addresses():
    book = fixture("addresses.json")["addresses"]
    raw = documented(active="0", date_add="0000-00-00 00:00:00", date_upd="", company=" Acme ",
                     addresses=[{**book[0], "deleted": "1"}, book[1]])
    customer = mapped(raw)
    assert customer.status == "inactive"
    assert (customer.created_at, customer.modified_at) == (None, None)
    assert customer.company_name == "Acme"  # the customer's own company wins, trimmed
    assert [a.id for a in customer.addresses] == ["7"]  # the deleted address is skipped
    assert [p.number for p in customer.phones] == ["+1 305 555 0100"]
    bare = mapped(documented(addresses=[], active=None))
    assert (bare.addresses, bare.phones, bare.status, bare.company_name) == ([], [], None, None)


@pytest.mark.parametrize("local, utc", [
    ("2019-10-27 02:30:00", "2019-10-27T00:30:00Z"),  # occurs twice: the first (CEST)
    ("2019-03-31 02:30:00", "2019-03-31T01:30:00Z"),  # never occurs: read with the offset before the change
    ("2019-01-15T22:46:55+05:00", "2019-01-15T17:46:55Z"),  # an explicit offset is honoured
    ("15/01/2019", None),
])
def test_shop_time_around_dst_changes(local, utc):
    assert local_timestamp(local, PARIS) == utc


def test_the_instance_maps_with_its_zone():
    provider = provider_for("https://shop.example.com", None, timezone="America/New_York")
    assert provider.map_customer(documented()).created_at == "2019-01-16T03:46:55Z"  # EST, -05:00


# -- settings and credentials ---------------------------------------------------------------


def provider_for(origin: str, client: Any, **settings: Any) -> PrestaShopProvider:
    credentials, parsed = PrestaShopProvider.parse_config(
        {"api_key": KEY}, {"store_url": "https://shop.example.com/shop", "base_url": origin, **settings}
    )
    return PrestaShopProvider(credentials, parsed, client)


@pytest.mark.parametrize("settings, says", [
    ({"store_url": "https://shop.example.com/api"}, "not its /api URL"),
    ({"store_url": "ftp://shop.example.com"}, "http(s) URL"),
    ({"store_url": "https://shop.example.com", "timezone": "Mars/Olympus"}, "IANA time zone"),
    ({"store_url": "https://shop.example.com", "timezone": "../../etc/passwd"}, "IANA time zone"),
])
def test_settings_refused(settings, says):
    with pytest.raises(ConfigurationError, match=says.replace("(", r"\(").replace(")", r"\)")):
        PrestaShopProvider.parse_config({"api_key": KEY}, settings)


@pytest.mark.parametrize("key", ["short", KEY + "X", KEY[:-1] + ":", KEY[:-1] + " "])
def test_api_key_is_32_characters(key):
    with pytest.raises(ConfigurationError, match="32-character"):
        PrestaShopProvider.parse_config({"api_key": key}, {"store_url": "https://shop.example.com"})


def test_store_url_is_normalised_and_names_the_destination():
    _, settings = PrestaShopProvider.parse_config({"api_key": KEY}, {"store_url": "https://Shop.Example.com/shop/"})
    assert settings.store_url == "https://shop.example.com/shop" and settings.timezone == "UTC"
    assert "store_url" in PrestaShopProvider.destination_settings


# -- against the fake ----------------------------------------------------------------


async def test_get_reads_the_customer_and_its_addresses_then_codes_once(upstream_client):
    shop = PrestaShopFake()
    async with shop.serve() as origin:
        provider = shop.make_provider(origin, upstream_client)
        raw, customer = await provider.get_customer("5")
        first = list(shop.requests)
        await provider.get_customer("6")
    by_path = {r.path: r for r in first}
    assert sorted(by_path) == ["/shop/api/addresses", "/shop/api/countries", "/shop/api/customers/5", "/shop/api/states"]
    assert all(r.headers["Authorization"] == basic(KEY, "") for r in first)  # the key, an empty password
    assert all(r.query["output_format"] == "JSON" for r in first)
    assert dict(by_path["/shop/api/addresses"].query) == {
        "display": "full", "filter[id_customer]": "[5]", "filter[deleted]": "[0]", "sort": "[id_ASC]",
        "output_format": "JSON",
    }
    assert by_path["/shop/api/countries"].query["filter[id]"] == "[21|8]"
    assert by_path["/shop/api/states"].query["display"] == "[id,iso_code]"
    assert len(shop.requests) - len(first) == 2  # the codes are known now: customer and addresses only
    assert [a["id"] for a in raw["addresses"]] == [10, 11]  # kept in remote_data
    assert not {"passwd", "secure_key", "reset_password_token"} & set(raw)  # secrets are not handed out
    assert raw["last_passwd_gen"] == "2019-01-15 16:46:55"  # the rest is the Webservice's own
    assert [(a.country, a.state) for a in customer.addresses] == [("FR", None), ("US", "FL")]
    assert customer.created_at == "2019-01-15T21:46:55Z"  # the fake's connection says Europe/Paris


@pytest.mark.parametrize("limit", [1, 50, 100])
async def test_a_list_page_is_one_customer_call_and_one_address_call(upstream_client, limit):
    shop = PrestaShopFake()
    async with shop.serve() as origin:
        provider = shop.make_provider(origin, upstream_client)
        await provider.list_page(PageRequest(limit=limit))  # learns the codes
        before = len(shop.requests)
        page = await provider.list_page(PageRequest(limit=limit, state={"offset": limit}))
    sent = shop.requests[before:]
    assert [r.path for r in sent] == ["/shop/api/customers", "/shop/api/addresses"]
    assert sent[0].query["limit"] == f"{limit},{limit + 1}"  # one more row says whether a next page exists
    assert sent[0].query["filter[deleted]"] == "[0]" and sent[0].query["sort"] == "[id_ASC]"
    ids = [str(c["id"]) for c in page.raws]
    assert sent[1].query["filter[id_customer]"] == "[" + "|".join(ids) + "]"  # the OR operator: one call
    assert len(ids) == limit and page.next == {"offset": 2 * limit}
    assert all(len(raw["addresses"]) == 2 and raw["addresses"][0]["id_customer"] == str(raw["id"]) for raw in page.raws)
    assert not any("passwd" in raw or "secure_key" in raw for raw in page.raws)


async def test_the_last_page_asks_nothing_more(upstream_client):
    shop = PrestaShopFake(total=3)
    async with shop.serve() as origin:
        page = await shop.make_provider(origin, upstream_client).list_page(PageRequest(limit=3))
    assert len(page.customers) == 3 and page.next is None


async def test_an_empty_shop_is_a_bare_empty_list(upstream_client):
    shop = PrestaShopFake(customers=[])
    async with shop.serve() as origin:
        page = await shop.make_provider(origin, upstream_client).list_page(PageRequest(limit=10))
    assert (page.customers, page.next) == ([], None)
    assert shop.paths() == ["/shop/api/customers"]  # no addresses for nobody


async def test_a_soft_deleted_customer_is_not_found(upstream_client):
    shop = PrestaShopFake()
    shop.customers[0]["deleted"] = "1"
    async with shop.serve() as origin:
        with pytest.raises(CustomerNotFound):
            await shop.make_provider(origin, upstream_client).get_customer(shop.ids[0])


@pytest.mark.parametrize("status, body, error", [
    (404, fixture("error-404.json"), CustomerNotFound),
    (401, fixture("error-401.no-password.json"), ProviderAuthFailed),
    (503, fixture("error-503.disabled.json"), ProviderAuthFailed),  # not retried: the Webservice is off
])
async def test_webservice_error_codes(upstream_client, status, body, error):
    shop = PrestaShopFake()
    shop.answer(status, body, times=None)
    async with shop.serve() as origin:
        with pytest.raises(error) as caught:
            await shop.make_provider(origin, upstream_client).get_customer("5")
    assert caught.value.remote_status == status
    assert str(body["errors"][0]["code"]) in caught.value.message
    assert shop.count("get") == 1


async def test_a_404_page_is_no_webservice_not_a_missing_customer(upstream_client):
    shop = PrestaShopFake()
    shop.answer(404, text="<html>Not Found</html>", content_type="text/html", times=None)
    async with shop.serve() as origin:
        with pytest.raises(ProviderBadResponse, match="URL rewriting"):
            await shop.make_provider(origin, upstream_client).get_customer("5")


async def test_xml_is_a_bad_response(upstream_client):
    """Without output_format=JSON the Webservice answers XML: the module always asks for JSON."""
    shop = PrestaShopFake()
    shop.answer(200, text="<prestashop/>", content_type="text/xml", on={"get"})
    async with shop.serve() as origin:
        with pytest.raises(ProviderBadResponse, match="not JSON"):
            await shop.make_provider(origin, upstream_client).get_customer("5")


def test_remote_query_takes_filters_only():
    assert PrestaShopProvider.remote_query_refusal("filter[email]") is None
    assert PrestaShopProvider.remote_query_refusal("date") is None
    for name in ("limit", "display", "ws_key", "output_format", "io_format", "sort", "ps_method", "id_shop"):
        assert PrestaShopProvider.remote_query_refusal(name) is not None, name
