"""WooCommerce: golden mappings from documented/recorded payloads, store_url
rules, and what is WooCommerce's own against its fake
(tests/fakes/woocommerce.py): sub-directories, the WordPress 404s and 401/403
bodies, HTML pages from hosts, a BOM, verify and offset paging. What every
provider shares is in tests/contract/."""

from __future__ import annotations

import copy
from typing import Any

import jmespath
import msgspec
import pytest
from aiohttp import web

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
from providers.models import Address, Customer, Email, Phone
from providers.resilience import RetryPolicy
from providers.woocommerce import WooCommerceProvider
from tests.fakes.woocommerce import KEY, SECRET, WooCommerceFake, basic
from tests.support import load_fixture

EXPECTED_AUTH = basic(KEY, SECRET)
SHOP_PATH = "/shop/wp-json/wc/v3/customers"


def fixture(name: str) -> Any:
    return load_fixture("woocommerce", name)


def provider_for(origin: str, client: Any, store_url: str = "https://example.com/shop") -> WooCommerceProvider:
    credentials, settings = WooCommerceProvider.parse_config(
        {"consumer_key": KEY, "consumer_secret": SECRET},
        {"store_url": store_url, "base_url": origin},
    )
    return WooCommerceProvider(credentials, settings, client)


# -- golden mappings -----------------------------------------------------------


def test_map_documented_customer():
    assert WooCommerceProvider.map_customer(fixture("customer.json")) == Customer(
        id="25",
        remote_id="25",
        email="john.doe@example.com",
        first_name="John",
        last_name="Doe",
        name="John Doe",
        company_name=None,  # billing.company and shipping.company are ""
        phone_number="(555) 555-5555",
        status=None,
        currency=None,
        # billing.email equals the account email: one entry, the account's.
        emails=[Email(email="john.doe@example.com", type=None, is_primary=True)],
        phones=[Phone(number="(555) 555-5555", extension=None, type="billing", is_primary=True)],
        addresses=[
            Address(
                id=None,
                street_1="969 Market",
                street_2=None,  # ""
                city="San Francisco",
                state="CA",
                postal_code="94103",
                country="US",
                address_type="billing",
                owner_type="customer",
            ),
            Address(
                id=None,
                street_1="969 Market",
                street_2=None,
                city="San Francisco",
                state="CA",
                postal_code="94103",
                country="US",
                address_type="shipping",
                owner_type="customer",
            ),
        ],
        field_mappings={},
        remote_data=None,
        # *_gmt (19:09), not the site-local date_created (16:09).
        created_at="2017-03-21T19:09:28Z",
        modified_at="2017-03-21T19:09:30Z",
    )


def test_map_recorded_customer_with_empty_strings():
    assert WooCommerceProvider.map_customer(fixture("customer.recorded.json")) == Customer(
        id="2",
        remote_id="2",
        email="test@nango.dev",
        first_name="Test",
        last_name="Customer",
        name="Test Customer",
        company_name=None,
        phone_number=None,  # billing.phone and shipping.phone are ""
        status=None,
        currency=None,
        emails=[Email(email="test@nango.dev", type=None, is_primary=True)],
        phones=[],
        addresses=[
            # Only the country is set (WooCommerce's default), so it is kept.
            Address(id=None, country="US", address_type="billing"),
            # The shipping address is all "" and dropped.
        ],
        created_at="2026-05-22T08:59:13Z",
        modified_at="2026-05-22T08:59:30Z",
    )


def test_map_documented_list_items():
    first, second = fixture("customers-list.json")
    joao = WooCommerceProvider.map_customer(first)
    assert (joao.id, joao.name, joao.phone_number) == ("26", "João Silva", "(55) 5555-5555")
    assert joao.addresses[0] == Address(
        street_1="Av. Brasil, 432",
        city="Rio de Janeiro",
        state="RJ",
        postal_code="12345-000",
        country="BR",
        address_type="billing",
    )
    assert joao.created_at == "2017-03-21T19:11:14Z"
    assert WooCommerceProvider.map_customer(second).id == "25"


