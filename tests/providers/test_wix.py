"""Wix: golden mappings from Wix's documented contacts, and what is Wix's own
against its fake (tests/fakes/wix.py), in both auth modes: the API key and
site id, app OAuth tokens (minted once, refreshed, retried once on 401,
refusals marking the connection), merged contacts, Wix's error codes,
paging metadata and verify. What every provider shares is in tests/contract/."""

from __future__ import annotations

import asyncio
import copy
import json
import socket
import time
from typing import Any

import pytest

from providers import calls
from providers.base import PageRequest
from providers.errors import (
    ConfigurationError,
    CustomerNotFound,
    ProviderAuthFailed,
    ProviderBadResponse,
    ProviderRateLimited,
    ProviderTimeout,
    ProviderUnavailable,
    ReauthRequired,
)
from providers.models import Address, Customer, Email, Phone
from providers.tokens import AccessToken, MemoryTokenStore
from providers.wix import WixProvider
from tests.fakes.wix import API_KEY, APP_ID, APP_SECRET, CONTACTS_PATH, INSTANCE_ID, SITE_ID, TOKEN_PATH, WixFake
from tests.support import load_fixture

CONTACT_ID = "8046df3c-7575-4098-a5ab-c91ad8f33c47"  # the documented contact
CONTACT_PATH = f"{CONTACTS_PATH}/{CONTACT_ID}"
MISSING_ID = "00000000-0000-4000-8000-000000000000"


def fixture(name: str) -> Any:
    return load_fixture("wix", name)


def api_key_provider(origin: str, client: Any) -> WixProvider:
    credentials, settings = WixProvider.parse_config(
        {"api_key": API_KEY}, {"site_id": SITE_ID, "base_url": origin}
    )
    return WixProvider(credentials, settings, client)


def oauth_provider(
    origin: str, client: Any, tokens: Any = None, auth_origin: str | None = None
) -> WixProvider:
    credentials, settings = WixProvider.parse_config(
        {"client_id": APP_ID, "client_secret": APP_SECRET},
        {"instance_id": INSTANCE_ID, "base_url": origin, "auth_url": auth_origin or origin},
    )
    return WixProvider(credentials, settings, client, tokens)


def closed_port_origin() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def no_secret_in(message: str) -> bool:
    return not any(s in message for s in (API_KEY, APP_SECRET, "OauthNG.JWS.token", "<SAMPLE_ACCESS_TOKEN>"))


# -- golden mappings -----------------------------------------------------------


def test_map_documented_full_contact():
    """The complete "Get Contact with FULL fieldset" doc example, quirks and all."""
    raw = fixture("contact-full.json")["contact"]
    assert WixProvider.map_customer(raw) == Customer(
        id="8046df3c-7575-4098-a5ab-c91ad8f33c47",
        remote_id="8046df3c-7575-4098-a5ab-c91ad8f33c47",
        email="email@example.com",
        first_name="Some",
        last_name="One",
        name="Some One",
        company_name="Wix",
        phone_number="+97297495550",  # e164Phone of the primary phone, not primaryInfo.phone
        status=None,
        currency=None,  # ecom.totalSpentCurrency is a spend currency, not the customer's
        emails=[
            Email(email="email@example.com", type="main", is_primary=True),
            Email(email="email2@example.com", type="main", is_primary=False),  # no `primary` key
        ],
        phones=[
            Phone(number="+97297495550", extension=None, type="home", is_primary=True),
            # the phone whose id has a trailing space and no `primary` key
            Phone(number="+380443955571", extension=None, type="mobile", is_primary=False),
        ],
        addresses=[
            Address(
                id="3f8bba59-150f-4ee7-9c58-632cbdae222c",
                street_1="1772  Fantages Way",  # addressLine verbatim (double space kept)
                street_2="Apt 17",
                city="Richmond",
                state="ME",  # subdivision "US-ME" without the country prefix
                postal_code="04357",
                country="US",
                address_type=None,  # HOME
                owner_type="customer",
            ),
            Address(
                id="be0b1932-e081-46b0-8dfa-a9f2409fa3a8",
                street_1="5 Wingate",  # streetAddress {number: "5", name: "Wingate"}
                street_2="the code to the building is: *1234",
                city="Richmond",
                state="ME",
                postal_code="04357",
                country="US",
                address_type=None,  # WORK
                owner_type="customer",
            ),
        ],
        field_mappings={},
        remote_data=None,
        created_at="2019-10-30T17:22:10.299Z",
        modified_at="2019-10-30T17:22:10.299Z",
    )


