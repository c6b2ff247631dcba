"""Adobe Commerce (Magento 2): golden mappings from the documented payloads,
settings and credential rules, templated errors, and what is Magento's own
against its fake (tests/fakes/magento.py): bearer and OAuth 1.0a auth, the
searchCriteria walk that stops on total_count, and a page past the end that
repeats the last one. What every provider shares is in tests/contract/."""

from __future__ import annotations

import copy
from typing import Any

import msgspec
import pytest
from aiohttp import ClientSession
from oauthlib import oauth1

from providers.base import PageRequest
from providers.errors import (
    ConfigurationError,
    CustomerNotFound,
    ProviderAuthFailed,
    ProviderBadResponse,
    ProviderRateLimited,
    UpstreamBlocked,
)
from providers.http import UpstreamClient, UpstreamPolicy, create_session
from providers.magento import MagentoProvider, render
from providers.models import Address, Customer, Email, Phone
from providers.resilience import RetryPolicy
from tests.fakes.magento import (
    ACCESS_TOKEN,
    ACCESS_TOKEN_SECRET,
    BEARER,
    CONSUMER_KEY,
    CONSUMER_SECRET,
    MagentoFake,
    signature,
)
from tests.support import load_fixture

OAUTH = {"consumer_key": CONSUMER_KEY, "consumer_secret": CONSUMER_SECRET,
         "access_token": ACCESS_TOKEN, "access_token_secret": ACCESS_TOKEN_SECRET}
SEARCH = "/shop/rest/default/V1/customers/search"


def fixture(name: str) -> Any:
    return load_fixture("magento", name)


# -- golden mappings -----------------------------------------------------------


def test_map_documented_customer():
    """The "Create a customer" tutorial's CustomerInterface (the GET's shape):
    one address, default for both billing and shipping."""
    address = dict(id="2", street_1="123 Oak Ave", city="Purchase", state="NY", postal_code="10755", country="US")
    assert MagentoProvider.map_customer(fixture("customer.json")) == Customer(
        id="2",
        remote_id="2",
        email="jdoe@example.com",
        first_name="Jane",
        last_name="Doe",
        name="Jane Doe",
        company_name=None,  # the address has no company
        phone_number="512-555-1111",
        status=None,  # REST exposes no active flag
        currency=None,
        emails=[Email(email="jdoe@example.com", is_primary=True)],
        # One number, the billing address's (the shipping one is the same address).
        phones=[Phone(number="512-555-1111", type="billing", is_primary=True)],
        addresses=[Address(**address, address_type="billing"), Address(**address, address_type="shipping")],
        created_at="2017-01-31T01:18:13Z",  # zone-less: UTC
        modified_at="2017-01-31T01:18:13Z",
    )


def test_map_documented_search_item():
    """The "Construct a request" search example: the default address once per
    type, then the other, untyped, its "London "/"Tottenham " trimmed."""
    item = fixture("customers-search.json")["items"][0]
    default = dict(id="1", street_1="6146 Honey Bluff Parkway", city="Calder", state="MI",
                   postal_code="49628-7978", country="US")
    assert MagentoProvider.map_customer(item) == Customer(
        id="1",
        remote_id="1",
        email="roni_cost@example.com",
        first_name="Veronica",
        last_name="Costello",
        name="Veronica Costello",
        phone_number="(555) 229-3326",
        emails=[Email(email="roni_cost@example.com", is_primary=True)],
        phones=[Phone(number="(555) 229-3326", type="billing", is_primary=True)],
        addresses=[
            Address(**default, address_type="billing"),
            Address(**default, address_type="shipping"),
            Address(id="19", street_1="1 Studio 103 The Business Centre 61", city="Tottenham", state="London",
                    postal_code="CF24 3DG", country="GB", address_type=None),
        ],
        created_at="2017-12-05T09:50:11Z",
        modified_at="2018-09-22T06:32:50Z",
    )


def customer_with_two_defaults() -> dict[str, Any]:
    item = copy.deepcopy(fixture("customers-search.json")["items"][0])
    first, second = item["addresses"]
    item["default_shipping"] = "19"  # billing stays address 1
    first["company"], second["company"] = " Costello Ltd ", "Shipping Co"
    second["street"] = ["1 Studio 103", " The Business Centre ", "", "61 Wharf Road"]
    second["region"] = {"region_code": "", "region": "Greater London", "region_id": 0}
    second["telephone"] = " 1234567890 "
    return item


