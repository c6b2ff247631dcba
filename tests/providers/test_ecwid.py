"""Ecwid: golden mappings from the documented payloads (and one composed from
the documented fields, tests/fixtures/ecwid/README.md), and what is Ecwid's
own against its fake (tests/fakes/ecwid.py): the store in the path, the
order of the list, calls per page, the error codes. What every provider
shares is in tests/contract/."""

from __future__ import annotations

from typing import Any

import pytest

from providers.base import PageRequest
from providers.ecwid import EcwidProvider, ecwid_time
from providers.errors import (
    ConfigurationError,
    CustomerNotFound,
    ProviderAuthFailed,
    ProviderBadResponse,
    ProviderUnavailable,
)
from providers.models import Address, Customer, Email, Phone
from tests.fakes.ecwid import STORE, TOKEN, EcwidFake
from tests.support import load_fixture


def fixture(name: str) -> Any:
    return load_fixture("ecwid", name)


SUPPORT_TEAM = Customer(
    id="177737165",
    remote_id="177737165",
    email="ec.apps@lightspeedhq.com",
    first_name="Support",
    last_name="team",
    name="Support team",
    company_name=None,
    phone_number=None,
    status=None,  # Ecwid's customer has none
    currency=None,  # nor a currency (the store profile has one)
    emails=[Email(email="ec.apps@lightspeedhq.com", is_primary=True)],  # the EMAIL contact is the same address
    phones=[],
    addresses=[],  # billingPerson holds a name only: no location, no address
    created_at="2021-12-21T06:05:58Z",
    modified_at="2024-06-04T21:15:10Z",
)


# -- golden mappings -----------------------------------------------------------


def test_map_documented_customer():
    assert EcwidProvider.map_customer(fixture("customer.json")) == SUPPORT_TEAM


def test_map_customer_with_addresses_and_contacts():
    assert EcwidProvider.map_customer(fixture("customer-addresses.json")) == Customer(
        id="181530277",
        remote_id="181530277",
        email="Jane.Doe@example.com",  # `email` first: the customer's own
        first_name="Jane Q.",
        last_name="Doe",
        name="Jane Q. Doe",  # trimmed
        company_name="Example Garden Supply",  # billingPerson.companyName, trimmed
        phone_number="+1 217 555 0100",  # the default PHONE contact
        status=None,
        currency=None,
        emails=[
            Email(email="Jane.Doe@example.com", is_primary=True),
            # the default EMAIL contact "jane.doe@example.com" is the same address
            Email(email="jane@work.example.org", is_primary=False),
        ],
        phones=[
            Phone(number="+1 217 555 0100", is_primary=True),  # PHONE contacts in orderBy order
            Phone(number="+44 117 496 0123"),
            Phone(number="+1 312 555 0199"),  # the first shipping address's; the billing phone repeats a contact
        ],
        addresses=[
            Address(id=None, street_1="4 Main Street", street_2="Suite 210", city="Springfield", state="IL",
                    postal_code="62701", country="US", address_type="billing"),
            Address(id="73628492", street_1="18 Elm Avenue", street_2=None, city="Chicago", state="IL",
                    postal_code="60601", country="US", address_type="shipping"),
            # no stateOrProvinceCode: its name; a trailing "\n" leaves no empty line
            Address(id="73628493", street_1="Flat 2", street_2="9 Harbour Road", city="Bristol", state="Bristol",
                    postal_code="BS1 5TR", country="GB", address_type="shipping"),
        ],
        created_at="2014-06-06T14:57:19Z",  # "2014-06-06 18:57:19 +0400"
        modified_at="2024-09-11T06:43:02Z",
    )


def test_map_listed_customers():
    """The second listed customer has no billingPerson (a guest-checkout
    account): no first/last name is made up from "Ecwid test acc"."""
    support, guest = (EcwidProvider.map_customer(c) for c in fixture("customers-list.json")["items"])
    assert support == SUPPORT_TEAM
    assert guest == Customer(
        id="277137633",
        remote_id="277137633",
        email="ecwid.test@ecwid-test.com",
        first_name=None,
        last_name=None,
        name="Ecwid test acc",
        phone_number="00000000000",
        emails=[Email(email="ecwid.test@ecwid-test.com", is_primary=True)],
        phones=[Phone(number="00000000000", is_primary=True)],
        addresses=[],
        created_at="2024-08-21T07:52:09Z",
        modified_at="2024-08-21T07:52:09Z",
    )


def test_map_without_email_takes_the_default_email_contact_as_primary():
    raw = fixture("customer-addresses.json")
    raw["email"] = ""
    customer = EcwidProvider.map_customer(raw)
    assert customer.email == "jane.doe@example.com"
    assert [e.email for e in customer.emails] == ["jane.doe@example.com", "jane@work.example.org"]


def test_map_empty_strings_and_nulls():
    raw = {"id": "42", "name": " ", "email": None, "registered": "", "billingPerson": {"firstName": "", "street": "\n"},
           "shippingAddresses": None, "contacts": [{"contact": "", "type": "EMAIL", "default": True}]}
    assert EcwidProvider.map_customer(raw) == Customer(id="42", remote_id="42")