def test_map_second_documented_contact_from_the_list():
    raw = fixture("contacts-list-full.json")["contacts"][1]
    assert WixProvider.map_customer(raw) == Customer(
        id="e50c4534-d0a5-11ea-87d0-0242ac130003",
        remote_id="e50c4534-d0a5-11ea-87d0-0242ac130003",
        email="email211@example.com",
        first_name="Some",
        last_name="One",
        name="Some One",
        company_name="Wix",
        phone_number="+97297499991",
        status=None,
        currency=None,
        emails=[
            Email(email="email211@example.com", type="main", is_primary=True),
            Email(email="email123213@example.com", type="main", is_primary=False),
        ],
        phones=[
            Phone(number="+97297499991", type="home", is_primary=True),
            Phone(number="+380443875571", type="mobile", is_primary=False),
        ],
        addresses=[
            Address(
                id="e50c4d5e-d0a5-11ea-87d0-0242ac130003",
                street_1="19 E Cir Dr",
                street_2=None,  # no addressLine2
                city="Athens",
                state="OH",
                postal_code="45701",
                country="US",
                address_type=None,
            ),
            Address(
                id="e50c4e26-d0a5-11ea-87d0-0242ac130003",
                street_1="305 W Union St",
                street_2="the code to the building is: *1234",
                city="Athens",
                state="OH",
                postal_code="45701",
                country="US",
                address_type=None,
            ),
        ],
        created_at="2019-10-30T17:48:10.299Z",
        modified_at="2019-10-30T17:59:10.299Z",
    )


def test_map_basic_fieldset_contact_falls_back_to_primary_info():
    """The paginated doc example is BASIC: only primaryInfo and info.name."""
    raw = fixture("contacts-list-paginated.json")["contacts"][1]
    assert WixProvider.map_customer(raw) == Customer(
        id="e50c4534-d0a5-11ea-87d0-0242ac130003",
        remote_id="e50c4534-d0a5-11ea-87d0-0242ac130003",
        email="email211@example.com",
        first_name="Any",
        last_name="One",
        name="Any One",
        company_name=None,
        phone_number="097499991",
        status=None,
        currency=None,
        emails=[Email(email="email211@example.com", type=None, is_primary=True)],
        phones=[Phone(number="097499991", type=None, is_primary=True)],
        addresses=[],
        created_at=None,
        modified_at=None,
    )


def full_contact() -> dict[str, Any]:
    return copy.deepcopy(fixture("contact-full.json")["contact"])


def test_map_untagged_is_null_and_billing_shipping_are_address_types():
    raw = full_contact()
    raw["info"]["emails"]["items"][1]["tag"] = "UNTAGGED"
    raw["info"]["phones"]["items"][1]["tag"] = "UNTAGGED"
    raw["info"]["addresses"]["items"][0]["tag"] = "BILLING"
    raw["info"]["addresses"]["items"][1]["tag"] = "SHIPPING"
    mapped = WixProvider.map_customer(raw)
    assert [e.type for e in mapped.emails] == ["main", None]
    assert [p.type for p in mapped.phones] == ["home", None]
    assert [a.address_type for a in mapped.addresses] == ["billing", "shipping"]


def test_map_primary_flag_decides_the_primary_email_and_phone():
    raw = full_contact()
    raw["info"]["emails"]["items"][0].pop("primary")
    raw["info"]["emails"]["items"][1]["primary"] = True
    raw["info"]["phones"]["items"][0]["primary"] = False
    raw["info"]["phones"]["items"][1]["primary"] = True
    mapped = WixProvider.map_customer(raw)
    assert mapped.email == "email2@example.com"
    assert [(e.email, e.is_primary) for e in mapped.emails] == [
        ("email2@example.com", True),
        ("email@example.com", False),
    ]
    assert mapped.phone_number == "+380443955571"
    assert [p.is_primary for p in mapped.phones] == [True, False]


def test_map_without_any_primary_flag_takes_the_first():
    raw = full_contact()
    for key in ("emails", "phones"):
        for item in raw["info"][key]["items"]:
            item.pop("primary", None)
    mapped = WixProvider.map_customer(raw)
    assert mapped.email == "email@example.com" and mapped.emails[0].is_primary
    assert mapped.phone_number == "+97297495550" and mapped.phones[0].is_primary
    assert sum(e.is_primary for e in mapped.emails) == sum(p.is_primary for p in mapped.phones) == 1


def test_map_phone_without_e164_uses_the_local_number():
    raw = full_contact()
    del raw["info"]["phones"]["items"][0]["e164Phone"]
    assert WixProvider.map_customer(raw).phone_number == "097495550"


def test_map_subdivision_prefix_only_stripped_for_the_address_country():
    raw = full_contact()
    first, second = (item["address"] for item in raw["info"]["addresses"]["items"])
    first["subdivision"] = "CA-ON"  # not the address's country (US): kept as sent
    second["subdivision"] = "Maine"  # not an ISO 3166-2 code: kept as sent
    mapped = WixProvider.map_customer(raw)
    assert [a.state for a in mapped.addresses] == ["CA-ON", "Maine"]
    del first["country"]
    first["subdivision"] = "GB-LND"
    assert WixProvider.map_customer(raw).addresses[0].state == "LND"