def test_map_checkout_customer_falls_back_to_billing_and_shipping():
    """Customers created at checkout often have empty top-level names; the
    billing section then names them, and a shipping phone/company counts."""
    raw = copy.deepcopy(fixture("customer.recorded.json"))
    raw.update(first_name="", last_name="", email="")
    raw["billing"].update(email="Test@Nango.dev", company="")
    raw["shipping"].update(phone="+1 415 555 0100", company="Nango Inc", city="San Francisco")
    assert WooCommerceProvider.map_customer(raw) == Customer(
        id="2",
        remote_id="2",
        email="Test@Nango.dev",  # the only email, so the primary one
        first_name="Test",  # billing.first_name
        last_name="Customer",  # billing.last_name
        name="Test Customer",
        company_name="Nango Inc",  # shipping.company, billing's being ""
        phone_number="+1 415 555 0100",  # the only phone
        emails=[Email(email="Test@Nango.dev", type="billing", is_primary=True)],
        phones=[Phone(number="+1 415 555 0100", type="shipping", is_primary=True)],
        addresses=[
            Address(country="US", address_type="billing"),
            Address(city="San Francisco", address_type="shipping"),
        ],
        created_at="2026-05-22T08:59:13Z",
        modified_at="2026-05-22T08:59:30Z",
    )


def test_map_billing_email_and_both_phones():
    raw = copy.deepcopy(fixture("customer.json"))
    raw["billing"]["email"] = "billing@example.com"
    raw["billing"]["company"] = "Doe Trading"
    raw["shipping"]["company"] = "Ignored Co"
    raw["shipping"]["phone"] = "(555) 555-0199"  # newer WooCommerce has shipping.phone
    customer = WooCommerceProvider.map_customer(raw)
    assert customer.email == "john.doe@example.com"
    assert customer.emails == [
        Email(email="john.doe@example.com", type=None, is_primary=True),
        Email(email="billing@example.com", type="billing", is_primary=False),
    ]
    assert customer.phone_number == "(555) 555-5555"
    assert customer.phones == [
        Phone(number="(555) 555-5555", type="billing", is_primary=True),
        Phone(number="(555) 555-0199", type="shipping", is_primary=False),
    ]
    assert customer.company_name == "Doe Trading"


def test_map_emails_dedupe_case_insensitively():
    raw = copy.deepcopy(fixture("customer.json"))
    raw["billing"]["email"] = "JOHN.DOE@Example.com"
    assert WooCommerceProvider.map_customer(raw).emails == [
        Email(email="john.doe@example.com", type=None, is_primary=True)
    ]


def test_map_name_falls_back_to_username():
    raw = copy.deepcopy(fixture("customer.json"))
    raw.update(first_name="", last_name="")
    raw["billing"].update(first_name="", last_name="")
    customer = WooCommerceProvider.map_customer(raw)
    assert (customer.first_name, customer.last_name, customer.name) == (None, None, "john.doe")


def test_map_reads_only_gmt_dates():
    raw = copy.deepcopy(fixture("customer.json"))
    raw["date_created"] = "1999-01-01T00:00:00"  # site-local: never read
    raw["date_modified"] = "1999-01-01T00:00:00"
    raw["date_modified_gmt"] = None  # documented as possibly null
    customer = WooCommerceProvider.map_customer(raw)
    assert customer.created_at == "2017-03-21T19:09:28Z"
    assert customer.modified_at is None


def test_map_php_empty_arrays_as_sections():
    raw = {**fixture("customer.json"), "billing": [], "shipping": None}
    customer = WooCommerceProvider.map_customer(raw)
    assert customer.addresses == [] and customer.phones == [] and customer.company_name is None
    assert customer.emails == [Email(email="john.doe@example.com", is_primary=True)]


def test_map_string_id_is_accepted():
    assert WooCommerceProvider.map_customer({**fixture("customer.json"), "id": "25"}).id == "25"


@pytest.mark.parametrize(
    "edit, error",
    [
        ({"id": None}, ValueError),
        ({"id": "abc"}, ValueError),
        ({"id": 0}, ValueError),
        ({"id": True}, ValueError),
        ({"billing": "969 Market"}, msgspec.ValidationError),
    ],
)
def test_map_shape_errors(edit, error):
    with pytest.raises(error):
        WooCommerceProvider.map_customer({**fixture("customer.json"), **edit})


