"""What a Shopify read costs the merchant's GraphQL budget: the requested
cost of every query the module sends, computed from its text by Shopify's
documented rules (tests/fakes/graphql_cost.py), against the 1,000-point
single-query maximum and against the numbers the module's docstring states;
and a page of 50 customers read in one query."""

from __future__ import annotations

import re

import pytest

import providers.shopify as shopify
from providers import calls
from providers.base import PageRequest
from providers.shopify_metafields import ALL, NONE, Metafields, metafields_read
from tests.fakes import shopify as shopify_fake
from tests.fakes.graphql_cost import MAX_QUERY_COST, requested_cost
from tests.fakes.shopify import ShopifyFake

NICKNAME = "metafields.nodes[?namespace=='my_fields' && key=='nickname'].value | [0]"


def named(count: int) -> Metafields:
    return Metafields(True, tuple(f"custom.key{i}" for i in range(count)))


def cost_of(case: str) -> int:
    """A docstring case, priced from the query the module sends for it."""
    if case == "verify":
        return requested_cost(shopify.VERIFY_QUERY)
    kind, _, reads = case.partition(", ")
    metafields = {
        "no metafields mapped": NONE,
        "1 metafield named": named(1),
        "5 metafields named": named(5),
        "metafields read unnamed": ALL,
    }[reads]
    ops = shopify.queries(metafields)
    if kind == "get":
        return requested_cost(ops.get, {"id": "gid://shopify/Customer/1", **ops.variables})
    assert kind == "list page of 50"
    size = min(50, ops.page_size)  # the first query of the page; an unnamed read takes two of 25
    return requested_cost(ops.forward, {"n": size, "cursor": None, **ops.variables})


def stated() -> dict[str, int]:
    """``* case: N`` lines of the module docstring's cost list."""
    section = shopify.__doc__.split("Requested cost, in points", 1)[1].split("\n\n", 2)[1]
    return {m["case"]: int(m["cost"]) for m in re.finditer(r"^\* (?P<case>[^:]+): (?P<cost>\d+)", section, re.M)}


# -- the calculator on the guide's own examples -------------------------------------------


@pytest.mark.parametrize(
    "query, cost",
    [
        ("{ shop { id name } }", 1),  # an object 1, scalars 0
        ("{ products(first: 1) { edges { node { title } } } }", 3),  # the guide's connection example
        ("{ products(first: 10) { nodes { title variants(first: 5) { nodes { price } } } } }", 2 + 10 * (1 + 2 + 5)),
        ("query($n: Int!) { orders(last: $n) { nodes { id } pageInfo { hasNextPage } } }", 2 + 7 + 1),
        ("{ customer(id: \"x\") { ...F } } fragment F on Customer { amountSpent { amount } }", 2),
    ],
)
def test_the_calculator_applies_the_documented_rules(query, cost):
    assert requested_cost(query, {"n": 7}) == cost


# -- the module's queries -------------------------------------------------------------------


def test_the_docstring_states_what_each_query_costs():
    numbers = stated()
    assert len(numbers) == 8, numbers
    assert {case: cost_of(case) for case in numbers} == numbers
    assert all(cost <= MAX_QUERY_COST for cost in numbers.values())


@pytest.mark.parametrize("metafields", [NONE, named(1), named(5), named(250), ALL])
def test_every_query_type_stays_under_the_single_query_maximum(metafields):
    ops = shopify.queries(metafields)
    variables = dict(ops.variables)
    assert requested_cost(ops.get, {"id": "x", **variables}) == ops.customer_cost
    for query in (ops.forward, ops.backward):
        full = requested_cost(query, {"n": ops.page_size, "cursor": None, **variables})
        assert full == shopify.LIST_COST + ops.page_size * ops.customer_cost <= MAX_QUERY_COST
        # One more customer would be refused: the page is as large as the limit allows.
        over = requested_cost(query, {"n": ops.page_size + 1, "cursor": None, **variables})
        assert over > MAX_QUERY_COST or ops.page_size == shopify.MAX_FIRST


def test_up_to_five_named_metafields_keep_fifty_customers_in_one_query():
    assert shopify.queries(named(5)).page_size >= 50 > shopify.queries(named(6)).page_size
    assert shopify.queries(NONE).page_size == shopify_fake.PAGE_MAX  # the fake's paging facts agree


@pytest.mark.parametrize(
    "mapped, queries, metafields",
    [
        ((), 1, False),  # no mappings
        (("email", "firstName"), 1, False),  # mappings that read no metafields
        ((NICKNAME,), 1, True),  # a named metafield
        (("metafields.nodes[?key=='nickname'].value | [0]",), 2, True),  # unnamed: the first 25
    ],
)
async def test_a_page_of_fifty_costs_what_the_mappings_read(upstream_client, mapped, queries, metafields):
    shop = ShopifyFake(total=60)
    calls.begin(mapped=mapped)
    async with shop.serve() as origin:
        page = await shop.make_provider(origin, upstream_client).list_page(PageRequest(limit=50))
    assert len(page.customers) == 50 and shop.list_requests() == queries
    assert all(("metafields" in raw) is metafields for raw in page.raws)
    if metafields:
        assert page.raws[0]["metafields"]["nodes"][0]["value"] == "rob"


# -- which metafields a mapping reads ------------------------------------------------------


@pytest.mark.parametrize(
    "expressions, read",
    [
        ((), NONE),
        (("email", "addressesV2.nodes[0].city"), NONE),
        ((NICKNAME,), Metafields(True, ("my_fields.nickname",))),
        (("metafields.edges[?node.namespace=='a' && node.key=='b'].node.value",), Metafields(True, ("a.b",))),
        (("metafields.nodes[?(namespace=='a' && key=='b') || (namespace=='c' && key=='d')].value",),
         Metafields(True, ("a.b", "c.d"))),
        (("metafields.nodes[?namespace=='a' && (key=='b' || key=='c')].value",), Metafields(True, ("a.b", "a.c"))),
        ((NICKNAME, "metafields.nodes[?'custom'==namespace && key=='tier'].value"),
         Metafields(True, ("custom.tier", "my_fields.nickname"))),
        # Not narrowed to pairs: the first 25.
        (("metafields.nodes[?key=='nickname'].value",), ALL),
        (("metafields.nodes[0].value",), ALL),
        (("metafields",), ALL),
        ((NICKNAME, "length(metafields.nodes)"), ALL),
        (("metafields.nodes[?namespace=='a.b' && key=='c'].value",), ALL),  # no namespace.key form
        (("metafields.nodes[?(namespace=='a' && key=='b') || key=='c'].value",), ALL),
    ],
)
def test_metafields_read_by_expressions(expressions, read):
    assert metafields_read(expressions) == read


def test_more_pairs_than_shopify_takes_fall_back_to_the_first_25():
    pairs = " || ".join(f"(namespace=='n' && key=='k{i}')" for i in range(251))
    assert metafields_read((f"metafields.nodes[?{pairs}].value",)) == ALL
