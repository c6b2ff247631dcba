"""Issue 4 through the API on real provider payloads: custom fields defined
with ``POST /field-mappings`` evaluated against Shopify's and WooCommerce's
raw customers, ``remote_query`` forwarding and refusal, ``response_format=raw``,
and mapping definitions the store must never hold."""

from __future__ import annotations

import contextlib
import copy
from typing import Any, AsyncIterator

import pytest

from tests.fakes import Fake
from tests.fakes.shopify import ShopifyFake
from tests.fakes.woocommerce import SECRET as WOO_SECRET
from tests.fakes.woocommerce import WooCommerceFake
from tests.harness import Harness, Tenant, running_app
from tests.support import load_fixture

SHOPIFY_ID = "544365967"  # the customer of tests/fixtures/shopify/customer.json
WOO_PATH = "/wp-json/wc/v3/customers"
WOO_ID = "25"  # the customer of tests/fixtures/woocommerce/customer.json

# The fixture's documented metafield: namespace my_fields, key nickname, value "rob".
NICKNAME = "metafields.nodes[?namespace=='my_fields' && key=='nickname'].value | [0]"
FAV_DISH = "meta_data[?key=='fav_dish'].value | [0]"


@pytest.fixture
async def api(tmp_path) -> AsyncIterator[Harness]:
    async with running_app(tmp_path) as harness:
        yield harness


def h(tenant: Tenant, token: str | None = None) -> dict[str, str]:
    headers = {"x-api-key": tenant.api_key}
    if token is not None:
        headers["x-connection-token"] = token
    return headers


async def define(
    api: Harness, tenant: Tenant, provider: str, name: str, expression: str, **scope: Any
) -> dict[str, Any]:
    response = await api.client.post(
        "/field-mappings",
        json={"provider": provider, "object": "customer", "name": name, "expression": expression, **scope},
        headers=h(tenant),
    )
    assert response.status_code == 201, response.text
    return response.json()


async def list_customers(api: Harness, tenant: Tenant, token: str, **params: Any):
    return await api.client.get("/ecommerce/customers", params=params, headers=h(tenant, token))


# -- upstreams: the Shopify and WooCommerce fakes (tests/fakes/) --------------------


def shopify_customer() -> dict[str, Any]:
    return load_fixture("shopify", "customer.json")["data"]["customer"]


def woo_customer() -> dict[str, Any]:
    """The documented customer with the recorded ``meta_data`` entry and a
    ``fav_dish`` one in the same documented ``{id, key, value}`` shape."""
    body = copy.deepcopy(load_fixture("woocommerce", "customer.json"))
    recorded = load_fixture("woocommerce", "customer.recorded.json")["meta_data"]
    body["meta_data"] = [*recorded, {"id": 35, "key": "fav_dish", "value": "pierogi"}]
    return body


@contextlib.asynccontextmanager
async def store(api: Harness, tenant: Tenant, provider: str) -> AsyncIterator[tuple[Fake, list[tuple[str, str]]]]:
    """A store of ``provider`` holding its one documented customer, and two
    connections of ``tenant`` to it."""
    fake: Fake = (
        ShopifyFake([shopify_customer()]) if provider == "shopify" else WooCommerceFake([woo_customer()], prefix="")
    )
    async with fake.serve() as origin:
        connections = [await api.connection(tenant, provider, fake.credentials, fake.settings(origin)) for _ in range(2)]
        yield fake, connections


# -- custom fields ----------------------------------------------------------------