def test_map_without_id_is_a_shape_error():
    raw = fixture("customer.json")
    del raw["id"]
    with pytest.raises(msgspec.ValidationError):
        WooCommerceProvider.map_customer(raw)


def test_map_does_not_touch_the_raw_payload():
    raw = fixture("customer.recorded.json")
    before = copy.deepcopy(raw)
    WooCommerceProvider.map_customer(raw)
    assert raw == before


# -- configuration -------------------------------------------------------------


def settings_for(store_url: Any, **extra: Any):
    return WooCommerceProvider.parse_config(
        {"consumer_key": KEY, "consumer_secret": SECRET}, {"store_url": store_url, **extra}
    )[1]


@pytest.mark.parametrize(
    "store_url, normalised",
    [
        ("https://example.com", "https://example.com"),
        ("https://example.com/", "https://example.com"),
        ("https://example.com/shop", "https://example.com/shop"),
        ("https://example.com/shop/", "https://example.com/shop"),
        ("https://Example.COM//shop//store///", "https://example.com/shop/store"),
        ("https://example.com:8443/wp", "https://example.com:8443/wp"),
        ("https://example.com/index.php", "https://example.com/index.php"),  # PATHINFO permalinks
        ("http://192.168.1.10/shop", "http://192.168.1.10/shop"),  # refused later by policy
        ("https://bücher.example/laden", "https://xn--bcher-kva.example/laden"),
    ],
)
def test_store_url_is_normalised(store_url, normalised):
    settings = settings_for(store_url)
    assert settings.store_url == normalised
    assert settings.base_url is None


@pytest.mark.parametrize(
    "store_url, complaint",
    [
        ("", "store_url"),
        ("example.com/shop", "store_url"),
        ("ftp://example.com", "http(s)"),
        ("https:///shop", "store_url"),
        ("https://example.com/shop?lang=en", "query"),
        ("https://example.com/shop?", "query"),
        ("https://example.com/#shop", "fragment"),
        ("https://admin:hunter2@example.com", "user name or password"),
        ("https://example.com/wp-json/wc/v3", "not a /wp-json"),
        ("https://example.com/shop/wp-json", "not a /wp-json"),
        ("https://example.com/wp-admin/", "not a /wp-json"),
        ("https://example.com/shop/../admin", "'..'"),
        ("https://exa mple.com", "without spaces"),
        ("https://example.com:99999", "store_url"),
        ("https://example.com\n", "without spaces"),
    ],
)
def test_store_url_rejects(store_url, complaint):
    with pytest.raises(ConfigurationError) as caught:
        settings_for(store_url)
    assert complaint in caught.value.message
    assert "hunter2" not in caught.value.message


@pytest.mark.parametrize(
    "credentials, settings, complaint",
    [
        ({"consumer_key": KEY, "consumer_secret": SECRET}, {}, "store_url"),
        ({"consumer_key": KEY, "consumer_secret": SECRET}, {"store_url": 5}, "store_url"),
        (
            {"consumer_key": KEY, "consumer_secret": SECRET},
            {"store_url": "https://example.com", "api_version": "wc/v3"},
            "api_version",
        ),
        (
            {"consumer_key": KEY, "consumer_secret": SECRET},
            {"store_url": "https://example.com", "base_url": "https://example.com/shop"},
            "base_url",
        ),
        ({"consumer_secret": SECRET}, {"store_url": "https://example.com"}, "consumer_key"),
        ({"consumer_key": "", "consumer_secret": SECRET}, {"store_url": "https://example.com"}, "required"),
        ({"consumer_key": KEY, "consumer_secret": ""}, {"store_url": "https://example.com"}, "required"),
        ({"consumer_key": SECRET, "consumer_secret": KEY}, {"store_url": "https://example.com"}, "swapped"),
        ({"consumer_key": KEY[3:], "consumer_secret": SECRET}, {"store_url": "https://example.com"}, "ck_"),
        ({"consumer_key": KEY, "consumer_secret": SECRET[3:]}, {"store_url": "https://example.com"}, "cs_"),
        ({"consumer_key": "ck_a:b", "consumer_secret": SECRET}, {"store_url": "https://example.com"}, "':'"),
        ({"consumer_key": KEY + " ", "consumer_secret": SECRET}, {"store_url": "https://example.com"}, "spaces"),
        (
            {"consumer_key": KEY, "consumer_secret": SECRET, "access_token": "x"},
            {"store_url": "https://example.com"},
            "access_token",
        ),
    ],
)
def test_config_errors(credentials, settings, complaint):
    with pytest.raises(ConfigurationError) as caught:
        WooCommerceProvider.parse_config(credentials, settings)
    assert complaint in caught.value.message
    assert KEY[3:] not in caught.value.message and SECRET[3:] not in caught.value.message


