"""Shopify: golden mappings from Shopify's documented GraphQL examples, and the
provider against a real local upstream speaking the GraphQL Admin dialect."""

from __future__ import annotations

import base64
import copy
import json
from typing import Any

import msgspec
import pytest
from aiohttp import web

from providers import calls
from providers.base import PageRequest
from providers.errors import (
    ConfigurationError,
    CustomerNotFound,
    ProviderAuthFailed,
    ProviderBadResponse,
    ProviderRateLimited,
    ProviderUnavailable,
)
from providers.models import Address, Customer, Email, Phone
from providers.shopify import (
    CUSTOMER_QUERY,
    LIST_BACKWARD_QUERY,
    LIST_FORWARD_QUERY,
    LIST_PAGE_SIZE,
    VERIFY_QUERY,
    ShopifyProvider,
)
from tests.support import Recorder, load_fixture, reply, serve

TOKEN = "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"  # the documented shpat_ + 32 hex shape
SHOP = "your-development-store"
GRAPHQL_PATH = "/admin/api/2026-10/graphql.json"


def fixture(name: str) -> Any:
    return load_fixture("shopify", name)


def provider_for(origin: str, client: Any, **settings: Any) -> ShopifyProvider:
    credentials, parsed = ShopifyProvider.parse_config(
        {"access_token": TOKEN}, {"shop": SHOP, "base_url": origin, **settings}
    )
    return ShopifyProvider(credentials, parsed, client)


def graphql_app(handler: Any, recorder: Recorder, path: str = GRAPHQL_PATH) -> web.Application:
    app = recorder.app()
    app.router.add_post(path, handler)
    return app


def sent(recorder: Recorder, index: int = 0) -> dict[str, Any]:
    return json.loads(recorder.bodies[index])


# -- golden mappings -----------------------------------------------------------


def test_map_full_customer_default_address_first():
    raw = fixture("customer.json")["data"]["customer"]
    assert ShopifyProvider.map_customer(raw) == Customer(
        id="544365967",
        remote_id="544365967",
        email="bob@example.com",
        first_name="Bob",
        last_name="Bobsen",
        name="Bob Bobsen",  # displayName
        company_name="Fancy Co.",  # the default address's company
        phone_number="+13125551212",
        status=None,  # state ENABLED is the login account, not a customer status
        currency="USD",
        emails=[Email(email="bob@example.com", type=None, is_primary=True)],
        phones=[Phone(number="+13125551212", extension=None, type=None, is_primary=True)],
        addresses=[
            Address(  # the default, second in addressesV2, comes first
                id="1053317323",
                street_1="1 Rue des Carrieres",
                street_2="Suite 1234",
                city="Montreal",
                state="QC",
                postal_code="G1R 4P5",
                country="CA",
                address_type=None,
                owner_type="customer",
            ),
            Address(
                id="544365967",
                street_1="123 Amoebobacterieae St",
                street_2=None,
                city="Ottawa",
                state="ON",
                postal_code="K2P0V6",
                country="CA",
                address_type=None,
                owner_type="customer",
            ),
        ],
        field_mappings={},
        remote_data=None,
        created_at="2005-06-15T15:57:11Z",
        modified_at="2005-06-16T15:57:11Z",
    )


def test_map_customer_with_phone_only_and_empty_strings():
    raw = fixture("customer-sparse.json")["data"]["customer"]
    assert ShopifyProvider.map_customer(raw) == Customer(
        id="317070273",
        remote_id="317070273",
        email=None,  # defaultEmailAddress: null
        first_name="Bob",
        last_name="Norman",
        name="Bob Norman",
        company_name=None,
        phone_number="+16134504538",
        status=None,  # DISABLED
        currency="USD",
        emails=[],
        phones=[Phone(number="+16134504538", extension=None, type=None, is_primary=True)],
        addresses=[
            Address(
                id="317070273",
                street_1="Chestnut Street 92",
                street_2=None,  # ""
                city="Louisville",
                state="KY",
                postal_code="40202",
                country="US",
                address_type=None,
                owner_type="customer",
            )
        ],
        field_mappings={},
        remote_data=None,
        created_at="2025-04-15T19:26:33Z",
        modified_at="2025-04-15T19:26:33Z",
    )