def test_map_types_addresses_by_the_customers_default_ids():
    customer = MagentoProvider.map_customer(customer_with_two_defaults())
    assert [(a.id, a.address_type) for a in customer.addresses] == [("1", "billing"), ("19", "shipping")]
    shipping = customer.addresses[1]
    # Lines after the first joined; an empty code falls back to the region's name.
    assert (shipping.street_1, shipping.street_2) == ("1 Studio 103", "The Business Centre, 61 Wharf Road")
    assert shipping.state == "Greater London"
    assert customer.company_name == "Costello Ltd"  # the default billing address's
    assert customer.phones == [
        Phone(number="(555) 229-3326", type="billing", is_primary=True),
        Phone(number="1234567890", type="shipping"),
    ]


def test_map_falls_back_to_the_address_flags_without_customer_defaults():
    item = copy.deepcopy(fixture("customer.json"))
    del item["default_billing"], item["default_shipping"]
    item["addresses"][0]["default_billing"] = False
    customer = MagentoProvider.map_customer(item)
    assert [a.address_type for a in customer.addresses] == ["shipping"]
    assert customer.company_name is None and customer.phones[0].type == "shipping"


def test_map_without_addresses_or_optional_fields():
    customer = MagentoProvider.map_customer(
        {"id": "7", "email": " ", "firstname": "Ann ", "lastname": "", "created_at": "not a date", "addresses": []}
    )
    assert (customer.id, customer.email, customer.first_name, customer.last_name, customer.name) == (
        "7", None, "Ann", None, "Ann")
    assert customer.addresses == [] and customer.phones == [] and customer.created_at is None


def test_custom_attributes_stay_in_remote_data_only():
    item = copy.deepcopy(fixture("customer.json"))
    item["custom_attributes"] = [{"attribute_code": "loyalty_tier", "value": "gold"}]
    customer = MagentoProvider.map_customer(item)
    assert "gold" not in msgspec.json.encode(customer).decode()
    assert item["custom_attributes"] == [{"attribute_code": "loyalty_tier", "value": "gold"}]  # untouched


@pytest.mark.parametrize("edit", [{"id": None}, {"id": "abc"}, {"addresses": {"id": 1}}, {"default_billing": []}])
def test_map_shape_errors(edit):
    with pytest.raises(msgspec.ValidationError):
        MagentoProvider.map_customer({**fixture("customer.json"), **edit})


# -- templated error messages ----------------------------------------------------------


@pytest.mark.parametrize(
    "template, parameters, rendered",
    [
        (*fixture("error-400.json").values(), "Invalid product data: Invalid attribute set entity type"),
        ("No such entity with %fieldName = %fieldValue", {"fieldName": "customerId", "fieldValue": -1},
         "No such entity with customerId = -1"),
        ("%1 and %10", list("abcdefghij"), "a and j"),  # longest placeholder first, as strtr
        ("%name stays", {"name": {"nested": 1}}, "%name stays"),  # not a scalar: left alone
        ("%1 then %1", ["%1"], "%1 then %1"),  # replaced once, never again inside a value
        ("plain", None, "plain"),
    ],
)
def test_messages_are_rendered_from_their_parameters(template, parameters, rendered):
    assert render(template, parameters) == rendered


# -- settings and credentials ---------------------------------------------------------


def parse(credentials: dict[str, Any] | None = None, **settings: Any) -> tuple[Any, Any]:
    return MagentoProvider.parse_config(
        OAUTH if credentials is None else credentials, {"store_url": "https://shop.example.com", **settings}
    )


@pytest.mark.parametrize(
    "store_url, root",
    [
        ("https://Shop.Example.com/", "https://shop.example.com/rest/default/V1"),
        ("https://shop.example.com/magento//", "https://shop.example.com/magento/rest/default/V1"),
        ("https://shop.example.com/index.php", "https://shop.example.com/index.php/rest/default/V1"),
    ],
)
def test_store_url_and_api_root(store_url, root):
    provider = MagentoProvider(*parse(store_url=store_url), None)
    assert provider.api_root == root
    moved = MagentoProvider(*parse(store_url=store_url, base_url="http://127.0.0.1:8080", store_code="fr"), None)
    assert moved.api_root == "http://127.0.0.1:8080" + root.split(".com", 1)[1].replace("/default/", "/fr/")


