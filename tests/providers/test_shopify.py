"""Shopify: golden mappings from Shopify's documented GraphQL examples, and
what is Shopify's own against its fake (tests/fakes/shopify.py): the query
and its cost, GraphQL errors, the throttle bucket, 402/423/404, verify, and
paging by whole provider pages. What every provider shares is in
tests/contract/."""

from __future__ import annotations

import copy
import json
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
)
from providers.models import Address, Customer, Email, Phone
from providers.shopify import VERIFY_QUERY, ShopifyProvider, queries
from tests.fakes.shopify import GRAPHQL_PATH, TOKEN, ShopifyFake, cursor_of
from tests.support import load_fixture

# The operations of a connection whose field mappings read no metafields.
PLAIN = queries()
CUSTOMER_QUERY, LIST_FORWARD_QUERY, LIST_BACKWARD_QUERY = PLAIN.get, PLAIN.forward, PLAIN.backward
LIST_PAGE_SIZE = PLAIN.page_size  # 83

SHOP = "your-development-store"


def fixture(name: str) -> Any:
    return load_fixture("shopify", name)


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
        status="active",  # state ENABLED: the login account is in use
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
        status="inactive",  # DISABLED: no active login account
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
        status="inactive",  # DISABLED
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


# -- requests against the Shopify fake (tests/fakes/shopify.py) -----------------------
# Get one, not found, another customer, rejected token, THROTTLED, 500/503,
# bodies that do not parse and echoed secrets: tests/contract/.


def documented_shop() -> ShopifyFake:
    """A store holding the documented customer (544365967, Bob Bobsen)."""
    return ShopifyFake([fixture("customer.json")["data"]["customer"]])


def sent(shop: ShopifyFake, index: int = 0) -> dict[str, Any]:
    return json.loads(shop.bodies[index])


async def test_get_customer_request_shape_and_raw_payload(upstream_client):
    shop = documented_shop()
    async with shop.serve() as origin:
        raw, customer = await shop.make_provider(origin, upstream_client).get_customer("544365967")
    documented = fixture("customer.json")["data"]["customer"]
    # remote_data is the node as queried: no field mapping reads metafields, none are asked for.
    assert raw == {k: v for k, v in documented.items() if k != "metafields"}
    assert customer.id == "544365967" and customer.addresses[0].id == "1053317323"
    (request,) = shop.requests
    assert request.method == "POST"
    assert request.path == GRAPHQL_PATH and request.query_string == ""
    assert request.headers["X-Shopify-Access-Token"] == TOKEN
    assert request.headers["Content-Type"] == "application/json"
    assert "Authorization" not in request.headers
    assert sent(shop) == {
        "query": CUSTOMER_QUERY,
        "variables": {"id": "gid://shopify/Customer/544365967"},
    }


def test_customer_query_asks_for_every_documented_field():
    for field in (
        "legacyResourceId", "displayName", "state", "note", "tags", "verifiedEmail", "taxExempt",
        "defaultEmailAddress { emailAddress marketingState }",
        "defaultPhoneNumber { phoneNumber marketingState }",
        "amountSpent { amount currencyCode }",
        "defaultAddress { ...AddressFields }",
        "addressesV2(first: 5) { nodes { ...AddressFields } }",
        "provinceCode", "countryCodeV2", "company",
    ):
        assert field in CUSTOMER_QUERY
    assert "metafields" not in CUSTOMER_QUERY  # only when a field mapping reads them


NICKNAME = "metafields.nodes[?namespace=='my_fields' && key=='nickname'].value | [0]"


