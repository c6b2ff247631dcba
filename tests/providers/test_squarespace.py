"""Squarespace: golden mappings from profiles composed from the documented
schema (tests/fixtures/squarespace/README.md), and what is Squarespace's own
against its fake (tests/fakes/squarespace.py): the User-Agent, the cursor
sent alone, the customers-only filter, pages cut by Squarespace, the
one-minute cool down. What every provider shares is in tests/contract/."""

from __future__ import annotations

from typing import Any

import pytest

from providers.base import PageRequest
from providers.errors import CustomerNotFound, ProviderAuthFailed, ProviderBadResponse, ProviderRateLimited
from providers.http import USER_AGENT
from providers.models import Address, Customer, Email, Phone
from providers.squarespace import SquarespaceProvider
from providers import calls
from tests.fakes.squarespace import API_KEY, PATH, SquarespaceFake
from tests.support import load_fixture


def fixture(name: str) -> Any:
    return load_fixture("squarespace", name)


GREGORY = Customer(
    id="5ede64464561317766bdc632",
    remote_id="5ede64464561317766bdc632",
    email="gregory_jones@example.com",
    first_name="Gregory",
    last_name="Jones",  # trimmed
    name="Gregory Jones",
    company_name=None,  # a profile has none
    phone_number="+1 212-555-0123",  # the address's phone
    status=None,  # hasAccount / isCustomer are not a status
    currency="USD",  # transactionsSummary.totalOrderAmount.currency
    emails=[Email(email="gregory_jones@example.com", is_primary=True)],
    phones=[Phone(number="+1 212-555-0123", is_primary=True)],
    addresses=[
        # approximate ("not for shipping or billing"): untyped, no id; country code upper-cased
        Address(id=None, street_1="225 Varick Street", street_2="Floor 12", city="New York", state="NY",
                postal_code="10014", country="US", address_type=None),
    ],
    created_at="2020-06-08T16:16:06.573Z",  # ISO 8601 UTC, four fractional digits
    modified_at=None,  # no update timestamp
)


# -- golden mappings -----------------------------------------------------------


def test_map_profile():
    (profile,) = fixture("profile.json")["profiles"]
    assert SquarespaceProvider.map_customer(profile) == GREGORY


def test_map_listed_profiles():
    """A mailing-list subscriber: empty lastName, null address, no orders."""
    subscriber, gregory = (SquarespaceProvider.map_customer(p) for p in fixture("profiles-list.json")["profiles"])
    assert gregory == GREGORY
    assert subscriber == Customer(
        id="5fc7b8f18b4dc33dc818aeba",
        remote_id="5fc7b8f18b4dc33dc818aeba",
        email="ana.subscriber@example.com",
        first_name="Ana",
        last_name=None,
        name="Ana",
        currency="USD",  # the summary carries the site's currency with zero amounts
        emails=[Email(email="ana.subscriber@example.com", is_primary=True)],
        created_at="2020-12-02T15:58:09.131Z",
    )


def test_map_nulls():
    """Squarespace: "All documented fields are always present ... even if the field's value is null"."""
    raw = {"id": "5ede64464561317766bdc632", "firstName": None, "lastName": None, "email": None, "hasAccount": False,
           "isCustomer": False, "createdOn": None, "address": None, "acceptsMarketing": False,
           "transactionsSummary": None}
    assert SquarespaceProvider.map_customer(raw) == Customer(id=raw["id"], remote_id=raw["id"])


@pytest.mark.parametrize("customer_id, valid", [
    ("5ede64464561317766bdc632", True),
    ("5EDE64464561317766BDC632", True),  # asked in lower case
    ("5ede64464561317766bdc632,5fc7b8f18b4dc33dc818aeba", False),  # never a list of ids
    ("5ede64464561317766bdc63", False),
    ("../1.0/profiles", False),
])
def test_ids_are_one_objectid(customer_id, valid):
    assert SquarespaceProvider.valid_customer_id(customer_id) is valid


# -- against the fake -------------------------------------------------------------------


async def test_get_sends_the_key_and_the_user_agent(upstream_client):
    store = SquarespaceFake()
    wanted = store.ids[3]
    async with store.serve() as origin:
        raw, customer = await store.make_provider(origin, upstream_client).get_customer(wanted.upper())
    (request,) = store.requests
    assert request.path == f"{PATH}/{wanted}"
    assert request.headers["Authorization"] == f"Bearer {API_KEY}"
    assert request.headers["User-Agent"] == USER_AGENT
    assert raw == store.customers[3] and customer.id == wanted


async def test_an_empty_profiles_answer_is_not_found(upstream_client):
    store = SquarespaceFake()
    async with store.serve() as origin:
        store.answer(200, {"profiles": []})
        with pytest.raises(CustomerNotFound):
            await store.make_provider(origin, upstream_client).get_customer(store.ids[0])
        store.answer(200, {"profiles": None})  # "null or an empty array"
        with pytest.raises(CustomerNotFound):
            await store.make_provider(origin, upstream_client).get_customer(store.ids[0])


