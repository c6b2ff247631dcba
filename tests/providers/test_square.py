"""Square: golden mappings from Square's documented customer examples, its
settings, and what is Square's own against its fake (tests/fakes/square.py):
Square-Version on every request, the personal token or the OAuth refresh
grant (expires_at read, refreshed after 7 days, rotated refresh tokens
kept), the errors[].code table, and list pages whose cursor keeps its size.
What every provider shares is in tests/contract/."""

from __future__ import annotations

import copy
import json
import time
from typing import Any

import msgspec
import pytest

from providers import calls
from providers.base import PageRequest
from providers.errors import (
    ConfigurationError,
    CustomerNotFound,
    ProviderAuthFailed,
    ProviderBadResponse,
    ProviderRateLimited,
    ReauthRequired,
)
from providers.models import Address, Customer, Email, Phone
from providers.square import DEFAULT_VERSION, MIN_LIFETIME, REFRESH_EVERY, SquareProvider
from providers.tokens import AccessToken, MemoryTokenStore
from tests.fakes.square import (
    ACCESS_TOKEN,
    CLIENT_ID,
    CLIENT_SECRET,
    CUSTOMERS_PATH,
    REFRESH_TOKEN,
    TOKEN_PATH,
    SquareFake,
    rfc3339,
)
from tests.support import load_fixture

CUSTOMER_ID = "JDKYHBWT1D4F8MFH63DBMEN8Y4"  # the documented customer
OAUTH = {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "refresh_token": REFRESH_TOKEN}


def fixture(name: str) -> Any:
    return load_fixture("square", name)


def documented(**kwargs: Any) -> SquareFake:
    """A seller holding the documented customer."""
    return SquareFake([fixture("customer.json")["customer"]], **kwargs)


def provider_at(origin: str, client: Any, tokens: Any = None, credentials: Any = None, **settings: Any) -> SquareProvider:
    creds, parsed = SquareProvider.parse_config(
        credentials or OAUTH, {"base_url": origin, "auth_url": origin, **settings}
    )
    return SquareProvider(creds, parsed, client, tokens)


def no_secret_in(message: str) -> bool:
    return not any(s in message for s in (CLIENT_SECRET, REFRESH_TOKEN, ACCESS_TOKEN, "EAAA-fake-"))


# -- golden mappings -----------------------------------------------------------


NEW_YORK = Address(
    id=None, street_1="500 Electric Ave", street_2="Suite 600", city="New York", state="NY",
    postal_code="10003", country="US", address_type=None,  # Square does not type its one address
)


def test_map_documented_customer():
    assert SquareProvider.map_customer(fixture("customer.json")["customer"]) == Customer(
        id=CUSTOMER_ID,
        remote_id=CUSTOMER_ID,  # opaque: kept as Square writes it
        email="Amelia.Earhart@example.com",
        first_name="Amelia",
        last_name="Earhart",
        name="Amelia Earhart",
        company_name=None,
        phone_number="+1-212-555-4240",  # free-form, as given
        status=None,  # Square has no customer status
        currency=None,
        emails=[Email(email="Amelia.Earhart@example.com", type=None, is_primary=True)],
        phones=[Phone(number="+1-212-555-4240", type=None, is_primary=True)],
        addresses=[NEW_YORK],
        created_at="2016-03-23T20:21:54.859Z",
        modified_at="2016-03-23T20:21:54.859Z",
    )


def test_map_documented_list_row_without_a_fraction():
    row = fixture("customers-list.json")["customers"][0]
    customer = SquareProvider.map_customer(row)
    assert (customer.created_at, customer.modified_at) == ("2016-03-23T20:21:54.859Z", "2016-03-23T20:21:55Z")