@pytest.mark.parametrize(
    "mapped, selection, keys",
    [
        ((NICKNAME,), "metafields(first: 1, keys: $keys)", ["my_fields.nickname"]),
        (("metafields.nodes[?key=='nickname'].value | [0]",), "metafields(first: 25)", None),
    ],
)
async def test_get_asks_for_the_metafields_the_mappings_read(upstream_client, mapped, selection, keys):
    shop = documented_shop()
    calls.begin(mapped=mapped)
    async with shop.serve() as origin:
        raw, _ = await shop.make_provider(origin, upstream_client).get_customer("544365967")
    body = sent(shop)
    assert selection in body["query"] and body["variables"].get("keys") == keys
    assert raw["metafields"]["nodes"][0]["value"] == "rob"


async def test_named_metafields_travel_as_variables_never_in_the_query_text(upstream_client):
    hostile = "metafields.nodes[?namespace=='x\\\" } shop { id' && key=='y'].value"
    shop = documented_shop()
    calls.begin(mapped=(hostile,))
    async with shop.serve() as origin:
        await shop.make_provider(origin, upstream_client).get_customer("544365967")
    body = sent(shop)
    assert "shop" not in body["query"] and body["variables"]["keys"] == ['x\\" } shop { id.y']


async def test_api_version_and_base_url_shape_the_path(upstream_client):
    shop = documented_shop()
    async with shop.serve() as origin:
        await shop.make_provider(origin, upstream_client, api_version="2025-04").get_customer("544365967")
    assert shop.requests[0].path == "/admin/api/2025-04/graphql.json"


@pytest.mark.parametrize(
    "customer_id",
    ["abc", "0", "-1", "12.5", "544365967a", str(2**64), "gid://shopify/Customer/1", ""],
)
async def test_malformed_id_is_not_found_without_a_call(upstream_client, customer_id):
    shop = documented_shop()
    async with shop.serve() as origin:
        with pytest.raises(CustomerNotFound):
            await shop.make_provider(origin, upstream_client).get_customer(customer_id)
    assert shop.requests == []


async def test_largest_unsigned_int64_id_is_looked_up(upstream_client):
    shop = documented_shop()
    async with shop.serve() as origin:
        with pytest.raises(CustomerNotFound):
            await shop.make_provider(origin, upstream_client).get_customer(str(2**64 - 1))
    assert sent(shop)["variables"] == {"id": f"gid://shopify/Customer/{2**64 - 1}"}


@pytest.mark.parametrize("status", [401, 403])
async def test_rejected_token_quotes_shopify(upstream_client, status):
    shop = documented_shop()
    shop.answer(status, fixture("error-401.json"), times=None)
    async with shop.serve() as origin:
        with pytest.raises(ProviderAuthFailed) as caught:
            await shop.make_provider(origin, upstream_client).get_customer("544365967")
    assert caught.value.remote_status == status
    assert "Invalid API key or access token" in caught.value.message
    assert shop.count() == 1  # never retried


async def test_throttled_without_requested_cost_waits_for_our_query_cost(upstream_client):
    shop = documented_shop()
    body = copy.deepcopy(fixture("error-throttled.json"))
    del body["extensions"]["cost"]["requestedQueryCost"]
    shop.answer(200, body, times=None)
    async with shop.serve() as origin:
        with pytest.raises(ProviderRateLimited) as caught:
            await shop.make_provider(origin, upstream_client).fetch_customer("544365967")
    assert caught.value.retry_after == pytest.approx(1 / 50)  # 109 points < 666 available


async def test_throttled_then_served_is_retried(upstream_client):
    shop = documented_shop()
    throttled = copy.deepcopy(fixture("error-throttled.json"))
    throttled["extensions"]["cost"]["requestedQueryCost"] = 667  # one point short: 0.02 s
    shop.answer(200, throttled)  # once; then the store answers
    async with shop.serve() as origin:
        calls.begin(timeout=5.0)
        raw, _ = await shop.make_provider(origin, upstream_client).get_customer("544365967")
    assert raw["legacyResourceId"] == "544365967"
    assert shop.count() == 2


