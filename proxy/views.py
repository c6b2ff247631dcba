"""Response bodies of the HTTP API, as msgspec Structs.

The handlers encode these, and /openapi.json is generated from them, so the
description cannot drift from what is sent.
"""

from __future__ import annotations

from typing import Any

import msgspec

from .store.records import (
    EVENT_PENDING, ApiKey, Connection, FieldMapping, ProviderApp, Tenant, WebhookEvent,
)


class Problem(msgspec.Struct, kw_only=True, omit_defaults=True):
    """RFC 9457 problem details; ``code`` is the stable identifier."""

    type: str
    title: str
    status: int
    detail: str
    code: str
    request_id: str
    provider: str | None = None
    remote_status: int | None = None
    parameter: str | None = None


class Health(msgspec.Struct):
    status: str


class ConnectionView(msgspec.Struct, kw_only=True):
    id: str
    provider: str
    status: str
    token_prefix: str
    settings: dict[str, Any]
    end_user_id: str | None
    tags: dict[str, str]
    created_at: str
    updated_at: str

    @classmethod
    def of(cls, connection: Connection) -> "ConnectionView":
        return cls(
            id=connection.id,
            provider=connection.provider,
            status=connection.status,
            token_prefix=connection.token_prefix,
            settings=connection.settings,
            end_user_id=connection.end_user_id,
            tags=connection.tags,
            created_at=connection.created_at,
            updated_at=connection.updated_at,
        )


class ConnectionWithToken(ConnectionView, kw_only=True):
    """Shown once: at creation and after a token rotation."""

    connection_token: str


class ConnectionList(msgspec.Struct):
    data: list[ConnectionView]
    next_cursor: str | None


class FieldMappingList(msgspec.Struct):
    data: list[FieldMapping]


class TenantList(msgspec.Struct):
    data: list[Tenant]


class TenantSettings(msgspec.Struct, kw_only=True):
    """What a tenant sees of itself (``GET``/``PATCH /tenant``)."""

    id: str
    name: str
    return_urls: list[str]
    webhook_url: str | None

    @classmethod
    def of(cls, tenant: Tenant) -> "TenantSettings":
        return cls(
            id=tenant.id, name=tenant.name, return_urls=tenant.return_urls,
            webhook_url=tenant.webhook_url,
        )


class TenantSettingsWithSecret(TenantSettings, kw_only=True):
    """Shown once: when a webhook secret is made (the first ``webhook_url``
    set, or a rotation)."""

    webhook_secret: str


class ApiKeyWithSecret(ApiKey, kw_only=True):
    """Shown once, at creation."""

    api_key: str


class WebhookDelivery(msgspec.Struct, kw_only=True):
    """One webhook event and how its delivery went (never its body)."""

    event_id: str
    type: str
    status: str
    attempts: int
    last_status: int | None
    last_error: str | None
    next_attempt_at: str | None
    created_at: str
    delivered_at: str | None

    @classmethod
    def of(cls, event: WebhookEvent) -> "WebhookDelivery":
        return cls(
            event_id=event.id,
            type=event.type,
            status=event.status,
            attempts=event.attempts,
            last_status=event.last_status,
            last_error=event.last_error,
            # Only a pending event has a next attempt.
            next_attempt_at=event.next_attempt_at if event.status == EVENT_PENDING else None,
            created_at=event.created_at,
            delivered_at=event.delivered_at,
        )


class WebhookDeliveryList(msgspec.Struct):
    data: list[WebhookDelivery]


class ProviderAppView(msgspec.Struct, kw_only=True):
    """A provider app as its owner sees it: never its client secret."""

    provider: str
    client_id: str
    scopes: list[str]
    settings: dict[str, str]
    owner: str
    created_at: str
    updated_at: str
    callback_url: str

    @classmethod
    def of(cls, app: ProviderApp, callback_url: str) -> "ProviderAppView":
        return cls(
            provider=app.provider, client_id=app.client_id, scopes=app.scopes,
            settings=app.settings, owner="tenant" if app.tenant_id is not None else "operator",
            created_at=app.created_at, updated_at=app.updated_at, callback_url=callback_url,
        )


class ProviderAppList(msgspec.Struct):
    data: list[ProviderAppView]