def test_map_customer_without_contact_details_or_addresses():
    raw = fixture("customer-no-contact.json")["data"]["customer"]
    assert ShopifyProvider.map_customer(raw) == Customer(
        id="305367469",
        remote_id="305367469",
        email=None,
        first_name="Test",
        last_name="Customer",
        name="Test Customer",
        company_name=None,  # defaultAddress: null
        phone_number=None,
        status=None,
        currency="USD",
        emails=[],
        phones=[],
        addresses=[],
        created_at="2025-04-15T19:26:33Z",
        modified_at="2025-04-15T19:26:33Z",
    )


def test_map_falls_back_to_gid_number_and_first_last_and_normalises_offsets():
    raw = copy.deepcopy(fixture("customer-sparse.json")["data"]["customer"])
    del raw["legacyResourceId"], raw["displayName"]
    raw["createdAt"] = "2025-04-15T14:26:33-05:00"
    raw["updatedAt"] = "2025-04-15T19:26:33.120+00:00"
    customer = ShopifyProvider.map_customer(raw)
    assert (customer.id, customer.remote_id) == ("317070273", "317070273")
    assert customer.name == "Bob Norman"
    assert (customer.created_at, customer.modified_at) == (
        "2025-04-15T19:26:33Z",
        "2025-04-15T19:26:33.120Z",
    )


def test_map_default_address_beyond_the_first_page_is_added_first():
    raw = copy.deepcopy(fixture("customer.json")["data"]["customer"])
    default = raw["addressesV2"]["nodes"].pop(1)  # Montreal, the default
    assert raw["defaultAddress"] == default
    addresses = ShopifyProvider.map_customer(raw).addresses
    assert [a.id for a in addresses] == ["1053317323", "544365967"]


def test_map_address_fallbacks_and_empty_address_dropped():
    raw = copy.deepcopy(fixture("customer-sparse.json")["data"]["customer"])
    node = raw["addressesV2"]["nodes"][0]
    node["provinceCode"], node["countryCodeV2"] = None, None  # province "KY", country "US" remain
    empty = {key: ("" if key != "id" else None) for key in node}
    empty["id"] = "gid://shopify/MailingAddress/1?model_name=CustomerAddress"
    raw["addressesV2"]["nodes"].append(empty)
    addresses = ShopifyProvider.map_customer(raw).addresses
    assert [(a.id, a.state, a.country) for a in addresses] == [("317070273", "KY", "US")]


def test_map_accepts_the_documented_edges_shape():
    raw = copy.deepcopy(fixture("customer.json")["data"]["customer"])
    raw["addressesV2"] = {"edges": [{"node": n} for n in raw["addressesV2"]["nodes"]]}
    assert ShopifyProvider.map_customer(raw) == ShopifyProvider.map_customer(
        fixture("customer.json")["data"]["customer"]
    )


def test_map_without_any_id_is_refused():
    raw = copy.deepcopy(fixture("customer.json")["data"]["customer"])
    del raw["legacyResourceId"]
    raw["id"] = "gid://shopify/Customer/abc"
    with pytest.raises(ValueError):
        ShopifyProvider.map_customer(raw)


# -- settings and credentials ----------------------------------------------------


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("my-store", "my-store"),
        ("my-store.myshopify.com", "my-store"),
        ("My-Store.MyShopify.com", "my-store"),
        ("  shop42  ", "shop42"),
    ],
)
def test_shop_is_normalised_to_the_bare_name(given, stored):
    credentials, settings = ShopifyProvider.parse_config({"access_token": TOKEN}, {"shop": given})
    assert settings.shop == stored
    assert settings.api_version == "2026-10"
    provider = ShopifyProvider(credentials, settings, None)
    assert provider.endpoint == f"https://{stored}.myshopify.com/admin/api/2026-10/graphql.json"


