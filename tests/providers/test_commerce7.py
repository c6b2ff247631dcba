"""Commerce7: golden mappings from the documented payloads, and what is
Commerce7's own against its fake (tests/fakes/commerce7.py): the customer and
address calls made together, their failures, the tenant header, verify and
cursor pages cut by Commerce7. What every provider shares is in
tests/contract/."""

from __future__ import annotations

import asyncio
import copy
import json
from typing import Any

import jmespath
import msgspec
import pytest
from aiohttp import web

from providers.base import PageRequest
from providers.commerce7 import Commerce7Provider
from providers.errors import (
    ConfigurationError,
    CustomerNotFound,
    ProviderAuthFailed,
    ProviderBadResponse,
    ProviderRateLimited,
    ProviderUnavailable,
    UpstreamBlocked,
)
from providers.http import UpstreamClient, UpstreamPolicy, create_session
from providers.models import Address, Customer, Email, Phone
from providers.resilience import RetryPolicy
from tests.fakes.commerce7 import APP_ID, APP_SECRET, TENANT, Commerce7Fake, cursor_of
from tests.support import load_fixture

EXPECTED_AUTH = Commerce7Fake().authorization
CUSTOMER_ID = "a36b6ff1-7190-49a0-895e-fd2c001eb2a6"
CUSTOMER_PATH = f"/v1/customer/{CUSTOMER_ID}"
ADDRESS_PATH = f"/v1/customer/{CUSTOMER_ID}/address"
SECOND_PAGE = cursor_of(1)  # the fake's cursor to its second page, in the documented form


def fixture(name: str) -> Any:
    return load_fixture("commerce7", name)


def with_addresses(addresses_fixture: str = "customer-addresses-list.json") -> dict[str, Any]:
    """The raw payload of a get: the customer plus the address endpoint's list."""
    return {**fixture("customer.json"), "customerAddresses": fixture(addresses_fixture)["customerAddresses"]}


def provider_for(origin: str | None, client: Any, tenant: str = TENANT) -> Commerce7Provider:
    settings: dict[str, Any] = {"tenant": tenant}
    if origin is not None:
        settings["base_url"] = origin
    credentials, parsed = Commerce7Provider.parse_config(
        {"app_id": APP_ID, "app_secret": APP_SECRET}, settings
    )
    return Commerce7Provider(credentials, parsed, client)


def error_body(status: int, kind: str, message: str) -> dict[str, Any]:
    """The documented error shape (commerce7 401 example) for another status."""
    return {**fixture("error-401.json"), "statusCode": status, "type": kind, "message": message}


NAPA = Address(id=None, city="Napa", state="CA", postal_code="94558", country="US", address_type=None)


# -- golden mappings -----------------------------------------------------------


def test_map_documented_customer_with_its_addresses():
    assert Commerce7Provider.map_customer(with_addresses()) == Customer(
        id=CUSTOMER_ID,
        remote_id=CUSTOMER_ID,
        email="jason@commerce7.com",
        first_name="Jason",
        last_name="Andres",
        name="Jason Andres",  # honorific "Mr" is not prefixed
        company_name="Commerce7",  # the default address's company
        phone_number="+17783477874",
        status="inactive",  # hasAccount false: no login account (clubs are not a status)
        currency=None,  # lifetimeValue 380273 is cents without a currency
        emails=[Email(email="jason@commerce7.com", type=None, is_primary=True)],
        phones=[
            Phone(number="+17783477874", extension=None, type=None, is_primary=True),
            Phone(number="+17783477888", extension=None, type=None, is_primary=False),
        ],
        addresses=[
            # isDefault: true comes first, although listed second.
            Address(
                id="5057e055-2ca6-4421-bf63-6c2a164e21ae",
                street_1="33925 Araki Court",
                street_2="Unit #9",
                city="Mission",
                state="BC",
                postal_code="V2V7R4",
                country="CA",
                address_type=None,
                owner_type="customer",
            ),
            Address(
                id="4a87ac0b-8b97-46ea-af15-bb579e5f4bcd",
                street_1="289 Alexander Street",
                street_2="Unit #624",
                city="Vancouver",
                state="BC",
                postal_code="V6A1C2",
                country="CA",
                address_type=None,
                owner_type="customer",
            ),
        ],
        field_mappings={},
        remote_data=None,
        created_at="2020-01-22T19:50:37.096Z",
        modified_at="2020-03-23T22:02:13.421Z",
    )


