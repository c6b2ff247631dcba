"""Zoho Inventory: golden mappings from Zoho's documented contacts, data
centres, and what is Zoho's own against its fake
(tests/fakes/zoho_inventory.py): the refresh-token grant in the query
string, api_domain, single-flight tokens, refusals marking the connection,
Zoho's codes (also with HTTP 200), vendors dropped from pages and verify.
What every provider shares is in tests/contract/."""

from __future__ import annotations

import asyncio
import copy
import socket
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
    ProviderUnavailable,
    ReauthRequired,
)
from providers.models import Address, Customer, Email, Phone
from providers.tokens import AccessToken, MemoryTokenStore
from providers.zoho_inventory import (
    TOKEN_THROTTLE_RETRY_AFTER,
    ZohoInventoryProvider,
    accounts_origin,
    api_origin,
)
from tests.fakes.zoho_inventory import (
    CLIENT_ID,
    CLIENT_SECRET,
    CONTACTS_PATH,
    ORG_ID,
    REFRESH_TOKEN,
    TOKEN_PATH,
    ZohoInventoryFake,
)
from tests.support import load_fixture

CONTACT_ID = "460000000026049"  # the documented contact
CONTACT_PATH = f"{CONTACTS_PATH}/{CONTACT_ID}"
TOKEN_PREFIX = "1000.token-"  # what the fake mints: 1000.token-1.sig, -2.sig...


def fixture(name: str) -> Any:
    return load_fixture("zoho_inventory", name)


def make_provider(
    client: Any,
    *,
    base_url: str | None,
    auth_url: str,
    tokens: Any = None,
    data_center: str = "com",
) -> ZohoInventoryProvider:
    settings: dict[str, Any] = {
        "organization_id": ORG_ID,
        "data_center": data_center,
        "auth_url": auth_url,
    }
    if base_url is not None:
        settings["base_url"] = base_url
    credentials, parsed = ZohoInventoryProvider.parse_config(
        {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "refresh_token": REFRESH_TOKEN},
        settings,
    )
    return ZohoInventoryProvider(credentials, parsed, client, tokens)


def provider_at(origin: str, client: Any, tokens: Any = None) -> ZohoInventoryProvider:
    """API and token endpoint on one local server."""
    return make_provider(client, base_url=origin, auth_url=origin, tokens=tokens)


def closed_port_origin() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def no_secret_in(message: str) -> bool:
    return not any(s in message for s in (CLIENT_ID, CLIENT_SECRET, REFRESH_TOKEN, TOKEN_PREFIX))


# -- golden mappings -----------------------------------------------------------


DOC_BILLING = Address(
    id=None,
    street_1="4900 Hopyard Rd",
    street_2="Suit 310",
    city="Pleasanton",
    state="California",
    postal_code="94588",  # a number in the docs
    country="U.S.A",  # free text, passed through
    address_type="billing",
    owner_type="customer",
)


def test_map_documented_contact():
    raw = fixture("zoho-inventory-customer.json")["contact"]
    assert ZohoInventoryProvider.map_customer(raw) == Customer(
        id="460000000026049",
        remote_id="460000000026049",
        email="willsmith@bowmanfurniture.com",
        first_name="Will",
        last_name="Smith",
        name="Bowman and Co",  # contact_name, Zoho's display name
        company_name="Bowman and Co",
        phone_number="+1-925-921-9201",
        status="active",
        currency="USD",
        emails=[Email(email="willsmith@bowmanfurniture.com", type=None, is_primary=True)],
        phones=[
            Phone(number="+1-925-921-9201", extension=None, type="work", is_primary=True),
            Phone(number="+1-4054439562", extension=None, type="mobile", is_primary=False),
        ],
        addresses=[DOC_BILLING, msgspec.structs.replace(DOC_BILLING, address_type="shipping")],
        field_mappings={},
        remote_data=None,
        created_at="2013-08-05T00:00:00Z",  # date-only, taken as midnight UTC
        modified_at="2013-10-07T00:00:00Z",
    )


