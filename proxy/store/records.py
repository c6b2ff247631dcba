"""What the store keeps: tenants, API keys, connections, invalidations.

No merchant data is ever stored. Secrets exist here only as digests
(keys, tokens) or AES-GCM ciphertexts (credentials, OAuth tokens).
"""

from __future__ import annotations

from typing import Any

import msgspec


class Tenant(msgspec.Struct, kw_only=True):
    id: str
    name: str
    created_at: str


class ApiKey(msgspec.Struct, kw_only=True):
    id: str
    tenant_id: str
    name: str | None
    prefix: str
    created_at: str
    revoked_at: str | None = None
    last_used_at: str | None = None


class KeyOwner(msgspec.Struct, frozen=True):
    """An active key resolved from its digest: the hot path's auth answer."""

    key_id: str
    tenant_id: str


class Sealed(msgspec.Struct, frozen=True):
    """An AES-GCM ciphertext and the id of the key that made it."""

    key_id: str
    blob: bytes


class Connection(msgspec.Struct, kw_only=True):
    id: str
    tenant_id: str
    provider: str
    token_prefix: str
    status: str
    settings: dict[str, Any]
    created_at: str
    updated_at: str
    end_user_id: str | None = None
    tags: dict[str, str] = {}


class ConnectionSecrets(msgspec.Struct, kw_only=True):
    """A connection with its sealed credentials and OAuth token."""

    connection: Connection
    credentials: Sealed
    oauth_token: Sealed | None = None


class FieldMapping(msgspec.Struct, kw_only=True):
    """A tenant's custom field: ``name`` comes from ``expression`` (JMESPath)
    evaluated on the provider's raw payload. Tenant-wide when
    ``connection_id`` is None; a connection-scoped one overrides it."""

    id: str
    tenant_id: str
    connection_id: str | None
    object: str
    provider: str
    name: str
    expression: str
    created_at: str


class SealedRow(msgspec.Struct, kw_only=True):
    """A connection's ciphertexts, for key rotation."""

    connection_id: str
    tenant_id: str
    credentials: Sealed
    oauth_token: Sealed | None = None


class Invalidation(msgspec.Struct, frozen=True):
    """A cache entry other processes must drop (a revoked key, a gone token)."""

    id: int
    kind: str  # "api_key" | "connection" (token digest) | "field_mappings" (tenant id)
    digest: str


class WebhookEvent(msgspec.Struct, kw_only=True):
    """One event in the webhook outbox: ``payload`` is the exact body sent."""

    id: str
    tenant_id: str
    type: str
    payload: str
    status: str  # pending | delivered | failed (gave up)
    attempts: int
    next_attempt_at: str
    last_status: int | None
    last_error: str | None
    created_at: str
    delivered_at: str | None


CONNECTION_ACTIVE = "active"
CONNECTION_NEEDS_REAUTH = "needs_reauth"


# Both stores select these columns, in this order, and decode rows with the
# functions below: one definition keeps SQLite and PostgreSQL in step.
CONNECTION_COLUMNS = "id, tenant_id, provider, token_prefix, status, settings, created_at, updated_at"
KEY_COLUMNS = "id, tenant_id, name, prefix, created_at, revoked_at, last_used_at"
MAPPING_COLUMNS = "id, tenant_id, connection_id, object, provider, name, expression, created_at"


def api_key_from_row(row: Any) -> ApiKey:
    return ApiKey(
        id=row[0], tenant_id=row[1], name=row[2], prefix=row[3],
        created_at=row[4], revoked_at=row[5], last_used_at=row[6],
    )


def connection_from_row(row: Any) -> Connection:
    return Connection(
        id=row[0], tenant_id=row[1], provider=row[2], token_prefix=row[3], status=row[4],
        settings=msgspec.json.decode(row[5]), created_at=row[6], updated_at=row[7],
    )


def mapping_from_row(row: Any) -> FieldMapping:
    return FieldMapping(
        id=row[0], tenant_id=row[1], connection_id=row[2], object=row[3], provider=row[4],
        name=row[5], expression=row[6], created_at=row[7],
    )