def test_map_customer_without_addresses_gets_a_partial_address():
    """No address on file: the customer's top-level city/stateCode/zipCode/
    countryCode give one address without street and without id."""
    assert Commerce7Provider.map_customer(with_addresses("customer-addresses-empty.json")) == Customer(
        id=CUSTOMER_ID,
        remote_id=CUSTOMER_ID,
        email="jason@commerce7.com",
        first_name="Jason",
        last_name="Andres",
        name="Jason Andres",
        company_name=None,  # only addresses carry a company
        phone_number="+17783477874",
        status="inactive",  # hasAccount false
        currency=None,
        emails=[Email(email="jason@commerce7.com", is_primary=True)],
        phones=[Phone(number="+17783477874", is_primary=True), Phone(number="+17783477888")],
        addresses=[NAPA],
        created_at="2020-01-22T19:50:37.096Z",
        modified_at="2020-03-23T22:02:13.421Z",
    )


def test_map_listed_customers():
    """List items have no customerAddresses key: the partial address."""
    jason, jane = (Commerce7Provider.map_customer(c) for c in fixture("customers-list.json")["customers"])
    assert jason == Commerce7Provider.map_customer(fixture("customer.json"))
    assert jane == Customer(
        id="99b62452-5115-488f-97a2-976a35459652",
        remote_id="99b62452-5115-488f-97a2-976a35459652",
        email="jane.doe@example.com",
        first_name="Jane",
        last_name="Doe",
        name="Jane Doe",
        company_name=None,
        phone_number="+17075555555",
        status="inactive",  # hasAccount false
        emails=[Email(email="jane.doe@example.com", is_primary=True)],
        phones=[Phone(number="+17075555555", is_primary=True)],
        addresses=[NAPA],
        created_at="2018-09-07T23:20:27.541Z",
        modified_at="2020-03-23T22:19:18.054Z",
    )


def test_map_several_emails_first_is_primary_and_status_is_kept_raw():
    raw = with_addresses()
    raw["emails"] = [
        {"id": "26117008-2fce-4be0-bc65-020152fb5193", "email": "jason@commerce7.com", "status": "Bounced"},
        {"id": "0c3b1a7e-5d2f-4e8a-9b6c-1f2e3d4c5b6a", "email": "jason.andres@example.com", "status": "Ok"},
        {"id": "8f1e2d3c-4b5a-4968-8776-655443322110", "email": "JASON@commerce7.com", "status": "Ok"},
        {"id": "5a6b7c8d-9e0f-4a1b-8c2d-3e4f5a6b7c8d", "email": "", "status": "Ok"},
    ]
    customer = Commerce7Provider.map_customer(raw)
    assert customer.email == "jason@commerce7.com"  # first, even though it bounced
    assert customer.emails == [
        Email(email="jason@commerce7.com", is_primary=True),
        Email(email="jason.andres@example.com", is_primary=False),
    ]  # the case-insensitive duplicate and the empty one are dropped


def test_map_nulls_and_empty_strings():
    """Commerce7 returns null where no data exists; "" is treated alike."""
    raw = with_addresses()
    raw.update(firstName="", lastName=None, emails=None, phones=[{"id": "x", "phone": ""}], createdAt=None)
    raw["customerAddresses"] = None
    customer = Commerce7Provider.map_customer(raw)
    assert (customer.first_name, customer.last_name, customer.name) == (None, None, None)
    assert (customer.email, customer.emails, customer.phone_number, customer.phones) == (None, [], None, [])
    assert customer.addresses == [NAPA]
    assert customer.created_at is None and customer.modified_at == "2020-03-23T22:02:13.421Z"


