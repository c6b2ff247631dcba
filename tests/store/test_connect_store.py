"""The store contract for the connect flow and the webhook outbox (issue
14): tenant settings, connections' end user and tags, connect sessions and
codes, events enqueued with the change they describe. Every test runs on
SQLite and PostgreSQL (tests/store/conftest.py)."""

import asyncio

import pytest

from proxy.store import Conflict, migrations
from proxy.store.records import (
    UNSET,
    ConnectCode,
    Connection,
    ConnectSession,
    Sealed,
    Tenant,
    WebhookEvent,
)

T0 = "2026-01-01T00:00:00.000Z"
T1 = "2026-01-01T00:10:00.000Z"
T2 = "2026-01-01T00:20:00.000Z"
T3 = "2026-01-01T00:30:00.000Z"
LATER = "2026-01-02T00:00:00.000Z"


def tenant(n=1):
    return Tenant(id=f"t{n}", name=f"Tenant {n}", created_at=T0)


def connection(n=1, tenant_id="t1", created_at=T0, end_user_id=None, tags=None):
    return Connection(
        id=f"c{n}", tenant_id=tenant_id, provider="sandbox", token_prefix=f"ct_{n}",
        status="active", settings={}, created_at=created_at, updated_at=created_at,
        end_user_id=end_user_id, tags=tags or {},
    )


def event(n=1, tenant_id="t1", type="connection.created", due=T0, created_at=T0):
    return WebhookEvent(
        id=f"evt_{n}", tenant_id=tenant_id, type=type, payload=f'{{"n":{n}}}',
        next_attempt_at=due, created_at=created_at,
    )


def session(n=1, tenant_id="t1", expires_at=T3, **fields):
    return ConnectSession(
        id=f"s{n}", tenant_id=tenant_id, end_user_id=f"user-{n}", providers=["sandbox"],
        created_at=T0, expires_at=expires_at, **fields,
    )


def code(session_id="s1", tenant_id="t1", connection_id="c1", mint_token=True, expires_at=T2):
    return ConnectCode(
        session_id=session_id, tenant_id=tenant_id, connection_id=connection_id,
        mint_token=mint_token, expires_at=expires_at,
    )


async def event_ids(store, tenant_id="t1"):
    return [e.id for e in await store.list_webhook_events(tenant_id)]


# -- schema and tenants -------------------------------------------------------


async def test_migrations_have_the_connect_step_on_both_stores(store):
    assert len(migrations.SQLITE) == len(migrations.POSTGRES) >= 4
    assert await store.migrate() == len(migrations.SQLITE)


async def test_a_new_tenant_has_no_return_urls_webhook_or_secret(store):
    await store.create_tenant(tenant())
    got = await store.get_tenant("t1")
    assert got.return_urls == [] and got.webhook_url is None
    assert await store.webhook_secret("t1") is None


async def test_update_tenant_replaces_what_is_given_and_keeps_the_rest(store):
    await store.create_tenant(tenant(1))
    await store.create_tenant(tenant(2))
    urls = ["https://app.example/back", "http://127.0.0.1:8080/cb"]
    secret = Sealed("k1", b"\x00sealed")
    updated = await store.update_tenant(
        "t1", return_urls=urls, webhook_url="https://hooks.example/in", webhook_secret=secret
    )
    assert updated == Tenant(id="t1", name="Tenant 1", created_at=T0, return_urls=urls,
                             webhook_url="https://hooks.example/in")
    assert await store.get_tenant("t1") == updated
    assert await store.webhook_secret("t1") == secret
    # Nothing given: nothing changes (the secret is UNSET, not cleared).
    assert await store.update_tenant("t1") == updated
    assert (await store.update_tenant("t1", name="Renamed")).return_urls == urls
    assert await store.webhook_secret("t1") == secret
    # A new secret replaces the old one; the URL stays.
    await store.update_tenant("t1", webhook_secret=Sealed("k2", b"other"))
    assert await store.webhook_secret("t1") == Sealed("k2", b"other")
    assert (await store.get_tenant("t1")).webhook_url == "https://hooks.example/in"
    # None clears the URL and the secret; [] empties the allow-list.
    cleared = await store.update_tenant("t1", webhook_url=None, webhook_secret=None, return_urls=[])
    assert cleared.webhook_url is None and cleared.return_urls == [] and cleared.name == "Renamed"
    assert await store.webhook_secret("t1") is None
    # The other tenant was never touched.
    assert await store.get_tenant("t2") == tenant(2)
    assert [t.id for t in await store.list_tenants()] == ["t1", "t2"]


