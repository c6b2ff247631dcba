"""The store contract for OAuth installs (issue 15): one-use connect
attempts behind each ``state``, unclaimed installs, connections' grant key
and the token a grant shares, and their part in key rotation. Every test
runs on SQLite and PostgreSQL (tests/store/conftest.py)."""

import asyncio

import pytest

from proxy.store import Conflict
from proxy.store.records import ConnectAttempt, Sealed, UnclaimedInstall
from tests.store.test_connect_store import T0, T1, T2, connection, session, tenant

GRANT = "shopify:client-1:acme.myshopify.com"


def attempt(n=1, session_id="s1", expires_at=T2):
    return ConnectAttempt(
        id=f"a{n}", state_digest=f"state-{n}", session_id=session_id, tenant_id="t1", provider="shopify",
        created_at=T0, expires_at=expires_at,
    )


def install(n=1, expires_at=T2):
    return UnclaimedInstall(
        claim_digest=f"claim-{n}", provider="bigcommerce", app_tenant_id=None, grant_key=f"bigcommerce:c:{n}",
        created_at=T0, expires_at=expires_at,
    )


async def with_session(store):
    await store.create_tenant(tenant())
    await store.create_connect_session(session(1), "d1")


async def test_an_attempt_is_claimed_once_and_only_before_it_expires(store):
    await with_session(store)
    await store.create_connect_attempt(attempt(1), Sealed("k1", b"data-1"))
    await store.create_connect_attempt(attempt(2, expires_at=T1), Sealed("k1", b"data-2"))
    assert await store.get_connect_attempt("state-1") == (attempt(1), Sealed("k1", b"data-1"))
    assert await store.claim_connect_attempt("state-2", T1) is None  # expired at T1
    assert await store.claim_connect_attempt("unknown", T1) is None
    claimed, data = await store.claim_connect_attempt("state-1", T1)
    assert claimed.used_at == T1 and claimed.id == "a1" and data == Sealed("k1", b"data-1")
    assert await store.claim_connect_attempt("state-1", T1) is None  # used
    assert (await store.get_connect_attempt("state-1"))[0].used_at == T1  # still readable
    same_state = attempt(3)
    same_state.state_digest = "state-1"
    with pytest.raises(Conflict):  # one state, one attempt
        await store.create_connect_attempt(same_state, Sealed("k1", b"x"))


async def test_racing_claims_of_one_attempt_have_one_winner(store):
    await with_session(store)
    await store.create_connect_attempt(attempt(1), Sealed("k1", b"data"))
    results = await asyncio.gather(*(store.claim_connect_attempt("state-1", T1) for _ in range(6)))
    assert sum(r is not None for r in results) == 1


async def test_attempt_data_is_replaced_in_place(store):
    await with_session(store)
    await store.create_connect_attempt(attempt(1), Sealed("k1", b"before"))
    await store.update_connect_attempt_data("a1", Sealed("k2", b"after"))
    assert await store.get_connect_attempt("state-1") == (attempt(1), Sealed("k2", b"after"))


async def test_an_attempt_needs_its_session(store):
    await store.create_tenant(tenant())
    with pytest.raises(Conflict):
        await store.create_connect_attempt(attempt(1, session_id="no-such-session"), Sealed("k1", b"x"))


async def test_an_unclaimed_install_is_claimed_once_in_time(store):
    await store.create_unclaimed_install(install(1), Sealed("k1", b"install-1"))
    await store.create_unclaimed_install(install(2, expires_at=T1), Sealed("k1", b"install-2"))
    assert await store.claim_unclaimed_install("claim-2", T1) is None  # expired
    got, data = await store.claim_unclaimed_install("claim-1", T1)
    assert got.claimed_at == T1 and got.grant_key == "bigcommerce:c:1" and data == Sealed("k1", b"install-1")
    assert await store.claim_unclaimed_install("claim-1", T1) is None
    results = await asyncio.gather(*(store.claim_unclaimed_install("claim-2", T0) for _ in range(4)))
    assert sum(r is not None for r in results) == 1


async def test_connections_keep_their_grant_key_and_are_found_by_it(store):
    await store.create_tenant(tenant(1))
    await store.create_tenant(tenant(2))
    first, second, plain = connection(1), connection(2, tenant_id="t2"), connection(3)
    first.grant_key = second.grant_key = GRANT
    for made in (first, second, plain):
        await store.create_connection(made, f"digest-{made.id}", Sealed("k1", b"creds"))
    assert (await store.get_connection("c1")).grant_key == GRANT
    assert (await store.get_connection("c3")).grant_key is None
    assert [c.id for c in await store.connections_with_grant(GRANT)] == ["c1", "c2"]
    assert await store.connections_with_grant("other") == []
    # update_connection sets or clears it; left out, it stays.
    assert await store.update_connection("c3", T1, grant_key=GRANT)
    assert await store.update_connection("c1", T1, status="active")
    assert await store.update_connection("c2", T1, grant_key=None)
    assert [c.id for c in await store.connections_with_grant(GRANT)] == ["c1", "c3"]


async def test_a_grant_token_is_shared_and_replaced_in_place(store):
    assert await store.load_grant_token(GRANT) is None
    await store.save_grant_token(GRANT, Sealed("k1", b"token-1"))
    assert await store.load_grant_token(GRANT) == Sealed("k1", b"token-1")
    await store.save_grant_token(GRANT, Sealed("k2", b"token-2"))
    assert await store.load_grant_token(GRANT) == Sealed("k2", b"token-2")
    assert await store.load_grant_token("other") is None


async def test_the_new_sealed_columns_join_key_rotation(store):
    await with_session(store)
    await store.create_connect_attempt(attempt(1), Sealed("old", b"attempt"))
    await store.create_unclaimed_install(install(1), Sealed("old", b"install"))
    await store.save_grant_token(GRANT, Sealed("old", b"grant"))
    assert await store.sealed_extras("attempt", "", 10) == [("a1", "t1", Sealed("old", b"attempt"))]
    assert await store.sealed_extras("install", "", 10) == [("claim-1", None, Sealed("old", b"install"))]
    assert await store.sealed_extras("grant", "", 10) == [(GRANT, None, Sealed("old", b"grant"))]
    assert await store.sealed_extras("grant", GRANT, 10) == []
    counts = await store.connections_per_key_id()
    assert counts.get("old") == 3
    assert await store.reseal_extra("grant", GRANT, Sealed("old", b"grant"), Sealed("new", b"grant2"))
    assert not await store.reseal_extra("grant", GRANT, Sealed("old", b"grant"), Sealed("new", b"grant3"))
    assert await store.load_grant_token(GRANT) == Sealed("new", b"grant2")
    assert await store.reseal_extra("attempt", "a1", Sealed("old", b"attempt"), Sealed("new", b"a2"))
    assert (await store.get_connect_attempt("state-1"))[1] == Sealed("new", b"a2")