def test_map_empty_addresses_are_dropped_before_the_fallback():
    raw = with_addresses()
    blank = {**raw["customerAddresses"][1], "address": "", "address2": None, "city": "", "stateCode": "",
             "zipCode": "", "countryCode": None, "company": "Commerce7"}
    raw["customerAddresses"] = [blank]
    customer = Commerce7Provider.map_customer(raw)
    assert customer.addresses == [NAPA]
    assert customer.company_name == "Commerce7"  # still the default address's company
    raw.update(city="", stateCode=None, zipCode="", countryCode="")
    assert Commerce7Provider.map_customer(raw).addresses == []


def test_map_without_a_default_address_keeps_the_order_and_has_no_company():
    raw = with_addresses()
    for address in raw["customerAddresses"]:
        address["isDefault"] = False
    customer = Commerce7Provider.map_customer(raw)
    assert [a.city for a in customer.addresses] == ["Vancouver", "Mission"]
    assert customer.company_name is None


def test_map_default_company_may_be_empty():
    raw = with_addresses()
    raw["customerAddresses"][1]["company"] = None  # the default one
    assert Commerce7Provider.map_customer(raw).company_name is None


def test_map_lowercases_nothing_but_the_country_code():
    raw = with_addresses()
    raw["customerAddresses"][1]["countryCode"] = "ca"
    assert Commerce7Provider.map_customer(raw).addresses[0].country == "CA"


@pytest.mark.parametrize(
    "edit, error",
    [
        ({"id": None}, ValueError),
        ({"id": "12345"}, ValueError),
        ({"id": 12345}, ValueError),
        ({"emails": "jason@commerce7.com"}, msgspec.ValidationError),
        ({"phones": ["+17783477874"]}, msgspec.ValidationError),
        ({"customerAddresses": {"total": 0}}, msgspec.ValidationError),
    ],
)
def test_map_shape_errors(edit, error):
    with pytest.raises(error):
        Commerce7Provider.map_customer({**with_addresses(), **edit})


def test_map_without_id_is_a_shape_error():
    raw = with_addresses()
    del raw["id"]
    with pytest.raises(msgspec.ValidationError):
        Commerce7Provider.map_customer(raw)


def test_map_does_not_touch_the_raw_payload():
    raw = with_addresses()
    before = copy.deepcopy(raw)
    Commerce7Provider.map_customer(raw)
    assert raw == before


# -- configuration -------------------------------------------------------------


def test_config_is_parsed_and_the_default_origin_is_commerce7():
    provider = provider_for(None, None)
    assert provider.settings.tenant == TENANT and provider.settings.base_url is None
    assert provider.credentials.app_id == APP_ID
    assert provider.origin == "https://api.commerce7.com"
    assert provider_for("http://127.0.0.1:9", None).origin == "http://127.0.0.1:9"


@pytest.mark.parametrize("tenant", ["spectrawinery", "jason-demo-site", "a", "winery2", "0-9"])
def test_tenant_ids_accepted(tenant):
    assert provider_for(None, None, tenant=tenant).settings.tenant == tenant