async def test_update_tenant_of_no_tenant_is_none(store):
    assert await store.update_tenant("nope", name="x") is None
    assert await store.update_tenant("nope", webhook_url=None) is None
    assert await store.webhook_secret("nope") is None
    assert UNSET is not None  # the sentinel is its own value


# -- connections: end user, tags, events ---------------------------------------


async def test_connections_keep_end_user_and_tags(store):
    await store.create_tenant(tenant())
    made = connection(1, end_user_id="user-42", tags={"plan": "pro", "región": "eu"})
    await store.create_connection(made, "tok-1", Sealed("k", b"x"))
    assert await store.get_connection("c1") == made
    assert (await store.find_connection("t1", "tok-1")).connection == made
    assert (await store.find_connection("t1", "tok-1")).credentials == Sealed("k", b"x")
    assert await store.list_connections("t1") == [made]
    # Defaults: no end user, no tags.
    await store.create_connection(connection(2), "tok-2", Sealed("k", b"x"))
    plain = await store.get_connection("c2")
    assert plain.end_user_id is None and plain.tags == {}


async def test_list_connections_by_end_user_pages_within_that_user(store):
    await store.create_tenant(tenant(1))
    await store.create_tenant(tenant(2))
    for n in range(1, 7):
        user = "alice" if n % 2 else "bob"
        made = connection(n, created_at=f"2026-01-0{n}T00:00:00.000Z", end_user_id=user)
        await store.create_connection(made, f"tok-{n}", Sealed("k", b"x"))
    await store.create_connection(connection(9, "t2", end_user_id="alice"), "tok-9", Sealed("k", b"x"))
    assert [c.id for c in await store.list_connections("t1", end_user_id="alice")] == ["c1", "c3", "c5"]
    first = await store.list_connections("t1", 2, end_user_id="bob")
    assert [c.id for c in first] == ["c2", "c4"]
    rest = await store.list_connections("t1", 2, (first[-1].created_at, first[-1].id), "bob")
    assert [c.id for c in rest] == ["c6"]
    assert await store.list_connections("t1", end_user_id="carol") == []
    assert [c.id for c in await store.list_connections("t2", end_user_id="alice")] == ["c9"]
    assert len(await store.list_connections("t1")) == 6  # None: no filter


async def test_create_connection_enqueues_its_event_in_the_same_transaction(store):
    await store.create_tenant(tenant())
    await store.create_connection(connection(1), "tok-1", Sealed("k", b"x"), event(1))
    assert await event_ids(store) == ["evt_1"]
    # The insert fails (the token digest is taken): its event is not kept.
    with pytest.raises(Conflict):
        await store.create_connection(connection(2), "tok-1", Sealed("k", b"x"), event(2))
    assert await event_ids(store) == ["evt_1"]
    assert await store.get_connection("c2") is None
    # And an event that cannot be stored (its id is taken) undoes the insert.
    with pytest.raises(Conflict):
        await store.create_connection(connection(3), "tok-3", Sealed("k", b"x"), event(1))
    assert await store.get_connection("c3") is None


