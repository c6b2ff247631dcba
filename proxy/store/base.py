"""The store interface. SQLite (embedded default) and PostgreSQL fill it.

Every method is async and never blocks the event loop. Methods that make a
secret stop working (revoke, delete, rotate) also append an invalidation
so every process drops its cached copy within one poll interval (at once,
where the store can push the news: see ``watch_invalidations``).

Errors, as a tree::

    StoreUnavailable    the database cannot be reached, timed out, lost the
                        connection or failed: 503 store_unavailable, retry
    Conflict            a uniqueness or reference rule was violated
    InvalidValue        a value the database cannot hold (NUL in text): 400
"""

from __future__ import annotations

import abc
import contextlib
from typing import Callable, Sequence

from .records import (
    UNSET,
    ApiKey,
    ConnectAttempt,
    ConnectCode,
    Connection,
    ConnectionSecrets,
    ConnectSession,
    FieldMapping,
    Invalidation,
    KeyOwner,
    ProviderApp,
    Sealed,
    SealedRow,
    Tenant,
    UnclaimedInstall,
    UnsetType,
    WebhookEvent,
)


# Read-only summaries, the same SQL on every store.
KEY_ID_COUNTS_SQL = (
    "SELECT key_id, COUNT(DISTINCT id) FROM ("
    " SELECT id, credentials_key_id AS key_id FROM connections"
    " UNION ALL"
    " SELECT id, oauth_key_id AS key_id FROM connections WHERE oauth_key_id IS NOT NULL"
    " UNION ALL"
    " SELECT 'tenant:' || id, webhook_secret_key_id AS key_id FROM tenants"
    " WHERE webhook_secret_key_id IS NOT NULL"
    " UNION ALL"
    " SELECT 'grant:' || grant_key, token_key_id AS key_id FROM oauth_grants"
    " UNION ALL"
    " SELECT 'attempt:' || id, data_key_id AS key_id FROM connect_attempts"
    " UNION ALL"
    " SELECT 'install:' || claim_digest, data_key_id AS key_id FROM unclaimed_installs"
    " UNION ALL"
    " SELECT 'app:' || COALESCE(tenant_id, '') || '/' || provider, secret_key_id AS key_id"
    " FROM provider_apps"
    ") AS sealed GROUP BY key_id ORDER BY key_id"
)
COUNTS = ("tenants", "active_api_keys", "connections", "field_mappings")
COUNTS_SQL = (
    "SELECT (SELECT COUNT(*) FROM tenants),"
    " (SELECT COUNT(*) FROM api_keys WHERE revoked_at IS NULL),"
    " (SELECT COUNT(*) FROM connections),"
    " (SELECT COUNT(*) FROM field_mappings)"
)


# The OAuth install tables' sealed columns, for key rotation:
# kind -> (table, key column, AAD owner column or None, key id column, ciphertext column).
SEALED_EXTRAS: dict[str, tuple[str, str, str | None, str, str]] = {
    "attempt": ("connect_attempts", "id", "tenant_id", "data_key_id", "data_ciphertext"),
    "install": ("unclaimed_installs", "claim_digest", "app_tenant_id", "data_key_id", "data_ciphertext"),
    "grant": ("oauth_grants", "grant_key", None, "token_key_id", "token_ciphertext"),
}


class StoreUnavailable(Exception):
    """The database cannot be reached or answered with an error."""


class Conflict(Exception):
    """A uniqueness rule was violated (e.g. a digest collision)."""


class InvalidValue(ValueError):
    """A value the database cannot store (PostgreSQL text cannot hold NUL)."""