@pytest.mark.parametrize(
    "credentials, settings, complaint",
    [
        ({"app_id": APP_ID, "app_secret": APP_SECRET}, {}, "tenant"),
        ({"app_id": APP_ID, "app_secret": APP_SECRET}, {"tenant": ""}, "tenant"),
        ({"app_id": APP_ID, "app_secret": APP_SECRET}, {"tenant": "SpectraWinery"}, "lowercase"),
        ({"app_id": APP_ID, "app_secret": APP_SECRET}, {"tenant": "spectra_winery"}, "lowercase"),
        ({"app_id": APP_ID, "app_secret": APP_SECRET}, {"tenant": "-spectra"}, "tenant"),
        ({"app_id": APP_ID, "app_secret": APP_SECRET}, {"tenant": "spectra-"}, "tenant"),
        ({"app_id": APP_ID, "app_secret": APP_SECRET}, {"tenant": "spectra winery"}, "tenant"),
        ({"app_id": APP_ID, "app_secret": APP_SECRET}, {"tenant": "a" * 64}, "tenant"),
        (
            {"app_id": APP_ID, "app_secret": APP_SECRET},
            {"tenant": "spectrawinery.admin.platform.commerce7.com"},
            "first label",
        ),
        ({"app_id": APP_ID, "app_secret": APP_SECRET}, {"tenant": 5}, "tenant"),
        ({"app_id": APP_ID, "app_secret": APP_SECRET}, {"tenant": TENANT, "store": "x"}, "store"),
        (
            {"app_id": APP_ID, "app_secret": APP_SECRET},
            {"tenant": TENANT, "base_url": "https://api.commerce7.com/v1"},
            "base_url",
        ),
        ({"app_secret": APP_SECRET}, {"tenant": TENANT}, "app_id"),
        ({"app_id": APP_ID}, {"tenant": TENANT}, "app_secret"),
        ({"app_id": "", "app_secret": APP_SECRET}, {"tenant": TENANT}, "required"),
        ({"app_id": APP_ID, "app_secret": ""}, {"tenant": TENANT}, "required"),
        ({"app_id": "demo:app", "app_secret": APP_SECRET}, {"tenant": TENANT}, "':'"),
        ({"app_id": "demo app", "app_secret": APP_SECRET}, {"tenant": TENANT}, "spaces"),
        ({"app_id": APP_ID, "app_secret": APP_SECRET + " "}, {"tenant": TENANT}, "spaces"),
        ({"app_id": APP_ID, "app_secret": APP_SECRET, "tenant": TENANT}, {"tenant": TENANT}, "tenant"),
    ],
)
def test_config_errors(credentials, settings, complaint):
    with pytest.raises(ConfigurationError) as caught:
        Commerce7Provider.parse_config(credentials, settings)
    assert complaint in caught.value.message
    assert APP_SECRET not in caught.value.message


# -- against the Commerce7 fake (tests/fakes/commerce7.py) -----------------------------
# Get one, not found, another customer, rejected credentials, the 429 with
# Retry-After, 500/503, unparsable bodies and echoed credentials:
# tests/contract/.


def documented_store(addresses: str = "customer-addresses-list.json", **kwargs: Any) -> Commerce7Fake:
    """A tenant holding the documented customer and its documented address list."""
    return Commerce7Fake([fixture("customer.json")], addresses=fixture(addresses)["customerAddresses"], **kwargs)


async def test_get_customer_makes_both_calls(upstream_client):
    store = documented_store()
    async with store.serve() as origin:
        raw, customer = await store.make_provider(origin, upstream_client).get_customer(CUSTOMER_ID)
    assert sorted((r.method, r.path) for r in store.requests) == [
        ("GET", CUSTOMER_PATH),
        ("GET", ADDRESS_PATH),
    ]
    for sent in store.requests:
        assert dict(sent.query) == {}
        assert sent.headers["Authorization"] == EXPECTED_AUTH
        assert sent.headers["tenant"] == TENANT
        assert sent.headers["Accept"] == "application/json"
    # remote_data: the customer as returned, plus the address list.
    assert raw == with_addresses()
    assert raw["customerAddresses"] == fixture("customer-addresses-list.json")["customerAddresses"]
    assert customer == Commerce7Provider.map_customer(with_addresses())
    assert jmespath.search("customerAddresses[?isDefault].company | [0]", raw) == "Commerce7"