async def test_update_and_delete_enqueue_only_when_the_connection_exists(store):
    await store.create_tenant(tenant())
    await store.create_connection(connection(1), "tok-1", Sealed("k", b"x"))
    assert await store.update_connection("c1", T1, credentials=Sealed("k", b"y"), event=event(1))
    assert not await store.update_connection("nope", T1, settings={}, event=event(2))
    assert await store.delete_connection("c1", event(3))
    assert not await store.delete_connection("c1", event(4))
    assert sorted(await event_ids(store)) == ["evt_1", "evt_3"]
    # Without an event nothing is enqueued (the CLI's own changes, say).
    await store.create_connection(connection(2), "tok-2", Sealed("k", b"x"))
    assert await store.update_connection("c2", T1, settings={"a": 1})
    assert await store.delete_connection("c2")
    assert sorted(await event_ids(store)) == ["evt_1", "evt_3"]


async def test_set_connection_status_enqueues_only_on_a_change(store):
    await store.create_tenant(tenant())
    await store.create_connection(connection(1), "tok-1", Sealed("k", b"x"))
    await store.set_connection_status("c1", "needs_reauth", T1, event(1))
    await store.set_connection_status("c1", "needs_reauth", T2, event(2))  # refused again
    await store.set_connection_status("nope", "needs_reauth", T2, event(3))
    got = await store.get_connection("c1")
    assert got.status == "needs_reauth" and got.updated_at == T2
    assert await event_ids(store) == ["evt_1"]


# -- connect sessions and codes ---------------------------------------------


async def test_connect_session_round_trip_and_lookup_by_digest(store):
    await store.create_tenant(tenant())
    made = session(
        1, end_user_email="m@example.com", end_user_name="Merchant", return_url="https://a.example/cb",
        reconnect_connection_id="c9", tags={"plan": "pro"},
    )
    made.providers = ["woocommerce", "shopify"]
    await store.create_connect_session(made, "digest-1")
    assert await store.get_connect_session("s1") == made
    assert await store.find_connect_session("digest-1") == made
    assert await store.find_connect_session("digest-2") is None
    assert await store.get_connect_session("s2") is None
    with pytest.raises(Conflict):  # one digest, one session
        await store.create_connect_session(session(2), "digest-1")


async def test_count_connect_attempt_counts_up(store):
    await store.create_tenant(tenant())
    await store.create_connect_session(session(1), "d1")
    assert [await store.count_connect_attempt("s1") for _ in range(3)] == [1, 2, 3]
    assert (await store.get_connect_session("s1")).attempts == 3
    assert await store.count_connect_attempt("nope") == 0


async def test_complete_connect_session_once_and_only_while_pending(store):
    await store.create_tenant(tenant())
    await store.create_connect_session(session(1), "d1")
    done = await store.complete_connect_session(
        "s1", provider="sandbox", connection_id="c1", at=T1, code_digest="code-1", code=code()
    )
    assert done
    got = await store.get_connect_session("s1")
    assert (got.status, got.provider, got.connection_id, got.completed_at) == ("completed", "sandbox", "c1", T1)
    again = await store.complete_connect_session(
        "s1", provider="sandbox", connection_id="c2", at=T1, code_digest="code-2", code=code(connection_id="c2")
    )
    assert not again
    assert (await store.get_connect_session("s1")).connection_id == "c1"
    assert await store.redeem_connect_code("code-2", "t1", T1) is None  # the loser's code was not kept
    # Failing a completed session changes nothing.
    await store.fail_connect_session("s1", "late", T2)
    assert (await store.get_connect_session("s1")).status == "completed"
    assert not await store.complete_connect_session(
        "nope", provider="sandbox", connection_id="c1", at=T1, code_digest="code-3", code=code("nope")
    )


async def test_an_expired_or_failed_session_cannot_complete(store):
    await store.create_tenant(tenant())
    await store.create_connect_session(session(1, expires_at=T1), "d1")
    at_expiry = await store.complete_connect_session(
        "s1", provider="sandbox", connection_id="c1", at=T1, code_digest="code-1", code=code()
    )
    assert not at_expiry and (await store.get_connect_session("s1")).status == "pending"
    await store.create_connect_session(session(2), "d2")
    await store.fail_connect_session("s2", "the platform refused", T1)
    failed = await store.get_connect_session("s2")
    assert (failed.status, failed.error, failed.completed_at) == ("failed", "the platform refused", T1)
    assert not await store.complete_connect_session(
        "s2", provider="sandbox", connection_id="c1", at=T1, code_digest="code-2", code=code("s2")
    )