@pytest.mark.parametrize(
    "provider, customer_id, name, expression, value, override, override_value, missing",
    [
        # Per-connection override: the metafield's type instead of its value.
        ("shopify", SHOPIFY_ID, "nickname", NICKNAME, "rob",
         "metafields.nodes[?key=='nickname'].type | [0]", "single_line_text_field",
         "metafields.nodes[?key=='nope'].value | [0]"),
        # The recorded entry comes first, so only the filter finds fav_dish.
        ("woocommerce", WOO_ID, "fav_dish", FAV_DISH, "pierogi",
         "meta_data[?key=='fav_dish'].id | [0]", 35,
         "meta_data[?key=='nope'].value | [0]"),
    ],
)
async def test_custom_fields_on_provider_payloads(
    api, provider, customer_id, name, expression, value, override, override_value, missing
):
    tenant = await api.tenant()
    async with store(api, tenant, provider) as (_, [(conn_a, token_a), (_, token_b)]):
        await define(api, tenant, provider, name, expression)
        await define(api, tenant, provider, "missing", missing)  # yields nothing -> null
        # A mapping for another provider is never evaluated on this one's payloads.
        other = "woocommerce" if provider == "shopify" else "shopify"
        await define(api, tenant, other, "elsewhere", "id")
        await define(api, tenant, provider, name, override, connection_id=conn_a)

        a = await api.get_customer(tenant, token_a, customer_id)
        b = await api.get_customer(tenant, token_b, customer_id)
        assert a.status_code == b.status_code == 200, (a.text, b.text)
        assert a.json()["field_mappings"] == {name: override_value, "missing": None}
        assert b.json()["field_mappings"] == {name: value, "missing": None}

        # The list evaluates the same definitions on each raw customer.
        page_a = await list_customers(api, tenant, token_a)
        page_b = await list_customers(api, tenant, token_b)
        assert page_a.status_code == page_b.status_code == 200, (page_a.text, page_b.text)
        assert [c["field_mappings"] for c in page_a.json()["data"]] == [
            {name: override_value, "missing": None}
        ]
        assert [c["field_mappings"] for c in page_b.json()["data"]] == [{name: value, "missing": None}]

        # Shaping reaches into field_mappings like any free-form object.
        shaped = await api.get_customer(tenant, token_b, customer_id, fields=f"id,field_mappings.{name}")
        assert shaped.json() == {"id": customer_id, "field_mappings": {name: value}}


# -- response_format=raw ----------------------------------------------------------


@pytest.mark.parametrize(
    "provider, customer_id, payload",
    [("shopify", SHOPIFY_ID, shopify_customer), ("woocommerce", WOO_ID, woo_customer)],
)
async def test_raw_format_is_the_provider_payload_verbatim(api, provider, customer_id, payload):
    tenant = await api.tenant()
    async with store(api, tenant, provider) as (_, [(_, token), _]):
        await define(api, tenant, provider, "anything", "id")  # raw skips custom fields
        one = await api.get_customer(tenant, token, customer_id, response_format="raw")
        page = await list_customers(api, tenant, token, response_format="raw")
    assert one.status_code == 200 and one.headers["content-type"] == "application/json"
    # Shopify's raw customer is data.customer as queried (no mapping reads
    # metafields, so none were asked for); WooCommerce's is the bare object.
    expected = {k: v for k, v in payload().items() if not (provider == "shopify" and k == "metafields")}
    assert one.json() == expected
    assert page.json() == {"prev_cursor": None, "next_cursor": None, "data": [expected]}


# -- remote_query -------------------------------------------------------------------


async def test_woocommerce_forwards_remote_query(api):
    tenant = await api.tenant()
    async with store(api, tenant, "woocommerce") as (fake, [(_, token), _]):
        # _locale is a WordPress REST global parameter that leaves the customer as is.
        one = await api.get_customer(tenant, token, WOO_ID, **{"remote_query[_locale]": "user"})
        page = await list_customers(
            api, tenant, token, limit="5", **{"remote_query[role]": "all", "remote_query[search]": "doe"}
        )
    assert one.status_code == 200 and one.json()["id"] == WOO_ID
    assert page.status_code == 200 and [c["id"] for c in page.json()["data"]] == [WOO_ID]
    single, listing = fake.requests
    assert single.path == f"{WOO_PATH}/{WOO_ID}" and dict(single.query) == {"_locale": "user"}
    # Forwarded filters travel with our own paging, which they cannot replace.
    assert dict(listing.query) == {
        "role": "all", "search": "doe", "per_page": "5", "orderby": "id", "order": "asc",
    }


@pytest.mark.parametrize(
    "name",
    [
        "consumer_key", "Consumer_Secret", "oauth_signature",  # auth
        "id", "include", "id:in",                                # which resource
        "per_page", "offset", "page[size]",                      # paging
        "context", "_fields", "_method", "rest_route",           # shape / routing
    ],
)
@pytest.mark.parametrize("endpoint", ["one", "list"])
async def test_woocommerce_denied_remote_query_never_reaches_the_store(api, name, endpoint):
    tenant = await api.tenant()
    async with store(api, tenant, "woocommerce") as (fake, [(_, token), _]):
        params = {f"remote_query[{name}]": WOO_SECRET}
        if endpoint == "one":
            response = await api.get_customer(tenant, token, WOO_ID, **params)
        else:
            response = await list_customers(api, tenant, token, **params)
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["code"] == "invalid_parameter"
    assert body["parameter"] == f"remote_query[{name}]"
    assert WOO_SECRET not in response.text  # the value is never echoed
    assert fake.requests == []