async def test_another_profile_than_asked_is_refused(upstream_client):
    store = SquarespaceFake()
    async with store.serve() as origin:
        store.answer(200, {"profiles": [store.customers[1]]})
        with pytest.raises(ProviderBadResponse):
            await store.make_provider(origin, upstream_client).get_customer(store.ids[0])


async def test_the_list_keeps_customers_and_sends_the_cursor_alone(upstream_client):
    subscriber = {**fixture("profiles-list.json")["profiles"][0], "id": "5ede64464561317766bfffff"}
    store = SquarespaceFake([subscriber, *SquarespaceFake.make_customers(60)])
    async with store.serve() as origin:
        provider = store.make_provider(origin, upstream_client)
        first = await provider.list_page(PageRequest(limit=50))
        second = await provider.list_page(PageRequest(limit=50, state=first.next))
    assert [c.id for c in first.customers + second.customers] == store.ids[1:]  # the subscriber is not listed
    assert second.next is None and second.prev is None
    first_query, second_query = (dict(r.query) for r in store.requests)
    assert first_query == {"filter": "isCustomer,true"}
    assert list(second_query) == ["cursor"]  # "cannot be used with other parameters"
    assert {r.headers["User-Agent"] for r in store.requests} == {USER_AGENT}


async def test_remote_query_filter_replaces_the_customers_only_filter(upstream_client):
    subscriber = {**fixture("profiles-list.json")["profiles"][0], "id": "5ede64464561317766bfffff"}
    store = SquarespaceFake([subscriber, *SquarespaceFake.make_customers(3)])
    async with store.serve() as origin:
        provider = store.make_provider(origin, upstream_client)
        page = await provider.list_page(PageRequest(limit=10, query={"filter": "email,ana.subscriber@example.com"}))
    assert [c.id for c in page.customers] == [subscriber["id"]]
    assert SquarespaceProvider.remote_query_refusal("cursor") is not None


@pytest.mark.parametrize("pagination", [
    {"hasNextPage": False, "nextPageCursor": "c2", "nextPageUrl": None},  # the flag wins
    {"hasNextPage": True, "nextPageCursor": None, "nextPageUrl": None},  # no cursor to follow
    None,
])
async def test_the_list_ends_where_squarespace_says(upstream_client, pagination):
    store = SquarespaceFake()
    async with store.serve() as origin:
        store.answer(200, {"profiles": store.customers[:50], "pagination": pagination}, on={"list"})
        page = await store.make_provider(origin, upstream_client).list_page(PageRequest(limit=100))
    assert len(page.customers) == 50 and page.next is None and store.list_requests() == 1


async def test_a_cursor_too_long_or_with_spaces_is_a_bad_response(upstream_client):
    store = SquarespaceFake()
    async with store.serve() as origin:
        for cursor in ("a b", "x" * 1001):
            store.answer(200, {"profiles": store.customers[:50], "pagination": {"hasNextPage": True,
                                                                                "nextPageCursor": cursor}})
            with pytest.raises(ProviderBadResponse, match="nextPageCursor"):
                await store.make_provider(origin, upstream_client).list_page(PageRequest(limit=100))


@pytest.mark.parametrize("limit, start, calls_made", [
    (1, 0, 1), (1, 49, 1),
    (50, 0, 1), (50, 7, 2),  # a page of 50 starting inside a Squarespace page spans two
    (100, 0, 2), (100, 7, 3),
])
async def test_calls_per_list_page(upstream_client, limit, start, calls_made):
    store = SquarespaceFake()
    async with store.serve() as origin:
        provider = store.make_provider(origin, upstream_client)
        state = None
        if start:  # reach the position as a walk would, then count the next page alone
            state = (await provider.list_page(PageRequest(limit=start))).next
        before = store.list_requests()
        page = await provider.list_page(PageRequest(limit=limit, state=state))
    assert store.list_requests() - before == calls_made
    assert [c.id for c in page.customers] == store.ids[start : start + limit]


@pytest.mark.parametrize("headers, wait", [({}, 60.0), ({"Retry-After": "5"}, 5.0)])
async def test_the_rate_limit_waits_the_documented_minute(upstream_client, headers, wait):
    store = SquarespaceFake()
    async with store.serve() as origin:
        store.answer(429, fixture("error-429.json"), headers=headers, times=None)
        calls.begin(timeout=1.0)  # the wait does not fit: reported, not slept
        with pytest.raises(ProviderRateLimited) as caught:
            await store.make_provider(origin, upstream_client).get_customer(store.ids[0])
    assert caught.value.retry_after == wait


@pytest.mark.parametrize("status", [401, 403])
async def test_a_refused_key_is_an_auth_failure_quoting_squarespace(upstream_client, status):
    store = SquarespaceFake()
    async with store.serve() as origin:
        store.answer(status, fixture("error-401.json"))
        with pytest.raises(ProviderAuthFailed, match="AUTHORIZATION_ERROR") as caught:
            await store.make_provider(origin, upstream_client).get_customer(store.ids[0])
    assert caught.value.remote_status == status