class Store(abc.ABC):
    @abc.abstractmethod
    async def migrate(self) -> int:
        """Apply pending migrations; return the schema version."""

    @abc.abstractmethod
    async def ping(self) -> None: ...

    @abc.abstractmethod
    async def probe_write(self) -> None:
        """Raise StoreUnavailable if the store answers but cannot take
        writes (read-only file or server, standby after a failover).
        Cheap and leaves nothing behind: readiness checks call it."""

    @abc.abstractmethod
    async def close(self) -> None: ...

    # tenants
    @abc.abstractmethod
    async def create_tenant(self, tenant: Tenant) -> None: ...

    @abc.abstractmethod
    async def get_tenant(self, tenant_id: str) -> Tenant | None: ...

    @abc.abstractmethod
    async def list_tenants(self) -> list[Tenant]: ...

    @abc.abstractmethod
    async def update_tenant(
        self,
        tenant_id: str,
        *,
        name: str | None = None,
        return_urls: list[str] | None = None,
        webhook_url: str | None | UnsetType = UNSET,
        webhook_secret: Sealed | None | UnsetType = UNSET,
    ) -> Tenant | None:
        """Replace what is given (None for ``webhook_url`` and
        ``webhook_secret`` clears them; UNSET keeps them); the tenant as it
        now is, or None if there is no such tenant."""

    @abc.abstractmethod
    async def webhook_secret(self, tenant_id: str) -> Sealed | None:
        """The tenant's sealed webhook signing secret, if it has one."""

    # API keys
    @abc.abstractmethod
    async def create_api_key(self, key: ApiKey, digest: str) -> None: ...

    @abc.abstractmethod
    async def list_api_keys(self, tenant_id: str) -> list[ApiKey]: ...

    @abc.abstractmethod
    async def get_api_key(self, key_id: str) -> ApiKey | None: ...

    @abc.abstractmethod
    async def revoke_api_key(self, key_id: str, at: str) -> ApiKey | None:
        """Revoke (idempotent); None if no such key."""

    @abc.abstractmethod
    async def key_owner(self, digest: str) -> KeyOwner | None:
        """The active key with this digest, if any."""

    @abc.abstractmethod
    async def touch_api_keys(self, last_used: dict[str, str]) -> None: ...

    # connections
    # Methods taking ``event`` append it to the webhook outbox in the same
    # transaction as the change: the event exists if and only if the change
    # was made (at least once delivery starts here).
    @abc.abstractmethod
    async def create_connection(
        self,
        connection: Connection,
        token_digest: str,
        credentials: Sealed,
        event: WebhookEvent | None = None,
    ) -> None:
        """Store the connection (with its ``end_user_id`` and ``tags``)."""

    @abc.abstractmethod
    async def find_connection(self, tenant_id: str, token_digest: str) -> ConnectionSecrets | None:
        """The tenant's connection with this token digest (another tenant's is None)."""

    @abc.abstractmethod
    async def get_connection(self, connection_id: str) -> Connection | None: ...

    @abc.abstractmethod
    async def connection_token_digest(self, tenant_id: str, connection_id: str) -> str | None:
        """The token digest of the tenant's connection with this id (another
        tenant's is None): surfaces that name a connection by id (Truto's
        ``integrated_account_id``) reach the same cached connection as its token."""

    @abc.abstractmethod
    async def connection_credentials(self, connection_id: str) -> Sealed | None: ...

    @abc.abstractmethod
    async def list_connections(
        self,
        tenant_id: str,
        limit: int | None = None,
        after: tuple[str, str] | None = None,
        end_user_id: str | None = None,
    ) -> list[Connection]:
        """In (created_at, id) order; ``after`` is the last (created_at, id)
        seen; ``end_user_id`` keeps only that end user's connections."""

    @abc.abstractmethod
    async def update_connection(
        self,
        connection_id: str,
        at: str,
        credentials: Sealed | None = None,
        settings: dict | None = None,
        status: str | None = None,
        event: WebhookEvent | None = None,
        grant_key: "str | None | UnsetType" = UNSET,
    ) -> bool:
        """Replace what is given; a new credential also drops the OAuth token.
        False (and no event) if there is no such connection."""

    @abc.abstractmethod
    async def rotate_connection_token(
        self, connection_id: str, token_digest: str, token_prefix: str, at: str
    ) -> bool: ...

    @abc.abstractmethod
    async def delete_connection(
        self, connection_id: str, event: WebhookEvent | None = None
    ) -> bool:
        """False (and no event) if there is no such connection."""

    @abc.abstractmethod
    async def save_oauth_token(self, connection_id: str, token: Sealed) -> None: ...

    @abc.abstractmethod
    async def load_oauth_token(self, connection_id: str) -> Sealed | None: ...

    @abc.abstractmethod
    async def set_connection_status(
        self, connection_id: str, status: str, at: str, event: WebhookEvent | None = None
    ) -> None:
        """The event is enqueued only if the connection exists and its status
        changes: a refresh refused again and again sends one auth_failed."""

    # connect sessions
    @abc.abstractmethod
    async def create_connect_session(self, session: ConnectSession, token_digest: str) -> None:
        """Store a session; only its URL token's digest is kept."""

    @abc.abstractmethod
    async def get_connect_session(self, session_id: str) -> ConnectSession | None: ...

    @abc.abstractmethod
    async def find_connect_session(self, token_digest: str) -> ConnectSession | None:
        """The session whose URL token (or cookie) has this digest."""

    @abc.abstractmethod
    async def count_connect_attempt(self, session_id: str) -> int:
        """Count one more form submission; the new count (0: no such session)."""

    @abc.abstractmethod
    async def complete_connect_session(
        self,
        session_id: str,
        *,
        provider: str,
        connection_id: str,
        at: str,
        code_digest: str,
        code: ConnectCode,
    ) -> bool:
        """Mark the session completed and store its code (by digest), only if
        it is still pending and not expired at ``at``: of two racing
        submissions one wins; False for the other and for any late one."""

    @abc.abstractmethod
    async def fail_connect_session(self, session_id: str, error: str, at: str) -> None:
        """Mark a pending session failed (a completed one stays completed)."""

    @abc.abstractmethod
    async def redeem_connect_code(
        self, code_digest: str, tenant_id: str, at: str
    ) -> ConnectCode | None:
        """Use the code once: only if unused, not expired at ``at`` and the
        tenant's; it is then marked used (atomically). Else None."""

    # OAuth installs (proxy/connect/oauth)
    @abc.abstractmethod
    async def create_connect_attempt(self, attempt: ConnectAttempt, data: Sealed) -> None:
        """Store an attempt; its ``state`` is kept by digest only."""

    @abc.abstractmethod
    async def claim_connect_attempt(self, state_digest: str, at: str) -> tuple[ConnectAttempt, Sealed] | None:
        """Use the attempt once: only if unused and unexpired at ``at`` it is
        marked used (atomically) and returned. Of two racing callbacks one
        gets it; a replay gets None."""

    @abc.abstractmethod
    async def get_connect_attempt(self, state_digest: str) -> tuple[ConnectAttempt, Sealed] | None:
        """The attempt as stored (used or not), without claiming it."""

    @abc.abstractmethod
    async def update_connect_attempt_data(self, attempt_id: str, data: Sealed) -> None: ...

    @abc.abstractmethod
    async def create_unclaimed_install(self, install: UnclaimedInstall, data: Sealed) -> None: ...

    @abc.abstractmethod
    async def claim_unclaimed_install(self, claim_digest: str, at: str) -> tuple[UnclaimedInstall, Sealed] | None:
        """Claim once, while unexpired at ``at`` (atomically, as attempts)."""

    @abc.abstractmethod
    async def connections_with_grant(self, grant_key: str) -> list[Connection]:
        """Every connection (of any tenant) made from this grant, by id."""

    @abc.abstractmethod
    async def save_grant_token(self, grant_key: str, token: Sealed) -> None:
        """Insert or replace the grant's shared token."""

    @abc.abstractmethod
    async def load_grant_token(self, grant_key: str) -> Sealed | None: ...

    @abc.abstractmethod
    async def sealed_extras(self, kind: str, after: str, limit: int) -> list[tuple[str, str | None, Sealed]]:
        """(row key, AAD owner, sealed) of one SEALED_EXTRAS kind in key
        order after ``after`` ("" = start): their part of a key rotation."""

    @abc.abstractmethod
    async def reseal_extra(self, kind: str, key: str, old: Sealed, new: Sealed) -> bool:
        """Swap the row's ciphertext if it still is ``old``."""

    # webhook outbox
    @abc.abstractmethod
    async def enqueue_event(self, event: WebhookEvent) -> None: ...

    @abc.abstractmethod
    async def claim_due_events(
        self, now: str, lease_until: str, limit: int, exclude_tenants: Sequence[str] = ()
    ) -> list[WebhookEvent]:
        """Pending events due at ``now`` whose lease is free (never taken or
        lapsed), oldest due first, leased until ``lease_until`` so no other
        process takes them meanwhile (PostgreSQL: FOR UPDATE SKIP LOCKED).
        None of ``exclude_tenants``' events: the worker's tenants already
        at their share of its slots wait in the store, untouched."""

    @abc.abstractmethod
    async def record_delivery(
        self,
        event_id: str,
        *,
        delivered: bool,
        gave_up: bool,
        attempts: int,
        last_status: int | None,
        last_error: str | None,
        next_attempt_at: str,
        at: str,
    ) -> None:
        """The outcome of an attempt: delivered, failed for good (gave up) or
        pending again from ``next_attempt_at``; the lease is released."""

    @abc.abstractmethod
    async def list_webhook_events(self, tenant_id: str, limit: int = 50) -> list[WebhookEvent]:
        """The tenant's events, newest first."""

    # key rotation
    @abc.abstractmethod
    async def sealed_rows(self, after_id: str, limit: int) -> list[SealedRow]:
        """Connections' ciphertexts in id order, after ``after_id`` ("" = start)."""

    @abc.abstractmethod
    async def reseal(self, old: SealedRow, new: SealedRow) -> bool:
        """Swap the ciphertexts if the row still holds ``old`` (compare-and-swap,
        so a concurrent credential update is never overwritten)."""

    @abc.abstractmethod
    async def sealed_webhook_secrets(self, after_id: str, limit: int) -> list[tuple[str, Sealed]]:
        """(tenant id, sealed webhook secret) in tenant id order, after
        ``after_id`` ("" = start): the tenants' part of a key rotation."""

    @abc.abstractmethod
    async def reseal_webhook_secret(self, tenant_id: str, old: Sealed, new: Sealed) -> bool:
        """Swap the tenant's sealed secret if it still is ``old`` (a rotation
        of the secret meanwhile wins)."""

    @abc.abstractmethod
    async def sealed_provider_app_secrets(
        self, after: tuple[str, str], limit: int
    ) -> list[tuple[str | None, str, Sealed]]:
        """(tenant id or None, provider, sealed client secret) in
        (tenant id with the operator's as "", provider) order, after
        ``after`` (("", "") = start): the provider apps' part of a rotation."""

    @abc.abstractmethod
    async def reseal_provider_app_secret(
        self, tenant_id: str | None, provider: str, old: Sealed, new: Sealed
    ) -> bool:
        """Swap the app's sealed secret if it still is ``old`` (an app
        replaced meanwhile wins)."""

    @abc.abstractmethod
    async def connections_per_key_id(self) -> dict[str, int]:
        """How many connections have a ciphertext (credentials or OAuth
        token) under each key id, tenants' webhook secrets counted with
        them: what a keyring must hold to read them all."""

    @abc.abstractmethod
    async def counts(self) -> dict[str, int]:
        """Row counts for ``shoprelay status``, named as in ``COUNTS``."""

    # field mappings
    @abc.abstractmethod
    async def create_field_mapping(self, mapping: FieldMapping) -> None: ...

    @abc.abstractmethod
    async def list_field_mappings(self, tenant_id: str) -> list[FieldMapping]: ...

    @abc.abstractmethod
    async def delete_field_mapping(self, tenant_id: str, mapping_id: str) -> bool: ...

    # provider apps (OAuth clients): tenant_id None is the operator's default
    @abc.abstractmethod
    async def put_provider_app(self, app: ProviderApp, secret: Sealed) -> bool:
        """Store the app with its sealed client secret, replacing the
        (tenant, provider)'s app if there is one (its created_at is kept).
        True when created, False when replaced."""

    @abc.abstractmethod
    async def get_provider_app(self, tenant_id: str | None, provider: str) -> ProviderApp | None:
        """The tenant's own app (None: the operator's default) for the
        provider; never another owner's."""

    @abc.abstractmethod
    async def sealed_provider_app(
        self, tenant_id: str | None, provider: str
    ) -> tuple[ProviderApp, Sealed] | None:
        """``get_provider_app`` with the app's sealed client secret, in one read."""

    @abc.abstractmethod
    async def list_provider_apps(
        self, tenant_id: str | None, *, everyone: bool = False
    ) -> list[ProviderApp]:
        """The owner's apps by provider; ``everyone``: every app of every
        owner (the operator's view), defaults first."""

    @abc.abstractmethod
    async def delete_provider_app(self, tenant_id: str | None, provider: str) -> bool:
        """False if the owner has no app for the provider."""

    # cross-process cache invalidation
    @abc.abstractmethod
    async def last_invalidation_id(self) -> int: ...

    @abc.abstractmethod
    async def invalidations_since(self, after_id: int) -> list[Invalidation]: ...

    @abc.abstractmethod
    async def watch_invalidations(self, notify: Callable[[Invalidation | None], None]) -> None:
        """Push the invalidation feed: run until cancelled, calling ``notify``
        with each invalidation another process appends as it commits, and
        with None whenever some may have been missed (after a reconnect), so
        the caller reads the feed. Returns at once where the store cannot
        push; the caller then relies on polling ``invalidations_since``.
        Never raises for a lost database: it reconnects by itself."""

    # cross-process OAuth refresh
    @abc.abstractmethod
    def refresh_lock(self, connection_id: str) -> contextlib.AbstractAsyncContextManager[None]:
        """Held while one process refreshes a connection's OAuth token, so
        every process sharing the database refreshes it at most once at a
        time (the refreshed token is saved before the lock is released).
        Raises StoreUnavailable if it cannot be taken in reasonable time."""