@pytest.mark.parametrize(
    "credentials, settings, complaint",
    [
        (None, {"store_url": "https://shop.example.com/rest/V1"}, "/rest API URL"),
        (None, {"store_url": "https://user:hunter2@shop.example.com"}, "user name or password"),
        (None, {"store_url": "ftp://shop.example.com"}, "http(s)"),
        (None, {"store_code": "1st"}, "store view code"),
        (None, {"store_code": "default/../admin"}, "store view code"),
        ({**OAUTH, "consumer_secret": None}, {}, "all four"),
        ({k: v for k, v in OAUTH.items() if k != "access_token_secret"}, {}, "all four"),
        ({**OAUTH, "consumer_key": CONSUMER_KEY[:-1]}, {}, "consumer_key"),
        ({**OAUTH, "access_token": "short"}, {}, "32 letters and digits"),
        ({"access_token": "has space"}, {}, "access_token"),
        ({"access_token": ACCESS_TOKEN, "token": "x"}, {}, "token"),
    ],
)
def test_config_errors(credentials, settings, complaint):
    with pytest.raises(ConfigurationError) as caught:
        parse(credentials, **settings)
    assert complaint in caught.value.message
    assert "hunter2" not in caught.value.message and CONSUMER_SECRET not in caught.value.message


def test_one_store_typed_two_ways_is_one_destination():
    a = MagentoProvider.destination({"store_url": "https://Shop.example.com/m/"})
    b = MagentoProvider.destination({"store_url": "https://shop.example.com/m", "store_code": "default"})
    assert a == b and a["store_code"] == "default"


# -- against the Magento fake ---------------------------------------------------------


def bearer_store(**kwargs: Any) -> MagentoFake:
    return MagentoFake(credentials={"access_token": BEARER}, **kwargs)


async def test_get_with_a_bearer_token(upstream_client):
    shop = bearer_store(total=3)
    async with shop.serve() as origin:
        raw, customer = await shop.make_provider(origin, upstream_client).get_customer("2")
    (sent,) = shop.requests
    assert sent.path == "/shop/rest/default/V1/customers/2" and dict(sent.query) == {}
    assert sent.headers["Authorization"] == f"Bearer {BEARER}"
    assert sent.headers["Accept"] == "application/json"
    assert raw == shop.customers[1] and customer.id == "2"


async def test_get_signed_with_oauth_1(upstream_client):
    shop = MagentoFake(total=3, store_code="fr")
    async with shop.serve() as origin:
        provider = shop.make_provider(origin, upstream_client)
        _, customer = await provider.get_customer("3")
        await provider.get_customer("3")  # a fresh nonce each time: the fake refuses a reused one
    first, second = (r.headers["Authorization"] for r in shop.requests)
    assert first.startswith("OAuth ") and 'oauth_signature_method="HMAC-SHA256"' in first
    assert f'oauth_consumer_key="{CONSUMER_KEY}"' in first and f'oauth_token="{ACCESS_TOKEN}"' in first
    assert CONSUMER_SECRET not in first and ACCESS_TOKEN_SECRET not in first
    assert first != second and len(shop.nonces) == 2
    assert shop.requests[0].path == "/shop/rest/fr/V1/customers/3" and customer.id == "3"