async def test_get_customer_without_addresses(upstream_client):
    store = documented_store("customer-addresses-empty.json")
    async with store.serve() as origin:
        raw, customer = await store.make_provider(origin, upstream_client).get_customer(CUSTOMER_ID)
    assert raw["customerAddresses"] == []
    assert customer.addresses == [NAPA] and customer.company_name is None


def slow(log: dict[str, Any], name: str, delay: float):
    """The store's answer after ``delay`` seconds, recording on the server's
    clock when it started and finished and how many requests were in flight."""

    async def change(request: web.Request, handler: Any) -> web.StreamResponse:
        loop = asyncio.get_running_loop()
        log["in_flight"] = log.get("in_flight", 0) + 1
        log["peak"] = max(log.get("peak", 0), log["in_flight"])
        log[name + "_start"] = loop.time()
        try:
            await asyncio.sleep(delay)
        finally:
            log["in_flight"] -= 1
        log[name + "_end"] = loop.time()
        return await handler(request)

    return change


async def test_the_two_calls_are_in_flight_together(upstream_client):
    store = documented_store()
    log: dict[str, Any] = {}
    for kind in ("get", "extra"):
        store.intercept(slow(log, kind, 0.3), on={kind})
    async with store.serve() as origin:
        raw, _ = await store.make_provider(origin, upstream_client).get_customer(CUSTOMER_ID)
    assert raw == with_addresses()
    assert log["peak"] == 2
    # Each started before the other finished.
    assert log["get_start"] < log["extra_end"]
    assert log["extra_start"] < log["get_end"]


async def test_a_failing_address_call_cancels_the_customer_call(upstream_client):
    store = documented_store()
    customer_done = asyncio.Event()

    async def slow_customer(request: web.Request) -> web.Response:
        await store.hold(2.0)  # ended at teardown
        customer_done.set()
        return web.json_response(fixture("customer.json"))

    store.answer_with(slow_customer, on={"get"})
    store.answer(401, fixture("error-401.json"), on={"extra"})
    async with store.serve() as origin:
        with pytest.raises(ProviderAuthFailed) as caught:
            await store.make_provider(origin, upstream_client).get_customer(CUSTOMER_ID)
        # The error came back without waiting for the customer's answer.
        assert not customer_done.is_set()
    assert caught.value.remote_status == 401
    assert sorted(r.path for r in store.requests) == [CUSTOMER_PATH, ADDRESS_PATH]


async def test_a_missing_customer_is_not_found_even_if_addresses_answer(upstream_client):
    store = documented_store("customer-addresses-empty.json")
    store.answer(404, error_body(404, "notFound", "Customer not found"), on={"get"})
    async with store.serve() as origin:
        with pytest.raises(CustomerNotFound) as caught:
            await store.make_provider(origin, upstream_client).get_customer(CUSTOMER_ID)
    assert caught.value.remote_status == 404
    assert "Customer not found" in caught.value.message


async def test_a_404_without_a_body_is_not_found(upstream_client):
    store = documented_store()
    store.answer(404, text="404: Not Found", on={"get", "extra"}, times=None)  # a plain 404 page
    async with store.serve() as origin:
        with pytest.raises(CustomerNotFound):
            await store.make_provider(origin, upstream_client).get_customer(CUSTOMER_ID)


async def test_a_failing_address_call_fails_the_get(upstream_client):
    store = documented_store()
    store.answer(500, error_body(500, "serverError", "Internal error"), on={"extra"})
    async with store.serve() as origin:
        with pytest.raises(ProviderUnavailable) as caught:
            await store.make_provider(origin, upstream_client).get_customer(CUSTOMER_ID)
    assert caught.value.remote_status == 500


async def test_an_uppercase_id_is_asked_for_in_lower_case(upstream_client):
    store = documented_store()
    async with store.serve() as origin:
        raw, customer = await store.make_provider(origin, upstream_client).get_customer(CUSTOMER_ID.upper())
    assert sorted(r.path for r in store.requests) == [CUSTOMER_PATH, ADDRESS_PATH]
    assert customer.id == CUSTOMER_ID