@pytest.mark.parametrize(
    "shop",
    [
        "",
        "https://my-store.myshopify.com",
        "my-store.myshopify.com/admin",
        "shop.example.com",  # a custom domain does not serve the Admin API
        "my_store",
        "-store",
        "store-",
        "my store",
        "a" * 64,
    ],
)
def test_bad_shop_is_a_configuration_error(shop):
    with pytest.raises(ConfigurationError, match="shop"):
        ShopifyProvider.parse_config({"access_token": TOKEN}, {"shop": shop})


@pytest.mark.parametrize("version", ["2026-10", "2025-04", "2027-01", "unstable"])
def test_api_version_is_configurable(version):
    settings = {"shop": SHOP, "api_version": version}
    credentials, parsed = ShopifyProvider.parse_config({"access_token": TOKEN}, settings)
    provider = ShopifyProvider(credentials, parsed, None)
    assert provider.endpoint.endswith(f"/admin/api/{version}/graphql.json")


@pytest.mark.parametrize("version", ["2026-11", "2026-1", "26-10", "latest", "", "2026-10/../x"])
def test_bad_api_version_is_a_configuration_error(version):
    with pytest.raises(ConfigurationError, match="api_version"):
        ShopifyProvider.parse_config(
            {"access_token": TOKEN}, {"shop": SHOP, "api_version": version}
        )


@pytest.mark.parametrize(
    ("credentials", "settings"),
    [
        ({"access_token": ""}, {"shop": SHOP}),
        ({"access_token": "shpat_ab cd"}, {"shop": SHOP}),
        ({"access_token": TOKEN, "api_key": "x"}, {"shop": SHOP}),
        ({}, {"shop": SHOP}),
        ({"access_token": TOKEN}, {}),
        ({"access_token": TOKEN}, {"shop": SHOP, "store_hash": "x"}),
        ({"access_token": TOKEN}, {"shop": SHOP, "base_url": "https://example.com/admin"}),
    ],
)
def test_bad_config_is_refused(credentials, settings):
    with pytest.raises(ConfigurationError):
        ShopifyProvider.parse_config(credentials, settings)


def test_credentials_never_print_the_token():
    credentials, _ = ShopifyProvider.parse_config({"access_token": TOKEN}, {"shop": SHOP})
    assert TOKEN not in repr(credentials)


# -- requests against a local upstream ----------------------------------------------


async def test_get_customer_request_shape_and_raw_payload(upstream_client):
    recorder = Recorder()
    body = fixture("customer.json")
    async with serve(graphql_app(reply(body), recorder)) as origin:
        raw, customer = await provider_for(origin, upstream_client).get_customer("544365967")
    assert raw == body["data"]["customer"]  # remote_data keeps metafields
    assert raw["metafields"]["nodes"][0]["value"] == "rob"
    assert customer.id == "544365967" and customer.addresses[0].id == "1053317323"
    (request,) = recorder.requests
    assert request.method == "POST"
    assert request.path == GRAPHQL_PATH and request.query_string == ""
    assert request.headers["X-Shopify-Access-Token"] == TOKEN
    assert request.headers["Content-Type"] == "application/json"
    assert "Authorization" not in request.headers
    assert sent(recorder) == {
        "query": CUSTOMER_QUERY,
        "variables": {"id": "gid://shopify/Customer/544365967"},
    }


def test_customer_query_asks_for_every_documented_field():
    for field in (
        "legacyResourceId", "displayName", "state", "note", "tags", "verifiedEmail", "taxExempt",
        "defaultEmailAddress { emailAddress marketingState }",
        "defaultPhoneNumber { phoneNumber marketingState }",
        "amountSpent { amount currencyCode }",
        "addressesV2(first: 50) { nodes { ...AddressFields } }",
        "metafields(first: 50) { nodes { namespace key value type } }",
        "provinceCode", "countryCodeV2", "company",
    ):
        assert field in CUSTOMER_QUERY