def test_any_ck_cs_shape_is_accepted():
    """The docs only show the prefixes (ck_xxxxxxxxxxxxxxxx), so the 40-hex
    body WooCommerce generates today is not required."""
    credentials, _ = WooCommerceProvider.parse_config(
        {"consumer_key": "ck_xxxxxxxxxxxxxxxx", "consumer_secret": "cs_xxxxxxxxxxxxxxxx"},
        {"store_url": "https://example.com"},
    )
    assert credentials.consumer_key == "ck_xxxxxxxxxxxxxxxx"


def test_origin_and_api_root():
    credentials, settings = WooCommerceProvider.parse_config(
        {"consumer_key": KEY, "consumer_secret": SECRET}, {"store_url": "https://example.com/shop/"}
    )
    provider = WooCommerceProvider(credentials, settings, None)
    assert provider.origin == "https://example.com"
    assert provider.api_root == "https://example.com/shop/wp-json/wc/v3"
    moved = provider_for("http://127.0.0.1:8080", None)  # base_url keeps the sub-directory
    assert moved.api_root == "http://127.0.0.1:8080/shop/wp-json/wc/v3"


# -- against the WooCommerce fake (tests/fakes/woocommerce.py) --------------------------
# Get one, wc_user_invalid_id as not found, another customer, the 429 page
# with Retry-After, 500/503, unparsable bodies and echoed keys: tests/contract/.


def documented_shop(*customers: dict[str, Any], prefix: str = "/shop") -> WooCommerceFake:
    """A WordPress site at ``prefix`` holding these customers (the documented 25 by default)."""
    return WooCommerceFake(list(customers) or [fixture("customer.json")], prefix=prefix)


async def test_get_customer_in_a_sub_directory(upstream_client):
    shop = documented_shop()
    async with shop.serve() as origin:
        raw, customer = await shop.make_provider(origin, upstream_client).get_customer("25")
    (sent,) = shop.requests
    assert sent.method == "GET"
    assert sent.path == "/shop/wp-json/wc/v3/customers/25"
    assert dict(sent.query) == {}
    assert sent.headers["Authorization"] == EXPECTED_AUTH
    assert sent.headers["Accept"] == "application/json"
    assert raw == fixture("customer.json")
    assert customer.id == "25" and customer.email == "john.doe@example.com"


async def test_get_customer_at_the_site_root(upstream_client):
    shop = documented_shop(prefix="")
    async with shop.serve() as origin:
        await shop.make_provider(origin, upstream_client, store_url="https://example.com/").get_customer("25")
    assert shop.requests[0].path == "/wp-json/wc/v3/customers/25"


async def test_meta_data_stays_in_the_raw_payload(upstream_client):
    """Tenants map custom fields from remote_data with JMESPath."""
    body = copy.deepcopy(fixture("customer.recorded.json"))
    body["meta_data"].append({"id": 35, "key": "fav_dish", "value": "pierogi"})
    shop = documented_shop(body)
    async with shop.serve() as origin:
        raw, _ = await shop.make_provider(origin, upstream_client).get_customer("2")
    assert raw["meta_data"] == [
        {"id": 34, "key": "default_password_nag", "value": "1"},
        {"id": 35, "key": "fav_dish", "value": "pierogi"},
    ]
    assert jmespath.search("meta_data[?key=='fav_dish'].value | [0]", raw) == "pierogi"


async def test_remote_query_is_forwarded(upstream_client):
    shop = documented_shop()
    async with shop.serve() as origin:
        await shop.make_provider(origin, upstream_client).get_customer("25", {"_locale": "user"})
    assert dict(shop.requests[0].query) == {"_locale": "user"}
    denied = WooCommerceProvider.remote_query_denied
    assert {"_fields", "context", "consumer_key", "consumer_secret", "oauth_nonce", "rest_route",
            "_envelope", "_jsonp", "per_page", "offset", "orderby"} <= denied