@pytest.mark.parametrize(
    "customer_id",
    [
        "12345",
        "",
        "jason@commerce7.com",
        "a36b6ff1-7190-49a0-895e-fd2c001eb2a",  # one digit short
        "a36b6ff1719049a0895efd2c001eb2a6",  # no hyphens
        "a36b6ff1-7190-49a0-895e-fd2c001eb2ag",
        " a36b6ff1-7190-49a0-895e-fd2c001eb2a6",
        "a36b6ff1-7190-49a0-895e-fd2c001eb2a6/address",
        "../customer",
    ],
)
async def test_malformed_id_is_not_found_without_a_call(upstream_client, customer_id):
    store = documented_store()
    async with store.serve() as origin:
        with pytest.raises(CustomerNotFound):
            await store.make_provider(origin, upstream_client).get_customer(customer_id)
    assert store.requests == []


@pytest.mark.parametrize("status", [401, 403])
async def test_rejected_credentials_quote_commerce7(upstream_client, status):
    store = documented_store()
    body = fixture("error-401.json") if status == 401 else error_body(403, "forbidden", "Forbidden")
    store.answer(status, body, on={"get", "extra"}, times=None)
    async with store.serve() as origin:
        with pytest.raises(ProviderAuthFailed) as caught:
            await store.make_provider(origin, upstream_client).get_customer(CUSTOMER_ID)
    assert caught.value.remote_status == status
    assert body["message"] in caught.value.message and "tenant" in caught.value.message
    assert APP_SECRET not in caught.value.message and EXPECTED_AUTH[6:] not in caught.value.message
    assert len(store.requests) <= 2  # never retried


async def test_422_is_a_bad_response(upstream_client):
    store = documented_store()
    store.answer(422, error_body(422, "validationError", "id must be a valid UUID"), on={"get"})
    async with store.serve() as origin:
        with pytest.raises(ProviderBadResponse) as caught:
            await store.make_provider(origin, upstream_client).get_customer(CUSTOMER_ID)
    assert caught.value.remote_status == 422
    assert "validationError" in caught.value.message


async def test_429_without_retry_after(upstream_client):
    store = documented_store()
    store.answer(429, error_body(429, "tooManyRequests", "Too many requests"), on={"extra"}, times=None)
    async with store.serve() as origin:
        # One attempt: the 429 comes straight back, not after a retry's sleep
        # (a tight deadline did the same but failed on a loaded machine).
        provider = store.make_provider(origin, upstream_client)
        provider.retry_policy = RetryPolicy(max_attempts=1)
        with pytest.raises(ProviderRateLimited) as caught:
            await provider.get_customer(CUSTOMER_ID)
    assert caught.value.retry_after is None


async def test_a_retry_after_a_503_fetches_both_again(upstream_client):
    store = documented_store()
    store.answer(503, text="busy", on={"get"})  # once
    async with store.serve() as origin:
        raw, _ = await store.make_provider(origin, upstream_client).get_customer(CUSTOMER_ID)
    assert raw == with_addresses()
    assert [r.path for r in store.requests].count(CUSTOMER_PATH) == 2


@pytest.mark.parametrize(
    "customer_body, address_body",
    [
        ([fixture("customer.json")], None),
        ({k: v for k, v in fixture("customer.json").items() if k != "id"}, None),
        ({**fixture("customer.json"), "emails": "jason@commerce7.com"}, None),
        (None, fixture("customer-addresses-list.json")["customerAddresses"]),  # no envelope
        (None, {"addresses": [], "total": 0}),
        (None, {"customerAddresses": ["289 Alexander Street"], "total": 1}),
    ],
)
async def test_unexpected_shapes_are_bad_responses(upstream_client, customer_body, address_body):
    store = documented_store()
    if customer_body is not None:
        store.answer(200, customer_body, on={"get"}, times=None)
    if address_body is not None:
        store.answer(200, address_body, on={"extra"}, times=None)
    async with store.serve() as origin:
        with pytest.raises(ProviderBadResponse):
            await store.make_provider(origin, upstream_client).get_customer(CUSTOMER_ID)