async def test_api_version_and_base_url_shape_the_path(upstream_client):
    recorder = Recorder()
    path = "/admin/api/2025-04/graphql.json"
    async with serve(graphql_app(reply(fixture("customer.json")), recorder, path)) as origin:
        await provider_for(origin, upstream_client, api_version="2025-04").get_customer("544365967")
    assert recorder.requests[0].path == path


async def test_null_customer_is_not_found(upstream_client):
    recorder = Recorder()
    async with serve(graphql_app(reply(fixture("customer-not-found.json")), recorder)) as origin:
        with pytest.raises(CustomerNotFound):
            await provider_for(origin, upstream_client).get_customer("999")
    assert len(recorder.requests) == 1


@pytest.mark.parametrize(
    "customer_id",
    ["abc", "0", "-1", "12.5", "544365967a", str(2**64), "gid://shopify/Customer/1", ""],
)
async def test_malformed_id_is_not_found_without_a_call(upstream_client, customer_id):
    recorder = Recorder()
    async with serve(graphql_app(reply(fixture("customer.json")), recorder)) as origin:
        with pytest.raises(CustomerNotFound):
            await provider_for(origin, upstream_client).get_customer(customer_id)
    assert recorder.requests == []


async def test_largest_unsigned_int64_id_is_looked_up(upstream_client):
    recorder = Recorder()
    async with serve(graphql_app(reply(fixture("customer-not-found.json")), recorder)) as origin:
        with pytest.raises(CustomerNotFound):
            await provider_for(origin, upstream_client).get_customer(str(2**64 - 1))
    assert sent(recorder)["variables"] == {"id": f"gid://shopify/Customer/{2**64 - 1}"}


async def test_another_customer_than_asked_is_refused(upstream_client):
    recorder = Recorder()
    async with serve(graphql_app(reply(fixture("customer-sparse.json")), recorder)) as origin:
        with pytest.raises(ProviderBadResponse, match="another customer"):
            await provider_for(origin, upstream_client).get_customer("544365967")


@pytest.mark.parametrize("status", [401, 403])
async def test_rejected_token_is_auth_failed(upstream_client, status):
    recorder = Recorder()
    app = graphql_app(reply(fixture("error-401.json"), status=status), recorder)
    async with serve(app) as origin:
        with pytest.raises(ProviderAuthFailed) as caught:
            await provider_for(origin, upstream_client).get_customer("544365967")
    assert caught.value.remote_status == status
    assert "Invalid API key or access token" in caught.value.message
    assert len(recorder.requests) == 1  # never retried


async def test_an_error_echoing_the_token_is_scrubbed(upstream_client):
    recorder = Recorder()
    body = {"errors": f"[API] Invalid API key or access token {TOKEN}"}
    async with serve(graphql_app(reply(body, status=401), recorder)) as origin:
        with pytest.raises(ProviderAuthFailed) as caught:
            await provider_for(origin, upstream_client).get_customer("544365967")
    assert TOKEN not in caught.value.message and "[redacted]" in caught.value.message


async def test_throttled_is_rate_limited_with_the_bucket_wait(upstream_client):
    recorder = Recorder()
    async with serve(graphql_app(reply(fixture("error-throttled.json")), recorder)) as origin:
        calls.begin(timeout=1.0)  # 1.72 s does not fit: surface it, no sleep
        with pytest.raises(ProviderRateLimited) as caught:
            await provider_for(origin, upstream_client).get_customer("544365967")
    # (requestedQueryCost 752 - currentlyAvailable 666) / restoreRate 50
    assert caught.value.retry_after == pytest.approx(1.72)
    assert caught.value.remote_status == 200
    assert len(recorder.requests) == 1


async def test_throttled_without_requested_cost_waits_for_our_query_cost(upstream_client):
    recorder = Recorder()
    body = copy.deepcopy(fixture("error-throttled.json"))
    del body["extensions"]["cost"]["requestedQueryCost"]
    async with serve(graphql_app(reply(body), recorder)) as origin:
        with pytest.raises(ProviderRateLimited) as caught:
            await provider_for(origin, upstream_client).fetch_customer("544365967")
    assert caught.value.retry_after == pytest.approx(1 / 50)  # 109 points < 666 available


