"""Truto's published Python client (truto-python-sdk 0.1.6) against shoprelay
over a real socket: it reads the same customers, pages through all of them
with its own helper, sends every query parameter in its own encoding, and
sees shoprelay's errors as errors (it raises on the status).

The package declares ``Requires-Python >=3.12`` and pins ``asyncio==3.4.3``
(the 2015 PyPI backport, shadowed by the standard library anyway); its code
is plain aiohttp and runs on 3.11. It is therefore installed for the tests
only, without its declared dependencies (aiohttp is ours already):
``pip install --no-deps --ignore-requires-python truto-python-sdk==0.1.6``,
as the README's test command does. Without it these tests are skipped,
except under CI, where they fail."""

from __future__ import annotations

import os
import pathlib

import aiohttp
import pytest

from proxy.clock import now_text
from tests.fakes.woocommerce import WooCommerceFake
from tests.harness import served_over_http
from tests.support import load_fixture

try:
    from truto_python_sdk import TrutoApi
except ImportError:  # see the module docstring
    TrutoApi = None

INSTALL = "pip install --no-deps --ignore-requires-python truto-python-sdk==0.1.6"
pytestmark = pytest.mark.skipif(
    TrutoApi is None and not os.environ.get("CI"), reason=f"truto-python-sdk is not installed ({INSTALL})"
)


def client(api_key: str, base_url: str):
    if TrutoApi is None:
        pytest.fail(f"truto-python-sdk is missing; the test command installs it ({INSTALL})")
    return TrutoApi(token=api_key, base_url=base_url)


async def test_get_and_list_to_the_end(tmp_path):
    async with served_over_http(tmp_path) as (api, base_url):
        tenant = await api.tenant()
        conn_id, token = await api.connection(tenant, "sandbox", {}, {"size": 13})
        truto = client(tenant.api_key, base_url)

        customer = await truto.unified_api.get("ecommerce", "customers", "7", {"integrated_account_id": conn_id})
        panora = (await api.client.get("/ecommerce/customers/7", params={"remote_data": "true"},
                                       headers={"x-api-key": tenant.api_key, "x-connection-token": token})).json()
        assert customer["id"] == "7" and customer["first_name"] == panora["first_name"]
        assert customer["emails"][0]["email"] == panora["email"]
        assert customer["remote_data"] == panora["remote_data"]

        # Its pagination helper: an async iterator that sends next_cursor back until it is null.
        ids = [c["id"] async for c in truto.unified_api.list(
            "ecommerce", "customers", {"integrated_account_id": conn_id, "limit": 4})]
        assert ids == [str(n) for n in range(1, 14)]
        everyone = await truto.unified_api.list(
            "ecommerce", "customers", {"integrated_account_id": conn_id, "limit": 5}).to_array()
        assert [c["id"] for c in everyone] == ids


async def test_every_query_parameter_in_the_clients_encoding(tmp_path):
    async with served_over_http(tmp_path) as (api, base_url):
        tenant = await api.tenant()
        conn_id, _ = await api.connection(tenant, "sandbox", {}, {"size": 6})
        truto = client(tenant.api_key, base_url)
        account = {"integrated_account_id": conn_id}

        unified = await truto.unified_api.get("ecommerce", "customers", "2", dict(account))
        for response_format in ("normalized", "stream"):
            same = await truto.unified_api.get(
                "ecommerce", "customers", "2", {**account, "truto_response_format": response_format})
            assert same == unified, response_format
        raw = await truto.unified_api.get("ecommerce", "customers", "2", {**account, "truto_response_format": "raw"})
        assert raw == unified["remote_data"]

        bare = await truto.unified_api.get(
            "ecommerce", "customers", "2", {**account, "truto_ignore_remote_data": True})  # sent as "true"
        assert "remote_data" not in bare
        trimmed = await truto.unified_api.get(  # sent as truto_exclude_fields[]=...
            "ecommerce", "customers", "2", {**account, "truto_exclude_fields": ["phones", "addresses.city"]})
        assert "phones" not in trimmed and "city" not in trimmed["addresses"][0]

        streamed = await truto.unified_api.list(
            "ecommerce", "customers", {**account, "limit": 4, "truto_response_format": "stream",
                                       "truto_ignore_remote_data": True}).to_array()
        assert [c["id"] for c in streamed] == ["1", "2", "3", "4", "5", "6"]
        assert all("remote_data" not in c for c in streamed)
        raws = await truto.unified_api.list(
            "ecommerce", "customers", {**account, "limit": 4, "truto_response_format": "raw"}).to_array()
        assert [r["customer_id"] for r in raws] == [1, 2, 3, 4, 5, 6]

        with pytest.raises(aiohttp.ClientResponseError) as refused:  # the sandbox forwards nothing
            await truto.unified_api.get("ecommerce", "customers", "2", {**account, "remote_query": {"q": "x"}})
        assert refused.value.status == 400

        woo = load_fixture("woocommerce", "customer.json")
        fake = WooCommerceFake([woo], prefix="")
        async with fake.serve() as origin:
            woo_conn, _ = await api.connection(tenant, "woocommerce", fake.credentials, fake.settings(origin))
            found = await truto.unified_api.get(  # sent as remote_query[_locale]=user
                "ecommerce", "customers", str(woo["id"]),
                {"integrated_account_id": woo_conn, "remote_query": {"_locale": "user"}})
        assert found["id"] == str(woo["id"])
        assert dict(fake.requests[0].query) == {"_locale": "user"}


