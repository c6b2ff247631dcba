"""Event bodies: the contract's fields, never a token or a credential."""

from __future__ import annotations

import msgspec
import pytest

from proxy.store.records import Connection
from proxy.webhooks import events
from proxy.store.records import Tenant

CONNECTION = Connection(
    id="c1", tenant_id="t1", provider="woocommerce", token_prefix="ct_abcdefgh", status="active",
    settings={"store_url": "https://shop.example.com"}, created_at="2026-01-01T00:00:00.000Z",
    updated_at="2026-01-01T00:00:00.000Z", end_user_id="merchant-42", tags={"plan": "pro"},
)


@pytest.mark.parametrize("type", events.TYPES)
def test_the_body_is_the_contracts_and_nothing_more(type):
    event = events.connection_event(type, CONNECTION, "cs_1", tenant=Tenant(id="t1", name="acme", created_at="2026-01-01T00:00:00.000Z", webhook_url="https://x.test/h"))
    body = msgspec.json.decode(event.payload)
    assert body == {
        "type": type, "id": event.id, "created_at": event.created_at,
        "data": {"connection_id": "c1", "provider": "woocommerce", "end_user_id": "merchant-42",
                 "tags": {"plan": "pro"}, "session_id": "cs_1"},
    }
    assert event.id.startswith("evt_") and "." not in event.id  # the signed content is dot-delimited
    assert (event.tenant_id, event.type, event.status, event.attempts) == ("t1", type, "pending", 0)
    assert event.next_attempt_at == event.created_at  # due at once
    # Neither the token's prefix nor the settings (a store URL) go out.
    assert "ct_" not in event.payload and "shop.example.com" not in event.payload


def test_no_event_for_a_tenant_without_a_webhook_url():
    assert events.connection_event(events.CREATED, CONNECTION, tenant=Tenant(id="t1", name="acme", created_at="2026-01-01T00:00:00.000Z")) is None


def test_ids_are_unique_and_types_are_checked():
    tenant = Tenant(id="t1", name="acme", created_at="2026-01-01T00:00:00.000Z", webhook_url="https://x.test/h")
    ids = {events.connection_event(events.CREATED, CONNECTION, tenant=tenant).id for _ in range(100)}
    assert len(ids) == 100
    with pytest.raises(ValueError):
        events.connection_event("connection.exploded", CONNECTION, tenant=tenant)