@pytest.mark.parametrize("value, utc", [
    ("2014-06-06 18:57:19 +0400", "2014-06-06T14:57:19Z"),
    ("2024-06-04 21:15:10 +0000", "2024-06-04T21:15:10Z"),
    ("2020-01-01 01:30:00 -0530", "2020-01-01T07:00:00Z"),
    ("2023-01-15 19:27:50", "2023-01-15T19:27:50Z"),  # no zone: Ecwid's dates are UTC
    ("2023-01-15T19:27:50+01:00", "2023-01-15T18:27:50Z"),
    ("yesterday", None),
    (None, None),
])
def test_timestamps_become_utc(value, utc):
    assert ecwid_time(value) == utc


# -- configuration ---------------------------------------------------------------------


@pytest.mark.parametrize("credentials, settings", [
    ({"access_token": "public_abc"}, {"store_id": STORE}),  # public tokens cannot read customers
    ({"access_token": "secret_ab cd"}, {"store_id": STORE}),
    ({"access_token": TOKEN}, {"store_id": "my-store"}),
    ({"access_token": TOKEN}, {"store_id": "0123"}),
    ({"access_token": TOKEN}, {}),
])
def test_configuration_is_checked_at_creation(credentials, settings):
    with pytest.raises(ConfigurationError):
        EcwidProvider.parse_config(credentials, settings)


@pytest.mark.parametrize("name", ["responseFields", "sortBy", "offset", "limit", "token"])
def test_remote_query_takes_the_documented_filters_only(name):
    assert EcwidProvider.remote_query_refusal(name) is not None
    assert EcwidProvider.remote_query_refusal("updatedFrom") is None


# -- against the fake ---------------------------------------------------------------------


async def test_get_sends_the_token_to_the_stores_path(upstream_client):
    store = EcwidFake()
    async with store.serve() as origin:
        raw, customer = await store.make_provider(origin, upstream_client).get_customer(store.ids[5])
    (request,) = store.requests
    assert request.path == f"/api/v3/{STORE}/customers/{store.ids[5]}"
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert raw == store.customers[5] and customer.id == store.ids[5]


@pytest.mark.parametrize("limit", [1, 50, 100])
async def test_one_call_per_list_page(upstream_client, limit):
    store = EcwidFake()
    async with store.serve() as origin:
        provider = store.make_provider(origin, upstream_client)
        first = await provider.list_page(PageRequest(limit=limit))
        second = await provider.list_page(PageRequest(limit=limit, state=first.next))
    assert store.list_requests() == 2  # one Ecwid call per page
    assert [r.query["limit"] for r in store.requests] == [str(limit)] * 2
    assert [r.query["offset"] for r in store.requests] == ["0", str(limit)]
    assert {r.query["sortBy"] for r in store.requests} == {"REGISTERED_DATE_ASC"}
    assert [c.id for c in first.customers + second.customers] == store.ids[: 2 * limit]
    assert second.prev == {"offset": 0}


async def test_the_last_page_stops_on_total(upstream_client):
    store = EcwidFake(total=120)
    async with store.serve() as origin:
        provider = store.make_provider(origin, upstream_client)
        page = await provider.list_page(PageRequest(limit=100, state={"offset": 100}))
    assert len(page.raws) == 20 and page.next is None and store.list_requests() == 1


async def test_a_wrong_store_id_is_a_rejected_connection_not_a_missing_customer(upstream_client):
    store = EcwidFake()
    async with store.serve() as origin:
        provider = store.make_provider(origin, upstream_client, store_id="1004")
        with pytest.raises(ProviderAuthFailed, match="no store with this store_id") as caught:
            await provider.get_customer(store.ids[0])
        with pytest.raises(ProviderAuthFailed):
            await provider.list_page(PageRequest(limit=5))
    assert caught.value.remote_status == 404


@pytest.mark.parametrize("status, body, error", [
    (403, {"errorMessage": "Application doesn't have a required scope", "errorCode": "INSUFFICIENT_APP_SCOPE"},
     ProviderAuthFailed),
    (402, {"errorMessage": "Store with specified ID is currently suspended.", "errorCode": "STORE_IS_SUSPENDED"},
     ProviderUnavailable),
    (404, {"errorMessage": "The customer with given ID is not found"}, CustomerNotFound),
    (404, None, CustomerNotFound),  # no body: the status speaks
    (400, {"errorMessage": "Wrong request parameter.", "errorCode": "WRONG_PARAMETER"}, ProviderBadResponse),
])
async def test_error_answers_of_a_get(upstream_client, status, body, error):
    store = EcwidFake()
    async with store.serve() as origin:
        if body is None:
            store.answer(status)
        else:
            store.answer(status, body)
        with pytest.raises(error) as caught:
            await store.make_provider(origin, upstream_client).get_customer(store.ids[0])
    assert caught.value.remote_status == status


async def test_a_404_of_the_list_without_store_code_is_a_wrong_base_url(upstream_client):
    store = EcwidFake()
    async with store.serve() as origin:
        store.answer(404, {"errorMessage": "Not found"}, on={"list"})
        with pytest.raises(ProviderBadResponse, match="base_url"):
            await store.make_provider(origin, upstream_client).list_page(PageRequest(limit=5))