def test_map_empty_strings_are_null_and_empty_addresses_dropped():
    raw = full_contact()
    raw["info"]["company"] = ""
    raw["info"]["name"] = {"first": "", "last": "One"}
    raw["info"]["emails"]["items"][1]["email"] = ""
    raw["info"]["addresses"]["items"][0]["address"] = {
        "country": "", "subdivision": "", "city": "", "postalCode": "", "addressLine": " ",
    }
    raw["info"]["addresses"]["items"][1]["address"]["addressLine2"] = ""
    mapped = WixProvider.map_customer(raw)
    assert mapped.company_name is None
    assert (mapped.first_name, mapped.last_name, mapped.name) == (None, "One", "One")
    assert [e.email for e in mapped.emails] == ["email@example.com"]
    assert [a.id for a in mapped.addresses] == ["be0b1932-e081-46b0-8dfa-a9f2409fa3a8"]
    assert mapped.addresses[0].street_2 is None


def test_map_address_id_is_trimmed():
    raw = full_contact()
    raw["info"]["addresses"]["items"][0]["id"] = "3f8bba59-150f-4ee7-9c58-632cbdae222c "
    assert WixProvider.map_customer(raw).addresses[0].id == "3f8bba59-150f-4ee7-9c58-632cbdae222c"


def test_map_minimal_contact():
    assert WixProvider.map_customer({"id": CONTACT_ID, "revision": 1}) == Customer(
        id=CONTACT_ID, remote_id=CONTACT_ID
    )


def test_map_rejects_contacts_without_a_string_id():
    with pytest.raises(ValueError):  # msgspec.ValidationError names the missing `id`
        WixProvider.map_customer({"info": {}})
    for bad in (None, "", 42):
        with pytest.raises(ValueError):
            WixProvider.map_customer({"id": bad})


def test_map_does_not_touch_the_raw_payload():
    raw = full_contact()
    before = copy.deepcopy(raw)
    WixProvider.map_customer(raw)
    assert raw == before


# -- configuration -------------------------------------------------------------


def test_api_key_mode_config():
    credentials, settings = WixProvider.parse_config({"api_key": API_KEY}, {"site_id": SITE_ID})
    assert credentials.api_key == API_KEY and not credentials.oauth
    assert settings.site_id == SITE_ID and settings.instance_id is None
    provider = WixProvider(credentials, settings, None)
    assert provider.origin == "https://www.wixapis.com"


def test_oauth_mode_config():
    credentials, settings = WixProvider.parse_config(
        {"client_id": APP_ID, "client_secret": APP_SECRET}, {"instance_id": INSTANCE_ID}
    )
    assert credentials.oauth and settings.instance_id == INSTANCE_ID
    provider = WixProvider(credentials, settings, None)
    assert provider.origin == provider.auth_origin == "https://www.wixapis.com"


def test_credentials_repr_hides_secrets():
    credentials, _ = WixProvider.parse_config(
        {"client_id": APP_ID, "client_secret": APP_SECRET}, {"instance_id": INSTANCE_ID}
    )
    assert APP_SECRET not in repr(credentials)
    api, _ = WixProvider.parse_config({"api_key": API_KEY}, {"site_id": SITE_ID})
    assert API_KEY not in repr(api)


OAUTH = {"client_id": APP_ID, "client_secret": APP_SECRET}


@pytest.mark.parametrize(
    "credentials, settings, match",
    [
        ({}, {"site_id": SITE_ID}, "either api_key"),
        ({"api_key": API_KEY, **OAUTH}, {"site_id": SITE_ID}, "not both"),
        ({"api_key": API_KEY, "client_secret": APP_SECRET}, {"site_id": SITE_ID}, "not both"),
        ({"client_id": APP_ID}, {"instance_id": INSTANCE_ID}, "both client_id"),
        ({"client_secret": APP_SECRET}, {"instance_id": INSTANCE_ID}, "both client_id"),
        ({"api_key": ""}, {"site_id": SITE_ID}, "api_key"),
        ({"api_key": "has space"}, {"site_id": SITE_ID}, "api_key"),
        ({"client_id": APP_ID, "client_secret": ""}, {"instance_id": INSTANCE_ID}, "client_secret"),
        ({"api_key": API_KEY, "token": "x"}, {"site_id": SITE_ID}, "token"),
        ({"api_key": API_KEY}, {}, "site_id"),
        ({"api_key": API_KEY}, {"site_id": SITE_ID, "instance_id": INSTANCE_ID}, "instance_id"),
        (OAUTH, {}, "instance_id"),
        (OAUTH, {"instance_id": INSTANCE_ID, "site_id": SITE_ID}, "site_id"),
        ({"api_key": API_KEY}, {"site_id": "my-site"}, "site_id"),
        (OAUTH, {"instance_id": "12345"}, "instance_id"),
        (OAUTH, {"instance_id": INSTANCE_ID, "auth_url": "https://www.wixapis.com/oauth2"}, "auth_url"),
        ({"api_key": API_KEY}, {"site_id": SITE_ID, "base_url": "ftp://x"}, "base_url"),
        ({"api_key": API_KEY}, {"site_id": SITE_ID, "account_id": SITE_ID}, "account_id"),
    ],
)
def test_config_errors(credentials, settings, match):
    with pytest.raises(ConfigurationError, match=match) as caught:
        WixProvider.parse_config(credentials, settings)
    assert no_secret_in(caught.value.message)