async def test_access_denied_wins_over_null_customer(upstream_client):
    shop = documented_shop()
    shop.answer(200, fixture("error-access-denied.json"), times=None)
    async with shop.serve() as origin:
        with pytest.raises(ProviderAuthFailed) as caught:
            await shop.make_provider(origin, upstream_client).get_customer("544365967")
    assert "ACCESS_DENIED" in caught.value.message
    assert "protected customer data" in caught.value.message
    assert shop.count() == 1


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
    shop = documented_shop()
    body = copy.deepcopy(fixture("error-access-denied.json"))
    body["errors"][0]["message"] = "Query failed"
    if code is None:
        del body["errors"][0]["extensions"]
    else:
        body["errors"][0]["extensions"]["code"] = code
    shop.answer(200, body, times=None)
    async with shop.serve() as origin:
        with pytest.raises(error) as caught:
            await shop.make_provider(origin, upstream_client).fetch_customer("544365967")
    assert type(caught.value) is error
    assert "Query failed" in caught.value.message


@pytest.mark.parametrize(
    ("headers", "expected"),
    [({"Retry-After": "2.0"}, 2.0), ({}, 1.72)],  # header, else the body's bucket
)
async def test_http_429_carries_the_wait(upstream_client, headers, expected):
    shop = documented_shop()
    shop.answer(429, fixture("error-throttled.json"), headers=headers, times=None)
    async with shop.serve() as origin:
        calls.begin(timeout=1.0)
        with pytest.raises(ProviderRateLimited) as caught:
            await shop.make_provider(origin, upstream_client).get_customer("544365967")
    assert caught.value.retry_after == pytest.approx(expected)
    assert caught.value.remote_status == 429


@pytest.mark.parametrize("status", [402, 423])
async def test_frozen_or_locked_shop_is_unavailable(upstream_client, status):
    shop = documented_shop()
    shop.answer(status, {"errors": "Unavailable Shop"}, times=None)
    async with shop.serve() as origin:
        with pytest.raises(ProviderUnavailable) as caught:
            await shop.make_provider(origin, upstream_client).get_customer("544365967")
    assert caught.value.remote_status == status
    assert shop.count() == 1  # not retried


async def test_404_means_wrong_shop_or_version_not_a_missing_customer(upstream_client):
    shop = documented_shop()
    shop.answer(404, fixture("error-404.json"), times=None)
    async with shop.serve() as origin:
        with pytest.raises(ProviderBadResponse, match="check shop and api_version") as caught:
            await shop.make_provider(origin, upstream_client).get_customer("544365967")
    assert caught.value.remote_status == 404


async def test_400_is_a_bad_response(upstream_client):
    shop = documented_shop()
    shop.answer(400, {"errors": {"query": "Required parameter missing or invalid"}}, times=None)
    async with shop.serve() as origin:
        with pytest.raises(ProviderBadResponse):
            await shop.make_provider(origin, upstream_client).get_customer("544365967")


@pytest.mark.parametrize(
    "body",
    [
        [fixture("customer.json")],
        {"data": None},
        {"data": {}},
        {"data": {"customer": "544365967"}},
        {"errors": "Not Found"},
    ],
)
async def test_unexpected_shapes_are_bad_responses(upstream_client, body):
    shop = documented_shop()
    shop.answer(200, body, times=None)
    async with shop.serve() as origin:
        with pytest.raises(ProviderBadResponse):
            await shop.make_provider(origin, upstream_client).get_customer("544365967")


async def test_cost_bucket_is_recorded_as_the_rate_limit(upstream_client):
    shop = documented_shop()
    body = copy.deepcopy(fixture("customer.json"))
    body["extensions"] = fixture("error-access-denied.json")["extensions"]  # 4000/3990/200
    shop.answer(200, body)
    async with shop.serve() as origin:
        record = calls.begin(timeout=5.0)
        await shop.make_provider(origin, upstream_client).get_customer("544365967")
    assert record.rate_limit == calls.RateLimitState(limit=4000, remaining=3990)


# -- verify ----------------------------------------------------------------------


