"""Shopware 6: golden mappings from the composed search answer
(tests/fixtures/shopware/README.md), settings rules, and what is Shopware's
own against its fake (tests/fakes/shopware.py): the search criteria sent,
the Accept header, one call per get and per list page, the token minted on
demand, and the errors[] answers. What every provider shares is in
tests/contract/."""

from __future__ import annotations

import copy
import json
from typing import Any

import msgspec
import pytest

from providers.base import PageRequest
from providers.errors import (
    ConfigurationError,
    CustomerNotFound,
    ProviderAuthFailed,
    ProviderBadResponse,
    ReauthRequired,
)
from providers.models import Address, Customer, Email, Phone
from providers.shopware import ShopwareProvider
from tests.fakes.shopware import CLIENT_ID, CLIENT_SECRET, ShopwareFake
from tests.support import load_fixture

CREDENTIALS = {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}


def fixture(name: str) -> Any:
    return load_fixture("shopware", name)


def documented() -> dict[str, Any]:
    return copy.deepcopy(fixture("search-customer.json")["data"][0])


# -- golden mappings -----------------------------------------------------------


def test_map_documented_customer():
    assert ShopwareProvider.map_customer(documented()) == Customer(
        id="0190c1e0a5c47c3f8e2b1a9d6c5f4e3a",
        remote_id="0190c1e0a5c47c3f8e2b1a9d6c5f4e3a",
        email="max.mustermann@example.com",
        first_name="Max",
        last_name="Mustermann",  # " Mustermann", trimmed
        name="Max Mustermann",
        company_name="Muster GmbH",  # the customer's company is "": the default billing address's
        phone_number="+49 2555 92885-0",
        status="active",
        currency=None,
        emails=[Email(email="max.mustermann@example.com", is_primary=True)],
        phones=[
            Phone(number="+49 2555 92885-0", type="billing", is_primary=True),
            # the shipping address's phoneNumber is "": none
            Phone(number="+49 30 1234567", type=None),
        ],
        addresses=[  # the defaults first, typed by defaultBillingAddressId / defaultShippingAddressId
            Address(id="0190c1e0a5c57a1b9d8c7e6f5a4b3c2d", street_1="Ebbinghoff 10", street_2="Haus B",
                    city="Schöppingen", state="NW", postal_code="48624", country="DE", address_type="billing"),
            Address(id="0190c1e0a5c67b2c8e9d0f1a2b3c4d5e", street_1="Stephansplatz 1", street_2=None,
                    city="Wien", state=None, postal_code="1010", country="AT", address_type="shipping"),
            Address(id="0190c1e0a5c77c3d9f0e1a2b3c4d5e6f", street_1="Invalidenstraße 116",
                    street_2="c/o Erika, 3. OG", city="Berlin", state=None, postal_code="10115", country="DE",
                    address_type=None),
        ],
        created_at="2024-05-02T10:12:13.456Z",
        modified_at="2024-06-11T06:41:27.123Z",  # +02:00
    )


def test_one_address_for_billing_and_shipping_is_listed_under_each():
    raw = documented()
    raw["defaultShippingAddressId"] = raw["defaultBillingAddressId"]
    addresses = ShopwareProvider.map_customer(raw).addresses
    assert [(a.id[-4:], a.address_type) for a in addresses] == [("3c2d", "billing"), ("3c2d", "shipping"),
                                                                 ("4d5e", None), ("5e6f", None)]


def test_inactive_guest_without_addresses_or_update():
    raw = {**documented(), "active": False, "guest": True, "addresses": None, "updatedAt": None, "company": "ACME "}
    customer = ShopwareProvider.map_customer(raw)
    assert (customer.status, customer.addresses, customer.phones) == ("inactive", [], [])
    assert (customer.company_name, customer.modified_at) == ("ACME", None)


def test_an_id_that_is_not_32_hex_is_a_bad_shape():
    with pytest.raises(msgspec.ValidationError, match=r"\$.id"):
        ShopwareProvider.map_customer({**documented(), "id": "1"})


# -- settings --------------------------------------------------------------------------


@pytest.mark.parametrize("store_url, says", [
    ("https://shop.example.com/api", "not its /api or /admin URL"),
    ("https://shop.example.com/admin", "not its /api or /admin URL"),
    ("shop.example.com", "http"),
])
def test_settings_refused(store_url, says):
    with pytest.raises(ConfigurationError, match=says):
        ShopwareProvider.parse_config(CREDENTIALS, {"store_url": store_url})


def test_sub_directory_paths():
    credentials, settings = ShopwareProvider.parse_config(CREDENTIALS, {"store_url": "https://Example.com/de/"})
    provider = ShopwareProvider(credentials, settings, None)
    assert provider.api_root == "https://example.com/de/api"
    assert provider.auth_origin == "https://example.com"


