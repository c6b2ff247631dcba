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


CONNECTION_ACTIVE = "active"
CONNECTION_NEEDS_REAUTH = "needs_reauth"
