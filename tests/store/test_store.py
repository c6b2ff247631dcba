"""The store contract, identical for every implementation."""

import pytest

from proxy.store import Conflict
from proxy.store.records import ApiKey, Connection, FieldMapping, Sealed, Tenant

T0 = "2026-01-01T00:00:00.000Z"


def tenant(n=1):
    return Tenant(id=f"t{n}", name=f"Tenant {n}", created_at=T0)


def connection(n=1, tenant_id="t1", created_at=T0):
    return Connection(
        id=f"c{n}", tenant_id=tenant_id, provider="sandbox", token_prefix=f"ct_{n}",
        status="active", settings={"size": n}, created_at=created_at, updated_at=created_at,
    )


async def test_migrate_is_idempotent_and_versioned(store):
    first = await store.migrate()
    assert first >= 2 and await store.migrate() == first


async def test_tenants(store):
    await store.create_tenant(tenant(1))
    await store.create_tenant(tenant(2))
    assert await store.get_tenant("t1") == tenant(1)
    assert await store.get_tenant("nope") is None
    assert [t.id for t in await store.list_tenants()] == ["t1", "t2"]
    with pytest.raises(Conflict):
        await store.create_tenant(tenant(1))


async def test_api_keys_lifecycle(store):
    await store.create_tenant(tenant())
    key = ApiKey(id="k1", tenant_id="t1", name="prod", prefix="sk_abc", created_at=T0)
    await store.create_api_key(key, "digest-1")
    owner = await store.key_owner("digest-1")
    assert owner.tenant_id == "t1" and owner.key_id == "k1"
    assert await store.key_owner("digest-2") is None
    await store.touch_api_keys({"k1": "2026-01-02T00:00:00.000Z"})
    assert (await store.get_api_key("k1")).last_used_at == "2026-01-02T00:00:00.000Z"
    cursor = await store.last_invalidation_id()
    revoked = await store.revoke_api_key("k1", "2026-01-03T00:00:00.000Z")
    assert revoked.revoked_at == "2026-01-03T00:00:00.000Z"
    assert await store.key_owner("digest-1") is None
    again = await store.revoke_api_key("k1", "2026-01-04T00:00:00.000Z")
    assert again.revoked_at == "2026-01-03T00:00:00.000Z"  # idempotent
    assert [(i.kind, i.digest) for i in await store.invalidations_since(cursor)] == [("api_key", "digest-1")]
    assert await store.revoke_api_key("nope", T0) is None
    assert [k.id for k in await store.list_api_keys("t1")] == ["k1"]
    with pytest.raises(Conflict):
        await store.create_api_key(ApiKey(id="k2", tenant_id="t1", name=None, prefix="p", created_at=T0), "digest-1")


async def test_connections_scoped_by_tenant(store):
    await store.create_tenant(tenant(1))
    await store.create_tenant(tenant(2))
    await store.create_connection(connection(1), "tok-1", Sealed("k", b"\x00cipher"))
    found = await store.find_connection("t1", "tok-1")
    assert found.connection == connection(1)
    assert found.credentials == Sealed("k", b"\x00cipher") and found.oauth_token is None
    assert await store.find_connection("t2", "tok-1") is None
    assert await store.connection_token_digest("t1", "c1") == "tok-1"
    assert await store.connection_token_digest("t2", "c1") is None  # another tenant's: as unknown
    assert await store.connection_token_digest("t1", "c9") is None
    assert await store.connection_credentials("c1") == Sealed("k", b"\x00cipher")
    with pytest.raises(Conflict):
        await store.create_connection(connection(2, "t2"), "tok-1", Sealed("k", b"x"))


async def test_connection_updates_and_tokens(store):
    await store.create_tenant(tenant())
    await store.create_connection(connection(1), "tok-1", Sealed("k", b"creds"))
    await store.save_oauth_token("c1", Sealed("k", b"oauth"))
    assert await store.load_oauth_token("c1") == Sealed("k", b"oauth")
    cursor = await store.last_invalidation_id()
    assert await store.update_connection("c1", "2026-02-01T00:00:00.000Z", settings={"size": 9})
    assert (await store.get_connection("c1")).settings == {"size": 9}
    assert await store.load_oauth_token("c1") == Sealed("k", b"oauth")  # settings keep the token
    assert await store.update_connection("c1", "2026-02-02T00:00:00.000Z", credentials=Sealed("k2", b"new"))
    assert await store.load_oauth_token("c1") is None  # new credentials drop it
    assert await store.connection_credentials("c1") == Sealed("k2", b"new")
    await store.set_connection_status("c1", "needs_reauth", "2026-02-03T00:00:00.000Z")
    assert (await store.get_connection("c1")).status == "needs_reauth"
    assert await store.rotate_connection_token("c1", "tok-2", "ct_2", "2026-02-04T00:00:00.000Z")
    assert await store.find_connection("t1", "tok-1") is None
    assert (await store.find_connection("t1", "tok-2")).connection.token_prefix == "ct_2"
    assert await store.connection_token_digest("t1", "c1") == "tok-2"
    kinds = [(i.kind, i.digest) for i in await store.invalidations_since(cursor)]
    assert kinds == [("connection", "tok-1")] * 3
    assert not await store.update_connection("nope", T0, settings={})
    assert not await store.rotate_connection_token("nope", "x", "y", T0)