# -- against the fake ----------------------------------------------------------------


async def test_get_is_one_search_with_the_addresses(upstream_client):
    shop = ShopwareFake(prefix="/de")
    wanted = shop.ids[4]
    async with shop.serve() as origin:
        raw, customer = await shop.make_provider(origin, upstream_client).get_customer(wanted.upper())
    token, search = shop.requests
    assert (token.method, token.path) == ("POST", "/de/api/oauth/token")
    assert json.loads(shop.bodies[0]) == {"grant_type": "client_credentials", **CREDENTIALS}
    assert (search.method, search.path) == ("POST", "/de/api/search/customer")
    assert search.headers["Accept"] == "application/json"  # else JSON:API
    assert search.headers["Authorization"] == "Bearer sw-token-1"
    assert json.loads(shop.bodies[1]) == {
        "ids": [wanted],  # asked in lower case
        "associations": {"addresses": {"associations": {"country": {}, "countryState": {}}}},
    }
    assert raw["id"] == customer.id == wanted
    assert [a.address_type for a in customer.addresses] == ["billing", "shipping", None]


async def test_an_unknown_id_is_an_empty_search(upstream_client):
    shop = ShopwareFake()
    async with shop.serve() as origin:
        with pytest.raises(CustomerNotFound) as caught:
            await shop.make_provider(origin, upstream_client).get_customer(shop.missing_id)
    assert caught.value.remote_status == 200
    assert shop.count("get") == 1


@pytest.mark.parametrize("limit", [1, 50, 100])
async def test_a_list_page_is_one_search(upstream_client, limit):
    shop = ShopwareFake()
    async with shop.serve() as origin:
        provider = shop.make_provider(origin, upstream_client)
        first = await provider.list_page(PageRequest(limit=limit))
        second = await provider.list_page(PageRequest(limit=limit, state=first.next))
    assert shop.count("list") == 2 and shop.token_requests() == 1
    criteria = json.loads(shop.bodies[-1])
    assert criteria == {
        "page": 2, "limit": limit, "total-count-mode": 1,
        "sort": [{"field": "createdAt", "order": "ASC"}, {"field": "id", "order": "ASC"}],
        "associations": {"addresses": {"associations": {"country": {}, "countryState": {}}}},
    }
    assert [c.id for c in first.customers + second.customers] == shop.ids[: 2 * limit]
    assert all(len(c.addresses) == 3 for c in second.customers)


@pytest.mark.parametrize("status, body, error", [
    (403, fixture("error-403.missing-privilege.json"), ProviderAuthFailed),
    (403, fixture("error-403.json"), ProviderAuthFailed),
    (404, fixture("error-404.json"), ProviderBadResponse),  # a search has no missing customer: no API there
])
async def test_errors_array_answers(upstream_client, status, body, error):
    shop = ShopwareFake()
    shop.answer(status, body, times=None)
    async with shop.serve() as origin:
        with pytest.raises(error) as caught:
            await shop.make_provider(origin, upstream_client).get_customer(shop.ids[0])
    assert caught.value.remote_status == status
    assert body["errors"][0]["title"] in caught.value.message or body["errors"][0].get("code", "") in caught.value.message


async def test_a_refused_integration_needs_reauth(upstream_client):
    shop = ShopwareFake(credentials={"client_id": CLIENT_ID, "client_secret": "another-secret"})
    async with shop.serve() as origin:
        provider = shop.make_provider(origin, upstream_client)
        shop.credentials = dict(CREDENTIALS)  # the shop knows the real secret only
        with pytest.raises(ReauthRequired) as caught:
            await provider.get_customer(shop.ids[0])
    assert caught.value.remote_status == 401
    assert shop.count() == 0  # no search without a token


async def test_a_revoked_token_is_minted_again_once(upstream_client):
    shop = ShopwareFake()
    async with shop.serve() as origin:
        provider = shop.make_provider(origin, upstream_client)
        await provider.get_customer(shop.ids[0])
        shop.revoke_all()
        _, customer = await provider.get_customer(shop.ids[1])
    assert customer.id == shop.ids[1]
    assert shop.token_requests() == 2 and shop.count("get") == 3  # the 401'd search, sent once more


async def test_without_accept_json_the_answer_is_json_api(upstream_client):
    """The fake answers JSON:API to a request without Accept: application/json,
    as Shopware does; the module's header is what keeps the plain shape."""
    shop = ShopwareFake()
    async with shop.serve() as origin:
        provider = shop.make_provider(origin, upstream_client)
        provider.request_headers = lambda: {}  # type: ignore[method-assign]
        with pytest.raises(ProviderBadResponse, match="missing required field `total`"):
            await provider.get_customer(shop.ids[0])