@pytest.mark.parametrize(
    "name",
    [
        # PHP files each of these under "_method" (WordPress's method
        # override), "rest_route", "per_page" or "consumer_key".
        ".method", " method", "x[method", "_method[]", "rest.route", "per.page", "consumer.key",
        "[method",   # an empty name PHP drops
        "_METHOD",   # the deny list ignores case
        "force",     # not a documented read filter
        "role[",     # an allowed name, but PHP reads it as "role_"
    ],
)
@pytest.mark.parametrize("endpoint", ["one", "list"])
async def test_woocommerce_names_are_checked_as_php_reads_them(api, name, endpoint):
    """``remote_query[.method]=DELETE`` reached the store as ``?.method=DELETE``,
    which PHP hands WordPress as ``_method=DELETE``: a delete with a write key."""
    tenant = await api.tenant()
    async with store(api, tenant, "woocommerce") as (fake, [(_, token), _]):
        params = {f"remote_query[{name}]": "DELETE"}
        if endpoint == "one":
            response = await api.get_customer(tenant, token, WOO_ID, **params)
        else:
            response = await list_customers(api, tenant, token, **params)
    assert response.status_code == 400, response.text
    assert response.json()["code"] == "invalid_parameter"
    assert response.json()["parameter"] == f"remote_query[{name}]"
    assert fake.requests == []


async def test_woocommerce_forwards_an_allowed_filter_in_array_syntax(api):
    tenant = await api.tenant()
    async with store(api, tenant, "woocommerce") as (fake, [(_, token), _]):
        page = await list_customers(api, tenant, token, **{"remote_query[role[]]": "all"})
    assert page.status_code == 200, page.text
    assert fake.requests[0].query.getall("role[]") == ["all"]


@pytest.mark.parametrize("provider", ["shopify", "sandbox"])
@pytest.mark.parametrize("endpoint", ["one", "list"])
async def test_remote_query_is_refused_where_unsupported(api, provider, endpoint):
    tenant = await api.tenant()
    customer_id = SHOPIFY_ID if provider == "shopify" else "3"
    async with store(api, tenant, "shopify") as (fake, [(_, token), _]):
        if provider == "sandbox":  # no upstream at all; the Shopify one stays silent
            _, token = await api.connection(tenant, "sandbox", {})
        # A harmless name, allowed by the deny list: refused for the provider itself.
        params = {"remote_query[locale]": "fr"}
        if endpoint == "one":
            response = await api.get_customer(tenant, token, customer_id, **params)
        else:
            response = await list_customers(api, tenant, token, **params)
    assert response.status_code == 400, response.text
    assert response.json()["code"] == "invalid_parameter"
    assert response.json()["parameter"] == "remote_query"
    assert fake.requests == []


# -- definitions the store must not hold ------------------------------------------------


@pytest.mark.parametrize(
    "expression, fragment",
    [
        # JMESPath itself accepts a NUL inside a raw string literal; PostgreSQL
        # text cannot hold it, and SQLite would: refuse it on both, the same way.
        ("meta_data[?key=='fav\x00dish'].value | [0]", "NUL"),
        ("meta\x00data", "NUL"),
        ("a" * 10_240, "at most"),
        ("meta_data[?key=='" + "x" * 10_240 + "'].value", "at most"),
    ],
)
async def test_hostile_expressions_are_400_and_not_stored(api, expression, fragment):
    tenant = await api.tenant()
    response = await api.client.post(
        "/field-mappings",
        json={"provider": "woocommerce", "name": "fav_dish", "expression": expression},
        headers=h(tenant),
    )
    assert response.status_code == 400, response.text
    assert response.json()["code"] == "invalid_request"
    assert fragment in response.json()["detail"]
    assert (await api.client.get("/field-mappings", headers=h(tenant))).json()["data"] == []