async def test_throttled_then_served_is_retried(upstream_client):
    recorder = Recorder()
    throttled = copy.deepcopy(fixture("error-throttled.json"))
    throttled["extensions"]["cost"]["requestedQueryCost"] = 667  # one point short: 0.02 s
    answers = [throttled, fixture("customer.json")]

    async def handler(request: web.Request) -> web.Response:
        return web.json_response(answers.pop(0))

    async with serve(graphql_app(handler, recorder)) as origin:
        calls.begin(timeout=5.0)
        raw, _ = await provider_for(origin, upstream_client).get_customer("544365967")
    assert raw["legacyResourceId"] == "544365967"
    assert len(recorder.requests) == 2


async def test_access_denied_wins_over_null_customer(upstream_client):
    recorder = Recorder()
    async with serve(graphql_app(reply(fixture("error-access-denied.json")), recorder)) as origin:
        with pytest.raises(ProviderAuthFailed) as caught:
            await provider_for(origin, upstream_client).get_customer("544365967")
    assert "ACCESS_DENIED" in caught.value.message
    assert "protected customer data" in caught.value.message
    assert len(recorder.requests) == 1


@pytest.mark.parametrize(
    ("code", "error"),
    [
        ("SHOP_INACTIVE", ProviderUnavailable),
        ("INTERNAL_SERVER_ERROR", ProviderUnavailable),
        ("MAX_COST_EXCEEDED", ProviderBadResponse),
        (None, ProviderBadResponse),  # a parse error carries no code
    ],
)
async def test_other_graphql_errors(upstream_client, code, error):
    recorder = Recorder()
    body = copy.deepcopy(fixture("error-access-denied.json"))
    body["errors"][0]["message"] = "Query failed"
    if code is None:
        del body["errors"][0]["extensions"]
    else:
        body["errors"][0]["extensions"]["code"] = code
    async with serve(graphql_app(reply(body), recorder)) as origin:
        with pytest.raises(error) as caught:
            await provider_for(origin, upstream_client).fetch_customer("544365967")
    assert type(caught.value) is error
    assert "Query failed" in caught.value.message


@pytest.mark.parametrize(
    ("headers", "expected"),
    [({"Retry-After": "2.0"}, 2.0), ({}, 1.72)],  # header, else the body's bucket
)
async def test_http_429_carries_the_wait(upstream_client, headers, expected):
    recorder = Recorder()
    app = graphql_app(reply(fixture("error-throttled.json"), status=429, headers=headers), recorder)
    async with serve(app) as origin:
        calls.begin(timeout=1.0)
        with pytest.raises(ProviderRateLimited) as caught:
            await provider_for(origin, upstream_client).get_customer("544365967")
    assert caught.value.retry_after == pytest.approx(expected)
    assert caught.value.remote_status == 429


@pytest.mark.parametrize(("status", "attempts"), [(500, 1), (503, 3), (402, 1), (423, 1)])
async def test_unavailable_shop_or_platform(upstream_client, status, attempts):
    recorder = Recorder()
    app = graphql_app(reply({"errors": "Unavailable Shop"}, status=status), recorder)
    async with serve(app) as origin:
        with pytest.raises(ProviderUnavailable) as caught:
            await provider_for(origin, upstream_client).get_customer("544365967")
    assert caught.value.remote_status == status
    assert len(recorder.requests) == attempts  # 503 is retried by the shared policy


async def test_404_means_wrong_shop_or_version_not_a_missing_customer(upstream_client):
    recorder = Recorder()
    async with serve(graphql_app(reply(fixture("error-404.json"), status=404), recorder)) as origin:
        with pytest.raises(ProviderBadResponse, match="check shop and api_version") as caught:
            await provider_for(origin, upstream_client).get_customer("544365967")
    assert caught.value.remote_status == 404