def test_map_variant_primary_person_offsets_and_empty_address():
    raw = fixture("contact-variant.json")["contact"]
    assert ZohoInventoryProvider.map_customer(raw) == Customer(
        id="460000000026049",  # a string id stays the same string
        remote_id="460000000026049",
        email="willsmith@bowmanfurniture.com",  # the primary person's, though listed second
        first_name="Will",
        last_name="Smith",
        name="Bowman and Co",
        company_name=None,  # ""
        phone_number="+1-925-921-9201",
        status="inactive",
        currency="USD",
        emails=[
            Email(email="willsmith@bowmanfurniture.com", type=None, is_primary=True),
            Email(email="janedoe@bowmanfurniture.com", type=None, is_primary=False),
        ],
        phones=[
            Phone(number="+1-925-921-9201", type="work", is_primary=True),
            Phone(number="+1-4054439562", type="mobile", is_primary=False),
            Phone(number="+1-4054439563", type="mobile", is_primary=False),  # Jane's phone is ""
        ],
        addresses=[
            Address(
                id="460000000026101",  # address_id, a big integer
                street_1="4900 Hopyard Rd",
                street_2="Suit 310",
                city="Pleasanton",
                state="California",
                postal_code="94588",
                country="US",  # country_code wins over the free text "U.S.A"
                address_type="billing",
            ),
            # the all-empty shipping address is dropped
        ],
        created_at="2013-08-05T04:50:30Z",  # 10:20:30+0530
        modified_at="2013-10-07T06:36:10Z",  # 12:06:10+0530
    )


def test_map_documented_list_row():
    """List rows are partial: the primary person is flattened onto the row."""
    raw = fixture("zoho-inventory-customers-list.json")["contacts"][0]
    assert ZohoInventoryProvider.map_customer(raw) == Customer(
        id="460000000026049",
        remote_id="460000000026049",
        email="willsmith@bowmanfurniture.com",
        first_name="Will",
        last_name="Smith",
        name="Bowman and Co",
        company_name="Bowman and Co",
        phone_number="+1-925-921-9201",
        status="active",
        currency="USD",
        emails=[Email(email="willsmith@bowmanfurniture.com", is_primary=True)],
        phones=[
            Phone(number="+1-925-921-9201", type="work", is_primary=True),
            Phone(number="+1-4054439562", type="mobile", is_primary=False),
        ],
        addresses=[],
        created_at="2013-08-05T00:00:00Z",
        modified_at="2013-10-07T00:00:00Z",
    )


def test_map_big_integer_ids_are_exact():
    """Decoded as Zoho sends them (unquoted 19 digits), never through a float."""
    body = b'{"contact_id": 9223372036854775807, "contact_name": "x", ' \
        b'"billing_address": {"address_id": 1234567890123456789, "city": "Pune"}}'
    customer = ZohoInventoryProvider.map_customer(msgspec.json.decode(body))
    assert customer.id == customer.remote_id == "9223372036854775807"
    assert customer.addresses[0].id == "1234567890123456789"


def test_map_without_a_primary_flag_takes_the_first_person():
    raw = copy.deepcopy(fixture("contact-variant.json")["contact"])
    raw["contact_persons"][1]["is_primary_contact"] = False
    customer = ZohoInventoryProvider.map_customer(raw)
    assert (customer.first_name, customer.last_name) == ("Jane", "Doe")
    assert customer.email == "janedoe@bowmanfurniture.com"
    assert customer.phone_number == "+1-4054439563"  # her mobile: her phone is empty
    assert [p.is_primary for p in customer.phones] == [True, False, False]


def test_map_name_falls_back_to_the_person_and_other_statuses_pass_through():
    raw = copy.deepcopy(fixture("zoho-inventory-customer.json")["contact"])
    raw["contact_name"] = " "
    raw["status"] = "crm"
    customer = ZohoInventoryProvider.map_customer(raw)
    assert customer.name == "Will Smith"
    assert customer.status == "crm"  # no clear active/inactive meaning: Zoho's own value


def test_map_minimal_contact():
    assert ZohoInventoryProvider.map_customer({"contact_id": 7}) == Customer(id="7", remote_id="7")


@pytest.mark.parametrize("raw", [{}, {"contact_id": None}, {"contact_id": True}, {"contact_id": ""}])
def test_map_rejects_contacts_without_an_id(raw):
    with pytest.raises((KeyError, ValueError)):
        ZohoInventoryProvider.map_customer(raw)


def test_map_does_not_touch_the_raw_payload():
    raw = fixture("contact-variant.json")["contact"]
    before = copy.deepcopy(raw)
    ZohoInventoryProvider.map_customer(raw)
    assert raw == before


# -- configuration ---------------------------------------------------------------


def test_config_parses_and_credentials_repr_hides_secrets():
    credentials, settings = ZohoInventoryProvider.parse_config(
        {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "refresh_token": REFRESH_TOKEN},
        {"organization_id": ORG_ID, "data_center": "com.au"},
    )
    assert settings.organization_id == ORG_ID and settings.data_center == "com.au"
    assert settings.base_url is None and settings.auth_url is None
    assert no_secret_in(repr(credentials))


GOOD_CREDENTIALS = {
    "client_id": CLIENT_ID,
    "client_secret": CLIENT_SECRET,
    "refresh_token": REFRESH_TOKEN,
}


def settings_with(**changes: Any) -> dict[str, Any]:
    settings = {"organization_id": ORG_ID, "data_center": "com", **changes}
    return {k: v for k, v in settings.items() if v is not None}


