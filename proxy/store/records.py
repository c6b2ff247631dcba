"""What the store keeps: tenants, API keys, connections, invalidations,
connect sessions and codes, and the webhook outbox.

No merchant data is ever stored. Secrets exist here only as digests
(keys, tokens, connect session tokens and codes) or AES-GCM ciphertexts
(credentials, OAuth tokens, webhook signing secrets).
"""

from __future__ import annotations

from typing import Any, Callable, TypeVar

import msgspec

# "Leave as it is" for update methods whose arguments may be set to None
# (a webhook URL or secret can be cleared): None cannot say "unchanged".
UNSET = msgspec.UNSET
UnsetType = msgspec.UnsetType


class Tenant(msgspec.Struct, kw_only=True):
    id: str
    name: str
    created_at: str
    # Where connect sessions may send the merchant back (exact URLs).
    return_urls: list[str] = []
    # Where connection events are POSTed; its signing secret is sealed
    # apart (Store.webhook_secret), never on this record.
    webhook_url: str | None = None


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
    # The tenant's own user this connection belongs to (set by the connect
    # flow), and the tenant's labels; both are shown, never interpreted.
    end_user_id: str | None = None
    tags: dict[str, str] = {}
    # The platform grant the connection was made from by an OAuth install
    # ("shopify:{client_id}:{shop}"): connections sharing it share one
    # token (oauth_grants). None for connections made from typed keys.
    grant_key: str | None = None


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


class ConnectSession(msgspec.Struct, kw_only=True):
    """One merchant's visit to the hosted connect page. Its URL token is
    stored only as a digest; ``expired`` is not a status but computed from
    ``expires_at``."""

    id: str
    tenant_id: str
    end_user_id: str
    end_user_email: str | None = None
    end_user_name: str | None = None
    providers: list[str]
    return_url: str | None = None
    reconnect_connection_id: str | None = None
    tags: dict[str, str] = {}
    status: str = "pending"  # pending | completed | failed
    provider: str | None = None
    connection_id: str | None = None
    error: str | None = None
    attempts: int = 0  # form submissions so far (rate limit)
    created_at: str
    expires_at: str
    completed_at: str | None = None


class ConnectCode(msgspec.Struct, kw_only=True):
    """The one-time code a completed session hands the tenant (stored by
    digest), traded once for the connection at the exchange."""

    session_id: str
    tenant_id: str
    connection_id: str
    mint_token: bool  # False for a reconnect: the old token stays valid
    expires_at: str
    used_at: str | None = None


class ConnectAttempt(msgspec.Struct, kw_only=True):
    """One OAuth round trip of a connect session: what a ``state`` (by
    digest) stands for, used once. The flow's data is sealed beside it."""

    id: str
    state_digest: str
    session_id: str
    tenant_id: str
    provider: str
    created_at: str
    expires_at: str
    used_at: str | None = None


class UnclaimedInstall(msgspec.Struct, kw_only=True):
    """An install the platform started with no connect session behind it
    (BigCommerce's marketplace): parked until the merchant claims it
    inside one, by the claim code (kept by digest)."""

    claim_digest: str
    provider: str
    app_tenant_id: str | None  # whose provider app took the install (None: the operator's)
    grant_key: str | None
    created_at: str
    expires_at: str
    claimed_at: str | None = None


class WebhookEvent(msgspec.Struct, kw_only=True):
    """An event in the outbox: ``payload`` is the exact JSON body sent."""

    id: str  # "evt_" + random: the Standard Webhooks webhook-id
    tenant_id: str
    type: str
    payload: str
    status: str = "pending"  # pending | delivered | failed (gave up)
    attempts: int = 0
    next_attempt_at: str
    last_status: int | None = None
    last_error: str | None = None
    created_at: str
    delivered_at: str | None = None


class ProviderApp(msgspec.Struct, kw_only=True):
    """An OAuth client registered on a platform: the operator's default for
    the provider (``tenant_id`` None) or a tenant's own. Its client secret
    is sealed apart (Store.sealed_provider_app), never on this record."""

    tenant_id: str | None
    provider: str
    client_id: str
    scopes: list[str]
    settings: dict[str, Any]
    created_at: str
    updated_at: str