async def test_verify_sends_the_cheap_shop_query(upstream_client):
    shop = documented_shop()
    async with shop.serve() as origin:
        await shop.make_provider(origin, upstream_client).verify()
    assert sent(shop) == {"query": VERIFY_QUERY, "variables": {}}
    assert shop.requests[0].headers["X-Shopify-Access-Token"] == TOKEN


@pytest.mark.parametrize(
    ("status", "body", "error"),
    [
        (404, "error-404.json", ProviderBadResponse),
        (200, "error-access-denied.json", ProviderAuthFailed),
    ],
)
async def test_verify_classifies_failures(upstream_client, status, body, error):
    shop = documented_shop()
    shop.answer(status, fixture(body), times=None, on={"verify"})
    async with shop.serve() as origin:
        with pytest.raises(error):
            await shop.make_provider(origin, upstream_client).verify()


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


def listed_shop() -> ShopifyFake:
    return ShopifyFake([list_node(i) for i in LIST_IDS])


async def test_list_reads_provider_pages_until_the_limit(upstream_client):
    shop = listed_shop()
    async with shop.serve() as origin:
        provider = shop.make_provider(origin, upstream_client)
        first = await provider.list_page(PageRequest(limit=12))
        second = await provider.list_page(PageRequest(limit=12, state=first.next))
        back = await provider.list_page(PageRequest(limit=12, state=second.prev))
    queries = [sent(shop, i) for i in range(len(shop.bodies))]
    assert [c.id for c in first.customers] == [str(i) for i in LIST_IDS[:12]]
    assert [q["variables"]["n"] for q in queries[:1]] == [12]  # one query: 12 fit in it
    assert queries[0]["variables"]["cursor"] is None
    assert first.prev is None and first.next == {"after": cursor_of(LIST_IDS[11])}
    assert [c.id for c in second.customers] == [str(i) for i in LIST_IDS[12:]]
    assert second.next is None and second.prev == {"before": cursor_of(LIST_IDS[12])}
    assert [c.id for c in back.customers] == [str(i) for i in LIST_IDS[:12]]
    assert back.prev is None and back.next == {"after": cursor_of(LIST_IDS[11])}
    assert {q["query"] for q in queries} == {LIST_FORWARD_QUERY, LIST_BACKWARD_QUERY}
    assert "metafields" not in first.raws[0]  # no field mapping reads them


async def test_a_limit_over_one_query_reads_the_next(upstream_client):
    shop = ShopifyFake(total=90)
    async with shop.serve() as origin:
        page = await shop.make_provider(origin, upstream_client).list_page(PageRequest(limit=100))
    assert [sent(shop, i)["variables"]["n"] for i in range(len(shop.bodies))] == [LIST_PAGE_SIZE, 100 - LIST_PAGE_SIZE]
    assert len(page.customers) == 90 and page.next is None


async def test_list_backward_in_the_middle_keeps_both_directions(upstream_client):
    shop = listed_shop()
    async with shop.serve() as origin:
        page = await shop.make_provider(origin, upstream_client).list_page(
            PageRequest(limit=3, state={"before": cursor_of(LIST_IDS[10])})
        )
    assert [c.id for c in page.customers] == [str(i) for i in LIST_IDS[7:10]]
    assert page.prev == {"before": cursor_of(LIST_IDS[7])}
    assert page.next == {"after": cursor_of(LIST_IDS[9])}
    assert sent(shop)["query"] == LIST_BACKWARD_QUERY


async def test_list_ignores_a_malformed_state(upstream_client):
    shop = listed_shop()
    async with shop.serve() as origin:
        page = await shop.make_provider(origin, upstream_client).list_page(
            PageRequest(limit=2, state={"after": 12})
        )
    assert sent(shop)["variables"]["cursor"] is None
    assert [c.id for c in page.customers] == [str(i) for i in LIST_IDS[:2]]