async def test_an_html_address_answer_is_a_bad_response(upstream_client):
    store = documented_store()
    store.answer(200, text="<html></html>", content_type="text/html", on={"extra"}, times=None)
    async with store.serve() as origin:
        with pytest.raises(ProviderBadResponse):
            await store.make_provider(origin, upstream_client).get_customer(CUSTOMER_ID)


async def test_remote_query_goes_to_the_customer_call(upstream_client):
    store = documented_store()
    async with store.serve() as origin:
        await store.make_provider(origin, upstream_client).get_customer(CUSTOMER_ID, {"include": "x", "lang": "en"})
    queries = {r.path: dict(r.query) for r in store.requests}
    assert queries == {CUSTOMER_PATH: {"include": "x", "lang": "en"}, ADDRESS_PATH: {}}
    denied = Commerce7Provider.remote_query_denied
    assert {"tenant", "cursor", "page", "limit"} <= denied


async def test_plain_http_is_refused_by_default():
    """Basic auth would travel in clear text: refused before any connection."""
    policy = UpstreamPolicy()  # allow_private_networks=False
    session = create_session(policy)
    try:
        provider = provider_for("http://api.commerce7.example", UpstreamClient(session, policy))
        with pytest.raises(UpstreamBlocked) as caught:
            await provider.get_customer(CUSTOMER_ID)
        with pytest.raises(UpstreamBlocked):
            await provider.verify()
    finally:
        await session.close()
    assert APP_SECRET not in caught.value.message


# -- verify ------------------------------------------------------------------------


async def test_verify_lists_one_customer(upstream_client):
    store = Commerce7Fake(fixture("customers-list.json")["customers"])
    async with store.serve() as origin:
        await store.make_provider(origin, upstream_client).verify()
    (sent,) = store.requests
    assert (sent.method, sent.path, dict(sent.query)) == ("GET", "/v1/customer", {"limit": "1"})
    assert sent.headers["Authorization"] == EXPECTED_AUTH
    assert sent.headers["tenant"] == TENANT


async def test_verify_accepts_an_empty_tenant(upstream_client):
    store = Commerce7Fake([])
    async with store.serve() as origin:
        await store.make_provider(origin, upstream_client).verify()


@pytest.mark.parametrize(
    "status, body, error",
    [
        (403, error_body(403, "forbidden", "Forbidden"), ProviderAuthFailed),
        (404, error_body(404, "notFound", "Not found"), ProviderBadResponse),  # the collection exists
        (200, fixture("customer.json"), ProviderBadResponse),
        (200, {"customers": "none"}, ProviderBadResponse),
    ],
)
async def test_verify_errors(upstream_client, status, body, error):
    store = documented_store()
    store.answer(status, body, times=None)
    async with store.serve() as origin:
        with pytest.raises(error) as caught:
            await store.make_provider(origin, upstream_client).verify()
    assert not isinstance(caught.value, CustomerNotFound)


# -- list ----------------------------------------------------------------------------


def documented_pages() -> Commerce7Fake:
    """The documented cursor page (Jason, Jane), then a page of one more (Carisen)."""
    jason, jane = fixture("customers-cursor-list.json")["customers"]
    third = {**copy.deepcopy(jane), "id": "6fab68de-990a-41a2-a628-522d4e9dde2f", "firstName": "Carisen"}
    return Commerce7Fake([jason, jane, third], page_size=2)