async def test_errors_are_errors(tmp_path):
    async with served_over_http(tmp_path) as (api, base_url):
        alice = await api.tenant("alice")
        bob = await api.tenant("bob")
        alices, _ = await api.connection(alice, "sandbox", {})
        bobs, _ = await api.connection(bob, "sandbox", {})
        truto = client(alice.api_key, base_url)

        async def get(account: str, customer_id: str = "1"):
            return await truto.unified_api.get("ecommerce", "customers", customer_id,
                                               {"integrated_account_id": account})

        assert (await get(alices))["id"] == "1"
        with pytest.raises(aiohttp.ClientResponseError) as foreign:  # another tenant's account
            await get(bobs)
        assert foreign.value.status == 404
        with pytest.raises(aiohttp.ClientResponseError) as listing:
            await truto.unified_api.list("ecommerce", "customers", {"integrated_account_id": bobs}).to_array()
        assert listing.value.status == 404
        with pytest.raises(aiohttp.ClientResponseError) as missing:
            await get(alices, "999999")
        assert missing.value.status == 404

        assert await api.runtime.store.delete_connection(alices)  # a deleted connection
        await api.runtime.directory.poll_once()
        with pytest.raises(aiohttp.ClientResponseError) as deleted:
            await get(alices)
        assert deleted.value.status == 404

        bobs_client = client(bob.api_key, base_url)
        assert (await bobs_client.unified_api.get("ecommerce", "customers", "1",
                                                  {"integrated_account_id": bobs}))["id"] == "1"
        await api.runtime.store.revoke_api_key(bob.api_key_id, now_text())  # a revoked key
        await api.runtime.directory.poll_once()
        with pytest.raises(aiohttp.ClientResponseError) as revoked:
            await bobs_client.unified_api.get("ecommerce", "customers", "1", {"integrated_account_id": bobs})
        assert revoked.value.status == 401


async def test_stream_is_chunked_on_the_wire(tmp_path):
    async with served_over_http(tmp_path) as (api, base_url):
        tenant = await api.tenant()
        conn_id, _ = await api.connection(tenant, "sandbox", {}, {"size": 30})
        params = {"integrated_account_id": conn_id, "limit": "30", "truto_response_format": "stream"}
        headers = {"authorization": f"Bearer {tenant.api_key}"}
        async with api.client.stream("GET", "/unified/ecommerce/customers", params=params,
                                     headers=headers) as response:
            body = await response.aread()
        assert response.status_code == 200 and response.headers["transfer-encoding"] == "chunked"
        plain = await api.client.get("/unified/ecommerce/customers", headers=headers,
                                     params={**params, "truto_response_format": "unified"})
        assert body == plain.content


README = pathlib.Path(__file__).resolve().parents[2] / "README.md"


def readme_truto_block() -> str:
    """The README's Python example under "Truto's unified API"."""
    text = README.read_text(encoding="utf-8")
    section = text[text.index("### Truto's unified API"):]
    return section[section.index("```python\n") + len("```python\n"):section.index("```\n")]


async def test_the_readmes_three_lines_work(tmp_path):
    block = readme_truto_block()
    assert 'base_url="http://127.0.0.1:8080"' in block and 'token="sk_..."' in block
    async with served_over_http(tmp_path) as (api, base_url):
        tenant = await api.tenant()
        conn_id, _ = await api.connection(tenant, "sandbox", {}, {"size": 7})
        code = block.replace("sk_...", tenant.api_key).replace("http://127.0.0.1:8080", base_url)
        client(tenant.api_key, base_url)  # fails clearly under CI when the client is missing
        # The example awaits at the top level, as in an async function or an asyncio REPL.
        namespace: dict = {"CONNECTION_ID": conn_id}
        body = "\n".join("    " + line for line in code.splitlines())
        exec(compile(f"async def _example():\n{body}\n    return customers\n", "README.md", "exec"), namespace)
        customers = await namespace["_example"]()
    assert [c["id"] for c in customers] == [str(n) for n in range(1, 8)]