async def test_list_connections_keyset_paging(store):
    await store.create_tenant(tenant())
    for n in range(1, 6):
        await store.create_connection(connection(n, created_at=f"2026-01-0{n}T00:00:00.000Z"), f"tok-{n}", Sealed("k", b"x"))
    first = await store.list_connections("t1", 2)
    assert [c.id for c in first] == ["c1", "c2"]
    rest = await store.list_connections("t1", 10, (first[-1].created_at, first[-1].id))
    assert [c.id for c in rest] == ["c3", "c4", "c5"]
    assert await store.list_connections("t2") == []


async def test_delete_connection_cascades_and_invalidates(store):
    await store.create_tenant(tenant())
    await store.create_connection(connection(1), "tok-1", Sealed("k", b"x"))
    mapping = FieldMapping(id="m1", tenant_id="t1", connection_id="c1", object="customer",
                           provider="sandbox", name="a", expression="a", created_at=T0)
    await store.create_field_mapping(mapping)
    cursor = await store.last_invalidation_id()
    assert await store.delete_connection("c1")
    assert not await store.delete_connection("c1")
    assert await store.get_connection("c1") is None
    assert await store.list_field_mappings("t1") == []
    assert [(i.kind, i.digest) for i in await store.invalidations_since(cursor)] == [("connection", "tok-1")]


async def test_field_mappings(store):
    await store.create_tenant(tenant(1))
    await store.create_tenant(tenant(2))
    await store.create_connection(connection(1), "tok-1", Sealed("k", b"x"))
    wide = FieldMapping(id="m1", tenant_id="t1", connection_id=None, object="customer",
                        provider="sandbox", name="a", expression="a", created_at=T0)
    scoped = FieldMapping(id="m2", tenant_id="t1", connection_id="c1", object="customer",
                          provider="sandbox", name="a", expression="b", created_at=T0)
    await store.create_field_mapping(wide)
    await store.create_field_mapping(scoped)
    with pytest.raises(Conflict):
        await store.create_field_mapping(
            FieldMapping(id="m3", tenant_id="t1", connection_id=None, object="customer",
                         provider="sandbox", name="a", expression="c", created_at=T0)
        )
    assert {m.id for m in await store.list_field_mappings("t1")} == {"m1", "m2"}
    assert not await store.delete_field_mapping("t2", "m1")
    assert await store.delete_field_mapping("t1", "m1")
    assert [m.id for m in await store.list_field_mappings("t1")] == ["m2"]
    invalidations = await store.invalidations_since(0)
    assert ("field_mappings", "t1") in [(i.kind, i.digest) for i in invalidations]


async def test_ping(store):
    await store.ping()


async def test_lookups_by_text_no_row_can_hold_find_nothing(store):
    """A NUL character (PostgreSQL text cannot store one) in a lookup finds
    nothing, on every store, rather than failing."""
    await store.create_tenant(tenant())
    await store.create_connection(connection(1), "tok-1", Sealed("k", b"x"))
    nul = "c1\x00"
    assert await store.get_tenant("t1\x00") is None
    assert await store.get_connection(nul) is None
    assert await store.connection_credentials(nul) is None
    assert await store.find_connection("t1", "tok-1\x00") is None
    assert await store.get_api_key(nul) is None and await store.key_owner(nul) is None
    assert await store.revoke_api_key(nul, T0) is None
    assert not await store.delete_connection(nul)
    assert not await store.update_connection(nul, T0, settings={})
    assert not await store.rotate_connection_token(nul, "x", "y", T0)
    assert not await store.delete_field_mapping("t1", nul)
    assert await store.list_connections("t1", 10, ("2026\x00", nul)) in ([], [connection(1)])
    assert (await store.get_connection("c1")) == connection(1)


async def test_probe_write_passes_on_a_writable_store_and_leaves_nothing(store):
    version = await store.migrate()
    for _ in range(3):
        await store.probe_write()
    assert await store.migrate() == version
    assert await store.list_tenants() == []


async def test_connections_per_key_id_and_counts(store):
    from keys.vault import new_key_text, parse_keyring
    from proxy import accounts
    from proxy.oauth_store import ConnectionTokenStore
    from providers.tokens import AccessToken

    old, new = parse_keyring(new_key_text("old")), parse_keyring(new_key_text("new"))
    assert await store.connections_per_key_id() == {}
    tenant = await accounts.create_tenant(store, "t")
    await accounts.create_api_key(store, tenant.id, "k")
    conns = [
        (await accounts.create_connection(store, ring, tenant.id, "sandbox", {}, {}))[0]
        for ring in (old, old, new)
    ]
    # An OAuth token under another key than the credentials: the row needs both.
    await ConnectionTokenStore(store, new, tenant.id, conns[0].id).save(
        AccessToken(access_token="a", expires_at=9e9)
    )
    assert await store.connections_per_key_id() == {"old": 2, "new": 2}
    assert await store.counts() == {
        "tenants": 1, "active_api_keys": 1, "connections": 3, "field_mappings": 0,
    }