async def test_400_is_a_bad_response(upstream_client):
    recorder = Recorder()
    body = {"errors": {"query": "Required parameter missing or invalid"}}
    async with serve(graphql_app(reply(body, status=400), recorder)) as origin:
        with pytest.raises(ProviderBadResponse):
            await provider_for(origin, upstream_client).get_customer("544365967")


@pytest.mark.parametrize(
    "handler",
    [
        reply(text="<html>Shopify</html>", content_type="text/html"),
        reply([fixture("customer.json")]),
        reply({"data": None}),
        reply({"data": {}}),
        reply({"data": {"customer": "544365967"}}),
        reply({"errors": "Not Found"}),
    ],
)
async def test_unexpected_bodies_are_bad_responses(upstream_client, handler):
    recorder = Recorder()
    async with serve(graphql_app(handler, recorder)) as origin:
        with pytest.raises(ProviderBadResponse):
            await provider_for(origin, upstream_client).get_customer("544365967")


async def test_cost_bucket_is_recorded_as_the_rate_limit(upstream_client):
    recorder = Recorder()
    body = copy.deepcopy(fixture("customer.json"))
    body["extensions"] = fixture("error-access-denied.json")["extensions"]  # 4000/3990/200
    async with serve(graphql_app(reply(body), recorder)) as origin:
        record = calls.begin(timeout=5.0)
        await provider_for(origin, upstream_client).get_customer("544365967")
    assert record.rate_limit == calls.RateLimitState(limit=4000, remaining=3990)


# -- verify ----------------------------------------------------------------------


async def test_verify_sends_the_cheap_shop_query(upstream_client):
    recorder = Recorder()
    async with serve(graphql_app(reply(fixture("shop.json")), recorder)) as origin:
        await provider_for(origin, upstream_client).verify()
    assert sent(recorder) == {"query": VERIFY_QUERY, "variables": {}}
    assert recorder.requests[0].headers["X-Shopify-Access-Token"] == TOKEN


@pytest.mark.parametrize(
    ("status", "body", "error"),
    [
        (401, "error-401.json", ProviderAuthFailed),
        (404, "error-404.json", ProviderBadResponse),
        (200, "error-access-denied.json", ProviderAuthFailed),
    ],
)
async def test_verify_classifies_failures(upstream_client, status, body, error):
    recorder = Recorder()
    async with serve(graphql_app(reply(fixture(body), status=status), recorder)) as origin:
        with pytest.raises(error):
            await provider_for(origin, upstream_client).verify()


# -- list --------------------------------------------------------------------------

# The ids of Shopify's `customers` nodes example, in id order (the default sort).
LIST_IDS = [
    56501169, 105906728, 305367469, 317070273, 324586928, 352184960, 408913340,
    529223679, 544365967, 554122808, 554456816, 567375318, 624407574, 649400230,
]


def list_node(number: int) -> dict[str, Any]:
    node = copy.deepcopy(fixture("customer-sparse.json")["data"]["customer"])
    node["id"], node["legacyResourceId"] = f"gid://shopify/Customer/{number}", str(number)
    return node


def cursor_of(number: int) -> str:
    # Shopify's cursors base64-encode {"last_id":N,"last_value":"N"} (documented example).
    raw = json.dumps({"last_id": number, "last_value": str(number)}, separators=(",", ":"))
    return base64.b64encode(raw.encode()).decode()


def customers_connection(recorder_queries: list[dict[str, Any]]):
    """customers(first/after | last/before) over LIST_IDS with a full pageInfo."""

    async def handler(request: web.Request) -> web.Response:
        payload = await request.json()
        recorder_queries.append(payload)
        n, cursor = payload["variables"]["n"], payload["variables"]["cursor"]
        pivot = json.loads(base64.b64decode(cursor))["last_id"] if cursor else None
        if payload["query"] == LIST_FORWARD_QUERY:
            rest = [i for i in LIST_IDS if pivot is None or i > pivot]
            chunk = rest[:n]
        else:
            assert payload["query"] == LIST_BACKWARD_QUERY
            rest = [i for i in LIST_IDS if i < pivot]
            chunk = rest[-n:]
        info = {
            "hasNextPage": bool(chunk) and chunk[-1] != LIST_IDS[-1],
            "hasPreviousPage": bool(chunk) and chunk[0] != LIST_IDS[0],
            "startCursor": cursor_of(chunk[0]) if chunk else None,
            "endCursor": cursor_of(chunk[-1]) if chunk else None,
        }
        return web.json_response(
            {"data": {"customers": {"nodes": [list_node(i) for i in chunk], "pageInfo": info}}}
        )

    return handler