async def test_list_walks_cursors(upstream_client):
    store = documented_pages()
    async with store.serve() as origin:
        provider = store.make_provider(origin, upstream_client)
        one = await provider.list_page(PageRequest(limit=2))
        two = await provider.list_page(PageRequest(limit=2, state=one.next))
    assert [c.first_name for c in one.customers] == ["Jason", "Jane"]
    assert one.next == {"cursor": SECOND_PAGE, "skip": 0} and one.prev is None
    assert [c.first_name for c in two.customers] == ["Carisen"]
    assert two.next is None and two.prev is None
    assert [dict(r.query) for r in store.requests] == [{"cursor": "start"}, {"cursor": SECOND_PAGE}]
    assert all(r.path == "/v1/customer" for r in store.requests)
    assert all(r.headers["Authorization"] == EXPECTED_AUTH and r.headers["tenant"] == TENANT for r in store.requests)
    assert one.raws[0] == fixture("customers-cursor-list.json")["customers"][0]
    assert one.customers[0].addresses == [NAPA]  # listed customers: the partial address


async def test_list_smaller_than_a_page_resumes_within_it(upstream_client):
    store = documented_pages()
    async with store.serve() as origin:
        provider = store.make_provider(origin, upstream_client)
        one = await provider.list_page(PageRequest(limit=1))
        two = await provider.list_page(PageRequest(limit=1, state=one.next))
        three = await provider.list_page(PageRequest(limit=1, state=two.next))
    assert [[c.first_name for c in p.customers] for p in (one, two, three)] == [["Jason"], ["Jane"], ["Carisen"]]
    assert one.next == {"cursor": "start", "skip": 1}
    assert two.next == {"cursor": SECOND_PAGE, "skip": 0}
    assert three.next is None


async def test_list_larger_than_a_page_reads_on(upstream_client):
    store = documented_pages()
    async with store.serve() as origin:
        page = await store.make_provider(origin, upstream_client).list_page(PageRequest(limit=50))
    assert [c.first_name for c in page.customers] == ["Jason", "Jane", "Carisen"]
    assert page.next is None
    assert len(store.requests) == 2


@pytest.mark.parametrize("last_cursor", [None, ""])
async def test_list_ends_without_a_cursor(upstream_client, last_cursor):
    store = Commerce7Fake(fixture("customers-cursor-list.json")["customers"], page_size=1)

    def last_page_cursor(answer: web.Response) -> web.Response:
        body = json.loads(answer.body)  # type: ignore[arg-type]
        body.setdefault("cursor", last_cursor)  # the last page says "no more" its way
        return web.json_response(body)

    store.alter(last_page_cursor, on={"list"}, times=None)
    async with store.serve() as origin:
        page = await store.make_provider(origin, upstream_client).list_page(PageRequest(limit=10))
    assert len(page.customers) == 2 and page.next is None


async def test_list_forwards_remote_query(upstream_client):
    store = Commerce7Fake([])
    async with store.serve() as origin:
        page = await store.make_provider(origin, upstream_client).list_page(
            PageRequest(limit=10, query={"q": "andrew", "orderCount": "gt:1"})
        )
    assert page.customers == [] and page.next is None
    assert dict(store.requests[0].query) == {"q": "andrew", "orderCount": "gt:1", "cursor": "start"}


async def test_list_with_a_repeated_cursor_is_a_bad_response(upstream_client):
    store = documented_pages()
    jason = fixture("customers-cursor-list.json")["customers"][0]
    store.answer(200, {"customers": [jason], "cursor": SECOND_PAGE}, on={"list"}, times=None)
    async with store.serve() as origin:
        with pytest.raises(ProviderBadResponse):
            await store.make_provider(origin, upstream_client).list_page(PageRequest(limit=10))


@pytest.mark.parametrize(("has_account", "status"), [(True, "active"), (False, "inactive"), (None, None)])
def test_status_follows_has_account(has_account, status):
    raw = copy.deepcopy(fixture("customer.json"))
    if has_account is None:
        del raw["hasAccount"]
    else:
        raw["hasAccount"] = has_account
    assert Commerce7Provider.map_customer(raw).status == status