@pytest.mark.parametrize(
    "credentials, settings, match",
    [
        (GOOD_CREDENTIALS, settings_with(data_center="us"), "data_center must be one of"),
        (GOOD_CREDENTIALS, settings_with(data_center="uk"), "data_center must be one of"),
        (GOOD_CREDENTIALS, settings_with(data_center=None), "data_center"),
        (GOOD_CREDENTIALS, settings_with(organization_id=None), "organization_id"),
        (GOOD_CREDENTIALS, settings_with(organization_id="Zillum"), "numeric"),
        (GOOD_CREDENTIALS, settings_with(organization_id=10234695), "organization_id"),
        (GOOD_CREDENTIALS, settings_with(auth_url="https://accounts.zoho.eu/oauth"), "auth_url"),
        (GOOD_CREDENTIALS, settings_with(base_url="www.zohoapis.eu"), "base_url"),
        (GOOD_CREDENTIALS, settings_with(region="eu"), "region"),
        ({**GOOD_CREDENTIALS, "refresh_token": ""}, settings_with(), "refresh_token"),
        ({**GOOD_CREDENTIALS, "client_secret": "a b"}, settings_with(), "client_secret"),
        ({"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}, settings_with(), "refresh_token"),
        ({**GOOD_CREDENTIALS, "access_token": "x"}, settings_with(), "access_token"),
    ],
)
def test_config_errors(credentials, settings, match):
    with pytest.raises(ConfigurationError, match=match) as info:
        ZohoInventoryProvider.parse_config(credentials, settings)
    assert no_secret_in(str(info.value))


@pytest.mark.parametrize(
    "data_center, accounts, api",
    [
        ("com", "https://accounts.zoho.com", "https://www.zohoapis.com"),
        ("eu", "https://accounts.zoho.eu", "https://www.zohoapis.eu"),
        ("in", "https://accounts.zoho.in", "https://www.zohoapis.in"),
        ("com.au", "https://accounts.zoho.com.au", "https://www.zohoapis.com.au"),
        ("jp", "https://accounts.zoho.jp", "https://www.zohoapis.jp"),
        ("ca", "https://accounts.zohocloud.ca", "https://www.zohoapis.ca"),
        ("com.cn", "https://accounts.zoho.com.cn", "https://www.zohoapis.com.cn"),
        ("sa", "https://accounts.zoho.sa", "https://www.zohoapis.sa"),
    ],
)
def test_data_centre_servers(data_center, accounts, api):
    assert accounts_origin(data_center) == accounts
    assert api_origin(data_center) == api
    credentials, settings = ZohoInventoryProvider.parse_config(
        GOOD_CREDENTIALS, {"organization_id": ORG_ID, "data_center": data_center}
    )
    provider = ZohoInventoryProvider(credentials, settings, None)
    assert provider.auth_origin == accounts
    assert provider.origin == api
    # No api_domain known with the token: the data centre's API domain.
    assert provider.api_origin_for(AccessToken(access_token="t", expires_at=0)) == api


def test_api_origin_precedence():
    credentials, settings = ZohoInventoryProvider.parse_config(
        GOOD_CREDENTIALS, {"organization_id": ORG_ID, "data_center": "eu"}
    )
    provider = ZohoInventoryProvider(credentials, settings, None)
    with_domain = AccessToken(
        access_token="t", expires_at=0, extra={"api_domain": "https://www.zohoapis.eu"}
    )
    assert provider.api_origin_for(with_domain) == "https://www.zohoapis.eu"
    odd = AccessToken(access_token="t", expires_at=0, extra={"api_domain": "zohoapis.eu/path"})
    assert provider.api_origin_for(odd) == "https://www.zohoapis.eu"  # not an origin: ignored
    credentials, settings = ZohoInventoryProvider.parse_config(
        GOOD_CREDENTIALS,
        {"organization_id": ORG_ID, "data_center": "eu", "base_url": "https://zoho.internal:8443"},
    )
    provider = ZohoInventoryProvider(credentials, settings, None)
    assert provider.api_origin_for(with_domain) == "https://zoho.internal:8443"  # base_url wins


# -- requests against the Zoho Inventory fake (tests/fakes/zoho_inventory.py) ----------
# Get one, not found, rejected credentials, the 429 with Retry-After,
# 500/503 and unparsable bodies: tests/contract/.


def documented_org(**kwargs: Any) -> ZohoInventoryFake:
    """An organization holding the documented contact (460000000026049)."""
    return ZohoInventoryFake([fixture("zoho-inventory-customer.json")["contact"]], **kwargs)


async def test_exact_token_and_api_requests(upstream_client):
    zoho = documented_org()
    async with zoho.serve() as origin:
        provider = provider_at(origin, upstream_client)
        raw = await provider.fetch_customer(CONTACT_ID)
    assert raw == fixture("zoho-inventory-customer.json")["contact"]
    token_request, api_request = zoho.requests
    body = zoho.bodies[0]
    # POST {accounts}/oauth/v2/token with the four documented query parameters.
    assert token_request.method == "POST" and token_request.path == TOKEN_PATH
    assert list(token_request.query.items()) == [
        ("refresh_token", REFRESH_TOKEN),
        ("client_id", CLIENT_ID),
        ("client_secret", CLIENT_SECRET),
        ("grant_type", "refresh_token"),
    ]
    assert body == b""
    # GET /inventory/v1/contacts/{id}?organization_id=... with the Zoho-oauthtoken scheme.
    assert api_request.method == "GET" and api_request.path == CONTACT_PATH
    assert dict(api_request.query) == {"organization_id": ORG_ID}
    assert api_request.headers["Authorization"] == f"Zoho-oauthtoken {TOKEN_PREFIX}1.sig"


async def test_api_domain_from_the_token_response_is_honoured(upstream_client):
    """No base_url: the API origin is the api_domain minted with the token."""
    api = documented_org()
    async with api.serve() as api_origin_url:
        accounts = ZohoInventoryFake(api_domain=api_origin_url)
        api.accepted = accounts.accepted  # the two halves of one Zoho
        async with accounts.serve() as accounts_url:
            store = MemoryTokenStore()
            provider = make_provider(upstream_client, base_url=None, auth_url=accounts_url, tokens=store)
            await provider.fetch_customer(CONTACT_ID)
            await provider.fetch_customer(CONTACT_ID)
    assert accounts.paths() == [TOKEN_PATH]  # the accounts server only mints
    assert api.paths() == [CONTACT_PATH, CONTACT_PATH]
    assert api.requests[0].headers["Authorization"] == f"Zoho-oauthtoken {TOKEN_PREFIX}1.sig"
    assert store.token is not None and store.token.extra == {"api_domain": api_origin_url}


async def test_stored_api_domain_is_used_without_minting(upstream_client):
    api = documented_org()
    api.accepted.add("1000.stored.sig")
    async with api.serve() as api_origin_url:
        store = MemoryTokenStore()
        store.token = AccessToken(
            access_token="1000.stored.sig",
            expires_at=time.time() + 3000,
            extra={"api_domain": api_origin_url},
        )
        provider = make_provider(
            upstream_client, base_url=None, auth_url=closed_port_origin(), tokens=store
        )
        await provider.fetch_customer(CONTACT_ID)
    assert api.requests[0].headers["Authorization"] == "Zoho-oauthtoken 1000.stored.sig"


async def test_remote_query_is_forwarded_but_not_the_organization(upstream_client):
    zoho = documented_org()
    async with zoho.serve() as origin:
        provider = provider_at(origin, upstream_client)
        await provider.fetch_customer(CONTACT_ID, {"print": "true", "organization_id": "1"})
    assert dict(zoho.requests[-1].query) == {"print": "true", "organization_id": ORG_ID}


@pytest.mark.parametrize(
    "customer_id",
    ["abc", "46000000002604x", "-1", "0", "1.5", "4600 1", "0460000000026049", "1" * 21],
)
async def test_malformed_id_is_not_found_without_any_call(upstream_client, customer_id):
    zoho = documented_org()
    async with zoho.serve() as origin:
        provider = provider_at(origin, upstream_client)
        with pytest.raises(CustomerNotFound):
            await provider.get_customer(customer_id)
    assert zoho.requests == []  # not even a token request


# -- tokens --------------------------------------------------------------------


async def test_cold_burst_of_50_mints_exactly_one_token(upstream_client):
    zoho = documented_org(token_delay=0.05)
    async with zoho.serve() as origin:
        provider = provider_at(origin, upstream_client)
        results = await asyncio.gather(*(provider.fetch_customer(CONTACT_ID) for _ in range(50)))
    assert len(results) == 50
    assert zoho.token_requests() == 1
    assert zoho.paths().count(CONTACT_PATH) == 50


async def test_token_is_reused_across_calls_and_persisted(upstream_client):
    zoho = documented_org()
    store = MemoryTokenStore()
    async with zoho.serve() as origin:
        provider = provider_at(origin, upstream_client, tokens=store)
        for _ in range(3):
            await provider.fetch_customer(CONTACT_ID)
    assert zoho.paths() == [TOKEN_PATH, CONTACT_PATH, CONTACT_PATH, CONTACT_PATH]
    assert store.token is not None and store.token.access_token == f"{TOKEN_PREFIX}1.sig"
    assert 3500 < store.token.expires_at - time.time() <= 3600
    assert not store.needs_reauth


async def test_fresh_stored_token_is_used_without_minting(upstream_client):
    zoho = documented_org()
    zoho.accepted.add("1000.stored.sig")
    store = MemoryTokenStore()
    store.token = AccessToken(access_token="1000.stored.sig", expires_at=time.time() + 3000)
    async with zoho.serve() as origin:
        await provider_at(origin, upstream_client, tokens=store).fetch_customer(CONTACT_ID)
    assert zoho.paths() == [CONTACT_PATH]


async def test_token_near_expiry_is_refreshed(upstream_client):
    zoho = documented_org(expires_in=60)  # inside the refresh margin: stale at once
    async with zoho.serve() as origin:
        provider = provider_at(origin, upstream_client)
        await provider.fetch_customer(CONTACT_ID)
        await provider.fetch_customer(CONTACT_ID)
    assert zoho.token_requests() == 2


async def test_legacy_expires_in_sec_is_read_as_seconds(upstream_client):
    zoho = documented_org()
    legacy = {"access_token": "1000.legacy.sig", "expires_in_sec": 3600,
              "api_domain": "https://www.zohoapis.com", "token_type": "Bearer", "expires_in": 3600000}
    zoho.answer(200, legacy, on={"token"})
    store = MemoryTokenStore()
    async with zoho.serve() as origin:
        provider = provider_at(origin, upstream_client, tokens=store)
        await provider.auth.manager.get()
    assert store.token is not None and 3500 < store.token.expires_at - time.time() <= 3600


async def test_401_refreshes_once_and_retries(upstream_client):
    zoho = documented_org()
    store = MemoryTokenStore()
    async with zoho.serve() as origin:
        provider = provider_at(origin, upstream_client, tokens=store)
        await provider.fetch_customer(CONTACT_ID)
        zoho.revoke_all()  # token-1 dies before its expiry
        raw = await provider.fetch_customer(CONTACT_ID)
    assert raw["contact_id"] == 460000000026049
    assert zoho.paths() == [TOKEN_PATH, CONTACT_PATH, CONTACT_PATH, TOKEN_PATH, CONTACT_PATH]
    assert zoho.requests[-1].headers["Authorization"] == f"Zoho-oauthtoken {TOKEN_PREFIX}2.sig"
    assert store.token is not None and store.token.access_token == f"{TOKEN_PREFIX}2.sig"


async def test_401_again_after_the_refresh_is_auth_failed(upstream_client):
    zoho = documented_org()
    zoho.answer(401, fixture("error-401-code-57.json"), times=None)
    store = MemoryTokenStore()
    async with zoho.serve() as origin:
        provider = provider_at(origin, upstream_client, tokens=store)
        with pytest.raises(ProviderAuthFailed) as info:
            await provider.fetch_customer(CONTACT_ID)
    assert not isinstance(info.value, ReauthRequired)
    assert zoho.paths() == [TOKEN_PATH, CONTACT_PATH, TOKEN_PATH, CONTACT_PATH]
    assert info.value.remote_status == 401 and "(401: 57)" in info.value.message
    assert not store.needs_reauth  # the refresh itself worked
    assert no_secret_in(info.value.message)


@pytest.mark.parametrize(
    "status, name",
    [
        (200, "oauth-error-invalid-code.json"),
        (200, "oauth-error-invalid-client.json"),
        (400, "oauth-error-invalid-code.json"),
    ],
)
async def test_permanent_token_refusal_marks_the_connection(upstream_client, status, name):
    zoho = documented_org()
    zoho.answer(status, fixture(name), on={"token"}, times=None)
    store = MemoryTokenStore()
    async with zoho.serve() as origin:
        provider = provider_at(origin, upstream_client, tokens=store)
        with pytest.raises(ReauthRequired) as info:
            await provider.fetch_customer(CONTACT_ID)
    assert store.needs_reauth
    assert store.token is None
    assert zoho.paths() == [TOKEN_PATH]  # no API call with nothing to send
    assert fixture(name)["error"] in info.value.message
    assert no_secret_in(info.value.message)


@pytest.mark.parametrize("error", ["invalid_grant", "invalid_client_secret", "unauthorized_client"])
async def test_other_permanent_oauth_codes_mark_too(upstream_client, error):
    zoho = documented_org()
    zoho.answer(400, {"error": error}, on={"token"}, times=None)
    store = MemoryTokenStore()
    async with zoho.serve() as origin:
        with pytest.raises(ReauthRequired):
            await provider_at(origin, upstream_client, tokens=store).fetch_customer(CONTACT_ID)
    assert store.needs_reauth


async def test_permanent_refusal_without_a_store_still_raises(upstream_client):
    zoho = documented_org(credentials={**ZohoInventoryFake.default_credentials, "refresh_token": "1000.revoked"})
    async with zoho.serve() as origin:  # it refuses the refresh token: invalid_code, HTTP 200
        with pytest.raises(ReauthRequired):
            await provider_at(origin, upstream_client).fetch_customer(CONTACT_ID)


@pytest.mark.parametrize(
    "status, body, error",
    [
        (500, {"error": "internal"}, ProviderUnavailable),
        (503, {}, ProviderUnavailable),
        (429, {}, ProviderRateLimited),
        (400, "oauth-error-access-denied.json", ProviderRateLimited),
        (200, {"error": "something_new"}, ProviderAuthFailed),
        (401, {"status": "failure"}, ProviderAuthFailed),
    ],
)
async def test_transient_or_unclear_token_failures_do_not_mark(upstream_client, status, body, error):
    if isinstance(body, str):
        body = fixture(body)
    zoho = documented_org()
    zoho.answer(status, body, on={"token"}, times=None)
    store = MemoryTokenStore()
    async with zoho.serve() as origin:
        provider = provider_at(origin, upstream_client, tokens=store)
        with pytest.raises(error) as info:
            await provider.fetch_customer(CONTACT_ID)
    assert not isinstance(info.value, ReauthRequired)
    assert not store.needs_reauth
    assert zoho.paths() == [TOKEN_PATH]
    assert no_secret_in(info.value.message)


async def test_token_throttle_asks_for_a_wait(upstream_client):
    zoho = documented_org()
    zoho.answer(400, fixture("oauth-error-access-denied.json"), on={"token"}, times=None)
    async with zoho.serve() as origin:
        with pytest.raises(ProviderRateLimited) as info:
            await provider_at(origin, upstream_client).fetch_customer(CONTACT_ID)
    assert info.value.retry_after == TOKEN_THROTTLE_RETRY_AFTER


async def test_token_throttle_is_not_re_requested_within_the_deadline(upstream_client):
    """The retry layer hands the throttle to the client instead of asking again."""
    zoho = documented_org()
    zoho.answer(400, fixture("oauth-error-access-denied.json"), on={"token"}, times=None)
    async with zoho.serve() as origin:
        provider = provider_at(origin, upstream_client)
        calls.begin(timeout=5.0)
        with pytest.raises(ProviderRateLimited):
            await provider.get_customer(CONTACT_ID)
    assert zoho.token_requests() == 1


async def test_unreachable_token_endpoint_does_not_mark(upstream_client):
    store = MemoryTokenStore()
    provider = make_provider(
        upstream_client, base_url=closed_port_origin(), auth_url=closed_port_origin(), tokens=store
    )
    with pytest.raises(ProviderUnavailable):
        await provider.fetch_customer(CONTACT_ID)
    assert not store.needs_reauth


@pytest.mark.parametrize(
    "answer",
    [
        {"text": "<html>Zoho Accounts</html>", "content_type": "text/html"},
        {"body": {"api_domain": "https://www.zohoapis.com", "token_type": "Bearer", "expires_in": 3600}},
        {"body": {"access_token": "has a space", "expires_in": 3600}},
        {"body": ["1000.token"]},
    ],
)
async def test_token_endpoint_bad_bodies(upstream_client, answer):
    zoho = documented_org()
    zoho.answer(on={"token"}, times=None, **answer)
    store = MemoryTokenStore()
    async with zoho.serve() as origin:
        with pytest.raises(ProviderBadResponse):
            await provider_at(origin, upstream_client, tokens=store).fetch_customer(CONTACT_ID)
    assert not store.needs_reauth


# -- API errors ----------------------------------------------------------------


async def test_not_found_names_the_zoho_code(upstream_client):
    zoho = documented_org()
    async with zoho.serve() as origin:
        with pytest.raises(CustomerNotFound) as info:
            await provider_at(origin, upstream_client).fetch_customer("460000000099999")
    assert info.value.remote_status == 404 and "(404: 1002)" in info.value.message


async def test_not_found_code_with_http_200(upstream_client):
    zoho = documented_org()
    zoho.answer(200, fixture("zoho-inventory-not-found.json"), times=None)
    async with zoho.serve() as origin:
        with pytest.raises(CustomerNotFound):
            await provider_at(origin, upstream_client).fetch_customer(CONTACT_ID)


async def test_vendor_is_not_a_customer(upstream_client):
    zoho = ZohoInventoryFake([fixture("contact-vendor.json")["contact"]])
    async with zoho.serve() as origin:
        provider = provider_at(origin, upstream_client)
        calls.begin(timeout=5.0)
        with pytest.raises(CustomerNotFound):
            await provider.get_customer(CONTACT_ID)
    assert zoho.paths() == [TOKEN_PATH, CONTACT_PATH]


@pytest.mark.parametrize(
    "status, name, error",
    [
        (200, "error-internal.json", ProviderBadResponse),  # non-zero code with HTTP 200
        (200, "error-6041.json", ProviderAuthFailed),
        (400, "error-6041.json", ProviderAuthFailed),
        (400, "error-internal.json", ProviderBadResponse),
        (405, "error-internal.json", ProviderBadResponse),
    ],
)
async def test_error_codes(upstream_client, status, name, error):
    zoho = documented_org()
    zoho.answer(status, fixture(name), times=None)
    async with zoho.serve() as origin:
        with pytest.raises(error) as info:
            await provider_at(origin, upstream_client).fetch_customer(CONTACT_ID)
    code = fixture(name)["code"]
    assert f"({status}: {code})" in info.value.message
    assert info.value.remote_status == status
    assert fixture(name)["message"] not in info.value.message  # Zoho's text stays out


async def test_another_organization_is_6041(upstream_client):
    zoho = documented_org()
    async with zoho.serve() as origin:
        settings = {"organization_id": "10234696", "data_center": "com", "base_url": origin, "auth_url": origin}
        credentials, parsed = ZohoInventoryProvider.parse_config(GOOD_CREDENTIALS, settings)
        with pytest.raises(ProviderAuthFailed, match=r"\(400: 6041\)"):
            await ZohoInventoryProvider(credentials, parsed, upstream_client).fetch_customer(CONTACT_ID)


async def test_403_is_auth_failed_without_a_refresh(upstream_client):
    zoho = documented_org()
    zoho.answer(403, fixture("error-401-code-57.json"), times=None)
    async with zoho.serve() as origin:
        with pytest.raises(ProviderAuthFailed):
            await provider_at(origin, upstream_client).fetch_customer(CONTACT_ID)
    assert zoho.paths() == [TOKEN_PATH, CONTACT_PATH]


async def test_rate_limited_without_retry_after(upstream_client):
    zoho = documented_org()
    zoho.answer(429, {"code": 429, "message": "rate limit"}, times=None)
    async with zoho.serve() as origin:
        with pytest.raises(ProviderRateLimited) as info:
            await provider_at(origin, upstream_client).fetch_customer(CONTACT_ID)
    assert info.value.retry_after is None and info.value.remote_status == 429


async def test_502_is_unavailable(upstream_client):
    zoho = documented_org()
    zoho.answer(zoho.server_error(502), times=None)
    async with zoho.serve() as origin:
        with pytest.raises(ProviderUnavailable) as info:
            await provider_at(origin, upstream_client).fetch_customer(CONTACT_ID)
    assert info.value.remote_status == 502


@pytest.mark.parametrize(
    "answer",
    [
        {"body": {"code": 0, "message": "success"}},
        {"body": {"code": 0, "message": "success", "contact": "Bowman"}},
        {"body": [fixture("zoho-inventory-customer.json")]},
        {"status": 400, "text": "<html>not found</html>", "content_type": "text/html"},
    ],
)
async def test_unexpected_shapes_are_bad_responses(upstream_client, answer):
    zoho = documented_org()
    zoho.answer(times=None, **answer)
    async with zoho.serve() as origin:
        with pytest.raises(ProviderBadResponse):
            await provider_at(origin, upstream_client).fetch_customer(CONTACT_ID)


# -- list and verify -------------------------------------------------------------


def mixed_store(pattern: str) -> ZohoInventoryFake:
    """Contacts in list-row shape (from the documented page), ``C`` a customer
    and ``V`` a vendor, numbered in order."""
    customer, vendor = fixture("contacts-list-page.json")["contacts"]
    rows = []
    for n, kind in enumerate(pattern, start=1):
        row = copy.deepcopy(customer if kind == "C" else vendor)
        row["contact_id"] = 460000000030000 + n
        rows.append(row)
    return ZohoInventoryFake(rows)


def ids(page) -> list[int]:
    return [c["contact_id"] - 460000000030000 for c in page.items]


async def test_list_sends_zoho_paging_and_forwards_filters(upstream_client):
    zoho = mixed_store("CCCC")
    async with zoho.serve() as origin:
        provider = provider_at(origin, upstream_client)
        page = await provider.list_customers(
            PageRequest(limit=2, state={"page": 2, "per_page": 2}, query={"filter_by": "Status.Active"})
        )
    assert dict(zoho.requests[-1].query) == {
        "filter_by": "Status.Active",
        "page": "2",
        "per_page": "2",
        "sort_column": "created_time",
        "organization_id": ORG_ID,
    }
    assert ids(page) == [3, 4]
    assert page.next is None and page.prev == {"page": 1, "per_page": 2, "stop": [2, 0]}


@pytest.mark.parametrize("limit", [1, 2, 3, 4])
async def test_vendors_are_dropped_and_short_pages_topped_up(upstream_client, limit):
    # Customers at 1, 3, 4, 6, 9, 11: every Zoho page holds vendors.
    zoho = mixed_store("CVCCVCVVCVC")
    customers = [1, 3, 4, 6, 9, 11]
    async with zoho.serve() as origin:
        provider = provider_at(origin, upstream_client)
        seen, pages, state = [], [], None
        while True:
            page = await provider.list_customers(PageRequest(limit=limit, state=state))
            pages.append(page)
            seen += ids(page)
            if page.next is None:
                break
            state = page.next
        # Going back from each page yields the records just before it, never a repeat.
        for before, page in zip(pages, pages[1:]):
            back = await provider.list_customers(PageRequest(limit=limit, state=page.prev))
            assert ids(back) and set(ids(back)) <= set(ids(before))
            assert ids(back) == ids(before)[-len(ids(back)):]
    assert seen == customers
    assert all(len(p.items) == limit for p in pages[:-1])  # full while more exist
    assert pages[0].prev is None


async def test_a_store_of_vendors_gives_a_bounded_short_page(upstream_client):
    zoho = mixed_store("V" * 20 + "C")
    async with zoho.serve() as origin:
        provider = provider_at(origin, upstream_client)
        page = await provider.list_customers(PageRequest(limit=2))
        rest = await provider.list_customers(PageRequest(limit=2, state=page.next))
        last = await provider.list_customers(PageRequest(limit=2, state={"page": 11, "per_page": 2}))
    assert page.items == [] and page.next == {"page": 6, "per_page": 2}  # 5 Zoho calls at most
    assert zoho.list_requests() == 5 + 5 + 1
    assert ids(rest) == []  # rows 11..20 are vendors too
    assert ids(last) == [21] and last.next is None


async def test_a_cursor_can_point_inside_a_zoho_page(upstream_client):
    zoho = mixed_store("CCCC")
    async with zoho.serve() as origin:
        provider = provider_at(origin, upstream_client)
        first = await provider.list_customers(PageRequest(limit=1, state={"page": 1, "per_page": 3}))
        second = await provider.list_customers(PageRequest(limit=1, state=first.next))
        back = await provider.list_customers(PageRequest(limit=1, state=second.prev))
    assert ids(first) == [1] and first.next == {"page": 1, "per_page": 3, "skip": 1}
    assert ids(second) == [2] and second.next == {"page": 1, "per_page": 3, "skip": 2}
    assert ids(back) == [1] and back.next == {"page": 1, "per_page": 3, "skip": 1}


async def test_list_page_size_is_capped_at_200(upstream_client):
    zoho = ZohoInventoryFake()
    async with zoho.serve() as origin:
        await provider_at(origin, upstream_client).list_customers(PageRequest(limit=500))
    assert zoho.requests[-1].query["per_page"] == "200"


async def test_list_without_page_context_and_bad_shapes(upstream_client):
    zoho = documented_org()
    zoho.answer(200, fixture("zoho-inventory-customers-list.json"), times=None)
    async with zoho.serve() as origin:
        provider = provider_at(origin, upstream_client)
        short = await provider.list_customers(PageRequest(limit=5))
        full = await provider.list_customers(PageRequest(limit=1))
        zoho.clear_faults()
        zoho.answer(200, {"code": 0, "contacts": {}}, times=None)
        with pytest.raises(ProviderBadResponse):
            await provider.list_customers(PageRequest(limit=5))
    assert short.next is None and len(short.items) == 1  # fewer rows than asked: the end
    assert full.next == {"page": 2, "per_page": 1}  # a full page may have a successor


async def test_verify_makes_one_cheap_call(upstream_client):
    zoho = ZohoInventoryFake()
    async with zoho.serve() as origin:
        await provider_at(origin, upstream_client).verify()
    assert zoho.paths() == [TOKEN_PATH, CONTACTS_PATH]
    assert dict(zoho.requests[-1].query) == {"per_page": "1", "organization_id": ORG_ID}


@pytest.mark.parametrize(
    "status, name, error",
    [
        (401, "error-401-code-14.json", ProviderAuthFailed),
        (400, "error-6041.json", ProviderAuthFailed),
    ],
)
async def test_verify_rejections(upstream_client, status, name, error):
    zoho = documented_org()
    zoho.answer(status, fixture(name), times=None)
    async with zoho.serve() as origin:
        with pytest.raises(error):
            await provider_at(origin, upstream_client).verify()


async def test_verify_with_refused_refresh_token(upstream_client):
    zoho = documented_org()
    zoho.answer(200, fixture("oauth-error-invalid-code.json"), on={"token"}, times=None)
    async with zoho.serve() as origin:
        with pytest.raises(ReauthRequired):
            await provider_at(origin, upstream_client).verify()
