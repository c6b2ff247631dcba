"""The PostgreSQL store (asyncpg): several replicas on one database.

- One pool of at most ``pool_size`` connections per process for statements,
  and one as large for holding OAuth refresh locks (used only while a token
  is being minted; idle connections close after a minute). Every statement
  is bounded by ``statement_timeout`` on the server, plus a client-side guard
  a second longer for a network that stops answering.
- Migrations run under a transaction-scoped advisory lock, so replicas that
  start together apply them once, one after the other.
- Each invalidation is NOTIFY'd in the transaction that appends it (delivered
  at commit); ``watch_invalidations`` LISTENs on a dedicated connection and
  reconnects by itself.
- ``refresh_lock`` is a session advisory lock keyed by the connection id:
  one OAuth refresh per connection at a time across every replica.
- Every database failure (refused or lost connection, terminated backend,
  pool exhausted, statement timeout, server error) is StoreUnavailable,
  never anything else. An idle pooled connection that died is replaced on
  the next acquire; a read whose connection died under it is retried once
  on a fresh one; a write is not retried (its outcome is then unknown, so
  the caller gets 503 and decides).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import urllib.parse
from typing import Any, AsyncIterator, Awaitable, Callable, Sequence, TypeVar

import asyncpg
import msgspec

from . import migrations
from .base import (
    COUNTS, COUNTS_SQL, KEY_ID_COUNTS_SQL, SEALED_EXTRAS, Conflict, InvalidValue, Store, StoreUnavailable,
)
from .records import (
    ATTEMPT_COLUMNS,
    ATTEMPT_WIDTH,
    CODE_COLUMNS,
    CONNECTION_COLUMNS,
    CONNECTION_WIDTH,
    EVENT_COLUMNS,
    EVENT_DELIVERED,
    EVENT_FAILED,
    EVENT_PENDING,
    INSTALL_COLUMNS,
    INSTALL_WIDTH,
    KEY_COLUMNS,
    MAPPING_COLUMNS,
    PROVIDER_APP_COLUMNS,
    PROVIDER_APP_WIDTH,
    SESSION_COLUMNS,
    SESSION_COMPLETED,
    SESSION_FAILED,
    SESSION_PENDING,
    TENANT_COLUMNS,
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
    api_key_from_row,
    attempt_from_row,
    attempt_values,
    code_from_row,
    code_values,
    connection_from_row,
    event_from_row,
    event_values,
    install_from_row,
    install_values,
    json_text,
    mapping_from_row,
    provider_app_from_row,
    session_from_row,
    session_values,
    tenant_changes,
    tenant_from_row,
    with_sealed,
)

T = TypeVar("T")
log = logging.getLogger("shoprelay.store.postgres")

# LISTEN/NOTIFY channel of the invalidation feed. Channels are per database:
# installations sharing one database in different schemas only wake each
# other's pollers (dropping a cache entry is always safe).
CHANNEL = "shoprelay_invalidations"

# Advisory lock keys: (namespace, key) pairs of int4, "SR" + purpose.
_MIGRATE_LOCK = (0x5352_0001, 0)
_REFRESH_NAMESPACE = 0x5352_0002
_REFRESH_POLL = 0.02  # seconds between tries while another process holds the lock


# The connection died under a statement: a read may safely be retried once.
_LOST = (
    asyncpg.ConnectionDoesNotExistError,
    asyncpg.PostgresConnectionError,
    asyncpg.AdminShutdownError,  # pg_terminate_backend, server shutdown
    asyncpg.CrashShutdownError,
    asyncpg.CannotConnectNowError,
    asyncpg.IdleSessionTimeoutError,
    asyncpg.InterfaceError,  # "connection is closed"
    # Killed while idle in the pool, a connection may have read the server's
    # FATAL and still wait for the end of it: its next statement fails with
    # "cannot switch to state ...; another operation (2) is in progress".
    asyncpg.InternalClientError,
    ConnectionError,
)
# Everything else the database or the driver can raise.
_FAILED = (asyncpg.PostgresError, asyncpg.InterfaceError, asyncpg.InternalClientError, OSError)
# Text PostgreSQL cannot hold (NUL): the caller's input, not an outage.
_BAD_TEXT = (asyncpg.CharacterNotInRepertoireError, asyncpg.UntranslatableCharacterError)


class PostgresStore(Store):
    def __init__(
        self,
        dsn: str,
        *,
        pool_size: int = 10,
        statement_timeout: float = 5.0,
        connect_timeout: float = 5.0,
    ) -> None:
        self._dsn = dsn
        self._pool_size = pool_size
        self._statement_timeout = statement_timeout
        self._connect_timeout = connect_timeout
        # Waiting for a free pooled connection is bounded like a statement.
        self._acquire_timeout = statement_timeout
        # Two pools: "main" for statements, "locks" for connections that hold
        # a refresh lock while the provider mints a token. Apart, so holders
        # can always get a main connection to load and save the token (one
        # pool would deadlock once every connection held a lock).
        self._pools: dict[str, asyncpg.Pool] = {}
        self._pool_lock = asyncio.Lock()
        settings = {"statement_timeout": str(max(1, int(statement_timeout * 1000)))}
        if "application_name" not in _dsn_query(dsn):
            settings["application_name"] = "shoprelay"
        self._server_settings = settings
        self.listening = False  # watch_invalidations is connected and listening

    # -- plumbing ------------------------------------------------------------

    def _connect_args(self) -> dict[str, Any]:
        return {
            "timeout": self._connect_timeout,
            "command_timeout": self._statement_timeout + 1.0,
            "server_settings": dict(self._server_settings),
        }

    async def _get_pool(self, kind: str) -> asyncpg.Pool:
        pool = self._pools.get(kind)
        if pool is None:
            async with self._pool_lock:
                pool = self._pools.get(kind)
                if pool is None:
                    try:
                        # min_size=0: creating the pool never needs the
                        # database, so a process can start while it is down.
                        pool = await asyncpg.create_pool(
                            self._dsn,
                            min_size=0,
                            max_size=self._pool_size,
                            max_inactive_connection_lifetime=60.0,
                            **self._connect_args(),
                        )
                    except (ValueError, asyncpg.ClientConfigurationError) as exc:
                        raise StoreUnavailable(
                            f"SHOPRELAY_DATABASE_URL cannot be used: {type(exc).__name__}"
                        ) from None
                    self._pools[kind] = pool
        return pool

    async def _acquire(self, kind: str = "main", timeout: float | None = None) -> asyncpg.Connection:
        pool = await self._get_pool(kind)
        timeout = self._acquire_timeout if timeout is None else timeout
        try:
            return await pool.acquire(timeout=timeout)
        except TimeoutError:
            raise StoreUnavailable(
                f"postgresql: no connection free or made within {timeout:g}s"
            ) from None
        except _FAILED as exc:
            raise _unavailable(exc) from None

    async def _release(self, conn: asyncpg.Connection, kind: str = "main") -> None:
        pool = self._pools.get(kind)
        if pool is None:  # closed: closing terminated it
            return
        try:
            await pool.release(conn)
        except Exception as exc:
            # Resetting a connection that died fails; asyncpg has then
            # terminated it, and the pool makes a new one when needed.
            log.debug("dropped a broken pooled connection (%s)", type(exc).__name__)

    async def _expire(self, kind: str) -> None:
        pool = self._pools.get(kind)
        if pool is not None:
            await pool.expire_connections()

    async def _call(self, fn: Callable[[asyncpg.Connection], Awaitable[T]], *, read: bool) -> T:
        attempts = 2 if read else 1
        for attempt in range(1, attempts + 1):
            conn = await self._acquire()
            try:
                return await fn(conn)
            except asyncpg.IntegrityConstraintViolationError as exc:
                raise Conflict(str(exc)) from None
            except _BAD_TEXT:
                raise InvalidValue("text values must not contain NUL characters") from None
            except _LOST as exc:
                # One connection lost is usually all of them (a restart, a
                # failover, pg_terminate_backend): replace every pooled one
                # now, rather than let each caller meet its own dead one.
                await self._expire("main")
                if attempt < attempts:
                    log.info("retrying a read on a fresh connection (%s)", type(exc).__name__)
                    continue
                raise _unavailable(exc) from None
            except _FAILED as exc:
                raise _unavailable(exc) from None
            finally:
                await self._release(conn)
        raise AssertionError("unreachable")

    async def _read(self, fn: Callable[[asyncpg.Connection], Awaitable[T]]) -> T:
        return await self._call(fn, read=True)

    async def _write(self, fn: Callable[[asyncpg.Connection], Awaitable[T]]) -> T:
        """Run ``fn`` in one transaction (all or nothing)."""

        async def tx(conn: asyncpg.Connection) -> T:
            async with conn.transaction():
                return await fn(conn)

        return await self._call(tx, read=False)

    async def close(self) -> None:
        for kind, pool in list(self._pools.items()):
            try:
                # Waits for connections in use to come back (released by
                # ``_release`` meanwhile), then closes them. (asyncio.timeout
                # rather than wait_for, here and below: see
                # watch_invalidations.)
                async with asyncio.timeout(self._statement_timeout + 1.0):
                    await pool.close()
            except Exception:
                pool.terminate()
            finally:
                self._pools.pop(kind, None)

    async def ping(self) -> None:
        await self._read(lambda c: c.fetchval("SELECT 1"))

    async def probe_write(self) -> None:
        # A standby (after a failover, or a replica URL by mistake) and a
        # server or database set read-only both answer reads; neither takes
        # a write. Asked without writing, so it takes no lock and makes no
        # WAL however often a load balancer asks.
        row = await self._read(
            lambda c: c.fetchrow(
                "SELECT pg_is_in_recovery() AS standby,"
                " current_setting('transaction_read_only') = 'on' AS read_only"
            )
        )
        if row["standby"] or row["read_only"]:
            raise StoreUnavailable("postgresql: the server takes no writes (standby or read-only)")

    async def migrate(self) -> int:
        async def apply(conn: asyncpg.Connection) -> int:
            async with conn.transaction():
                # DDL and waiting for another replica's migration may take
                # longer than a request's statement.
                await conn.execute("SET LOCAL statement_timeout = '120s'")
                await conn.execute(
                    "SELECT pg_advisory_xact_lock($1, $2)", *_MIGRATE_LOCK, timeout=125.0
                )
                await conn.execute(
                    "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)"
                )
                version = await conn.fetchval("SELECT version FROM schema_version")
                if version is None:
                    await conn.execute("INSERT INTO schema_version (version) VALUES (0)")
                    version = 0
                if version > len(migrations.POSTGRES):
                    raise StoreUnavailable(
                        f"database schema {version} is newer than this shoprelay "
                        f"({len(migrations.POSTGRES)}); upgrade shoprelay"
                    )
                for step in migrations.POSTGRES[version:]:
                    await conn.execute(step, timeout=125.0)
                    version += 1
                    await conn.execute("UPDATE schema_version SET version = $1", version)
                return version

        conn = await self._acquire()
        try:
            async with asyncio.timeout(130.0):
                return await apply(conn)
        except TimeoutError:
            conn.terminate()
            raise StoreUnavailable("postgresql: migrations did not finish within 130s") from None
        except _FAILED as exc:
            raise _unavailable(exc) from None
        finally:
            await self._release(conn)

    # -- tenants -------------------------------------------------------------

    async def create_tenant(self, tenant: Tenant) -> None:
        await self._write(
            lambda c: c.execute(
                "INSERT INTO tenants (id, name, created_at, return_urls, webhook_url)"
                " VALUES ($1, $2, $3, $4, $5)",
                tenant.id, tenant.name, tenant.created_at, json_text(tenant.return_urls),
                tenant.webhook_url,
            )
        )

    async def get_tenant(self, tenant_id: str) -> Tenant | None:
        if _nul(tenant_id):
            return None
        row = await self._read(
            lambda c: c.fetchrow(f"SELECT {TENANT_COLUMNS} FROM tenants WHERE id = $1", tenant_id)
        )
        return tenant_from_row(row) if row else None

    async def list_tenants(self) -> list[Tenant]:
        rows = await self._read(
            lambda c: c.fetch(f"SELECT {TENANT_COLUMNS} FROM tenants ORDER BY created_at, id")
        )
        return [tenant_from_row(r) for r in rows]

    async def update_tenant(
        self,
        tenant_id: str,
        *,
        name: str | None = None,
        return_urls: list[str] | None = None,
        webhook_url: str | None | UnsetType = UNSET,
        webhook_secret: Sealed | None | UnsetType = UNSET,
    ) -> Tenant | None:
        if _nul(tenant_id):
            return None
        changes = tenant_changes(name, return_urls, webhook_url, webhook_secret)

        async def update(c: asyncpg.Connection) -> Tenant | None:
            if changes:
                sets = ", ".join(f"{column} = ${n}" for n, column in enumerate(changes, 2))
                await c.execute(f"UPDATE tenants SET {sets} WHERE id = $1", tenant_id, *changes.values())
            row = await c.fetchrow(f"SELECT {TENANT_COLUMNS} FROM tenants WHERE id = $1", tenant_id)
            return tenant_from_row(row) if row else None

        return await self._write(update)

    async def webhook_secret(self, tenant_id: str) -> Sealed | None:
        if _nul(tenant_id):
            return None
        row = await self._read(
            lambda c: c.fetchrow(
                "SELECT webhook_secret_key_id, webhook_secret_ciphertext FROM tenants WHERE id = $1",
                tenant_id,
            )
        )
        return Sealed(row[0], bytes(row[1])) if row and row[0] else None

    # -- API keys ------------------------------------------------------------

    async def create_api_key(self, key: ApiKey, digest: str) -> None:
        await self._write(
            lambda c: c.execute(
                "INSERT INTO api_keys (id, tenant_id, name, digest, prefix, created_at)"
                " VALUES ($1, $2, $3, $4, $5, $6)",
                key.id, key.tenant_id, key.name, digest, key.prefix, key.created_at,
            )
        )

    async def list_api_keys(self, tenant_id: str) -> list[ApiKey]:
        if _nul(tenant_id):
            return []
        rows = await self._read(
            lambda c: c.fetch(
                f"SELECT {KEY_COLUMNS} FROM api_keys WHERE tenant_id = $1 ORDER BY created_at, id",
                tenant_id,
            )
        )
        return [api_key_from_row(r) for r in rows]

    async def get_api_key(self, key_id: str) -> ApiKey | None:
        if _nul(key_id):
            return None
        row = await self._read(
            lambda c: c.fetchrow(f"SELECT {KEY_COLUMNS} FROM api_keys WHERE id = $1", key_id)
        )
        return api_key_from_row(row) if row else None

    async def revoke_api_key(self, key_id: str, at: str) -> ApiKey | None:
        if _nul(key_id):
            return None

        async def revoke(c: asyncpg.Connection) -> ApiKey | None:
            digest = await c.fetchval(
                "UPDATE api_keys SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL"
                " RETURNING digest",
                at, key_id,
            )
            if digest is not None:
                await _invalidate(c, "api_key", digest, at)
            row = await c.fetchrow(f"SELECT {KEY_COLUMNS} FROM api_keys WHERE id = $1", key_id)
            return api_key_from_row(row) if row else None

        return await self._write(revoke)

    async def key_owner(self, digest: str) -> KeyOwner | None:
        if _nul(digest):
            return None
        row = await self._read(
            lambda c: c.fetchrow(
                "SELECT id, tenant_id FROM api_keys WHERE digest = $1 AND revoked_at IS NULL",
                digest,
            )
        )
        return KeyOwner(row[0], row[1]) if row else None

    async def touch_api_keys(self, last_used: dict[str, str]) -> None:
        if last_used:
            await self._write(
                lambda c: c.executemany(
                    "UPDATE api_keys SET last_used_at = $1 WHERE id = $2",
                    [(at, key_id) for key_id, at in sorted(last_used.items())],
                )
            )

    # -- connections ---------------------------------------------------------

    async def create_connection(
        self,
        connection: Connection,
        token_digest: str,
        credentials: Sealed,
        event: WebhookEvent | None = None,
    ) -> None:
        async def create(c: asyncpg.Connection) -> None:
            await c.execute(
                "INSERT INTO connections (id, tenant_id, provider, token_digest, token_prefix,"
                " credentials_key_id, credentials_ciphertext, settings, status, created_at,"
                " updated_at, end_user_id, tags, grant_key)"
                " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
                connection.id,
                connection.tenant_id,
                connection.provider,
                token_digest,
                connection.token_prefix,
                credentials.key_id,
                credentials.blob,
                json_text(connection.settings),
                connection.status,
                connection.created_at,
                connection.updated_at,
                connection.end_user_id,
                json_text(connection.tags),
                connection.grant_key,
            )
            await _enqueue(c, event)

        await self._write(create)

    async def find_connection(self, tenant_id: str, token_digest: str) -> ConnectionSecrets | None:
        if _nul(tenant_id, token_digest):
            return None
        row = await self._read(
            lambda c: c.fetchrow(
                f"SELECT {CONNECTION_COLUMNS}, credentials_key_id, credentials_ciphertext,"
                " oauth_key_id, oauth_ciphertext FROM connections"
                " WHERE tenant_id = $1 AND token_digest = $2",
                tenant_id, token_digest,
            )
        )
        if row is None:
            return None
        w = CONNECTION_WIDTH
        return ConnectionSecrets(
            connection=connection_from_row(row),
            credentials=Sealed(row[w], bytes(row[w + 1])),
            oauth_token=Sealed(row[w + 2], bytes(row[w + 3])) if row[w + 2] else None,
        )

    async def get_connection(self, connection_id: str) -> Connection | None:
        if _nul(connection_id):
            return None
        row = await self._read(
            lambda c: c.fetchrow(
                f"SELECT {CONNECTION_COLUMNS} FROM connections WHERE id = $1", connection_id
            )
        )
        return connection_from_row(row) if row else None

    async def connection_token_digest(self, tenant_id: str, connection_id: str) -> str | None:
        if _nul(tenant_id, connection_id):
            return None
        row = await self._read(
            lambda c: c.fetchrow(
                "SELECT token_digest FROM connections WHERE tenant_id = $1 AND id = $2",
                tenant_id, connection_id,
            )
        )
        return row[0] if row else None

    async def connection_credentials(self, connection_id: str) -> Sealed | None:
        if _nul(connection_id):
            return None
        row = await self._read(
            lambda c: c.fetchrow(
                "SELECT credentials_key_id, credentials_ciphertext FROM connections WHERE id = $1",
                connection_id,
            )
        )
        return Sealed(row[0], bytes(row[1])) if row else None

    async def list_connections(
        self,
        tenant_id: str,
        limit: int | None = None,
        after: tuple[str, str] | None = None,
        end_user_id: str | None = None,
    ) -> list[Connection]:
        if _nul(tenant_id, end_user_id or "") or (after is not None and _nul(*after)):
            return []  # no stored text holds NUL: nothing matches, no position is that
        sql = f"SELECT {CONNECTION_COLUMNS} FROM connections WHERE tenant_id = $1"
        args: list[Any] = [tenant_id]
        if end_user_id is not None:
            args.append(end_user_id)
            sql += f" AND end_user_id = ${len(args)}"
        if after is not None:
            args += [after[0], after[1]]
            n = len(args)
            sql += f" AND (created_at > ${n - 1} OR (created_at = ${n - 1} AND id > ${n}))"
        sql += " ORDER BY created_at, id"
        if limit is not None:
            args.append(limit)
            sql += f" LIMIT ${len(args)}"
        rows = await self._read(lambda c: c.fetch(sql, *args))
        return [connection_from_row(r) for r in rows]

    async def update_connection(
        self,
        connection_id: str,
        at: str,
        credentials: Sealed | None = None,
        settings: dict | None = None,
        status: str | None = None,
        event: WebhookEvent | None = None,
        grant_key: str | None | UnsetType = UNSET,
    ) -> bool:
        if _nul(connection_id):
            return False

        async def update(c: asyncpg.Connection) -> bool:
            digest = await c.fetchval(
                "SELECT token_digest FROM connections WHERE id = $1 FOR UPDATE", connection_id
            )
            if digest is None:
                return False
            if credentials is not None:
                await c.execute(
                    "UPDATE connections SET credentials_key_id = $1, credentials_ciphertext = $2,"
                    " oauth_key_id = NULL, oauth_ciphertext = NULL WHERE id = $3",
                    credentials.key_id, credentials.blob, connection_id,
                )
            if settings is not None:
                await c.execute(
                    "UPDATE connections SET settings = $1 WHERE id = $2",
                    msgspec.json.encode(settings).decode(), connection_id,
                )
            if status is not None:
                await c.execute(
                    "UPDATE connections SET status = $1 WHERE id = $2", status, connection_id
                )
            if grant_key is not UNSET:
                await c.execute(
                    "UPDATE connections SET grant_key = $1 WHERE id = $2", grant_key, connection_id
                )
            await c.execute("UPDATE connections SET updated_at = $1 WHERE id = $2", at, connection_id)
            await _invalidate(c, "connection", digest, at)
            await _enqueue(c, event)
            return True

        return await self._write(update)

    async def rotate_connection_token(
        self, connection_id: str, token_digest: str, token_prefix: str, at: str
    ) -> bool:
        if _nul(connection_id):
            return False

        async def rotate(c: asyncpg.Connection) -> bool:
            old = await c.fetchval(
                "SELECT token_digest FROM connections WHERE id = $1 FOR UPDATE", connection_id
            )
            if old is None:
                return False
            await c.execute(
                "UPDATE connections SET token_digest = $1, token_prefix = $2, updated_at = $3"
                " WHERE id = $4",
                token_digest, token_prefix, at, connection_id,
            )
            await _invalidate(c, "connection", old, at)
            return True

        return await self._write(rotate)

    async def delete_connection(
        self, connection_id: str, event: WebhookEvent | None = None
    ) -> bool:
        if _nul(connection_id):
            return False

        async def delete(c: asyncpg.Connection) -> bool:
            digest = await c.fetchval(
                "DELETE FROM connections WHERE id = $1 RETURNING token_digest", connection_id
            )
            if digest is None:
                return False
            await _invalidate(c, "connection", digest, _now_text())
            await _enqueue(c, event)
            return True

        return await self._write(delete)

    async def save_oauth_token(self, connection_id: str, token: Sealed) -> None:
        await self._write(
            lambda c: c.execute(
                "UPDATE connections SET oauth_key_id = $1, oauth_ciphertext = $2 WHERE id = $3",
                token.key_id, token.blob, connection_id,
            )
        )

    async def load_oauth_token(self, connection_id: str) -> Sealed | None:
        if _nul(connection_id):
            return None
        row = await self._read(
            lambda c: c.fetchrow(
                "SELECT oauth_key_id, oauth_ciphertext FROM connections WHERE id = $1",
                connection_id,
            )
        )
        return Sealed(row[0], bytes(row[1])) if row and row[0] else None

    async def set_connection_status(
        self, connection_id: str, status: str, at: str, event: WebhookEvent | None = None
    ) -> None:
        if _nul(connection_id):
            return

        async def set_status(c: asyncpg.Connection) -> None:
            before = await c.fetchval(
                "SELECT status FROM connections WHERE id = $1 FOR UPDATE", connection_id
            )
            if before is None:
                return
            await c.execute(
                "UPDATE connections SET status = $1, updated_at = $2 WHERE id = $3",
                status, at, connection_id,
            )
            if before != status:
                await _enqueue(c, event)

        await self._write(set_status)

    # -- connect sessions ----------------------------------------------------

    async def create_connect_session(self, session: ConnectSession, token_digest: str) -> None:
        await self._write(
            lambda c: c.execute(
                f"INSERT INTO connect_sessions (token_digest, {SESSION_COLUMNS}) VALUES"
                " ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)",
                token_digest, *session_values(session),
            )
        )

    async def get_connect_session(self, session_id: str) -> ConnectSession | None:
        if _nul(session_id):
            return None
        row = await self._read(
            lambda c: c.fetchrow(
                f"SELECT {SESSION_COLUMNS} FROM connect_sessions WHERE id = $1", session_id
            )
        )
        return session_from_row(row) if row else None

    async def find_connect_session(self, token_digest: str) -> ConnectSession | None:
        if _nul(token_digest):
            return None
        row = await self._read(
            lambda c: c.fetchrow(
                f"SELECT {SESSION_COLUMNS} FROM connect_sessions WHERE token_digest = $1",
                token_digest,
            )
        )
        return session_from_row(row) if row else None

    async def count_connect_attempt(self, session_id: str) -> int:
        if _nul(session_id):
            return 0
        count = await self._write(
            lambda c: c.fetchval(
                "UPDATE connect_sessions SET attempts = attempts + 1 WHERE id = $1"
                " RETURNING attempts",
                session_id,
            )
        )
        return count or 0

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
        if _nul(session_id):
            return False

        async def complete(c: asyncpg.Connection) -> bool:
            # A racing completion waits for this row's lock, then sees
            # status 'completed' on re-checking the WHERE: it updates nothing.
            status = await c.execute(
                "UPDATE connect_sessions SET status = $1, provider = $2, connection_id = $3,"
                " completed_at = $4 WHERE id = $5 AND status = $6 AND expires_at > $4",
                SESSION_COMPLETED, provider, connection_id, at, session_id, SESSION_PENDING,
            )
            if status != "UPDATE 1":
                return False
            await c.execute(
                f"INSERT INTO connect_codes (code_digest, {CODE_COLUMNS})"
                " VALUES ($1, $2, $3, $4, $5, $6, $7)",
                code_digest, *code_values(code),
            )
            return True

        return await self._write(complete)

    async def fail_connect_session(self, session_id: str, error: str, at: str) -> None:
        if _nul(session_id):
            return
        await self._write(
            lambda c: c.execute(
                "UPDATE connect_sessions SET status = $1, error = $2, completed_at = $3"
                " WHERE id = $4 AND status = $5",
                SESSION_FAILED, error, at, session_id, SESSION_PENDING,
            )
        )

    async def redeem_connect_code(
        self, code_digest: str, tenant_id: str, at: str
    ) -> ConnectCode | None:
        if _nul(code_digest, tenant_id):
            return None
        row = await self._write(
            lambda c: c.fetchrow(
                "UPDATE connect_codes SET used_at = $1"
                " WHERE code_digest = $2 AND tenant_id = $3 AND used_at IS NULL AND expires_at > $1"
                f" RETURNING {CODE_COLUMNS}",
                at, code_digest, tenant_id,
            )
        )
        return code_from_row(row) if row else None

    # -- OAuth installs ------------------------------------------------------

    async def create_connect_attempt(self, attempt: ConnectAttempt, data: Sealed) -> None:
        await self._write(
            lambda c: c.execute(
                f"INSERT INTO connect_attempts ({ATTEMPT_COLUMNS}, data_key_id, data_ciphertext)"
                " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                *attempt_values(attempt), data.key_id, data.blob,
            )
        )

    async def claim_connect_attempt(self, state_digest: str, at: str) -> tuple[ConnectAttempt, Sealed] | None:
        if _nul(state_digest):
            return None
        row = await self._claim_once("connect_attempts", "state_digest", "used_at", ATTEMPT_COLUMNS, state_digest, at)
        return with_sealed(row, attempt_from_row, ATTEMPT_WIDTH)

    async def get_connect_attempt(self, state_digest: str) -> tuple[ConnectAttempt, Sealed] | None:
        if _nul(state_digest):
            return None
        row = await self._read(
            lambda c: c.fetchrow(
                f"SELECT {ATTEMPT_COLUMNS}, data_key_id, data_ciphertext FROM connect_attempts"
                " WHERE state_digest = $1",
                state_digest,
            )
        )
        return with_sealed(row, attempt_from_row, ATTEMPT_WIDTH)

    async def update_connect_attempt_data(self, attempt_id: str, data: Sealed) -> None:
        if _nul(attempt_id):
            return
        await self._write(
            lambda c: c.execute(
                "UPDATE connect_attempts SET data_key_id = $1, data_ciphertext = $2 WHERE id = $3",
                data.key_id, data.blob, attempt_id,
            )
        )

    async def create_unclaimed_install(self, install: UnclaimedInstall, data: Sealed) -> None:
        await self._write(
            lambda c: c.execute(
                f"INSERT INTO unclaimed_installs ({INSTALL_COLUMNS}, data_key_id, data_ciphertext)"
                " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                *install_values(install), data.key_id, data.blob,
            )
        )

    async def claim_unclaimed_install(self, claim_digest: str, at: str) -> tuple[UnclaimedInstall, Sealed] | None:
        if _nul(claim_digest):
            return None
        row = await self._claim_once(
            "unclaimed_installs", "claim_digest", "claimed_at", INSTALL_COLUMNS, claim_digest, at
        )
        return with_sealed(row, install_from_row, INSTALL_WIDTH)

    async def _claim_once(self, table: str, key: str, used: str, columns: str, value: str, at: str) -> Any:
        """Mark the row used, only if unused and unexpired at ``at``; the row
        with its sealed data, or None. The row lock makes a racing claim
        re-check ``used`` after this one commits: one wins."""
        return await self._write(
            lambda c: c.fetchrow(
                f"UPDATE {table} SET {used} = $1 WHERE {key} = $2 AND {used} IS NULL AND expires_at > $1"
                f" RETURNING {columns}, data_key_id, data_ciphertext",
                at, value,
            )
        )

    async def connections_with_grant(self, grant_key: str) -> list[Connection]:
        if _nul(grant_key):
            return []
        rows = await self._read(
            lambda c: c.fetch(
                f"SELECT {CONNECTION_COLUMNS} FROM connections WHERE grant_key = $1 ORDER BY id", grant_key
            )
        )
        return [connection_from_row(r) for r in rows]

    async def save_grant_token(self, grant_key: str, token: Sealed) -> None:
        await self._write(
            lambda c: c.execute(
                "INSERT INTO oauth_grants (grant_key, token_key_id, token_ciphertext, updated_at)"
                " VALUES ($1, $2, $3, $4) ON CONFLICT (grant_key) DO UPDATE SET"
                " token_key_id = excluded.token_key_id, token_ciphertext = excluded.token_ciphertext,"
                " updated_at = excluded.updated_at",
                grant_key, token.key_id, token.blob, _now_text(),
            )
        )

    async def load_grant_token(self, grant_key: str) -> Sealed | None:
        if _nul(grant_key):
            return None
        row = await self._read(
            lambda c: c.fetchrow(
                "SELECT token_key_id, token_ciphertext FROM oauth_grants WHERE grant_key = $1", grant_key
            )
        )
        return Sealed(row[0], bytes(row[1])) if row else None

    async def sealed_extras(self, kind: str, after: str, limit: int) -> list[tuple[str, str | None, Sealed]]:
        table, key, owner, key_id, blob = SEALED_EXTRAS[kind]
        rows = await self._read(
            lambda c: c.fetch(
                f"SELECT {key}, {owner or 'NULL'}, {key_id}, {blob} FROM {table}"
                f' WHERE {key} COLLATE "C" > $1 ORDER BY {key} COLLATE "C" LIMIT $2',
                after, limit,
            )
        )
        return [(r[0], r[1], Sealed(r[2], bytes(r[3]))) for r in rows]

    async def reseal_extra(self, kind: str, key: str, old: Sealed, new: Sealed) -> bool:
        table, key_column, _, key_id, blob = SEALED_EXTRAS[kind]
        status = await self._write(
            lambda c: c.execute(
                f"UPDATE {table} SET {key_id} = $1, {blob} = $2 WHERE {key_column} = $3 AND {blob} = $4",
                new.key_id, new.blob, key, old.blob,
            )
        )
        return status == "UPDATE 1"

    # -- webhook outbox ------------------------------------------------------

    async def enqueue_event(self, event: WebhookEvent) -> None:
        await self._write(lambda c: _enqueue(c, event))

    async def claim_due_events(
        self, now: str, lease_until: str, limit: int, exclude_tenants: Sequence[str] = ()
    ) -> list[WebhookEvent]:
        # SKIP LOCKED: replicas claiming at once take disjoint events instead
        # of waiting on each other; the lease then keeps them apart until
        # the attempt is recorded (or the lease lapses: a dead claimer).
        excluded = [t for t in exclude_tenants if not _nul(t)]
        rows = await self._write(
            lambda c: c.fetch(
                f"UPDATE webhook_events SET lease_until = $2 WHERE id IN ("
                " SELECT id FROM webhook_events WHERE status = $4 AND next_attempt_at <= $1"
                " AND (lease_until IS NULL OR lease_until <= $1)"
                " AND tenant_id <> ALL($5::text[])"
                " ORDER BY next_attempt_at, id LIMIT $3 FOR UPDATE SKIP LOCKED)"
                f" RETURNING {EVENT_COLUMNS}",
                now, lease_until, limit, EVENT_PENDING, excluded,
            )
        )
        events = [event_from_row(r) for r in rows]
        return sorted(events, key=lambda e: (e.next_attempt_at, e.id))

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
        if _nul(event_id):
            return
        status = EVENT_DELIVERED if delivered else EVENT_FAILED if gave_up else EVENT_PENDING
        await self._write(
            lambda c: c.execute(
                "UPDATE webhook_events SET status = $1, attempts = $2, last_status = $3,"
                " last_error = $4, next_attempt_at = $5, delivered_at = $6, lease_until = NULL"
                " WHERE id = $7",
                status, attempts, last_status, last_error, next_attempt_at,
                at if delivered else None, event_id,
            )
        )

    async def list_webhook_events(self, tenant_id: str, limit: int = 50) -> list[WebhookEvent]:
        if _nul(tenant_id):
            return []
        rows = await self._read(
            lambda c: c.fetch(
                f"SELECT {EVENT_COLUMNS} FROM webhook_events WHERE tenant_id = $1"
                " ORDER BY created_at DESC, id DESC LIMIT $2",
                tenant_id, limit,
            )
        )
        return [event_from_row(r) for r in rows]

    # -- key rotation --------------------------------------------------------

    async def sealed_rows(self, after_id: str, limit: int) -> list[SealedRow]:
        rows = await self._read(
            lambda c: c.fetch(
                "SELECT id, tenant_id, credentials_key_id, credentials_ciphertext, oauth_key_id,"
                " oauth_ciphertext FROM connections WHERE id > $1 ORDER BY id LIMIT $2",
                after_id, limit,
            )
        )
        return [
            SealedRow(
                connection_id=r[0], tenant_id=r[1], credentials=Sealed(r[2], bytes(r[3])),
                oauth_token=Sealed(r[4], bytes(r[5])) if r[4] else None,
            )
            for r in rows
        ]

    async def reseal(self, old: SealedRow, new: SealedRow) -> bool:
        old_oauth = old.oauth_token
        new_oauth = new.oauth_token
        status = await self._write(
            lambda c: c.execute(
                "UPDATE connections SET credentials_key_id = $1, credentials_ciphertext = $2,"
                " oauth_key_id = $3, oauth_ciphertext = $4"
                " WHERE id = $5 AND credentials_ciphertext = $6"
                " AND COALESCE(oauth_ciphertext, ''::bytea) = $7",
                new.credentials.key_id, new.credentials.blob,
                new_oauth.key_id if new_oauth else None, new_oauth.blob if new_oauth else None,
                old.connection_id, old.credentials.blob,
                old_oauth.blob if old_oauth else b"",
            )
        )
        return status == "UPDATE 1"

    async def sealed_webhook_secrets(self, after_id: str, limit: int) -> list[tuple[str, Sealed]]:
        rows = await self._read(
            lambda c: c.fetch(
                "SELECT id, webhook_secret_key_id, webhook_secret_ciphertext FROM tenants"
                " WHERE id > $1 AND webhook_secret_key_id IS NOT NULL ORDER BY id LIMIT $2",
                after_id, limit,
            )
        )
        return [(r[0], Sealed(r[1], bytes(r[2]))) for r in rows]

    async def reseal_webhook_secret(self, tenant_id: str, old: Sealed, new: Sealed) -> bool:
        status = await self._write(
            lambda c: c.execute(
                "UPDATE tenants SET webhook_secret_key_id = $1, webhook_secret_ciphertext = $2"
                " WHERE id = $3 AND webhook_secret_ciphertext = $4",
                new.key_id, new.blob, tenant_id, old.blob,
            )
        )
        return status == "UPDATE 1"

    async def sealed_provider_app_secrets(
        self, after: tuple[str, str], limit: int
    ) -> list[tuple[str | None, str, Sealed]]:
        rows = await self._read(
            lambda c: c.fetch(
                "SELECT tenant_id, provider, secret_key_id, secret_ciphertext FROM provider_apps"
                " WHERE (COALESCE(tenant_id, ''), provider) > ($1, $2)"
                " ORDER BY COALESCE(tenant_id, ''), provider LIMIT $3",
                after[0], after[1], limit,
            )
        )
        return [(r[0], r[1], Sealed(r[2], bytes(r[3]))) for r in rows]

    async def reseal_provider_app_secret(
        self, tenant_id: str | None, provider: str, old: Sealed, new: Sealed
    ) -> bool:
        status = await self._write(
            lambda c: c.execute(
                "UPDATE provider_apps SET secret_key_id = $1, secret_ciphertext = $2"
                " WHERE tenant_id IS NOT DISTINCT FROM $3 AND provider = $4 AND secret_ciphertext = $5",
                new.key_id, new.blob, tenant_id, provider, old.blob,
            )
        )
        return status == "UPDATE 1"

    async def connections_per_key_id(self) -> dict[str, int]:
        rows = await self._read(lambda c: c.fetch(KEY_ID_COUNTS_SQL))
        return {r[0]: r[1] for r in rows}

    async def counts(self) -> dict[str, int]:
        row = await self._read(lambda c: c.fetchrow(COUNTS_SQL))
        return dict(zip(COUNTS, row))

    # -- field mappings ------------------------------------------------------

    async def create_field_mapping(self, mapping: FieldMapping) -> None:
        async def create(c: asyncpg.Connection) -> None:
            await c.execute(
                "INSERT INTO field_mappings (id, tenant_id, connection_id, object, provider, name,"
                " expression, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                mapping.id, mapping.tenant_id, mapping.connection_id, mapping.object,
                mapping.provider, mapping.name, mapping.expression, mapping.created_at,
            )
            await _invalidate(c, "field_mappings", mapping.tenant_id, mapping.created_at)

        await self._write(create)

    async def list_field_mappings(self, tenant_id: str) -> list[FieldMapping]:
        if _nul(tenant_id):
            return []
        rows = await self._read(
            lambda c: c.fetch(
                f"SELECT {MAPPING_COLUMNS} FROM field_mappings WHERE tenant_id = $1"
                " ORDER BY created_at, id",
                tenant_id,
            )
        )
        return [mapping_from_row(r) for r in rows]

    async def delete_field_mapping(self, tenant_id: str, mapping_id: str) -> bool:
        if _nul(tenant_id, mapping_id):
            return False

        async def delete(c: asyncpg.Connection) -> bool:
            status = await c.execute(
                "DELETE FROM field_mappings WHERE id = $1 AND tenant_id = $2", mapping_id, tenant_id
            )
            if status != "DELETE 1":
                return False
            await _invalidate(c, "field_mappings", tenant_id, _now_text())
            return True

        return await self._write(delete)

    # -- provider apps -------------------------------------------------------
    # "IS NOT DISTINCT FROM" matches NULL (the operator's default) and a tenant id alike.

    async def put_provider_app(self, app: ProviderApp, secret: Sealed) -> bool:
        values = (
            app.tenant_id, app.provider, app.client_id, secret.key_id, secret.blob,
            json_text(app.scopes), json_text(app.settings), app.created_at, app.updated_at,
        )

        insert = (
            "INSERT INTO provider_apps (tenant_id, provider, client_id, secret_key_id,"
            " secret_ciphertext, scopes, settings, created_at, updated_at)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
        )

        async def put(c: asyncpg.Connection) -> bool:
            # Insert unless a row exists (a concurrent insert is waited for,
            # then seen), else replace it: no unique violation between two PUTs.
            status = await c.execute(insert + " ON CONFLICT DO NOTHING", *values)
            if status == "INSERT 0 1":
                return True
            status = await c.execute(
                "UPDATE provider_apps SET client_id = $3, secret_key_id = $4, secret_ciphertext = $5,"
                " scopes = $6, settings = $7, updated_at = $8"
                " WHERE tenant_id IS NOT DISTINCT FROM $1 AND provider = $2",
                *values[:7], app.updated_at,
            )
            if status == "UPDATE 1":
                return False
            # Deleted between the two statements: this PUT creates it after all.
            await c.execute(insert, *values)
            return True

        return await self._write(put)

    async def get_provider_app(self, tenant_id: str | None, provider: str) -> ProviderApp | None:
        if _nul(tenant_id or "", provider):
            return None
        row = await self._read(
            lambda c: c.fetchrow(
                f"SELECT {PROVIDER_APP_COLUMNS} FROM provider_apps"
                " WHERE tenant_id IS NOT DISTINCT FROM $1 AND provider = $2",
                tenant_id, provider,
            )
        )
        return provider_app_from_row(row) if row else None

    async def sealed_provider_app(
        self, tenant_id: str | None, provider: str
    ) -> tuple[ProviderApp, Sealed] | None:
        if _nul(tenant_id or "", provider):
            return None
        row = await self._read(
            lambda c: c.fetchrow(
                f"SELECT {PROVIDER_APP_COLUMNS}, secret_key_id, secret_ciphertext FROM provider_apps"
                " WHERE tenant_id IS NOT DISTINCT FROM $1 AND provider = $2",
                tenant_id, provider,
            )
        )
        return with_sealed(row, provider_app_from_row, PROVIDER_APP_WIDTH)

    async def list_provider_apps(
        self, tenant_id: str | None, *, everyone: bool = False
    ) -> list[ProviderApp]:
        if not everyone and _nul(tenant_id or ""):
            return []
        order = " ORDER BY COALESCE(tenant_id, ''), provider"
        if everyone:
            rows = await self._read(
                lambda c: c.fetch(f"SELECT {PROVIDER_APP_COLUMNS} FROM provider_apps{order}")
            )
        else:
            rows = await self._read(
                lambda c: c.fetch(
                    f"SELECT {PROVIDER_APP_COLUMNS} FROM provider_apps"
                    f" WHERE tenant_id IS NOT DISTINCT FROM $1{order}",
                    tenant_id,
                )
            )
        return [provider_app_from_row(r) for r in rows]

    async def delete_provider_app(self, tenant_id: str | None, provider: str) -> bool:
        if _nul(tenant_id or "", provider):
            return False
        status = await self._write(
            lambda c: c.execute(
                "DELETE FROM provider_apps WHERE tenant_id IS NOT DISTINCT FROM $1 AND provider = $2",
                tenant_id, provider,
            )
        )
        return status == "DELETE 1"

    # -- invalidations -------------------------------------------------------

    async def last_invalidation_id(self) -> int:
        return await self._read(lambda c: c.fetchval("SELECT COALESCE(MAX(id), 0) FROM invalidations"))

    async def invalidations_since(self, after_id: int) -> list[Invalidation]:
        rows = await self._read(
            lambda c: c.fetch(
                "SELECT id, kind, digest FROM invalidations WHERE id > $1 ORDER BY id LIMIT 1000",
                after_id,
            )
        )
        return [Invalidation(r[0], r[1], r[2]) for r in rows]

    async def watch_invalidations(self, notify: Callable[[Invalidation | None], None]) -> None:
        backoff, failures = 0.1, 0
        while True:
            conn: asyncpg.Connection | None = None
            try:
                conn = await asyncpg.connect(self._dsn, **self._connect_args())
                lost = asyncio.Event()
                conn.add_termination_listener(lambda _conn: lost.set())

                def on_notification(_conn: Any, _pid: int, _channel: str, payload: str) -> None:
                    notify(_parse_notification(payload))

                await conn.add_listener(CHANNEL, on_notification)
                self.listening = True
                if failures:
                    log.info("invalidation listener is back")
                backoff, failures = 0.1, 0
                notify(None)  # anything appended while we were not listening
                while not lost.is_set():
                    try:
                        # asyncio.timeout, not wait_for: on Python 3.11 a
                        # cancel landing just as the connection drops is
                        # swallowed by wait_for (CPython gh-86296), and the
                        # listener would outlive shutdown, which awaits it.
                        async with asyncio.timeout(15.0):
                            await lost.wait()
                    except TimeoutError:
                        # A silent network never tells us; ask.
                        await conn.execute("SELECT 1", timeout=self._statement_timeout)
                reason = "connection closed"
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                reason = type(exc).__name__
            finally:
                self.listening = False
                if conn is not None:
                    conn.terminate()
            failures += 1
            # Once per outage, not once per reconnect attempt.
            (log.warning if failures == 1 else log.debug)(
                "invalidation listener lost the database (%s); polling until it is back", reason
            )
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 5.0)

    # -- OAuth refresh -------------------------------------------------------

    @contextlib.asynccontextmanager
    async def refresh_lock(self, connection_id: str) -> AsyncIterator[None]:
        """A session advisory lock on (namespace, hashtext(connection id)),
        taken with non-blocking tries so a waiting process holds no pooled
        connection and no backend blocked. Released explicitly; the pool's
        reset on release (``pg_advisory_unlock_all``) and the server (when a
        connection dies) release it too, so it never outlives its holder."""
        loop = asyncio.get_running_loop()
        # Someone else's refresh is one provider token request: wait for it
        # as long as for a statement, plus a provider call's worth.
        deadline = loop.time() + max(30.0, 3 * self._statement_timeout)
        while True:
            conn = await self._acquire("locks", timeout=max(0.1, deadline - loop.time()))
            try:
                taken = await conn.fetchval(
                    "SELECT pg_try_advisory_lock($1, hashtext($2))", _REFRESH_NAMESPACE, connection_id
                )
            except BaseException as exc:
                await self._release(conn, "locks")
                if isinstance(exc, _FAILED):
                    raise _unavailable(exc) from None
                raise
            if taken:
                break
            await self._release(conn, "locks")
            if loop.time() >= deadline:
                raise StoreUnavailable("postgresql: timed out waiting for a token refresh lock")
            await asyncio.sleep(_REFRESH_POLL)
        try:
            yield
        finally:
            try:
                await conn.fetchval(
                    "SELECT pg_advisory_unlock($1, hashtext($2))", _REFRESH_NAMESPACE, connection_id
                )
            except asyncio.CancelledError:
                conn.terminate()  # the server drops a dead session's locks
                raise
            except Exception as exc:
                # The token is saved already; a session that died has lost
                # its locks with it.
                log.info("refresh lock released by dropping its connection (%s)", type(exc).__name__)
                conn.terminate()
            finally:
                await self._release(conn, "locks")


async def _enqueue(c: asyncpg.Connection, event: WebhookEvent | None) -> None:
    if event is not None:
        await c.execute(
            f"INSERT INTO webhook_events ({EVENT_COLUMNS})"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
            *event_values(event),
        )


async def _invalidate(c: asyncpg.Connection, kind: str, digest: str, at: str) -> None:
    invalidation_id = await c.fetchval(
        "INSERT INTO invalidations (kind, digest, created_at) VALUES ($1, $2, $3) RETURNING id",
        kind, digest, at,
    )
    # Delivered when (and only if) this transaction commits.
    await c.execute("SELECT pg_notify($1, $2)", CHANNEL, f"{invalidation_id}:{kind}:{digest}")


def _parse_notification(payload: str) -> Invalidation | None:
    parts = payload.split(":", 2)
    if len(parts) != 3 or not parts[0].isdigit():
        return None  # not ours, or garbled: just read the feed
    return Invalidation(int(parts[0]), parts[1], parts[2])


def _unavailable(exc: BaseException) -> StoreUnavailable:
    # Server messages name constraints and settings, not values; never the URL.
    detail = str(exc).splitlines()[0] if str(exc) else ""
    return StoreUnavailable(f"postgresql: {type(exc).__name__}" + (f": {detail}" if detail else ""))


def _nul(*values: str) -> bool:
    """PostgreSQL text cannot hold NUL, so no stored value contains one: a
    lookup by such a value finds nothing (as on SQLite), without asking."""
    return any("\x00" in value for value in values)


def _now_text() -> str:
    from ..clock import now_text

    return now_text()


def _dsn_query(dsn: str) -> dict[str, list[str]]:
    try:
        return urllib.parse.parse_qs(urllib.parse.urlsplit(dsn).query)
    except ValueError:
        return {}



