"""Key rotation re-encrypts everything under the active key; afterwards the
old key can go. Runs on every store implementation."""

import msgspec
import pytest

from keys.vault import credentials_aad, new_key_text, parse_keyring
from proxy import accounts, rotation, tenant_settings
from proxy.oauth_store import ConnectionTokenStore
from proxy.store.records import Sealed
from providers.tokens import AccessToken

OLD = new_key_text("old")
NEW = new_key_text("new")


async def make_connections(store, keyring, n=5):
    tenant = await accounts.create_tenant(store, "t")
    created = []
    for i in range(n):
        conn, _ = await accounts.create_connection(
            store, keyring, tenant.id, "sandbox", {}, {"size": i + 1}
        )
        created.append(conn)
    return tenant, created


async def test_rotate_then_drop_the_old_key(store):
    old_ring = parse_keyring(OLD)
    tenant, conns = await make_connections(store, old_ring)
    tokens = ConnectionTokenStore(store, old_ring, tenant.id, conns[0].id)
    await tokens.save(AccessToken(access_token="oauth-secret", expires_at=9e9))

    both = parse_keyring(f"{NEW},{OLD}")
    report = await rotation.rotate(store, both, batch=2)
    assert (report.rotated, report.already_current, report.undecryptable) == (5, 0, [])
    again = await rotation.rotate(store, both)  # resumable / idempotent
    assert (again.rotated, again.already_current) == (0, 5)

    new_only = parse_keyring(NEW)
    for conn in conns:
        sealed = await store.connection_credentials(conn.id)
        assert sealed.key_id == "new"
        plain = new_only.decrypt(sealed.key_id, sealed.blob, credentials_aad(tenant.id, conn.id))
        assert msgspec.json.decode(plain) == {}
    token = await ConnectionTokenStore(store, new_only, tenant.id, conns[0].id).load()
    assert token is not None and token.access_token == "oauth-secret"


async def test_concurrent_update_wins(store):
    old_ring = parse_keyring(OLD)
    tenant, conns = await make_connections(store, old_ring, n=1)
    rows = await store.sealed_rows("", 10)
    both = parse_keyring(f"{NEW},{OLD}")
    # Someone replaces the credentials between our read and our swap.
    key_id, blob = both.encrypt(b"{}", credentials_aad(tenant.id, conns[0].id))
    from proxy.store.records import Sealed, SealedRow

    await store.update_connection(conns[0].id, "2026-01-01T00:00:00.000Z", credentials=Sealed(key_id, blob))
    stale_new = SealedRow(connection_id=rows[0].connection_id, tenant_id=rows[0].tenant_id,
                          credentials=Sealed("new", b"stale"))
    assert not await store.reseal(rows[0], stale_new)
    assert (await store.connection_credentials(conns[0].id)).blob == blob


async def test_missing_key_is_reported_not_fatal(store):
    tenant, conns = await make_connections(store, parse_keyring(OLD), n=2)
    report = await rotation.rotate(store, parse_keyring(NEW))
    assert report.rotated == 0 and sorted(report.undecryptable) == sorted(c.id for c in conns)


async def test_webhook_secrets_rotate_with_the_connections(store):
    """Tenants' webhook secrets are sealed like credentials: counted in what
    the keyring must hold, re-encrypted by a rotation, readable after the old
    key is gone, and named when their key is missing."""
    old_ring = parse_keyring(OLD)
    tenant, conns = await make_connections(store, old_ring, n=1)
    other = await accounts.create_tenant(store, "other")
    secrets = {}
    for t in (tenant, other):
        updated, secrets[t.id] = await tenant_settings.update_settings(
            store, old_ring, t.id, webhook_url="https://hooks.example/in", allow_private_networks=False
        )
    assert await store.connections_per_key_id() == {"old": 3}  # a connection and two secrets

    # A key ring without "old" cannot rotate them: named, left as they were.
    lost = await rotation.rotate(store, parse_keyring(NEW))
    assert sorted(lost.undecryptable_webhook_secrets) == sorted([tenant.id, other.id])

    both = parse_keyring(f"{NEW},{OLD}")
    report = await rotation.rotate(store, both, batch=1)
    assert (report.rotated, report.undecryptable, report.undecryptable_webhook_secrets) == (3, [], [])
    assert await store.connections_per_key_id() == {"new": 3}
    assert (await rotation.rotate(store, both)).already_current == 3
    new_only = parse_keyring(NEW)
    for t in (tenant, other):
        assert await tenant_settings.signing_secret(store, new_only, t.id) == secrets[t.id]