async def test_the_fakes_check_agrees_with_oauthlib_and_refuses_a_changed_query():
    """The fake's verifier is written from Magento's code, not from oauthlib:
    for one nonce and timestamp both give one signature, and a query changed
    after signing (another page) fails as at Magento."""
    url = "http://127.0.0.1:1/shop/rest/default/V1/customers/search?searchCriteria%5BpageSize%5D=5"
    client = oauth1.Client(CONSUMER_KEY, CONSUMER_SECRET, ACCESS_TOKEN, ACCESS_TOKEN_SECRET,
                           signature_method=oauth1.SIGNATURE_HMAC_SHA256, nonce="abc", timestamp="1700000000")
    header = client.sign(url, "GET")[1]["Authorization"]
    params = {"oauth_consumer_key": CONSUMER_KEY, "oauth_token": ACCESS_TOKEN, "oauth_nonce": "abc",
              "oauth_timestamp": "1700000000", "oauth_version": "1.0", "oauth_signature_method": "HMAC-SHA256"}
    base = url.split("?")[0]
    ours = signature("GET", base, {**params, "searchCriteria[pageSize]": "5"}, CONSUMER_SECRET, ACCESS_TOKEN_SECRET)
    assert f'oauth_signature="{oauth1.rfc5849.utils.escape(ours)}"' in header
    shop = MagentoFake(total=10)
    async with shop.serve() as origin, ClientSession() as session:
        changed = url.replace("http://127.0.0.1:1", origin).replace("=5", "=6")
        signed = client.sign(changed.replace("=6", "=5"), "GET")[1]
        async with session.get(changed, headers=signed) as response:
            assert response.status == 401
            assert await response.json() == fixture("error-401.signature-invalid.json")


@pytest.mark.parametrize(
    "credentials, message",
    [
        ({"access_token": "not-the-token"}, "allows OAuth access tokens as bearer tokens) (401: The consumer isn't "
                                             "authorized to access Magento_Customer::customer.)"),
        ({**OAUTH, "consumer_key": "x" * 32}, "A consumer having the specified key does not exist"),
        ({**OAUTH, "access_token_secret": "x" * 32}, "The signature is invalid. Verify and try again."),
    ],
)
async def test_refused_credentials_say_why(upstream_client, credentials, message):
    shop = MagentoFake(total=3)
    async with shop.serve() as origin:
        provider = shop.make_provider(origin, upstream_client)
        provider.credentials, _ = MagentoProvider.parse_config(credentials, shop.settings(origin))
        provider.auth = provider.make_auth()
        with pytest.raises(ProviderAuthFailed) as caught:
            await provider.get_customer("1")
    assert caught.value.remote_status == 401 and message in caught.value.message
    assert "x" * 32 not in caught.value.message


@pytest.mark.parametrize("store_url", ["https://127.0.0.1/shop", "http://shop.example.com"])
async def test_the_store_url_meets_the_ssrf_guard(store_url):
    policy = UpstreamPolicy()  # private networks and plain http refused
    session = create_session(policy)
    try:
        provider = MagentoProvider(*parse(store_url=store_url), UpstreamClient(session, policy))
        with pytest.raises(UpstreamBlocked):
            await provider.get_customer("1")
    finally:
        await session.close()


async def test_token_length_refusal_is_an_auth_failure(upstream_client):
    shop = MagentoFake(total=3)
    async with shop.serve() as origin:
        shop.answer(400, {"message": "The token length is invalid. Check the length and try again."})
        with pytest.raises(ProviderAuthFailed):
            await shop.make_provider(origin, upstream_client).get_customer("1")


async def test_not_found_names_the_rendered_template(upstream_client):
    shop = MagentoFake(total=3)
    async with shop.serve() as origin:
        with pytest.raises(CustomerNotFound) as caught:
            await shop.make_provider(origin, upstream_client).get_customer("999999")
    assert "No such entity with customerId = 999999" in caught.value.message


@pytest.mark.parametrize("settings", [{"store_code": "nope"}, {"store_url": "https://shop.example.com/elsewhere"}])
async def test_a_wrong_store_code_or_path_is_no_missing_customer(upstream_client, settings):
    shop = MagentoFake(total=3)
    async with shop.serve() as origin:
        provider = shop.make_provider(origin, upstream_client, **settings)
        with pytest.raises(ProviderBadResponse) as caught:
            await provider.get_customer("1")
        with pytest.raises(ProviderBadResponse):
            await provider.list_page(PageRequest(limit=5))
    assert "Request does not match any route." in caught.value.message and "store_code" in caught.value.message


@pytest.mark.parametrize("body", [
    {"message": 5}, {"message": "No such entity with %fieldName = %fieldValue", "parameters": "customerId"},
    ["No such entity"], {"message": "%1" * 1000, "parameters": ["x" * 10_000] * 1000}, None,
])
async def test_odd_error_bodies_are_read_as_far_as_they_go(upstream_client, body):
    shop = MagentoFake(total=3)
    async with shop.serve() as origin:
        shop.answer(404, body)
        with pytest.raises(ProviderBadResponse) as caught:  # never a missing customer, never a crash
            await shop.make_provider(origin, upstream_client).get_customer("1")
    assert len(caught.value.message) < 600