# -- API key mode against the Wix fake (tests/fakes/wix.py) ----------------------------
# Get one, not found, a 429 with Retry-After, 500/503 and unparsable bodies
# (in app OAuth mode): tests/contract/.


def documented_site(**kwargs: Any) -> WixFake:
    """A site holding the documented contact, taking the app's OAuth tokens
    and the API key (with its site id)."""
    wix = WixFake([fixture("contact-full.json")["contact"]], **kwargs)
    wix.api_keys.add(API_KEY)
    return wix


async def test_api_key_get_customer_request_and_raw_payload(upstream_client):
    wix = documented_site()
    async with wix.serve() as origin:
        raw, customer = await api_key_provider(origin, upstream_client).get_customer(CONTACT_ID)
    assert len(wix.requests) == 1
    sent = wix.requests[0]
    assert sent.method == "GET"
    assert sent.path == CONTACT_PATH
    assert dict(sent.query) == {}  # fieldsets defaults to FULL
    assert sent.headers["Authorization"] == API_KEY  # the key itself, no scheme
    assert sent.headers["wix-site-id"] == SITE_ID
    assert "wix-account-id" not in sent.headers
    assert raw == fixture("contact-full.json")["contact"]
    assert customer.id == CONTACT_ID and len(customer.addresses) == 2


async def test_remote_query_is_forwarded_but_cannot_change_the_fields(upstream_client):
    wix = documented_site()
    async with wix.serve() as origin:
        await api_key_provider(origin, upstream_client).get_customer(CONTACT_ID, {"locale": "en"})
    assert dict(wix.requests[0].query) == {"locale": "en"}
    assert {"fields", "fieldsets", "paging", "sort", "offset", "limit"} <= WixProvider.remote_query_denied


async def test_merged_contact_maps_the_returned_target_id(upstream_client):
    """Get Contact on a merged source id answers with the merge target."""
    source_id = "0b0a0c0d-1111-4222-8333-944445555666"
    wix = documented_site()
    wix.answer(200, fixture("contact-full.json"), on={"get"})
    async with wix.serve() as origin:
        raw, customer = await api_key_provider(origin, upstream_client).get_customer(source_id)
    assert wix.requests[0].path == f"{CONTACTS_PATH}/{source_id}"
    assert customer.id == customer.remote_id == CONTACT_ID == raw["id"]


@pytest.mark.parametrize(
    "customer_id",
    ["123", "abc", "", f"{CONTACT_ID} ", f"{CONTACT_ID}/x", "8046df3c75754098a5abc91ad8f33c47",
     "../oauth2/token", "8046df3c-7575-4098-a5ab-c91ad8f33c4", "g046df3c-7575-4098-a5ab-c91ad8f33c47"],
)
async def test_malformed_id_is_not_found_without_a_call(upstream_client, customer_id):
    wix = documented_site()
    async with wix.serve() as origin:
        for provider in (api_key_provider(origin, upstream_client), oauth_provider(origin, upstream_client)):
            with pytest.raises(CustomerNotFound):
                await provider.get_customer(customer_id)
    assert wix.requests == []


async def test_not_found_names_the_wix_code(upstream_client):
    wix = documented_site()
    async with wix.serve() as origin:
        with pytest.raises(CustomerNotFound) as caught:
            await api_key_provider(origin, upstream_client).get_customer(MISSING_ID)
    assert caught.value.remote_status == 404
    assert "NOT_FOUND" in caught.value.message
    assert len(wix.requests) == 1


@pytest.mark.parametrize("status, name", [(401, "error-401.json"), (403, "error-403.json")])
async def test_api_key_rejected_is_auth_failed_without_retry(upstream_client, status, name):
    wix = documented_site()
    wix.answer(status, fixture(name), times=None)
    async with wix.serve() as origin:
        with pytest.raises(ProviderAuthFailed) as caught:
            await api_key_provider(origin, upstream_client).get_customer(CONTACT_ID)
    assert not isinstance(caught.value, ReauthRequired)
    assert caught.value.remote_status == status
    assert len(wix.requests) == 1
    assert no_secret_in(caught.value.message)