@pytest.mark.parametrize("name", ["error-404.invalid-id.json", "error-404.term-invalid.json"])
async def test_older_wordpress_404s_are_not_found(upstream_client, name):
    shop = documented_shop()
    body = fixture(name)
    shop.answer(404, body, times=None)
    async with shop.serve() as origin:
        with pytest.raises(CustomerNotFound) as caught:
            await shop.make_provider(origin, upstream_client).get_customer("999")
    assert caught.value.remote_status == 404
    assert body["code"] in caught.value.message
    assert len(shop.requests) == 1


async def test_missing_route_is_a_bad_response_not_a_missing_customer(upstream_client):
    shop = documented_shop()
    shop.answer(404, fixture("error-404.no-route.json"), times=None)
    async with shop.serve() as origin:
        with pytest.raises(ProviderBadResponse) as caught:
            await shop.make_provider(origin, upstream_client).get_customer("25")
    assert caught.value.remote_status == 404
    assert "permalinks" in caught.value.message and "store_url" in caught.value.message
    assert "rest_no_route" in caught.value.message


async def test_wrong_sub_directory_html_404_is_a_bad_response(upstream_client):
    """Only /shop serves WooCommerce; a store_url without it reaches a plain 404 page."""
    shop = documented_shop()
    async with shop.serve() as origin:
        with pytest.raises(ProviderBadResponse) as caught:
            await shop.make_provider(origin, upstream_client, store_url="https://example.com").get_customer("25")
    assert shop.requests[0].path == "/wp-json/wc/v3/customers/25"
    assert caught.value.remote_status == 404
    assert "store_url" in caught.value.message


@pytest.mark.parametrize(
    "customer_id",
    ["abc", "12a", "0", "007", "-1", "1.5", "", " 1", "1,2", "25/../26", "9223372036854775808"],
)
async def test_malformed_id_is_not_found_without_a_call(upstream_client, customer_id):
    shop = documented_shop()
    async with shop.serve() as origin:
        with pytest.raises(CustomerNotFound):
            await shop.make_provider(origin, upstream_client).get_customer(customer_id)
    assert shop.requests == []


async def test_largest_id_is_looked_up(upstream_client):
    shop = documented_shop()
    async with shop.serve() as origin:
        with pytest.raises(CustomerNotFound):
            await shop.make_provider(origin, upstream_client).get_customer("9223372036854775807")
    assert shop.requests[0].path.endswith("/customers/9223372036854775807")


@pytest.mark.parametrize(
    "name, phrase",
    [
        ("error-401.consumer-key-invalid.json", "Consumer key is invalid."),
        ("error-401.recorded-signature.json", "Signature non valide"),
        ("error-401.cannot-view.json", "Authorization header"),
    ],
)
async def test_401_is_auth_failed(upstream_client, name, phrase):
    shop = documented_shop()
    shop.answer(401, fixture(name), times=None)
    async with shop.serve() as origin:
        with pytest.raises(ProviderAuthFailed) as caught:
            await shop.make_provider(origin, upstream_client).get_customer("25")
    assert caught.value.remote_status == 401
    assert phrase in caught.value.message
    assert KEY not in caught.value.message and SECRET not in caught.value.message
    assert len(shop.requests) == 1  # never retried


async def test_403_cannot_view_is_auth_failed(upstream_client):
    """rest_authorization_required_code() is 403 once a user is logged in."""
    shop = documented_shop()
    body = fixture("error-401.cannot-view.json")
    body["data"]["status"] = 403
    shop.answer(403, body, times=None)
    async with shop.serve() as origin:
        with pytest.raises(ProviderAuthFailed) as caught:
            await shop.make_provider(origin, upstream_client).get_customer("25")
    assert caught.value.remote_status == 403
    assert "Shop Manager" in caught.value.message


async def test_401_html_page_is_auth_failed(upstream_client):
    shop = documented_shop()
    shop.answer(401, text="<html><body>401 Authorization Required</body></html>", times=None)
    async with shop.serve() as origin:
        with pytest.raises(ProviderAuthFailed):
            await shop.make_provider(origin, upstream_client).get_customer("25")