async def test_racing_completions_have_one_winner(store):
    await store.create_tenant(tenant())
    await store.create_connect_session(session(1), "d1")
    results = await asyncio.gather(*(
        store.complete_connect_session(
            "s1", provider="sandbox", connection_id=f"c{n}", at=T1, code_digest=f"code-{n}",
            code=code(connection_id=f"c{n}"),
        )
        for n in range(6)
    ))
    assert sorted(results) == [False] * 5 + [True]
    winner = results.index(True)
    assert (await store.get_connect_session("s1")).connection_id == f"c{winner}"


async def test_redeem_connect_code_is_one_use_in_time_for_its_tenant(store):
    await store.create_tenant(tenant(1))
    await store.create_tenant(tenant(2))
    await store.create_connect_session(session(1), "d1")
    await store.complete_connect_session(
        "s1", provider="sandbox", connection_id="c1", at=T0, code_digest="code-1",
        code=code(mint_token=False, expires_at=T2),
    )
    assert await store.redeem_connect_code("code-1", "t2", T1) is None  # another tenant's
    assert await store.redeem_connect_code("code-1", "t1", T2) is None  # expired at T2
    assert await store.redeem_connect_code("unknown", "t1", T1) is None
    redeemed = await store.redeem_connect_code("code-1", "t1", T1)
    assert redeemed == ConnectCode(session_id="s1", tenant_id="t1", connection_id="c1",
                                   mint_token=False, expires_at=T2, used_at=T1)
    assert await store.redeem_connect_code("code-1", "t1", T1) is None  # used


async def test_racing_redemptions_have_one_winner(store):
    await store.create_tenant(tenant())
    await store.create_connect_session(session(1), "d1")
    await store.complete_connect_session(
        "s1", provider="sandbox", connection_id="c1", at=T0, code_digest="code-1", code=code()
    )
    results = await asyncio.gather(*(store.redeem_connect_code("code-1", "t1", T1) for _ in range(6)))
    assert sum(r is not None for r in results) == 1
    assert next(r for r in results if r).mint_token is True


# -- webhook outbox -------------------------------------------------------


async def test_claim_takes_due_events_with_a_free_lease(store):
    await store.create_tenant(tenant())
    await store.enqueue_event(event(1, due=T0))
    await store.enqueue_event(event(2, due=T2))  # not due yet at T1
    await store.enqueue_event(event(3, due=T1))
    claimed = await store.claim_due_events(T1, T2, 10)
    assert [e.id for e in claimed] == ["evt_1", "evt_3"]
    assert claimed[0] == event(1, due=T0)
    # Leased until T2: nobody takes them again before.
    assert await store.claim_due_events(T1, T2, 10) == []
    # At T2 the lease lapsed (a dead worker) and evt_2 is due.
    assert [e.id for e in await store.claim_due_events(T2, T3, 10)] == ["evt_1", "evt_3", "evt_2"]


async def test_claim_respects_the_limit_oldest_due_first(store):
    await store.create_tenant(tenant())
    for n, due in [(1, T1), (2, T0), (3, T0)]:
        await store.enqueue_event(event(n, due=due))
    assert [e.id for e in await store.claim_due_events(T3, LATER, 2)] == ["evt_2", "evt_3"]
    assert [e.id for e in await store.claim_due_events(T3, LATER, 2)] == ["evt_1"]