async def test_a_secret_rotated_meanwhile_wins_over_the_key_rotation(store):
    old_ring = parse_keyring(OLD)
    tenant = await accounts.create_tenant(store, "t")
    await tenant_settings.update_settings(
        store, old_ring, tenant.id, webhook_url="https://hooks.example/in", allow_private_networks=False
    )
    [(tenant_id, read)] = await store.sealed_webhook_secrets("", 10)
    _, fresh = await tenant_settings.rotate_webhook_secret(store, old_ring, tenant.id)
    assert not await store.reseal_webhook_secret(tenant_id, read, Sealed("new", b"stale"))
    assert await tenant_settings.signing_secret(store, old_ring, tenant.id) == fresh
    assert await store.sealed_webhook_secrets(tenant_id, 10) == []


async def test_provider_app_secrets_rotate_with_the_rest(store):
    """Provider apps' client secrets (the operator's default and a tenant's
    own) are counted, re-encrypted, readable under the new key alone, and
    named when their key is missing."""
    from types import SimpleNamespace

    from proxy import provider_apps

    old_ring = parse_keyring(OLD)
    tenant = await accounts.create_tenant(store, "t")
    for owner, secret in ((None, "operator-secret"), (tenant.id, "tenant-secret")):
        await provider_apps.put_app(
            store, old_ring, owner, "shopify", f"id-{secret}", secret, allow_private_networks=False
        )
    assert await store.connections_per_key_id() == {"old": 2}

    lost = await rotation.rotate(store, parse_keyring(NEW))
    assert sorted(lost.undecryptable_provider_apps) == sorted(["operator/shopify", f"{tenant.id}/shopify"])

    both = parse_keyring(f"{NEW},{OLD}")
    report = await rotation.rotate(store, both, batch=1)
    assert (report.rotated, report.undecryptable_provider_apps) == (2, [])
    assert await store.connections_per_key_id() == {"new": 2}
    assert (await rotation.rotate(store, both)).already_current == 2

    new_only = SimpleNamespace(store=store, keyring=parse_keyring(NEW))
    own = await provider_apps.resolve(new_only, tenant.id, "shopify")
    assert (own.client_secret, own.owner) == ("tenant-secret", "tenant")
    default = await provider_apps.resolve(new_only, "another-tenant", "shopify")
    assert (default.client_secret, default.owner, default.tenant_id) == ("operator-secret", "operator", None)


async def test_oauth_install_rows_are_rotated_too(store):
    from proxy.oauth_store import GrantTokenStore

    old_ring = parse_keyring(OLD)
    await GrantTokenStore(store, old_ring, "shopify:app:acme.myshopify.com").save(
        AccessToken(access_token="shared-secret", expires_at=9e9, extra={"refresh_token": "rt"}))
    both = parse_keyring(f"{NEW},{OLD}")
    report = await rotation.rotate(store, both)
    assert report.rotated == 1 and report.undecryptable_oauth == []
    token = await GrantTokenStore(store, parse_keyring(NEW), "shopify:app:acme.myshopify.com").load()
    assert token is not None and token.access_token == "shared-secret" and token.extra["refresh_token"] == "rt"
    # Under a key the ring lacks: named, left as it is.
    assert (await rotation.rotate(store, parse_keyring(new_key_text("other")))).undecryptable_oauth == [
        "grant:shopify:app:acme.myshopify.com"]