async def test_list_reads_provider_pages_until_the_limit(upstream_client):
    recorder, queries = Recorder(), []
    async with serve(graphql_app(customers_connection(queries), recorder)) as origin:
        provider = provider_for(origin, upstream_client)
        first = await provider.list_page(PageRequest(limit=12))
        second = await provider.list_page(PageRequest(limit=12, state=first.next))
        back = await provider.list_page(PageRequest(limit=12, state=second.prev))
    assert [c.id for c in first.customers] == [str(i) for i in LIST_IDS[:12]]
    assert [q["variables"]["n"] for q in queries[:2]] == [LIST_PAGE_SIZE, 12 - LIST_PAGE_SIZE]
    assert queries[0]["variables"]["cursor"] is None
    assert first.prev is None and first.next == {"after": cursor_of(LIST_IDS[11])}
    assert [c.id for c in second.customers] == [str(i) for i in LIST_IDS[12:]]
    assert second.next is None and second.prev == {"before": cursor_of(LIST_IDS[12])}
    assert [c.id for c in back.customers] == [str(i) for i in LIST_IDS[:12]]
    assert back.prev is None and back.next == {"after": cursor_of(LIST_IDS[11])}
    assert first.raws[0]["metafields"] == {"nodes": []}


async def test_list_backward_in_the_middle_keeps_both_directions(upstream_client):
    recorder, queries = Recorder(), []
    async with serve(graphql_app(customers_connection(queries), recorder)) as origin:
        page = await provider_for(origin, upstream_client).list_page(
            PageRequest(limit=3, state={"before": cursor_of(LIST_IDS[10])})
        )
    assert [c.id for c in page.customers] == [str(i) for i in LIST_IDS[7:10]]
    assert page.prev == {"before": cursor_of(LIST_IDS[7])}
    assert page.next == {"after": cursor_of(LIST_IDS[9])}
    assert queries[0]["query"] == LIST_BACKWARD_QUERY


async def test_list_ignores_a_malformed_state(upstream_client):
    recorder, queries = Recorder(), []
    async with serve(graphql_app(customers_connection(queries), recorder)) as origin:
        page = await provider_for(origin, upstream_client).list_page(
            PageRequest(limit=2, state={"after": 12})
        )
    assert queries[0]["variables"]["cursor"] is None
    assert [c.id for c in page.customers] == [str(i) for i in LIST_IDS[:2]]


async def test_list_without_page_info_is_a_bad_response(upstream_client):
    recorder = Recorder()
    body = {"data": {"customers": {"nodes": []}}}
    async with serve(graphql_app(reply(body), recorder)) as origin:
        with pytest.raises(ProviderBadResponse):
            await provider_for(origin, upstream_client).list_page(PageRequest(limit=5))


def test_list_page_fits_the_single_query_cost_limit():
    # 2 (connection) + 1 (pageInfo) + 9 customers * 109 points <= 1000
    assert 3 + LIST_PAGE_SIZE * 109 <= 1000 < 3 + (LIST_PAGE_SIZE + 1) * 109


def test_settings_round_trip_through_msgspec():
    _, settings = ShopifyProvider.parse_config(
        {"access_token": TOKEN}, {"shop": "My-Store.myshopify.com", "api_version": "unstable"}
    )
    assert msgspec.to_builtins(settings) == {
        "base_url": None,
        "shop": "my-store",
        "api_version": "unstable",
    }