async def test_list_without_page_info_is_a_bad_response(upstream_client):
    shop = listed_shop()
    shop.answer(200, {"data": {"customers": {"nodes": []}}}, times=None)
    async with shop.serve() as origin:
        with pytest.raises(ProviderBadResponse):
            await shop.make_provider(origin, upstream_client).list_page(PageRequest(limit=5))


def test_list_page_fits_the_single_query_cost_limit():
    # 2 (connection) + 1 (pageInfo) + 83 customers * 12 points <= 1000 (tests/providers/test_shopify_cost.py)
    assert 3 + LIST_PAGE_SIZE * 12 <= 1000 < 3 + (LIST_PAGE_SIZE + 1) * 12


def test_settings_round_trip_through_msgspec():
    _, settings = ShopifyProvider.parse_config(
        {"access_token": TOKEN}, {"shop": "My-Store.myshopify.com", "api_version": "unstable"}
    )
    assert msgspec.to_builtins(settings) == {
        "base_url": None,
        "auth_url": None,  # the token endpoint's origin, for OAuth installs' credentials
        "shop": "my-store",
        "api_version": "unstable",
    }


@pytest.mark.parametrize(("state", "status"), [
    ("ENABLED", "active"), ("DISABLED", "inactive"), ("DECLINED", "inactive"),
    ("INVITED", "INVITED"),  # neither: Shopify's own value, per the status rule
    (None, None),
])
def test_status_follows_the_login_account_state(state, status):
    raw = copy.deepcopy(fixture("customer.json")["data"]["customer"])
    raw["state"] = state
    assert ShopifyProvider.map_customer(raw).status == status


# -- an OAuth install's credentials (proxy/connect/oauth/shopify.py stores them) -------------


def test_oauth_credentials_are_told_apart_from_the_key_forms():
    from providers.shopify import ShopifyCredentials, ShopifyOAuthCredentials

    oauth = {"client_id": "app", "client_secret": "shpss_s3cr3t", "refresh_token": "shprt_1"}
    credentials, _ = ShopifyProvider.parse_config(oauth, {"shop": "my-store"})
    assert isinstance(credentials, ShopifyOAuthCredentials)
    credentials, _ = ShopifyProvider.parse_config({"access_token": TOKEN}, {"shop": "my-store"})
    assert isinstance(credentials, ShopifyCredentials)
    with pytest.raises(ConfigurationError, match="refresh_token"):  # a mix is neither
        ShopifyProvider.parse_config({"access_token": TOKEN, "refresh_token": "x"}, {"shop": "my-store"})
    with pytest.raises(ConfigurationError, match="client_secret"):
        ShopifyProvider.parse_config({"client_id": "app", "refresh_token": "x"}, {"shop": "my-store"})
    shown = repr(ShopifyProvider.parse_config(oauth, {"shop": "my-store"})[0])
    assert "s3cr3t" not in shown and "shprt_1" not in shown


async def test_oauth_credentials_mint_at_the_shops_token_endpoint_and_keep_the_rotated_refresh(upstream_client):
    from providers.tokens import MemoryTokenStore

    shop = ShopifyFake()
    async with shop.serve() as origin:
        shop.refresh_tokens.add("shprt_first")
        shop.credentials = {"client_id": shop.client_id, "client_secret": shop.client_secret,
                            "refresh_token": "shprt_first"}
        tokens = MemoryTokenStore()
        provider = shop.make_provider(origin, upstream_client, tokens, auth_url=origin)
        _, customer = await provider.get_customer(shop.ids[0])
        assert customer.id == shop.ids[0]
        shop.revoke_all()  # a 401: one more refresh, with the refresh token the first one rotated to
        await provider.get_customer(shop.ids[1])
    grants = [json.loads(body) for body, kind in zip(shop.bodies, shop.kinds) if kind == "token"]
    assert [g["grant_type"] for g in grants] == ["refresh_token", "refresh_token"]
    assert grants[0]["refresh_token"] == "shprt_first" and grants[1]["refresh_token"] == shop.issued_refresh[0]
    token_request = next(r for r, kind in zip(shop.requests, shop.kinds) if kind == "token")
    assert token_request.content_type == "application/json"
    assert tokens.token is not None and tokens.token.extra["refresh_token"] == shop.issued_refresh[1]