async def test_403_html_page_is_a_host_block(upstream_client):
    shop = documented_shop()
    shop.answer(403, text="<html><title>403 Forbidden</title></html>", content_type="text/html", times=None)
    async with shop.serve() as origin:
        with pytest.raises(ProviderBadResponse) as caught:
            await shop.make_provider(origin, upstream_client).get_customer("25")
    assert caught.value.remote_status == 403
    assert "firewall" in caught.value.message


async def test_429_without_retry_after(upstream_client):
    shop = documented_shop()
    shop.answer(429, text="slow down", times=None)
    async with shop.serve() as origin:
        # One attempt: the 429 comes straight back, not after a retry's sleep
        # (a tight deadline did the same but failed on a loaded machine).
        provider = shop.make_provider(origin, upstream_client)
        provider.retry_policy = RetryPolicy(max_attempts=1)
        with pytest.raises(ProviderRateLimited) as caught:
            await provider.get_customer("25")
    assert caught.value.retry_after is None


async def test_400_is_a_bad_response(upstream_client):
    shop = documented_shop()
    body = {"code": "rest_invalid_param", "message": "Invalid parameter(s): context", "data": {"status": 400}}
    shop.answer(400, body, times=None)
    async with shop.serve() as origin:
        with pytest.raises(ProviderBadResponse) as caught:
            await shop.make_provider(origin, upstream_client).get_customer("25")
    assert "rest_invalid_param" in caught.value.message


@pytest.mark.parametrize(
    "body",
    [
        [fixture("customer.json")],
        "25",
        {"code": "x", "message": "y"},  # no id
        {**fixture("customer.json"), "shipping": "none"},
    ],
)
async def test_unexpected_shapes_are_bad_responses(upstream_client, body):
    shop = documented_shop()
    shop.answer(200, body, times=None)
    async with shop.serve() as origin:
        with pytest.raises(ProviderBadResponse):
            await shop.make_provider(origin, upstream_client).get_customer("25")


async def test_json_after_a_byte_order_mark_is_read(upstream_client):
    shop = documented_shop()
    shop.alter(lambda answer: web.Response(body=b"\xef\xbb\xbf" + answer.body, content_type="application/json"))
    async with shop.serve() as origin:
        raw, customer = await shop.make_provider(origin, upstream_client).get_customer("25")
    assert raw == fixture("customer.json") and customer.id == "25"


@pytest.mark.parametrize(
    "store_url, base_url",
    [("http://shop.example.com/shop", None), ("https://shop.example.com/shop", "http://shop.example.com")],
)
async def test_plain_http_is_refused_by_default(store_url, base_url):
    """Basic auth would travel in clear text: the default policy refuses it
    before any connection is attempted."""
    policy = UpstreamPolicy()  # allow_private_networks=False
    session = create_session(policy)
    try:
        settings = {"store_url": store_url} | ({"base_url": base_url} if base_url else {})
        credentials, settings = WooCommerceProvider.parse_config(
            {"consumer_key": KEY, "consumer_secret": SECRET}, settings
        )
        provider = WooCommerceProvider(credentials, settings, UpstreamClient(session, policy))
        with pytest.raises(UpstreamBlocked) as caught:
            await provider.get_customer("25")
        with pytest.raises(UpstreamBlocked):
            await provider.verify()
    finally:
        await session.close()
    assert SECRET not in caught.value.message


async def test_verify_reads_one_customer(upstream_client):
    shop = documented_shop(*fixture("customers-list.json"))
    async with shop.serve() as origin:
        await shop.make_provider(origin, upstream_client).verify()
    (sent,) = shop.requests
    assert (sent.method, sent.path, dict(sent.query)) == ("GET", SHOP_PATH, {"per_page": "1"})
    assert sent.headers["Authorization"] == EXPECTED_AUTH


async def test_verify_accepts_an_empty_store(upstream_client):
    shop = WooCommerceFake([])
    async with shop.serve() as origin:
        await shop.make_provider(origin, upstream_client).verify()