async def test_an_api_key_for_another_site_is_permission_denied(upstream_client):
    wix = documented_site()
    async with wix.serve() as origin:
        credentials, settings = WixProvider.parse_config(
            {"api_key": API_KEY}, {"site_id": INSTANCE_ID, "base_url": origin}  # another site's GUID
        )
        with pytest.raises(ProviderAuthFailed, match="PERMISSION_DENIED") as caught:
            await WixProvider(credentials, settings, upstream_client).get_customer(CONTACT_ID)
    assert caught.value.remote_status == 403


async def test_rate_limited_without_retry_after_names_the_wix_code(upstream_client):
    wix = documented_site()
    wix.answer(429, fixture("error-429.json"), times=None)
    async with wix.serve() as origin:
        calls.begin(timeout=0.5)  # a wait that does not fit surfaces the 429 at once
        with pytest.raises(ProviderRateLimited) as caught:
            await api_key_provider(origin, upstream_client).get_customer(CONTACT_ID)
    assert caught.value.remote_status == 429
    assert caught.value.retry_after is None
    assert "RESOURCE_EXHAUSTED" in caught.value.message


@pytest.mark.parametrize(
    "status, name, code",
    [(400, "error-validation.json", "INVALID_NOTE"), (409, "error-application.json", "DUPLICATE_CONTACT_EXIST")],
)
async def test_other_refusals_are_bad_responses_with_the_wix_code(upstream_client, status, name, code):
    wix = documented_site()
    wix.answer(status, fixture(name), times=None)
    async with wix.serve() as origin:
        with pytest.raises(ProviderBadResponse) as caught:
            await api_key_provider(origin, upstream_client).get_customer(CONTACT_ID)
    assert caught.value.remote_status == status
    assert f"({status}: {code})" in caught.value.message
    assert "music" not in caught.value.message  # codes only, never Wix's free text


@pytest.mark.parametrize(
    "body",
    [
        [fixture("contact-full.json")],
        {"responseType": "REGULAR"},
        {"contact": "8046df3c"},
        {"contact": {"revision": 1}},  # no id
    ],
)
async def test_unexpected_shapes_are_bad_responses(upstream_client, body):
    wix = documented_site()
    wix.answer(200, body, times=None)
    async with wix.serve() as origin:
        with pytest.raises(ProviderBadResponse):
            await api_key_provider(origin, upstream_client).get_customer(CONTACT_ID)


# -- app OAuth mode against the Wix fake ------------------------------------------------


async def test_oauth_token_request_and_bare_token_header(upstream_client):
    wix = documented_site()
    async with wix.serve() as origin:
        raw, customer = await oauth_provider(origin, upstream_client).get_customer(CONTACT_ID)
    token_request, contact_request = wix.requests
    assert token_request.method == "POST" and token_request.path == TOKEN_PATH
    assert token_request.headers["Content-Type"] == "application/json"
    assert "Authorization" not in token_request.headers
    assert json.loads(wix.bodies[0]) == {
        "grant_type": "client_credentials",
        "client_id": APP_ID,
        "client_secret": APP_SECRET,
        "instance_id": INSTANCE_ID,
    }
    assert contact_request.method == "GET" and contact_request.path == CONTACT_PATH
    # Wix REST: `Authorization: <token>`, no "Bearer " although token_type says Bearer.
    assert contact_request.headers["Authorization"] == "OauthNG.JWS.token-1"
    assert "wix-site-id" not in contact_request.headers
    assert customer.id == CONTACT_ID and raw["id"] == CONTACT_ID


async def test_oauth_token_endpoint_is_auth_url(upstream_client):
    api, auth = documented_site(), documented_site()
    async with api.serve() as api_origin, auth.serve() as auth_origin:
        provider = oauth_provider(api_origin, upstream_client, auth_origin=auth_origin)
        api.accepted = auth.accepted  # the two halves of one Wix
        await provider.get_customer(CONTACT_ID)
    assert auth.paths() == [TOKEN_PATH]
    assert api.paths() == [CONTACT_PATH]


async def test_cold_burst_mints_exactly_one_token(upstream_client):
    wix = documented_site(token_delay=0.05)
    store = MemoryTokenStore()
    async with wix.serve() as origin:
        provider = oauth_provider(origin, upstream_client, store)
        results = await asyncio.gather(*(provider.get_customer(CONTACT_ID) for _ in range(50)))
    assert len(results) == 50
    assert wix.paths().count(TOKEN_PATH) == 1
    contact_requests = [r for r in wix.requests if r.path == CONTACT_PATH]
    assert len(contact_requests) == 50
    assert {r.headers["Authorization"] for r in contact_requests} == {"OauthNG.JWS.token-1"}
    assert store.token is not None and store.token.access_token == "OauthNG.JWS.token-1"


async def test_token_is_cached_across_calls(upstream_client):
    wix = documented_site()
    async with wix.serve() as origin:
        provider = oauth_provider(origin, upstream_client)
        for _ in range(3):
            await provider.get_customer(CONTACT_ID)
        await provider.verify()
    assert wix.paths().count(TOKEN_PATH) == 1
    assert wix.minted == ["OauthNG.JWS.token-1"]


