"""BigCommerce: golden mappings from documented/recorded payloads, and what is
BigCommerce's own against its fake (tests/fakes/bigcommerce.py): the id:in
lookup, address completion, 403/404/422, the rate-limit headers, verify and
cursor paging. What every provider shares is in tests/contract/."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from providers import calls
from providers.base import PageRequest
from providers.bigcommerce import BigCommerceProvider
from providers.errors import (
    ConfigurationError,
    CustomerNotFound,
    ProviderAuthFailed,
    ProviderBadResponse,
    ProviderRateLimited,
)
from providers.models import Address, Customer, Email, Phone
from tests.fakes.bigcommerce import ADDRESSES_PATH, CUSTOMERS_PATH, TOKEN, BigCommerceFake
from tests.support import load_fixture


def fixture(name: str) -> Any:
    return load_fixture("bigcommerce", name)


# -- golden mappings -----------------------------------------------------------


def test_map_single_customer_with_addresses():
    raw = fixture("customer-23.json")["data"][0]
    assert BigCommerceProvider.map_customer(raw) == Customer(
        id="23",
        remote_id="23",
        email="johndoe@example.com",
        first_name="John",
        last_name="Doe",
        name="John Doe",
        company_name="BigCommerce",
        phone_number="1234567890",
        status=None,
        currency=None,
        emails=[Email(email="johndoe@example.com", type=None, is_primary=True)],
        phones=[Phone(number="1234567890", extension=None, type=None, is_primary=True)],
        addresses=[
            Address(
                id="38",
                street_1="Bennelong Point",  # "Bennelong Point " trimmed
                street_2=None,  # ""
                city="Sydney",
                state="New South Wales",
                postal_code="2000",
                country="AU",
                address_type=None,  # "commercial" is not billing/shipping
                owner_type="customer",
            ),
            Address(
                id="39",
                street_1="111 E West Street",
                street_2="654",
                city="Akron",
                state="Ohio",
                postal_code="44325",
                country="US",
                address_type=None,  # "residential"
                owner_type="customer",
            ),
        ],
        field_mappings={},
        remote_data=None,
        created_at="2019-02-19T18:34:16Z",
        modified_at="2019-02-19T18:34:16Z",
    )


def test_map_recorded_sandbox_customers_with_empty_strings():
    first, second = fixture("customers-list.recorded.json")["data"]
    assert BigCommerceProvider.map_customer(first) == Customer(
        id="4",
        remote_id="4",
        email="test-update-customer-2026-06-18@example.com",
        first_name="Updated",
        last_name="Name",
        name="Updated Name",
        company_name=None,  # ""
        phone_number=None,  # ""
        status=None,
        currency=None,
        emails=[Email(email="test-update-customer-2026-06-18@example.com", is_primary=True)],
        phones=[],
        addresses=[],  # no include=addresses in that recording
        created_at="2026-06-18T14:08:08Z",
        modified_at="2026-06-18T14:09:35Z",
    )
    assert BigCommerceProvider.map_customer(second) == Customer(
        id="1",
        remote_id="1",
        email="testuser@nangotest.com",
        first_name="Test",
        last_name="User",
        name="Test User",
        company_name=None,
        phone_number=None,
        emails=[Email(email="testuser@nangotest.com", is_primary=True)],
        phones=[],
        addresses=[],
        created_at="2026-06-18T12:03:42Z",
        modified_at="2026-06-18T12:04:21Z",
    )


def test_map_official_doc_example_passes_placeholders_through():
    """The doc example has no id and no dates; with an id added, its
    placeholder values map like any others ("st" is an alpha-2 shape)."""
    raw = {**fixture("customers-list.doc-example.json")["data"][0], "id": 7}
    assert BigCommerceProvider.map_customer(raw) == Customer(
        id="7",
        remote_id="7",
        email="jane.smith@example.com",
        first_name="Jane",
        last_name="Smith",
        name="Jane Smith",
        company_name="Acme Corp",
        phone_number="555-123-4567",
        emails=[Email(email="jane.smith@example.com", is_primary=True)],
        phones=[Phone(number="555-123-4567", is_primary=True)],
        addresses=[
            Address(
                id="0",
                street_1="Addr1",
                street_2=None,
                city="string",
                state="string",
                postal_code="string",
                country="ST",  # country_code, not the `country` name field ("US" there)
                address_type=None,
            )
        ],
        created_at=None,
        modified_at=None,
    )


def test_map_without_id_is_a_shape_error():
    with pytest.raises(ValueError):  # msgspec.ValidationError: no `id`
        BigCommerceProvider.map_customer(fixture("customers-list.doc-example.json")["data"][0])
    with pytest.raises(ValueError):
        BigCommerceProvider.map_customer({"id": "4a", "email": "x@example.com"})
    with pytest.raises(ValueError):
        BigCommerceProvider.map_customer({"id": True})


def test_map_drops_address_whose_fields_are_all_empty():
    raw = copy.deepcopy(fixture("customer-23.json")["data"][0])
    blank = raw["addresses"][0]
    for key in ("address1", "address2", "city", "state_or_province", "postal_code", "country_code"):
        blank[key] = ""
    mapped = BigCommerceProvider.map_customer(raw)
    assert [a.id for a in mapped.addresses] == ["39"]


def test_map_does_not_touch_the_raw_payload():
    raw = fixture("customer-23.json")["data"][0]
    before = copy.deepcopy(raw)
    BigCommerceProvider.map_customer(raw)
    assert raw == before


# -- configuration -------------------------------------------------------------


@pytest.mark.parametrize("store_hash", ["abc123", "hc5d9t2irc", "z4zn3wo", "fa0p0g1"])
def test_store_hash_accepts_real_shapes(store_hash):
    _, settings = BigCommerceProvider.parse_config({"access_token": TOKEN}, {"store_hash": store_hash})
    assert settings.store_hash == store_hash
    assert settings.base_url is None


@pytest.mark.parametrize(
    "store_hash",
    ["", "ABC123", "abc/123", "../abc", "abc 123", "abc123?x=1", "abc#1", "stores/abc", "a" * 33, "abç"],
)
def test_store_hash_rejects_anything_else(store_hash):
    with pytest.raises(ConfigurationError, match="store_hash"):
        BigCommerceProvider.parse_config({"access_token": TOKEN}, {"store_hash": store_hash})


@pytest.mark.parametrize(
    "credentials, settings",
    [
        ({}, {"store_hash": "abc123"}),
        ({"access_token": TOKEN, "client_id": "x"}, {"store_hash": "abc123"}),
        ({"access_token": ""}, {"store_hash": "abc123"}),
        ({"access_token": "has space"}, {"store_hash": "abc123"}),
        ({"access_token": TOKEN}, {}),
        ({"access_token": TOKEN}, {"store_hash": "abc123", "base_url": "https://api.bigcommerce.com/stores"}),
        ({"access_token": TOKEN}, {"store_hash": "abc123", "region": "us"}),
    ],
)
def test_config_errors(credentials, settings):
    with pytest.raises(ConfigurationError) as caught:
        BigCommerceProvider.parse_config(credentials, settings)
    assert TOKEN not in caught.value.message


# -- against the BigCommerce fake (tests/fakes/bigcommerce.py) -------------------------
# Get one, empty data as not found, another customer, the documented 429,
# 500/503, unparsable bodies and an echoed token: tests/contract/.


def documented_store(*customers: dict[str, Any], **kwargs: Any) -> BigCommerceFake:
    """A store holding these customers (customer 23 by default)."""
    return BigCommerceFake(list(customers) or [fixture("customer-23.json")["data"][0]], **kwargs)


async def test_get_customer_request_and_raw_payload(upstream_client):
    store = documented_store()
    async with store.serve() as origin:
        raw, customer = await store.make_provider(origin, upstream_client).get_customer("23")
    assert len(store.requests) == 1  # address_count == inline addresses: no extra call
    sent = store.requests[0]
    assert sent.method == "GET"
    assert sent.path == CUSTOMERS_PATH
    assert dict(sent.query) == {"id:in": "23", "include": "addresses"}
    assert sent.headers["X-Auth-Token"] == TOKEN
    assert sent.headers["Accept"] == "application/json"
    assert "Authorization" not in sent.headers
    assert raw == fixture("customer-23.json")["data"][0]
    assert customer.id == "23" and len(customer.addresses) == 2


async def test_default_origin_is_the_bigcommerce_api():
    credentials, settings = BigCommerceProvider.parse_config({"access_token": TOKEN}, {"store_hash": "abc123"})
    assert BigCommerceProvider(credentials, settings, None).origin == "https://api.bigcommerce.com"


async def test_remote_query_is_forwarded_but_cannot_override_the_lookup(upstream_client):
    store = documented_store()
    async with store.serve() as origin:
        await store.make_provider(origin, upstream_client).get_customer("23", {"email:in": "johndoe@example.com"})
    assert dict(store.requests[0].query) == {
        "email:in": "johndoe@example.com",
        "id:in": "23",
        "include": "addresses",
    }
    denied = BigCommerceProvider.remote_query_denied
    assert {"id", "include", "include_fields", "exclude_fields", "after", "limit"} <= denied


@pytest.mark.parametrize(
    "customer_id", ["abc", "12a", "0", "007", "-1", "1.5", "1e3", "2147483648", "", " 1", "1,2", "gid://x/1"]
)
async def test_malformed_id_is_not_found_without_a_call(upstream_client, customer_id):
    store = documented_store()
    async with store.serve() as origin:
        with pytest.raises(CustomerNotFound):
            await store.make_provider(origin, upstream_client).get_customer(customer_id)
    assert store.requests == []


async def test_largest_int32_id_is_looked_up(upstream_client):
    store = documented_store()
    async with store.serve() as origin:
        with pytest.raises(CustomerNotFound):
            await store.make_provider(origin, upstream_client).get_customer("2147483647")
    assert store.requests[0].query["id:in"] == "2147483647"


async def test_official_doc_example_without_id_is_a_bad_response(upstream_client):
    store = documented_store()
    store.answer(200, fixture("customers-list.doc-example.json"), times=None)
    async with store.serve() as origin:
        with pytest.raises(ProviderBadResponse):
            await store.make_provider(origin, upstream_client).get_customer("1")


@pytest.mark.parametrize(
    "status, name", [(401, "error-401.json"), (403, "error-403.json"), (404, "error-404.json")]
)
async def test_rejected_credentials_or_store(upstream_client, status, name):
    store = documented_store()
    body = fixture(name)
    store.answer(status, body, times=None)
    async with store.serve() as origin:
        with pytest.raises(ProviderAuthFailed) as caught:
            await store.make_provider(origin, upstream_client).get_customer("23")
    assert caught.value.remote_status == status
    assert body["title"] in caught.value.message
    assert TOKEN not in caught.value.message
    assert len(store.requests) == 1  # never retried


async def test_a_store_hash_the_host_does_not_serve_is_rejected(upstream_client):
    store = documented_store(stores=["otherstore"])
    async with store.serve() as origin:
        with pytest.raises(ProviderAuthFailed) as caught:
            await store.make_provider(origin, upstream_client).get_customer("23")
    assert caught.value.remote_status == 404


@pytest.mark.parametrize("name", ["error-422.invalid-filter.json", "error-422.create-customers.json"])
async def test_422_is_a_bad_response(upstream_client, name):
    store = documented_store()
    body = fixture(name)
    store.answer(422, body, times=None)
    async with store.serve() as origin:
        with pytest.raises(ProviderBadResponse) as caught:
            await store.make_provider(origin, upstream_client).get_customer("23")
    assert caught.value.remote_status == 422
    assert body["title"] in caught.value.message
    assert len(store.requests) == 1


@pytest.mark.parametrize(
    "headers, expected",
    [
        ({"x-rate-limit-time-reset-ms": "24322"}, 24.322),  # lower-case, as recorded
        ({"X-Retry-After": "15"}, 15.0),
        ({"Retry-After": "3"}, 3.0),
        ({}, None),  # without them, platform load: no hint
    ],
)
async def test_429_reads_each_wait_header(upstream_client, headers, expected):
    store = documented_store()
    store.answer(429, fixture("error-429.http.json")["body"], headers=headers, times=None)
    async with store.serve() as origin:
        calls.begin(timeout=1.0)  # the wait does not fit: surface the 429, no sleep
        with pytest.raises(ProviderRateLimited) as caught:
            await store.make_provider(origin, upstream_client).get_customer("23")
    assert caught.value.retry_after == (pytest.approx(expected) if expected is not None else None)
    assert caught.value.remote_status == 429


@pytest.mark.parametrize("body", [[1, 2], {"meta": {}}, {"data": {"id": 23}}, {"data": ["23"]}])
async def test_unexpected_shapes_are_bad_responses(upstream_client, body):
    store = documented_store()
    store.answer(200, body, times=None)
    async with store.serve() as origin:
        with pytest.raises(ProviderBadResponse):
            await store.make_provider(origin, upstream_client).get_customer("23")


async def test_more_addresses_than_inline_are_paged_in(upstream_client):
    """Customer 11 has address_count 8 but 7 inline addresses: all 8 are read
    from /v3/customers/addresses (page size lowered to exercise paging)."""
    book = fixture("addresses-customer-11.json")["data"]
    store = documented_store(fixture("customer-11.with-include.json")["data"][0], addresses=book)
    async with store.serve() as origin:
        provider = store.make_provider(origin, upstream_client)
        provider.address_page_size = 3
        raw, customer = await provider.get_customer("11")
    first, *pages = store.requests
    assert dict(first.query) == {"id:in": "11", "include": "addresses"}
    assert [(r.path, dict(r.query)) for r in pages] == [
        (ADDRESSES_PATH, {"customer_id:in": "11", "page": str(n), "limit": "3"}) for n in (1, 2, 3)
    ]
    assert all(r.headers["X-Auth-Token"] == TOKEN for r in pages)
    assert raw["addresses"] == book  # remote_data carries the complete list
    assert raw["address_count"] == 8
    assert [a.id for a in customer.addresses] == ["16", "18", "23", "30", "46", "55", "56", "59"]
    assert customer.addresses[1] == Address(
        id="18",
        street_1="123 Example Street",
        street_2="Building 4",
        city="Austin",
        state="Texas",
        postal_code="78759",
        country="US",
        address_type=None,
    )


async def test_default_address_page_is_the_maximum(upstream_client):
    book = fixture("addresses-customer-11.json")["data"]
    store = documented_store(fixture("customer-11.with-include.json")["data"][0], addresses=book)
    async with store.serve() as origin:
        raw, _ = await store.make_provider(origin, upstream_client).get_customer("11")
    assert [dict(r.query) for r in store.requests[1:]] == [
        {"customer_id:in": "11", "page": "1", "limit": "250"}
    ]
    assert len(raw["addresses"]) == 8


async def test_ten_inline_addresses_without_a_count_are_completed(upstream_client):
    """Without address_count, a full inline list (the cap of 10) may be cut."""
    customer = copy.deepcopy(fixture("customer-11.with-include.json")["data"][0])
    del customer["address_count"]
    customer["addresses"] = (customer["addresses"] * 2)[:10]
    book = fixture("addresses-customer-11.json")["data"]
    store = documented_store(customer, addresses=book)
    async with store.serve() as origin:
        raw, _ = await store.make_provider(origin, upstream_client).get_customer("11")
    assert len(store.requests) == 2
    assert raw["addresses"] == book


async def test_address_endpoint_errors_are_classified(upstream_client):
    store = documented_store(fixture("customer-11.with-include.json")["data"][0])
    store.answer(403, fixture("error-403.json"), times=None, on={"extra"})
    async with store.serve() as origin:
        with pytest.raises(ProviderAuthFailed):
            await store.make_provider(origin, upstream_client).get_customer("11")


async def test_verify_reads_one_customer(upstream_client):
    store = documented_store()
    async with store.serve() as origin:
        await store.make_provider(origin, upstream_client).verify()
    (sent,) = store.requests
    assert (sent.method, sent.path, dict(sent.query)) == ("GET", CUSTOMERS_PATH, {"limit": "1"})
    assert sent.headers["X-Auth-Token"] == TOKEN


async def test_verify_rejected_for_a_missing_scope(upstream_client):
    store = documented_store()
    store.answer(403, fixture("error-403.json"), times=None)
    async with store.serve() as origin:
        with pytest.raises(ProviderAuthFailed):
            await store.make_provider(origin, upstream_client).verify()


def recorded_store() -> BigCommerceFake:
    """The two customers of the recorded sandbox list (ids 4 and 1, in that order)."""
    return documented_store(*fixture("customers-list.recorded.json")["data"])


async def test_list_single_page(upstream_client):
    store = recorded_store()
    async with store.serve() as origin:
        page = await store.make_provider(origin, upstream_client).list_page(PageRequest(limit=50))
    assert dict(store.requests[0].query) == {"limit": "50", "include": "addresses"}
    assert page.raws == fixture("customers-list.recorded.json")["data"]
    assert [c.id for c in page.customers] == ["4", "1"]
    assert page.next is None and page.prev is None  # total_pages 1, links {}


async def test_list_walks_cursors(upstream_client):
    """First page: both meta blocks; then `after` pages carry only
    cursor_pagination, whose links say whether there is more (documented in
    _metaCollectionWithCursorPagination)."""
    store = recorded_store()
    async with store.serve() as origin:
        provider = store.make_provider(origin, upstream_client)
        one = await provider.list_page(PageRequest(limit=1))
        two = await provider.list_page(PageRequest(limit=1, state=one.next))
        back = await provider.list_page(PageRequest(limit=1, state=two.prev))
    assert one.next == {"after": "eyJpZCI6NH0"} and one.prev is None
    assert [c.id for c in two.customers] == ["1"]
    assert two.next is None and two.prev == {"before": "eyJpZCI6MX0"}
    assert [dict(r.query) for r in store.requests] == [
        {"limit": "1", "include": "addresses"},
        {"limit": "1", "include": "addresses", "after": "eyJpZCI6NH0"},
        {"limit": "1", "include": "addresses", "before": "eyJpZCI6MX0"},
    ]
    assert [c.id for c in back.customers] == ["4"]


async def test_list_completes_addresses_in_one_batch(upstream_client):
    c11 = fixture("customer-11.with-include.json")["data"][0]
    c23 = fixture("customer-23.json")["data"][0]
    book = fixture("addresses-customer-11.json")["data"]
    store = documented_store(c11, c23, addresses=book)
    async with store.serve() as origin:
        page = await store.make_provider(origin, upstream_client).list_page(PageRequest(limit=50))
    assert [dict(r.query) for r in store.requests[1:]] == [
        {"customer_id:in": "11", "page": "1", "limit": "250"}  # only the customer with more
    ]
    assert [len(c.addresses) for c in page.customers] == [8, 2]