@pytest.mark.parametrize(
    "status, name, error",
    [
        (401, "error-401.cannot-view.json", ProviderAuthFailed),
        (404, "error-404.no-route.json", ProviderBadResponse),
        (404, "error-404.term-invalid.json", ProviderBadResponse),  # the collection cannot be missing
    ],
)
async def test_verify_errors(upstream_client, status, name, error):
    shop = documented_shop()
    shop.answer(status, fixture(name), times=None)
    async with shop.serve() as origin:
        with pytest.raises(error) as caught:
            await shop.make_provider(origin, upstream_client).verify()
    assert not isinstance(caught.value, CustomerNotFound)


@pytest.mark.parametrize(
    "kwargs", [{"body": fixture("customer.json")}, {"body": [1, 2]}, {"text": "<html></html>"}]
)
async def test_verify_needs_a_list(upstream_client, kwargs):
    shop = documented_shop()
    shop.answer(times=None, **kwargs)
    async with shop.serve() as origin:
        with pytest.raises(ProviderBadResponse):
            await shop.make_provider(origin, upstream_client).verify()


async def test_list_walks_offsets(upstream_client):
    shop = documented_shop(*fixture("customers-list.json"), fixture("customer.recorded.json"))  # ids 26, 25, 2
    async with shop.serve() as origin:
        provider = shop.make_provider(origin, upstream_client)
        one = await provider.list_page(PageRequest(limit=2))
        two = await provider.list_page(PageRequest(limit=2, state=one.next))
        back = await provider.list_page(PageRequest(limit=2, state=two.prev))
    assert [c.id for c in one.customers] == ["2", "25"]
    assert one.next == {"offset": 2} and one.prev is None
    assert [c.id for c in two.customers] == ["26"]
    assert two.next is None and two.prev == {"offset": 0}
    assert [c.id for c in back.customers] == ["2", "25"]
    assert [dict(r.query) for r in shop.requests] == [
        {"per_page": "2", "orderby": "id", "order": "asc"},
        {"per_page": "2", "orderby": "id", "order": "asc", "offset": "2"},
        {"per_page": "2", "orderby": "id", "order": "asc"},
    ]
    assert all(r.path == SHOP_PATH and r.headers["Authorization"] == EXPECTED_AUTH for r in shop.requests)
    assert one.raws[0] == fixture("customer.recorded.json")


async def test_list_exact_last_page_has_no_next(upstream_client):
    shop = documented_shop(*fixture("customers-list.json"))
    async with shop.serve() as origin:
        page = await shop.make_provider(origin, upstream_client).list_page(PageRequest(limit=2))
    assert [c.id for c in page.customers] == ["25", "26"]
    assert page.next is None


async def test_list_without_total_header_guesses_from_a_full_page(upstream_client):
    shop = documented_shop(*fixture("customers-list.json"))

    def without_totals(answer: web.Response) -> web.Response:
        return web.Response(body=answer.body, content_type="application/json")

    shop.alter(without_totals, times=None)
    async with shop.serve() as origin:
        provider = shop.make_provider(origin, upstream_client)
        full = await provider.list_page(PageRequest(limit=2))
        empty = await provider.list_page(PageRequest(limit=2, state=full.next))
    assert full.next == {"offset": 2}
    assert empty.customers == [] and empty.next is None and empty.prev == {"offset": 0}


async def test_list_forwards_remote_query(upstream_client):
    shop = WooCommerceFake([])
    async with shop.serve() as origin:
        await shop.make_provider(origin, upstream_client).list_page(
            PageRequest(limit=50, query={"role": "all", "search": "doe"})
        )
    assert dict(shop.requests[0].query) == {
        "role": "all", "search": "doe", "per_page": "50", "orderby": "id", "order": "asc",
    }


async def test_redirect_to_another_origin_is_refused_and_gets_no_credentials(upstream_client):
    """WordPress redirects to its canonical site URL (www, https); the key
    must not follow it to another origin."""
    elsewhere, shop = documented_shop(), documented_shop()
    async with elsewhere.serve() as other:

        async def moved(request: web.Request) -> web.Response:
            raise web.HTTPMovedPermanently(location=other + request.path)

        shop.answer_with(moved, times=None)
        async with shop.serve() as origin:
            with pytest.raises(ProviderBadResponse, match="another origin"):
                await shop.make_provider(origin, upstream_client).get_customer("25")
    assert len(shop.requests) == 1
    assert elsewhere.requests == []
