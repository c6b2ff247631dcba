"""The store contract for provider apps (issue 15): one app per (owner,
provider), the operator's default (tenant None) apart from tenants' own,
the sealed secret apart from the record, rotation's paging and swap.
Every test runs on SQLite and PostgreSQL."""

import asyncio

import pytest

from proxy.store import Conflict, migrations
from proxy.store.records import ProviderApp, Sealed, Tenant


async def secret_of(store, tenant_id, provider):
    """The sealed client secret the one-read lookup returns with its app."""
    found = await store.sealed_provider_app(tenant_id, provider)
    if found is None:
        return None
    app, sealed = found
    assert app == await store.get_provider_app(tenant_id, provider)  # the same record as the plain read
    return sealed


T0 = "2026-01-01T00:00:00.000Z"
T1 = "2026-01-01T00:10:00.000Z"


def app(tenant_id="t1", provider="shopify", client_id="cid", at=T0, scopes=None, settings=None):
    return ProviderApp(
        tenant_id=tenant_id, provider=provider, client_id=client_id,
        scopes=scopes if scopes is not None else ["read_customers"],
        settings=settings or {}, created_at=at, updated_at=at,
    )


def sealed(n=1):
    return Sealed(f"k{n}", bytes([n]) * 40)


@pytest.fixture
async def tenants(store):
    for n in (1, 2):
        await store.create_tenant(Tenant(id=f"t{n}", name=f"Tenant {n}", created_at=T0))


async def test_migration_5_is_on_both_stores(store):
    assert len(migrations.SQLITE) == len(migrations.POSTGRES) >= 5
    assert await store.migrate() == len(migrations.SQLITE)


async def test_put_creates_then_replaces_keeping_created_at(store, tenants):
    assert await store.put_provider_app(app(scopes=["a", "b"], settings={"auth_url": "https://x.test"}), sealed(1))
    got = await store.get_provider_app("t1", "shopify")
    assert got == app(scopes=["a", "b"], settings={"auth_url": "https://x.test"})
    assert await secret_of(store, "t1", "shopify") == sealed(1)

    assert not await store.put_provider_app(app(client_id="cid2", at=T1, scopes=[]), sealed(2))
    got = await store.get_provider_app("t1", "shopify")
    assert (got.client_id, got.scopes, got.settings, got.created_at, got.updated_at) == ("cid2", [], {}, T0, T1)
    assert await secret_of(store, "t1", "shopify") == sealed(2)


async def test_operator_default_and_tenant_apps_are_apart(store, tenants):
    assert await store.put_provider_app(app(tenant_id=None, client_id="operator"), sealed(1))
    assert await store.put_provider_app(app(tenant_id="t1", client_id="own"), sealed(2))
    assert not await store.put_provider_app(app(tenant_id=None, client_id="operator2"), sealed(3))
    assert (await store.get_provider_app(None, "shopify")).client_id == "operator2"
    assert (await store.get_provider_app(None, "shopify")).tenant_id is None
    assert (await store.get_provider_app("t1", "shopify")).client_id == "own"
    assert await store.get_provider_app("t2", "shopify") is None  # never the default, never t1's
    assert await secret_of(store, "t2", "shopify") is None
    assert await secret_of(store, None, "shopify") == sealed(3)
    assert await store.get_provider_app("t1", "wix") is None


async def test_list_by_owner_and_everyone(store, tenants):
    await store.put_provider_app(app(tenant_id="t2", provider="wix"), sealed())
    await store.put_provider_app(app(tenant_id="t1", provider="wix"), sealed())
    await store.put_provider_app(app(tenant_id="t1", provider="bigcommerce"), sealed())
    await store.put_provider_app(app(tenant_id=None, provider="zoho_inventory"), sealed())
    await store.put_provider_app(app(tenant_id=None, provider="bigcommerce"), sealed())
    mine = await store.list_provider_apps("t1")
    assert [(a.tenant_id, a.provider) for a in mine] == [("t1", "bigcommerce"), ("t1", "wix")]
    defaults = await store.list_provider_apps(None)
    assert [(a.tenant_id, a.provider) for a in defaults] == [(None, "bigcommerce"), (None, "zoho_inventory")]
    everyone = await store.list_provider_apps(None, everyone=True)
    assert [(a.tenant_id, a.provider) for a in everyone] == [
        (None, "bigcommerce"), (None, "zoho_inventory"),
        ("t1", "bigcommerce"), ("t1", "wix"), ("t2", "wix"),
    ]
    assert await store.list_provider_apps("nobody") == []


async def test_delete_only_the_owners_app(store, tenants):
    await store.put_provider_app(app(tenant_id=None), sealed())
    await store.put_provider_app(app(tenant_id="t1"), sealed())
    assert not await store.delete_provider_app("t2", "shopify")
    assert await store.delete_provider_app("t1", "shopify")
    assert not await store.delete_provider_app("t1", "shopify")
    assert await store.get_provider_app("t1", "shopify") is None
    assert await store.get_provider_app(None, "shopify") is not None
    assert await store.delete_provider_app(None, "shopify")
    assert await store.list_provider_apps(None, everyone=True) == []


async def test_an_unknown_tenant_cannot_own_an_app(store, tenants):
    with pytest.raises(Conflict):
        await store.put_provider_app(app(tenant_id="ghost"), sealed())
    assert await store.list_provider_apps(None, everyone=True) == []


async def test_nul_in_a_lookup_finds_nothing(store, tenants):
    await store.put_provider_app(app(), sealed())
    assert await store.get_provider_app("t1\x00", "shopify") is None
    assert await store.get_provider_app("t1", "shop\x00ify") is None
    assert await secret_of(store, "t1", "\x00") is None
    assert await store.list_provider_apps("t1\x00") == []
    assert not await store.delete_provider_app("t1", "shopify\x00")


async def test_concurrent_puts_one_creates_none_fails(store, tenants):
    results = await asyncio.gather(*(
        store.put_provider_app(app(client_id=f"c{n}"), sealed(n)) for n in range(1, 6)
    ))
    assert sorted(results) == [False, False, False, False, True]
    assert len(await store.list_provider_apps("t1")) == 1


async def test_sealed_secrets_page_in_owner_order_and_reseal_is_compare_and_swap(store, tenants):
    await store.put_provider_app(app(tenant_id="t1", provider="wix"), sealed(1))
    await store.put_provider_app(app(tenant_id=None, provider="wix"), sealed(2))
    await store.put_provider_app(app(tenant_id=None, provider="shopify"), sealed(3))
    first = await store.sealed_provider_app_secrets(("", ""), 2)
    assert first == [(None, "shopify", sealed(3)), (None, "wix", sealed(2))]
    rest = await store.sealed_provider_app_secrets(("", "wix"), 2)
    assert rest == [("t1", "wix", sealed(1))]
    assert await store.sealed_provider_app_secrets(("t1", "wix"), 2) == []

    assert not await store.reseal_provider_app_secret(None, "wix", sealed(9), sealed(4))  # not what it holds
    assert await store.reseal_provider_app_secret(None, "wix", sealed(2), sealed(4))
    assert await secret_of(store, None, "wix") == sealed(4)
    assert await secret_of(store, "t1", "wix") == sealed(1)  # the tenant's untouched
    assert (await store.connections_per_key_id()) == {"k1": 1, "k3": 1, "k4": 1}