def test_map_documented_search_page():
    second = SquareProvider.map_customer(fixture("customers-search.json")["customers"][1])
    assert second.id == "A9641GZW2H7Z56YYSD41Q12HDW"
    assert (second.name, second.email, second.phone_number) == (
        "Amelia Earhart", "amelia.earhart@example.com", "+1-212-555-9238")
    assert (second.created_at, second.modified_at) == ("2018-01-30T14:10:54.859Z", "2018-03-08T18:25:21.342Z")


def variant(**changes: Any) -> dict[str, Any]:
    raw = copy.deepcopy(fixture("customer.json")["customer"])
    raw.update(changes)
    return raw


def test_map_trims_empties_and_joins_the_third_address_line():
    raw = variant(
        given_name="  Amelia ", family_name="", email_address=" ", phone_number=None, company_name=" Lockheed ",
        created_at="2016-03-23T20:21:54.59Z", updated_at="2016-03-24T01:51:54+05:30",
        address={"address_line_1": " 500 Electric Ave", "address_line_2": "", "address_line_3": "Floor 6",
                 "locality": "New York ", "administrative_district_level_1": "NY", "postal_code": "10003",
                 "country": "us", "sublocality": "Manhattan"},
    )
    customer = SquareProvider.map_customer(raw)
    assert (customer.first_name, customer.last_name, customer.name) == ("Amelia", None, "Amelia")
    assert customer.company_name == "Lockheed"
    assert customer.emails == [] and customer.email is None and customer.phones == []
    assert customer.addresses == [Address(
        street_1="500 Electric Ave", street_2="Floor 6", city="New York", state="NY", postal_code="10003",
        country="US",
    )]
    assert customer.created_at == "2016-03-23T20:21:54.590Z"  # a two-digit fraction, in milliseconds
    assert customer.modified_at == "2016-03-23T20:21:54Z"  # an offset, to UTC


def test_map_both_extra_address_lines_and_unknown_country():
    raw = variant(address={"address_line_2": "Suite 600", "address_line_3": "Floor 6", "country": "ZZ",
                           "locality": "New York"})
    (address,) = SquareProvider.map_customer(raw).addresses
    assert address.street_2 == "Suite 600, Floor 6"
    assert address.country is None  # ZZ is Square's "unknown"


@pytest.mark.parametrize(
    "changes, name",
    [
        ({"given_name": None, "family_name": None, "company_name": "Lockheed", "nickname": "Lady Lindy"}, "Lockheed"),
        ({"given_name": None, "family_name": None, "nickname": " Lady Lindy "}, "Lady Lindy"),
        ({"given_name": None, "family_name": "Earhart"}, "Earhart"),
        ({"given_name": None, "family_name": None}, None),
    ],
)
def test_map_name_falls_back_to_the_company_then_the_nickname(changes, name):
    assert SquareProvider.map_customer(variant(**changes)).name == name


def test_map_minimal_and_addressless_customers():
    assert SquareProvider.map_customer({"id": "A1"}) == Customer(id="A1", remote_id="A1")
    assert SquareProvider.map_customer(variant(address={"address_line_1": " ", "country": ""})).addresses == []


@pytest.mark.parametrize("raw", [{}, {"id": ""}, {"id": " "}, {"id": 12}, {"id": "A1", "address": "500 Electric"}])
def test_map_rejects_what_is_not_a_customer(raw):
    with pytest.raises(msgspec.ValidationError):
        SquareProvider.map_customer(raw)


def test_map_does_not_touch_the_raw_payload():
    raw = fixture("customer.json")["customer"]
    before = copy.deepcopy(raw)
    SquareProvider.map_customer(raw)
    assert raw == before


# -- configuration -------------------------------------------------------------


def test_config_modes_and_secrets_hidden():
    creds, settings = SquareProvider.parse_config({"access_token": ACCESS_TOKEN}, {})
    assert not creds.oauth and settings.environment == "production" and settings.square_version is None
    oauth, _ = SquareProvider.parse_config(OAUTH, {"environment": "sandbox", "square_version": "2024-01-18"})
    assert oauth.oauth
    assert repr(oauth) == "SquareCredentials(client_id=..., client_secret=..., refresh_token=...)"
    assert ACCESS_TOKEN not in repr(creds)