async def test_token_expires_in_is_honoured(upstream_client):
    store = MemoryTokenStore()
    wix = documented_site()
    async with wix.serve() as origin:
        before = time.time()
        await oauth_provider(origin, upstream_client, store).get_customer(CONTACT_ID)
    assert store.token is not None
    assert before + 14400 <= store.token.expires_at <= time.time() + 14400


async def test_missing_expires_in_is_the_documented_four_hours(upstream_client):
    store = MemoryTokenStore()
    wix = documented_site(expires_in=None)
    async with wix.serve() as origin:
        await oauth_provider(origin, upstream_client, store).get_customer(CONTACT_ID)
    assert store.token is not None
    assert abs(store.token.expires_at - (time.time() + 14400)) < 60


async def test_token_is_refreshed_when_it_nears_expiry(upstream_client):
    """A token inside the refresh margin is not used again: a new one is minted."""
    wix = documented_site(expires_in=60)  # below TokenManager's 120 s margin: stale at once
    async with wix.serve() as origin:
        provider = oauth_provider(origin, upstream_client)
        await provider.get_customer(CONTACT_ID)
        await provider.get_customer(CONTACT_ID)
    assert wix.minted == ["OauthNG.JWS.token-1", "OauthNG.JWS.token-2"]
    contact_requests = [r for r in wix.requests if r.path == CONTACT_PATH]
    assert [r.headers["Authorization"] for r in contact_requests] == wix.minted


async def test_expired_stored_token_is_replaced_and_persisted(upstream_client):
    store = MemoryTokenStore()
    store.token = AccessToken(access_token="OauthNG.JWS.old", expires_at=time.time() - 5)
    wix = documented_site()
    async with wix.serve() as origin:
        await oauth_provider(origin, upstream_client, store).get_customer(CONTACT_ID)
    assert wix.paths() == [TOKEN_PATH, CONTACT_PATH]
    assert store.token.access_token == "OauthNG.JWS.token-1"


async def test_fresh_stored_token_is_used_without_minting(upstream_client):
    store = MemoryTokenStore()
    store.token = AccessToken(access_token="OauthNG.JWS.stored", expires_at=time.time() + 3600)
    wix = documented_site()
    wix.accepted.add("OauthNG.JWS.stored")
    async with wix.serve() as origin:
        await oauth_provider(origin, upstream_client, store).get_customer(CONTACT_ID)
    assert wix.paths() == [CONTACT_PATH]
    assert wix.requests[0].headers["Authorization"] == "OauthNG.JWS.stored"


async def test_401_is_retried_once_with_a_fresh_token(upstream_client):
    store = MemoryTokenStore()
    wix = documented_site()
    async with wix.serve() as origin:
        provider = oauth_provider(origin, upstream_client, store)
        await provider.get_customer(CONTACT_ID)
        wix.revoke_all()  # e.g. the app's permissions changed: the live token dies
        raw, _ = await provider.get_customer(CONTACT_ID)
    assert raw["id"] == CONTACT_ID
    assert wix.paths() == [TOKEN_PATH, CONTACT_PATH, CONTACT_PATH, TOKEN_PATH, CONTACT_PATH]
    sent = [r.headers.get("Authorization") for r in wix.requests if r.path == CONTACT_PATH]
    assert sent == ["OauthNG.JWS.token-1", "OauthNG.JWS.token-1", "OauthNG.JWS.token-2"]
    assert store.token.access_token == "OauthNG.JWS.token-2"
    assert not store.needs_reauth


async def test_401_with_a_fresh_token_too_is_auth_failed_after_one_retry(upstream_client):
    store = MemoryTokenStore()
    wix = documented_site()
    wix.answer(401, fixture("error-401.json"), on={"get"}, times=None)
    async with wix.serve() as origin:
        with pytest.raises(ProviderAuthFailed) as caught:
            await oauth_provider(origin, upstream_client, store).get_customer(CONTACT_ID)
    assert not isinstance(caught.value, ReauthRequired)
    assert caught.value.remote_status == 401
    assert wix.paths() == [TOKEN_PATH, CONTACT_PATH, TOKEN_PATH, CONTACT_PATH]
    assert not store.needs_reauth  # the token endpoint never refused
    assert no_secret_in(caught.value.message)


async def test_403_is_not_retried_with_a_new_token(upstream_client):
    wix = documented_site()
    wix.answer(403, fixture("error-403.json"), on={"get"}, times=None)
    async with wix.serve() as origin:
        with pytest.raises(ProviderAuthFailed, match="PERMISSION_DENIED"):
            await oauth_provider(origin, upstream_client).get_customer(CONTACT_ID)
    assert wix.paths() == [TOKEN_PATH, CONTACT_PATH]