async def test_claim_leaves_the_excluded_tenants_events_untouched(store):
    await store.create_tenant(tenant(1))
    await store.create_tenant(tenant(2))
    await store.enqueue_event(event(1, due=T0))
    await store.enqueue_event(event(2, "t2", due=T1))
    await store.enqueue_event(event(3, due=T1))
    assert [e.id for e in await store.claim_due_events(T2, T3, 10, exclude_tenants=["t1"])] == ["evt_2"]
    # Not leased by that claim: the next one without the exclusion takes them.
    assert [e.id for e in await store.claim_due_events(T2, T3, 10, exclude_tenants=[])] == ["evt_1", "evt_3"]
    assert await store.claim_due_events(T2, T3, 10, exclude_tenants=["t1", "t2", "t\x00"]) == []


async def test_concurrent_claims_never_share_an_event(store):
    await store.create_tenant(tenant())
    for n in range(20):
        await store.enqueue_event(event(n))
    batches = await asyncio.gather(*(store.claim_due_events(T1, T2, 3) for _ in range(10)))
    ids = [e.id for batch in batches for e in batch]
    assert len(ids) == len(set(ids)) == 20


async def test_record_delivery_outcomes(store):
    await store.create_tenant(tenant())
    for n in range(1, 4):
        await store.enqueue_event(event(n))
    await store.claim_due_events(T0, T1, 10)
    await store.record_delivery("evt_1", delivered=True, gave_up=False, attempts=1, last_status=204,
                                last_error=None, next_attempt_at=T0, at=T0)
    await store.record_delivery("evt_2", delivered=False, gave_up=False, attempts=1, last_status=500,
                                last_error="HTTP 500", next_attempt_at=T2, at=T0)
    await store.record_delivery("evt_3", delivered=False, gave_up=True, attempts=9, last_status=None,
                                last_error="refused", next_attempt_at=T2, at=T0)
    got = {e.id: e for e in await store.list_webhook_events("t1")}
    assert (got["evt_1"].status, got["evt_1"].delivered_at, got["evt_1"].last_status) == ("delivered", T0, 204)
    assert (got["evt_2"].status, got["evt_2"].attempts, got["evt_2"].last_error) == ("pending", 1, "HTTP 500")
    assert (got["evt_3"].status, got["evt_3"].attempts, got["evt_3"].delivered_at) == ("failed", 9, None)
    # The lease is released with the outcome: the retry is due at T2 only.
    assert await store.claim_due_events(T1, T3, 10) == []
    assert [e.id for e in await store.claim_due_events(T2, T3, 10)] == ["evt_2"]


async def test_list_webhook_events_newest_first_per_tenant(store):
    await store.create_tenant(tenant(1))
    await store.create_tenant(tenant(2))
    await store.enqueue_event(event(1, created_at=T0))
    await store.enqueue_event(event(2, created_at=T2))
    await store.enqueue_event(event(3, created_at=T1))
    await store.enqueue_event(event(4, "t2", created_at=T3))
    assert await event_ids(store) == ["evt_2", "evt_3", "evt_1"]
    assert [e.id for e in await store.list_webhook_events("t1", limit=2)] == ["evt_2", "evt_3"]
    assert await event_ids(store, "t2") == ["evt_4"]
    assert await event_ids(store, "t3") == []


async def test_new_lookups_by_text_no_row_can_hold_find_nothing(store):
    """As for the older methods: NUL in a lookup finds nothing on every store."""
    await store.create_tenant(tenant())
    await store.create_connect_session(session(1), "d1")
    nul = "s1\x00"
    assert await store.get_connect_session(nul) is None
    assert await store.find_connect_session("d1\x00") is None
    assert await store.count_connect_attempt(nul) == 0
    assert await store.redeem_connect_code("x\x00", "t1", T1) is None
    assert await store.webhook_secret("t1\x00") is None
    assert await store.update_tenant("t1\x00", name="x") is None
    assert await store.list_webhook_events("t1\x00") == []
    assert await store.list_connections("t1", end_user_id="u\x00") == []
    assert not await store.complete_connect_session(
        nul, provider="sandbox", connection_id="c1", at=T1, code_digest="c", code=code()
    )
    await store.fail_connect_session(nul, "x", T1)
    await store.set_connection_status("c1\x00", "needs_reauth", T1, event(1))
    assert await event_ids(store) == []