SESSION_PENDING = "pending"
SESSION_COMPLETED = "completed"
SESSION_FAILED = "failed"
EVENT_PENDING = "pending"
EVENT_DELIVERED = "delivered"
EVENT_FAILED = "failed"

CONNECTION_ACTIVE = "active"
CONNECTION_NEEDS_REAUTH = "needs_reauth"


# Both stores select these columns, in this order, and decode rows with the
# functions below: one definition keeps SQLite and PostgreSQL in step.
CONNECTION_COLUMNS = (
    "id, tenant_id, provider, token_prefix, status, settings, created_at, updated_at,"
    " end_user_id, tags, grant_key"
)
CONNECTION_WIDTH = 11  # columns in CONNECTION_COLUMNS: what follows them in a row
TENANT_COLUMNS = "id, name, created_at, return_urls, webhook_url"
SESSION_COLUMNS = (
    "id, tenant_id, end_user_id, end_user_email, end_user_name, providers, return_url,"
    " reconnect_connection_id, tags, status, provider, connection_id, error, attempts,"
    " created_at, expires_at, completed_at"
)
CODE_COLUMNS = "session_id, tenant_id, connection_id, mint_token, expires_at, used_at"
EVENT_COLUMNS = (
    "id, tenant_id, type, payload, status, attempts, next_attempt_at, last_status,"
    " last_error, created_at, delivered_at"
)
KEY_COLUMNS = "id, tenant_id, name, prefix, created_at, revoked_at, last_used_at"
ATTEMPT_COLUMNS = "id, state_digest, session_id, tenant_id, provider, created_at, expires_at, used_at"
ATTEMPT_WIDTH = 8
INSTALL_COLUMNS = "claim_digest, provider, app_tenant_id, grant_key, created_at, expires_at, claimed_at"
INSTALL_WIDTH = 7
MAPPING_COLUMNS = "id, tenant_id, connection_id, object, provider, name, expression, created_at"
PROVIDER_APP_COLUMNS = "tenant_id, provider, client_id, scopes, settings, created_at, updated_at"
PROVIDER_APP_WIDTH = 7


def api_key_from_row(row: Any) -> ApiKey:
    return ApiKey(
        id=row[0], tenant_id=row[1], name=row[2], prefix=row[3],
        created_at=row[4], revoked_at=row[5], last_used_at=row[6],
    )


def tenant_from_row(row: Any) -> Tenant:
    return Tenant(
        id=row[0], name=row[1], created_at=row[2],
        return_urls=msgspec.json.decode(row[3], type=list[str]), webhook_url=row[4],
    )


def connection_from_row(row: Any) -> Connection:
    return Connection(
        id=row[0], tenant_id=row[1], provider=row[2], token_prefix=row[3], status=row[4],
        settings=msgspec.json.decode(row[5]), created_at=row[6], updated_at=row[7],
        end_user_id=row[8], tags=msgspec.json.decode(row[9], type=dict[str, str]), grant_key=row[10],
    )


def session_from_row(row: Any) -> ConnectSession:
    return ConnectSession(
        id=row[0], tenant_id=row[1], end_user_id=row[2], end_user_email=row[3],
        end_user_name=row[4], providers=msgspec.json.decode(row[5], type=list[str]),
        return_url=row[6], reconnect_connection_id=row[7],
        tags=msgspec.json.decode(row[8], type=dict[str, str]), status=row[9], provider=row[10],
        connection_id=row[11], error=row[12], attempts=row[13], created_at=row[14],
        expires_at=row[15], completed_at=row[16],
    )


def code_from_row(row: Any) -> ConnectCode:
    return ConnectCode(
        session_id=row[0], tenant_id=row[1], connection_id=row[2], mint_token=bool(row[3]),
        expires_at=row[4], used_at=row[5],
    )