@pytest.mark.parametrize(
    "status, body",
    [
        (400, {"error": "invalid_client"}),
        (400, {"error": "invalid_grant"}),
        (400, {"error": "unauthorized_client", "error_description": f"no app {APP_SECRET}"}),
        (401, {"error": "invalid_client"}),
        (401, {"message": "", "details": {}}),
        (401, None),
        (401, "error-401.json"),
        (403, "error-403.json"),
    ],
)
async def test_permanent_token_refusal_marks_the_connection(upstream_client, status, body):
    if isinstance(body, str):
        body = fixture(body)
    elif status == 400 and body == {"error": "invalid_client"}:
        body = fixture("oauth-error-invalid-client.json")
    store = MemoryTokenStore()
    wix = documented_site()
    wix.answer(status, body, on={"token"}, times=None)
    async with wix.serve() as origin:
        with pytest.raises(ReauthRequired) as caught:
            await oauth_provider(origin, upstream_client, store).get_customer(CONTACT_ID)
    assert store.needs_reauth
    assert caught.value.remote_status == status
    assert wix.paths() == [TOKEN_PATH]  # no contacts call, no retry
    assert no_secret_in(caught.value.message)


async def test_permanent_refusal_without_a_store_still_raises(upstream_client):
    wix = documented_site()
    wix.answer(400, fixture("oauth-error-invalid-client.json"), on={"token"}, times=None)
    async with wix.serve() as origin:
        with pytest.raises(ReauthRequired, match="invalid_client"):
            await oauth_provider(origin, upstream_client, None).get_customer(CONTACT_ID)


@pytest.mark.parametrize(
    "status, body, error, attempts",
    [
        (500, fixture("error-system.json"), ProviderUnavailable, 1),
        (503, None, ProviderUnavailable, 3),  # retried like any 503
        (400, fixture("error-validation.json"), ProviderAuthFailed, 1),
        (400, {"error": "invalid_request"}, ProviderAuthFailed, 1),
        (404, None, ProviderAuthFailed, 1),
    ],
)
async def test_transient_or_unclear_token_failures_do_not_mark(upstream_client, status, body, error, attempts):
    store = MemoryTokenStore()
    wix = documented_site()
    wix.answer(status, body, on={"token"}, times=None)
    async with wix.serve() as origin:
        with pytest.raises(error) as caught:
            await oauth_provider(origin, upstream_client, store).get_customer(CONTACT_ID)
    assert not isinstance(caught.value, ReauthRequired)
    assert caught.value.remote_status == status
    assert not store.needs_reauth
    assert wix.paths() == [TOKEN_PATH] * attempts


async def test_token_endpoint_rate_limit_does_not_mark(upstream_client):
    store = MemoryTokenStore()
    wix = documented_site()
    # A wait longer than the deadline surfaces the 429 at once. (A 50 ms
    # deadline did too, but a loaded machine could spend it on the request.)
    wix.answer(429, fixture("error-429.json"), headers={"Retry-After": "60"}, on={"token"}, times=None)
    async with wix.serve() as origin:
        calls.begin(timeout=5)
        with pytest.raises(ProviderRateLimited):
            await oauth_provider(origin, upstream_client, store).get_customer(CONTACT_ID)
    assert not store.needs_reauth


async def test_unreachable_token_endpoint_does_not_mark(upstream_client):
    store = MemoryTokenStore()
    wix = documented_site()
    async with wix.serve() as origin:
        provider = oauth_provider(origin, upstream_client, store, auth_origin=closed_port_origin())
        with pytest.raises(ProviderUnavailable):
            await provider.get_customer(CONTACT_ID)
    assert not store.needs_reauth
    assert wix.requests == []


async def test_token_endpoint_timeout_does_not_mark(upstream_client):
    store = MemoryTokenStore()
    wix = documented_site()
    wix.hang(seconds=1.0, on={"token"})
    async with wix.serve() as origin:
        calls.begin(timeout=0.2)
        with pytest.raises(ProviderTimeout):
            await oauth_provider(origin, upstream_client, store).get_customer(CONTACT_ID)
    assert not store.needs_reauth
    assert store.token is None


@pytest.mark.parametrize(
    "answer",
    [
        {"text": "not json"},
        {"body": {"token_type": "Bearer", "expires_in": 14400}},
        {"body": {"access_token": "", "expires_in": 14400}},
        {"body": {"access_token": "two words", "expires_in": 14400}},
    ],
)
async def test_token_endpoint_bad_bodies(upstream_client, answer):
    store = MemoryTokenStore()
    wix = documented_site()
    wix.answer(on={"token"}, times=None, **answer)
    async with wix.serve() as origin:
        with pytest.raises(ProviderBadResponse):
            await oauth_provider(origin, upstream_client, store).get_customer(CONTACT_ID)
    assert not store.needs_reauth and store.token is None


# -- list and verify ---------------------------------------------------------------


