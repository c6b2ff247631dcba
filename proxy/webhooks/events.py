"""The events a tenant's ``webhook_url`` receives, as outbox rows.

A caller builds the row here and hands it to the Store method that makes the
change (``create_connection(..., event=)``, ``update_connection``,
``delete_connection``, ``set_connection_status``), which writes both in one
transaction: an event exists exactly when its change was committed, and the
delivery worker sends it later, from whichever process claims it.

The body is a thin payload (ids, the end user, the tags the SaaS gave), so
it can never carry a token or a credential: there is no field for one.
"""

from __future__ import annotations

import uuid

import msgspec

from ..clock import now_text
from ..store import Store
from ..store.records import EVENT_PENDING, Connection, Tenant, WebhookEvent

CREATED = "connection.created"
UPDATED = "connection.updated"  # credentials or settings replaced (a reconnect)
AUTH_FAILED = "connection.auth_failed"  # the platform refused a refresh: needs_reauth
DELETED = "connection.deleted"
TYPES = (CREATED, UPDATED, AUTH_FAILED, DELETED)


class WebhookEventData(msgspec.Struct, kw_only=True):
    """What an event is about."""

    connection_id: str
    provider: str
    end_user_id: str | None
    tags: dict[str, str]
    session_id: str | None


class WebhookEventBody(msgspec.Struct, kw_only=True):
    """The body POSTed to the tenant's ``webhook_url``."""

    type: str
    id: str
    created_at: str
    data: WebhookEventData


def connection_event(
    type: str, connection: Connection, session_id: str | None = None, *, tenant: Tenant | None = None
) -> WebhookEvent | None:
    """The outbox row announcing ``type`` for ``connection``; None when
    ``tenant`` (the connection's) has no ``webhook_url``. Without ``tenant``
    the row is built anyway and the worker drops it if there is no URL to
    send it to when it comes due."""
    if type not in TYPES:
        raise ValueError(f"unknown event type {type!r}")
    if tenant is not None and not tenant.webhook_url:
        return None
    event_id = "evt_" + uuid.uuid4().hex
    now = now_text()
    body = WebhookEventBody(
        type=type,
        id=event_id,
        created_at=now,
        data=WebhookEventData(
            connection_id=connection.id,
            provider=connection.provider,
            end_user_id=connection.end_user_id,
            tags=dict(connection.tags),
            session_id=session_id,
        ),
    )
    return WebhookEvent(
        id=event_id,
        tenant_id=connection.tenant_id,
        type=type,
        payload=msgspec.json.encode(body).decode(),
        status=EVENT_PENDING,
        attempts=0,
        next_attempt_at=now,
        last_status=None,
        last_error=None,
        created_at=now,
        delivered_at=None,
    )


async def event_for(
    store: Store, type: str, connection: Connection, session_id: str | None = None
) -> WebhookEvent | None:
    """:func:`connection_event` with the tenant read from the store."""
    tenant = await store.get_tenant(connection.tenant_id)
    if tenant is None:
        return None
    return connection_event(type, connection, session_id, tenant=tenant)