# -- a call that keeps no raw: the answer decoded straight into the payload (issue 17) --------


async def test_without_the_raw_a_get_decodes_straight_into_the_payload_and_maps_the_same(upstream_client):
    shop = documented_shop()
    async with shop.serve() as origin:
        provider = shop.make_provider(origin, upstream_client)
        calls.begin(timeout=5.0)
        raw, kept = await provider.get_customer("544365967")
        calls.begin(timeout=5.0, keep_raw=False)
        no_raw, typed = await provider.get_customer("544365967")
    assert raw["legacyResourceId"] == "544365967" and no_raw is None
    assert typed == kept


async def test_without_the_raw_a_page_maps_the_same_and_keeps_no_raws(upstream_client):
    shop = ShopifyFake(ShopifyFake.make_customers(7))
    async with shop.serve() as origin:
        provider = shop.make_provider(origin, upstream_client)
        calls.begin(timeout=5.0)
        kept = await provider.list_page(PageRequest(limit=5))
        calls.begin(timeout=5.0, keep_raw=False)
        typed = await provider.list_page(PageRequest(limit=5))
    assert typed.customers == kept.customers and len(typed.customers) == 5
    assert typed.raws == [None] * 5 and all(isinstance(raw, dict) for raw in kept.raws)
    assert (typed.next, typed.prev) == (kept.next, kept.prev)


async def refusal(upstream_client: Any, answer: Any, keep_raw: bool, customer_id: str = "544365967") -> Exception:
    """What a get of ``customer_id`` raises when the store answers ``answer`` (200)."""
    shop = documented_shop()
    if answer is not None:
        shop.answer(200, answer, times=None)
    async with shop.serve() as origin:
        calls.begin(timeout=5.0, keep_raw=keep_raw)
        with pytest.raises(Exception) as caught:
            await shop.make_provider(origin, upstream_client).get_customer(customer_id)
    return caught.value


async def test_without_the_raw_errors_and_bad_shapes_read_as_with_it(upstream_client):
    """The one-pass read takes only a clean answer; a GraphQL error or a
    wrong shape is read again as today, so it is classified the same."""
    throttled = copy.deepcopy(fixture("error-throttled.json"))
    throttled["extensions"]["cost"]["requestedQueryCost"] = 5000  # waits beyond the deadline: not retried
    wrong = copy.deepcopy(fixture("customer.json"))
    wrong["data"]["customer"]["firstName"] = {"not": "a string"}
    outcomes = []
    for keep_raw in (True, False):
        limited = await refusal(upstream_client, throttled, keep_raw)
        bad = await refusal(upstream_client, wrong, keep_raw)
        assert isinstance(limited, ProviderRateLimited) and isinstance(bad, ProviderBadResponse)
        outcomes.append((limited.retry_after, bad.message))
    assert outcomes[0] == outcomes[1]
    assert "$.firstName" in outcomes[1][1]


@pytest.mark.parametrize("keep_raw", [True, False])
async def test_a_customer_without_a_readable_id_or_absent_reads_alike_with_or_without_the_raw(
    upstream_client, keep_raw
):
    unreadable = copy.deepcopy(fixture("customer.json"))
    unreadable["data"]["customer"].update(legacyResourceId=None, id="not-a-gid")
    bad = await refusal(upstream_client, unreadable, keep_raw)
    assert isinstance(bad, ProviderBadResponse) and "a customer of an unexpected shape" in bad.message
    assert isinstance(await refusal(upstream_client, None, keep_raw, customer_id="1"), CustomerNotFound)