def listed_site() -> WixFake:
    """A site holding the two contacts of the documented full list."""
    wix = WixFake(fixture("contacts-list-full.json")["contacts"])
    wix.api_keys.add(API_KEY)
    return wix


async def test_list_first_page_request_and_end(upstream_client):
    wix = listed_site()
    async with wix.serve() as origin:
        page = await api_key_provider(origin, upstream_client).list_page(PageRequest(limit=50))
    sent = wix.requests[0]
    assert sent.path == CONTACTS_PATH
    assert dict(sent.query) == {
        "paging.limit": "50",
        "paging.offset": "0",
        "sort.fieldName": "createdDate",
        "sort.order": "ASC",
    }
    assert sent.headers["Authorization"] == API_KEY and sent.headers["wix-site-id"] == SITE_ID
    assert [c.id for c in page.customers] == [
        "8046df3c-7575-4098-a5ab-c91ad8f33c47",
        "e50c4534-d0a5-11ea-87d0-0242ac130003",
    ]
    assert page.raws == fixture("contacts-list-full.json")["contacts"]
    assert page.next is None and page.prev is None  # offset 0 + count 2 == total 2


async def test_list_middle_page_with_total(upstream_client):
    body = fixture("contacts-list-full.json")
    body["pagingMetadata"] = {"count": 2, "offset": 2, "total": 7}
    wix = listed_site()
    wix.answer(200, body, times=None)
    async with wix.serve() as origin:
        page = await api_key_provider(origin, upstream_client).list_page(
            PageRequest(limit=2, state={"offset": 2}, query={"search": "One"})
        )
    assert dict(wix.requests[0].query) == {
        "search": "One",
        "paging.limit": "2",
        "paging.offset": "2",
        "sort.fieldName": "createdDate",
        "sort.order": "ASC",
    }
    assert page.next == {"offset": 4} and page.prev == {"offset": 0}


async def test_list_too_many_to_count_pages_on_full_pages(upstream_client):
    """The doc's paginated example: no total, `too_many_to_count`."""
    wix = listed_site()
    wix.answer(200, fixture("contacts-list-paginated.json"), times=None)
    async with wix.serve() as origin:
        provider = api_key_provider(origin, upstream_client)
        full = await provider.list_page(PageRequest(limit=2, state={"offset": 12}))
        short = await provider.list_page(PageRequest(limit=3, state={"offset": 12}))
    assert full.next == {"offset": 14} and full.prev == {"offset": 10}
    assert short.next is None and short.prev == {"offset": 9}
    assert [c.name for c in full.customers] == ["Some One", "Any One"]


@pytest.mark.parametrize("body, error", [({"pagingMetadata": {}}, None), ({"contacts": {"id": CONTACT_ID}}, True)])
async def test_list_empty_page_and_bad_shapes(upstream_client, body, error):
    wix = listed_site()
    wix.answer(200, body, times=None)
    async with wix.serve() as origin:
        provider = api_key_provider(origin, upstream_client)
        if error:
            with pytest.raises(ProviderBadResponse):
                await provider.list_page(PageRequest(limit=10))
        else:
            page = await provider.list_page(PageRequest(limit=10))
            assert page.customers == [] and page.next is None


async def test_list_oauth_uses_the_token(upstream_client):
    wix = listed_site()
    async with wix.serve() as origin:
        page = await oauth_provider(origin, upstream_client).list_page(PageRequest(limit=5))
    assert wix.paths() == [TOKEN_PATH, CONTACTS_PATH]
    assert wix.requests[1].headers["Authorization"] == "OauthNG.JWS.token-1"
    assert len(page.customers) == 2


async def test_verify_api_key(upstream_client):
    wix = listed_site()
    async with wix.serve() as origin:
        await api_key_provider(origin, upstream_client).verify()
    sent = wix.requests[0]
    assert (sent.method, sent.path, dict(sent.query)) == ("GET", CONTACTS_PATH, {"paging.limit": "1"})
    assert sent.headers["Authorization"] == API_KEY and sent.headers["wix-site-id"] == SITE_ID


async def test_verify_oauth_mints_then_lists(upstream_client):
    wix = listed_site()
    async with wix.serve() as origin:
        await oauth_provider(origin, upstream_client).verify()
    assert wix.paths() == [TOKEN_PATH, CONTACTS_PATH]
    assert dict(wix.requests[1].query) == {"paging.limit": "1"}


@pytest.mark.parametrize("status, name", [(401, "error-401.json"), (403, "error-403.json"), (404, "error-404.json")])
async def test_verify_rejections_are_auth_failures(upstream_client, status, name):
    wix = listed_site()
    wix.answer(status, fixture(name), times=None)
    async with wix.serve() as origin:
        with pytest.raises(ProviderAuthFailed) as caught:
            await api_key_provider(origin, upstream_client).verify()
    assert caught.value.remote_status == status
