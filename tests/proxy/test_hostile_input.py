"""Hostile requests: nothing yields a 500, nothing reaches another tenant.

Property-based (hypothesis, bounded examples) plus a list of classic attacks:
path traversal, SQL and JMESPath injection, huge and non-ASCII values.
"""

import string
import urllib.parse

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.harness import running_app

DOCUMENTED = {200, 201, 204, 400, 401, 404, 405, 409, 413, 414, 422, 429, 502, 503, 504}
SETTINGS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


class World:
    """Two tenants with one sandbox connection each."""

    def __init__(self, api, alice, alice_token, bob, bob_token):
        self.api, self.alice, self.alice_token, self.bob, self.bob_token = api, alice, alice_token, bob, bob_token


@pytest.fixture
async def world(tmp_path):
    async with running_app(tmp_path, auth_failures_per_minute=0) as api:
        alice, bob = await api.tenant("alice"), await api.tenant("bob")
        _, alice_token = await api.connection(alice, "sandbox", {})
        _, bob_token = await api.connection(bob, "sandbox", {}, {"seed": "bob-only"})
        yield World(api, alice, alice_token, bob, bob_token)


def assert_sane(response, world):
    assert response.status_code in DOCUMENTED, response.text
    assert response.status_code != 500
    if response.status_code >= 400:
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["code"]
    text = response.text
    for secret in (world.alice.api_key, world.bob.api_key, world.alice_token, world.bob_token):
        assert secret not in text


ATTACKS = [
    "../../etc/passwd", "..%2F..%2Fetc%2Fpasswd", "%2e%2e%2f", "1;DROP TABLE tenants", "1' OR '1'='1",
    "1\" OR \"1\"=\"1", "1 UNION SELECT * FROM api_keys", "${jndi:ldap://x}", "{{7*7}}", "%00", "%0d%0aSet-Cookie:x",
    "１２３", "😀", "a" * 5000, "-1", "1e9", "0x10", " 1", "1 ", "%20", "null", "[]", "{}",
]


@pytest.mark.parametrize("customer_id", ATTACKS)
async def test_attack_ids(world, customer_id):
    response = await world.api.get_customer(world.alice, world.alice_token, customer_id)
    assert_sane(response, world)
    assert response.status_code in (404, 414)


@pytest.mark.parametrize("name, value", [
    ("remote_data", "1' OR 1=1"), ("fields", "id;DROP TABLE x"), ("fields", "addresses." + "a" * 4000),
    ("exclude_fields", "__class__"), ("response_format", "../raw"), ("limit", "99999999999999999999"),
    ("remote_query[id]", "2"), ("remote_query[", "x"), ("cursor", "' OR 1=1 --"),
])
async def test_attack_query_values(world, name, value):
    response = await world.api.client.get(
        "/ecommerce/customers/1", params={name: value},
        headers={"x-api-key": world.alice.api_key, "x-connection-token": world.alice_token},
    )
    assert_sane(response, world)


@pytest.mark.parametrize("expression", [
    "`1`", "@", "*", "**", "[?a==`1`] | [0]", "join(',', @)", "to_string(@)", "length(@)",
    "sort_by(addresses, &city)", "a" * 1000, "\u0000", "foo[?bar=='baz' || `true`]",
    "not_null(given_name, family_name)", "reverse(@)", "max_by(addresses, &address_id)",
    "&given_name", "(" * 499 + "a" + ")" * 499, "!" * 900 + "a", "a" + "[]" * 400,
])
async def test_jmespath_expressions_never_break_reads(world, expression):
    created = await world.api.client.post(
        "/field-mappings", headers={"x-api-key": world.alice.api_key},
        json={"name": "probe", "provider": "sandbox", "expression": expression},
    )
    assert created.status_code in (201, 400)
    response = await world.api.get_customer(world.alice, world.alice_token, "3")
    assert_sane(response, world)
    assert response.status_code == 200


async def test_huge_headers_and_odd_tokens(world):
    for key in ["sk_" + "A" * 10_000, "sk_\u00e9\u00e9".encode("latin-1"), "Bearer sk_x", "", " ",
                "sk_" + "\t" * 3, b"sk_\xff\xfe"]:
        response = await world.api.client.get(
            "/ecommerce/customers/1",
            headers={"x-api-key": key, "x-connection-token": world.alice_token},
        )
        assert_sane(response, world)
        assert response.status_code == 401


async def test_long_paths_and_queries_are_refused_cleanly(world):
    response = await world.api.client.get("/ecommerce/customers/" + "1" * 3000)
    assert response.status_code == 414 and response.json()["code"] == "invalid_request"
    response = await world.api.client.get("/ecommerce/customers/1?fields=" + "id," * 4000)
    assert response.status_code == 414


@given(
    customer_id=st.text(alphabet=string.printable + "éü😀\u200b", min_size=1, max_size=80),
    params=st.dictionaries(
        st.sampled_from(["remote_data", "fields", "exclude_fields", "response_format", "limit",
                         "cursor", "remote_query[x]", "foo"]),
        st.text(max_size=60), max_size=4,
    ),
)
@SETTINGS
async def test_fuzzed_reads_never_500_or_leak(world, customer_id, params):
    path_id = urllib.parse.quote(customer_id, safe="")
    response = await world.api.client.get(
        f"/ecommerce/customers/{path_id}", params=params,
        headers={"x-api-key": world.alice.api_key, "x-connection-token": world.alice_token},
    )
    assert_sane(response, world)
    if response.status_code == 200 and "remote_data" in params and response.json().get("remote_data"):
        # Alice's connection serves Alice's (default-seed) store, never Bob's.
        assert response.json()["remote_data"].get("customer_id") is not None


@given(
    token=st.one_of(st.text(max_size=80), st.just("ct_")),
    key=st.one_of(st.text(max_size=80), st.just("sk_")),
)
@SETTINGS
async def test_fuzzed_credentials_never_reach_data(world, token, key):
    try:
        headers = {"x-api-key": key.encode("latin-1"), "x-connection-token": token.encode("latin-1")}
    except UnicodeEncodeError:
        return  # not sendable as an HTTP header at all
    if any(c in "\r\n\x00" for c in key + token):
        return
    response = await world.api.client.get("/ecommerce/customers/1", headers=headers)
    assert_sane(response, world)
    assert response.status_code in (401, 429)


async def test_bob_token_with_alice_key_never_reads_bob(world):
    response = await world.api.get_customer(world.alice, world.bob_token, "1")
    assert response.status_code == 401 and response.json()["code"] == "invalid_connection_token"