async def test_an_html_404_is_no_missing_customer(upstream_client):
    shop = MagentoFake(total=3)
    async with shop.serve() as origin:
        shop.answer(404, text="<html>Not Found</html>", content_type="text/html")
        with pytest.raises(ProviderBadResponse):
            await shop.make_provider(origin, upstream_client).get_customer("1")


async def test_429_without_retry_after_has_no_wait(upstream_client):
    shop = MagentoFake(total=3)
    async with shop.serve() as origin:
        shop.answer(429, fixture("error-429.json"), times=None)
        provider = shop.make_provider(origin, upstream_client)
        provider.retry_policy = RetryPolicy(max_attempts=1)
        with pytest.raises(ProviderRateLimited) as caught:
            await provider.get_customer("1")
    assert caught.value.retry_after is None and "Too Many Requests" in caught.value.message


# -- the list ---------------------------------------------------------------------------


@pytest.mark.parametrize("limit", [1, 50, 100])
async def test_one_search_per_page_sorted_by_entity_id(upstream_client, limit):
    shop = MagentoFake()
    async with shop.serve() as origin:
        provider = shop.make_provider(origin, upstream_client)
        first = await provider.list_page(PageRequest(limit=limit))
        second = await provider.list_page(PageRequest(limit=limit, state=first.next))
    assert shop.list_requests() == 2  # one call per page
    assert [c.id for c in first.customers + second.customers] == [str(i) for i in range(1, 2 * limit + 1)]
    query = dict(shop.requests[1].query)
    assert query == {
        "searchCriteria[pageSize]": str(limit), "searchCriteria[currentPage]": "2",
        "searchCriteria[sortOrders][0][field]": "entity_id", "searchCriteria[sortOrders][0][direction]": "ASC",
    }


async def test_the_last_page_ends_on_total_count(upstream_client):
    shop = MagentoFake(total=120)
    async with shop.serve() as origin:
        provider = shop.make_provider(origin, upstream_client)
        page = await provider.list_page(PageRequest(limit=100, state={"page": 2, "per_page": 100}))
    assert len(page.customers) == 20 and page.next is None and shop.list_requests() == 1


async def test_a_page_past_the_end_is_not_the_last_page_again(upstream_client):
    """Customers deleted mid-walk: Magento answers the last page again for a
    page past the end; it is dropped, and the walk ends."""
    shop = MagentoFake(total=250)
    async with shop.serve() as origin:
        provider = shop.make_provider(origin, upstream_client)
        first = await provider.list_page(PageRequest(limit=100))
        del shop.customers[50:]
        second = await provider.list_page(PageRequest(limit=100, state=first.next))
    assert second.customers == [] and second.next is None
    assert shop.list_requests() == 2


@pytest.mark.parametrize("items", [[], None])
async def test_an_empty_page_before_total_count_ends_the_walk(upstream_client, items):
    shop = MagentoFake(total=10)
    async with shop.serve() as origin:
        shop.answer(200, {"items": items, "search_criteria": {}, "total_count": 10**9}, on={"list"})
        page = await shop.make_provider(origin, upstream_client).list_page(PageRequest(limit=5))
    assert page.customers == [] and page.next is None and shop.list_requests() == 1


async def test_a_store_ignoring_page_size_is_a_bad_response(upstream_client):
    shop = MagentoFake(total=10)
    async with shop.serve() as origin:
        everyone = {"items": shop.customers, "search_criteria": {}, "total_count": 10}
        shop.answer(200, everyone, on={"list"})
        with pytest.raises(ProviderBadResponse):
            await shop.make_provider(origin, upstream_client).list_page(PageRequest(limit=5))


async def test_verify_is_one_search_of_one(upstream_client):
    shop = bearer_store(total=3)
    async with shop.serve() as origin:
        await shop.make_provider(origin, upstream_client).verify_credentials()
    (sent,) = shop.requests
    assert sent.path == SEARCH and sent.query["searchCriteria[pageSize]"] == "1"