@pytest.mark.parametrize(
    "credentials, settings, match",
    [
        ({**OAUTH, "access_token": ACCESS_TOKEN}, {}, "not both"),
        ({"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}, {}, "refresh_token"),
        ({}, {}, "access_token"),
        ({"access_token": "two words"}, {}, "access_token"),
        ({"access_token": ACCESS_TOKEN, "token": "x"}, {}, "token"),
        ({"access_token": ACCESS_TOKEN}, {"environment": "staging"}, "environment"),
        ({"access_token": ACCESS_TOKEN}, {"square_version": "2025-13-01"}, "square_version"),
        ({"access_token": ACCESS_TOKEN}, {"square_version": "20250820"}, "square_version"),
        ({"access_token": ACCESS_TOKEN}, {"square_version": "2025-08-20T00:00"}, "square_version"),
        ({"access_token": ACCESS_TOKEN}, {"location_id": "L1"}, "location_id"),
        ({"access_token": ACCESS_TOKEN}, {"auth_url": "https://connect.squareup.com/oauth2"}, "auth_url"),
    ],
)
def test_config_errors(credentials, settings, match):
    with pytest.raises(ConfigurationError, match=match):
        SquareProvider.parse_config(credentials, settings)


@pytest.mark.parametrize(
    "settings, api, token",
    [
        ({}, "https://connect.squareup.com", "https://connect.squareup.com"),
        ({"environment": "sandbox"}, "https://connect.squareupsandbox.com", "https://connect.squareupsandbox.com"),
        ({"base_url": "https://proxy.example.com"}, "https://proxy.example.com", "https://connect.squareup.com"),
        ({"environment": "sandbox", "auth_url": "https://auth.example.com"},
         "https://connect.squareupsandbox.com", "https://auth.example.com"),
    ],
)
def test_origins_per_environment_and_overrides(settings, api, token):
    creds, parsed = SquareProvider.parse_config(OAUTH, settings)
    provider = SquareProvider(creds, parsed, None)
    assert (provider.origin, provider.auth_origin) == (api, token)


def test_environment_is_a_destination_setting():
    assert "environment" in SquareProvider.destination_settings


# -- requests against the Square fake (tests/fakes/square.py) -------------------------
# Get one, not found, rejected credentials, the 429 with Retry-After,
# 500/503 and unparsable bodies: tests/contract/.


async def test_exact_token_and_api_requests(upstream_client):
    square = documented()
    async with square.serve() as origin:
        raw = await provider_at(origin, upstream_client).fetch_customer(CUSTOMER_ID)
    assert raw == fixture("customer.json")["customer"]
    token_request, api_request = square.requests
    assert token_request.method == "POST" and token_request.path == TOKEN_PATH
    assert token_request.content_type == "application/json"
    assert json.loads(square.bodies[0]) == {
        "refresh_token": REFRESH_TOKEN, "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
        "grant_type": "refresh_token",
    }
    assert api_request.method == "GET" and api_request.path == f"{CUSTOMERS_PATH}/{CUSTOMER_ID}"
    assert not api_request.query
    assert api_request.headers["Authorization"] == "Bearer EAAA-fake-1"
    assert api_request.headers["Square-Version"] == DEFAULT_VERSION


async def test_a_personal_access_token_needs_no_token_endpoint(upstream_client):
    square = documented(credentials={"access_token": ACCESS_TOKEN})
    async with square.serve() as origin:
        provider = provider_at(origin, upstream_client, credentials={"access_token": ACCESS_TOKEN},
                               square_version="2024-01-18")
        await provider.fetch_customer(CUSTOMER_ID)
    assert square.paths() == [f"{CUSTOMERS_PATH}/{CUSTOMER_ID}"]
    assert square.requests[0].headers["Authorization"] == f"Bearer {ACCESS_TOKEN}"
    assert square.versions == ["2024-01-18"]  # the pinned version, always sent


async def test_a_rejected_personal_token_is_not_retried(upstream_client):
    square = documented()  # knows no personal token
    async with square.serve() as origin:
        with pytest.raises(ProviderAuthFailed) as info:
            await provider_at(origin, upstream_client, credentials={"access_token": ACCESS_TOKEN}).get_customer(
                CUSTOMER_ID)
    assert square.count("get") == 1 and square.token_requests() == 0
    assert "(401: UNAUTHORIZED)" in info.value.message and no_secret_in(info.value.message)


@pytest.mark.parametrize(
    "customer_id", ["not-an-id", "JDKYHBWT1D4F8MFH63DBMEN8Y4/../x", "..", "JDKY HBWT", "A" * 192, "JDKY%2F", "Ä1"]
)
async def test_malformed_id_is_not_found_without_any_call(upstream_client, customer_id):
    square = documented()
    async with square.serve() as origin:
        with pytest.raises(CustomerNotFound):
            await provider_at(origin, upstream_client).get_customer(customer_id)
    assert square.requests == []


# -- tokens ---------------------------------------------------------------------------


async def test_a_30_day_token_is_used_for_7_days_and_persisted(upstream_client):
    square = documented()
    store = MemoryTokenStore()
    async with square.serve() as origin:
        provider = provider_at(origin, upstream_client, tokens=store)
        for _ in range(3):
            await provider.fetch_customer(CUSTOMER_ID)
    assert square.token_requests() == 1 and square.count("get") == 3
    assert store.token is not None and store.token.access_token == "EAAA-fake-1"
    assert REFRESH_EVERY - 60 < store.token.expires_at - time.time() <= REFRESH_EVERY  # not the 30 days


async def test_a_short_lived_token_is_refreshed_before_its_expires_at(upstream_client):
    expires_at = time.time() + 24 * 3600
    square = documented(expires_at=rfc3339(expires_at))
    store = MemoryTokenStore()
    async with square.serve() as origin:
        await provider_at(origin, upstream_client, tokens=store).fetch_customer(CUSTOMER_ID)
    assert store.token is not None and abs(store.token.expires_at - int(expires_at)) <= 1


@pytest.mark.parametrize("expires_at", ["2025-04-03T18:31:06Z", "yesterday", "2025-04-03T18:31:06"])
async def test_a_past_or_unreadable_expires_at_does_not_mint_on_every_request(upstream_client, expires_at):
    square = documented(expires_at=expires_at)  # the documented one is long past
    store = MemoryTokenStore()
    async with square.serve() as origin:
        provider = provider_at(origin, upstream_client, tokens=store)
        await provider.fetch_customer(CUSTOMER_ID)
        await provider.fetch_customer(CUSTOMER_ID)
    assert square.token_requests() == 1
    assert store.token is not None and store.token.expires_at - time.time() >= MIN_LIFETIME - 60


async def test_a_token_due_for_refresh_is_refreshed_ahead_of_its_expiry(upstream_client):
    square = documented()
    square.accepted.add("EAAA-stored")
    store = MemoryTokenStore()
    store.token = AccessToken(access_token="EAAA-stored", expires_at=time.time() + 60)  # within the margin
    async with square.serve() as origin:
        await provider_at(origin, upstream_client, tokens=store).fetch_customer(CUSTOMER_ID)
    assert square.paths() == [TOKEN_PATH, f"{CUSTOMERS_PATH}/{CUSTOMER_ID}"]
    assert square.requests[-1].headers["Authorization"] == "Bearer EAAA-fake-1"


async def test_rotated_refresh_tokens_are_kept_and_sent_next(upstream_client):
    square = documented(rotate=True)  # a PKCE grant: each refresh token is single-use
    store = MemoryTokenStore()
    async with square.serve() as origin:
        provider = provider_at(origin, upstream_client, tokens=store)
        for _ in range(3):
            await provider.fetch_customer(CUSTOMER_ID)
            square.revoke_all()  # the next read needs a new access token
    sent = [grant["refresh_token"] for grant in square.grants]
    assert sent[:3] == [REFRESH_TOKEN, "EQAA-rotated-1", "EQAA-rotated-2"]
    assert store.token is not None and store.token.extra["refresh_token"] == square.handed_refresh[-1]
    assert not store.needs_reauth


async def test_a_refused_refresh_marks_the_connection(upstream_client):
    square = documented(credentials={**OAUTH, "refresh_token": "EQAA-revoked"})
    store = MemoryTokenStore()
    async with square.serve() as origin:
        with pytest.raises(ReauthRequired) as info:
            await provider_at(origin, upstream_client, tokens=store).fetch_customer(CUSTOMER_ID)
    assert store.needs_reauth and store.token is None
    assert square.paths() == [TOKEN_PATH]
    assert info.value.remote_status == 401 and "UNAUTHORIZED" in info.value.message
    assert no_secret_in(info.value.message)


async def test_a_401_refreshes_once_and_retries(upstream_client):
    square = documented()
    async with square.serve() as origin:
        provider = provider_at(origin, upstream_client)
        await provider.fetch_customer(CUSTOMER_ID)
        square.revoke_all()  # revoked in the Square Dashboard, then granted again
        await provider.fetch_customer(CUSTOMER_ID)
    path = f"{CUSTOMERS_PATH}/{CUSTOMER_ID}"
    assert square.paths() == [TOKEN_PATH, path, path, TOKEN_PATH, path]


# -- errors --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "status, name, error, says",
    [
        (403, "error-403.json", ProviderAuthFailed, "CUSTOMERS_READ"),
        (401, "error-401.json", ProviderAuthFailed, "access token"),
        (404, "error-404.json", CustomerNotFound, "no customer profile"),
        (404, "error-404-payment.json", CustomerNotFound, "no customer profile"),
        (400, "error-400-limit.json", ProviderBadResponse, "VALUE_TOO_HIGH"),
    ],
)
async def test_error_codes(upstream_client, status, name, error, says):
    square = documented(credentials={"access_token": ACCESS_TOKEN})
    square.answer(status, fixture(name), times=None)
    async with square.serve() as origin:
        with pytest.raises(error) as info:
            await provider_at(origin, upstream_client, credentials={"access_token": ACCESS_TOKEN}).get_customer(
                CUSTOMER_ID)
    assert says in info.value.message and info.value.remote_status == status
    assert "Customer with ID" not in info.value.message  # the detail is not quoted


async def test_the_first_error_code_decides_over_the_status(upstream_client):
    body = {"errors": [{"category": "AUTHENTICATION_ERROR", "code": "INSUFFICIENT_SCOPES"},
                       {"category": "INVALID_REQUEST_ERROR", "code": "NOT_FOUND"}]}
    square = documented(credentials={"access_token": ACCESS_TOKEN})
    square.answer(400, body)
    async with square.serve() as origin:
        with pytest.raises(ProviderAuthFailed, match="CUSTOMERS_READ"):
            await provider_at(origin, upstream_client, credentials={"access_token": ACCESS_TOKEN}).get_customer(
                CUSTOMER_ID)


async def test_a_429_without_a_wait_signal_backs_off_and_retries(upstream_client):
    square = documented(credentials={"access_token": ACCESS_TOKEN})
    square.answer(429, fixture("error-429.json"), times=2)  # Square's documented 429 names no wait
    async with square.serve() as origin:
        calls.begin(timeout=5.0)
        raw, customer = await provider_at(
            origin, upstream_client, credentials={"access_token": ACCESS_TOKEN}).get_customer(CUSTOMER_ID)
    assert customer.id == CUSTOMER_ID and square.count("get") == 3


async def test_a_429_without_a_wait_signal_reports_none(upstream_client):
    square = documented(credentials={"access_token": ACCESS_TOKEN})
    square.answer(429, fixture("error-429.json"), times=None)
    async with square.serve() as origin:
        calls.begin(timeout=5.0)
        with pytest.raises(ProviderRateLimited) as info:
            await provider_at(origin, upstream_client, credentials={"access_token": ACCESS_TOKEN}).get_customer(
                CUSTOMER_ID)
    assert info.value.retry_after is None and "RATE_LIMITED" in info.value.message


# -- lists ---------------------------------------------------------------------------


async def test_list_pages_cost_one_call_at_limit_1_50_100(upstream_client):
    square = SquareFake()
    async with square.serve() as origin:
        provider = provider_at(origin, upstream_client)
        for limit in (1, 50, 100):
            before = square.list_requests()
            first = await provider.list_customers(PageRequest(limit=limit))
            second = await provider.list_customers(PageRequest(limit=limit, state=first.next))
            assert [len(first.items), len(second.items)] == [limit, limit]
            assert square.list_requests() - before == 2  # one Square call per page
            assert first.next == {"cursor": first.next["cursor"], "skip": 0, "size": limit}
    query = square.requests[1].query  # the first list call (after the token)
    assert dict(query) == {"limit": "1", "sort_field": "CREATED_AT", "sort_order": "ASC"}
    assert all(r.headers["Square-Version"] == DEFAULT_VERSION for r in square.requests[1:])


async def test_a_walk_keeps_its_page_size_when_the_limit_changes(upstream_client):
    """A Square cursor holds under the limit it was cut with only (the fake
    refuses it with another): later pages read Square pages of the first size."""
    square = SquareFake()
    async with square.serve() as origin:
        provider = provider_at(origin, upstream_client)
        first = await provider.list_customers(PageRequest(limit=7))
        bigger = await provider.list_customers(PageRequest(limit=20, state=first.next))
        smaller = await provider.list_customers(PageRequest(limit=3, state=bigger.next))
    ids = [c["id"] for page in (first, bigger, smaller) for c in page.items]
    assert ids == square.ids[:30]
    assert {r.query["limit"] for r in square.requests if r.path == CUSTOMERS_PATH} == {"7"}
    assert smaller.next is not None and smaller.next["skip"] == 2  # it ends inside the Square page 28..34


@pytest.mark.parametrize("body", [{}, {"customers": {}}, {"customers": []}])
async def test_no_customers_is_an_empty_last_page(upstream_client, body):
    square = SquareFake()
    square.answer(200, body, on={"list"})
    async with square.serve() as origin:
        page = await provider_at(origin, upstream_client).list_customers(PageRequest(limit=10))
    assert page.items == [] and page.next is None


@pytest.mark.parametrize("body", [{"customers": {"a": {}}}, {"customers": [], "cursor": 7}, {"customers": "none"}])
async def test_a_list_of_another_shape_is_a_bad_response(upstream_client, body):
    square = SquareFake()
    square.answer(200, body, on={"list"})
    async with square.serve() as origin:
        with pytest.raises(ProviderBadResponse):
            await provider_at(origin, upstream_client).list_customers(PageRequest(limit=10))


async def test_a_cursor_square_refuses_is_a_bad_response(upstream_client):
    square = SquareFake()
    async with square.serve() as origin:
        provider = provider_at(origin, upstream_client)
        with pytest.raises(ProviderBadResponse, match="INVALID_CURSOR"):
            await provider.list_customers(PageRequest(limit=5, state={"cursor": "bm90LWEtY3Vyc29y", "size": 5}))


async def test_verify_reads_one_customer(upstream_client):
    square = SquareFake()
    async with square.serve() as origin:
        await provider_at(origin, upstream_client).verify_credentials()
    assert square.kinds == ["token", "list"]
    assert dict(square.requests[-1].query) == {"limit": "1"}