def event_from_row(row: Any) -> WebhookEvent:
    return WebhookEvent(
        id=row[0], tenant_id=row[1], type=row[2], payload=row[3], status=row[4],
        attempts=row[5], next_attempt_at=row[6], last_status=row[7], last_error=row[8],
        created_at=row[9], delivered_at=row[10],
    )


def attempt_from_row(row: Any) -> ConnectAttempt:
    return ConnectAttempt(
        id=row[0], state_digest=row[1], session_id=row[2], tenant_id=row[3], provider=row[4],
        created_at=row[5], expires_at=row[6], used_at=row[7],
    )


def attempt_values(a: ConnectAttempt) -> tuple:
    return (a.id, a.state_digest, a.session_id, a.tenant_id, a.provider, a.created_at, a.expires_at, a.used_at)


def install_from_row(row: Any) -> UnclaimedInstall:
    return UnclaimedInstall(
        claim_digest=row[0], provider=row[1], app_tenant_id=row[2], grant_key=row[3],
        created_at=row[4], expires_at=row[5], claimed_at=row[6],
    )


def install_values(i: UnclaimedInstall) -> tuple:
    return (i.claim_digest, i.provider, i.app_tenant_id, i.grant_key, i.created_at, i.expires_at, i.claimed_at)


R = TypeVar("R")


def with_sealed(row: Any, decode: Callable[[Any], R], width: int) -> tuple[R, Sealed] | None:
    """A record and the sealed data selected after its columns."""
    return (decode(row), Sealed(row[width], bytes(row[width + 1]))) if row else None


def json_text(value: Any) -> str:
    """Lists and objects kept in TEXT columns (tags, providers, return URLs)."""
    return msgspec.json.encode(value).decode()


def mapping_from_row(row: Any) -> FieldMapping:
    return FieldMapping(
        id=row[0], tenant_id=row[1], connection_id=row[2], object=row[3], provider=row[4],
        name=row[5], expression=row[6], created_at=row[7],
    )


# Values in the order of the columns above, for INSERTs on either store.
def session_values(s: ConnectSession) -> tuple:
    return (
        s.id, s.tenant_id, s.end_user_id, s.end_user_email, s.end_user_name,
        json_text(s.providers), s.return_url, s.reconnect_connection_id, json_text(s.tags),
        s.status, s.provider, s.connection_id, s.error, s.attempts, s.created_at,
        s.expires_at, s.completed_at,
    )


def code_values(code: ConnectCode) -> tuple:
    return (
        code.session_id, code.tenant_id, code.connection_id, int(code.mint_token),
        code.expires_at, code.used_at,
    )


def event_values(e: WebhookEvent) -> tuple:
    return (
        e.id, e.tenant_id, e.type, e.payload, e.status, e.attempts, e.next_attempt_at,
        e.last_status, e.last_error, e.created_at, e.delivered_at,
    )


def tenant_changes(
    name: str | None,
    return_urls: list[str] | None,
    webhook_url: "str | None | UnsetType",
    webhook_secret: "Sealed | None | UnsetType",
) -> dict[str, Any]:
    """Column -> new value for ``Store.update_tenant``: None leaves the name
    and return URLs as they are, UNSET the webhook URL and secret."""
    changes: dict[str, Any] = {}
    if name is not None:
        changes["name"] = name
    if return_urls is not None:
        changes["return_urls"] = json_text(return_urls)
    if webhook_url is not UNSET:
        changes["webhook_url"] = webhook_url
    if webhook_secret is not UNSET:
        sealed = webhook_secret if isinstance(webhook_secret, Sealed) else None
        changes["webhook_secret_key_id"] = sealed.key_id if sealed else None
        changes["webhook_secret_ciphertext"] = sealed.blob if sealed else None
    return changes


def provider_app_from_row(row: Any) -> ProviderApp:
    return ProviderApp(
        tenant_id=row[0], provider=row[1], client_id=row[2],
        scopes=msgspec.json.decode(row[3], type=list[str]), settings=msgspec.json.decode(row[4]),
        created_at=row[5], updated_at=row[6],
    )
