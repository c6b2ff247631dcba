"""The embedded default store: one SQLite file, WAL mode.

sqlite3 blocks, so every statement runs on one dedicated worker thread
(which also serialises writers, as SQLite wants); the event loop only
awaits a future. Several processes may share the file (``--workers``):
WAL plus a busy timeout handles their concurrency.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any, AsyncIterator, Callable, Sequence, TypeVar

import msgspec

from . import migrations
from .base import COUNTS, COUNTS_SQL, KEY_ID_COUNTS_SQL, SEALED_EXTRAS, Conflict, Store, StoreUnavailable
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

# OAuth refresh lock: a refresh is one provider token request, bounded by the
# request deadline; the lease outlasts it, so only a dead holder's row expires.
_REFRESH_LEASE = 120.0
_REFRESH_WAIT = 30.0  # seconds to wait for another process's refresh
_REFRESH_POLL = 0.02


def _create_private(path: str) -> None:
    """Create the database file owner-only (0600) before SQLite opens it: it
    holds key digests and sealed credentials. Race-free with O_EXCL."""
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except FileExistsError:
        return
    os.close(fd)


def _make_private(path: str) -> None:
    with contextlib.suppress(OSError):  # absent, or another user's file
        mode = os.stat(path).st_mode & 0o777
        if mode & 0o077:
            os.chmod(path, mode & 0o700)


class SQLiteStore(Store):
    def __init__(self, path: str) -> None:
        self.path = path
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite")
        self._conn: sqlite3.Connection | None = None

    # -- plumbing ------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        if self._conn is None:
            directory = os.path.dirname(os.path.abspath(self.path))
            os.makedirs(directory, mode=0o700, exist_ok=True)
            _create_private(self.path)
            conn = sqlite3.connect(self.path, timeout=5.0, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA foreign_keys=ON")
            conn.execute("PRAGMA busy_timeout=5000")
            conn.execute("PRAGMA synchronous=NORMAL")
            # SQLite gives the -wal and -shm files the database file's mode
            # when it creates them; files left by an older version are
            # tightened here too (where this user owns them).
            for name in (self.path, self.path + "-wal", self.path + "-shm"):
                _make_private(name)
            self._conn = conn
        return self._conn

    async def _run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        def call() -> T:
            return fn(self._connect())

        try:
            return await asyncio.get_running_loop().run_in_executor(self._executor, call)
        except sqlite3.IntegrityError as exc:
            raise Conflict(str(exc)) from None
        except sqlite3.Error as exc:
            raise StoreUnavailable(f"sqlite: {exc}") from None

    async def _write(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``fn`` in one IMMEDIATE transaction (all or nothing)."""

        def tx(conn: sqlite3.Connection) -> T:
            conn.execute("BEGIN IMMEDIATE")
            try:
                result = fn(conn)
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
            return result

        return await self._run(tx)

    async def close(self) -> None:
        def shut(conn: sqlite3.Connection) -> None:
            conn.close()
            self._conn = None

        if self._conn is not None:
            await self._run(shut)
        self._executor.shutdown(wait=True)

    async def ping(self) -> None:
        await self._run(lambda c: c.execute("SELECT 1").fetchone())

    async def probe_write(self) -> None:
        # A write that is rolled back: it takes the write lock and fails on
        # a read-only file, yet touches no page on disk.
        def probe(conn: sqlite3.Connection) -> None:
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.execute("UPDATE schema_version SET version = version")
            finally:
                conn.execute("ROLLBACK")

        await self._run(probe)

    async def migrate(self) -> int:
        def apply(conn: sqlite3.Connection) -> int:
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
                row = conn.execute("SELECT version FROM schema_version").fetchone()
                if row is None:
                    conn.execute("INSERT INTO schema_version (version) VALUES (0)")
                    version = 0
                else:
                    version = row[0]
                if version > len(migrations.SQLITE):
                    raise StoreUnavailable(
                        f"database schema {version} is newer than this shoprelay "
                        f"({len(migrations.SQLITE)}); upgrade shoprelay"
                    )
                for step in migrations.SQLITE[version:]:
                    for statement in _statements(step):
                        conn.execute(statement)
                    version += 1
                    conn.execute("UPDATE schema_version SET version = ?", (version,))
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            return version

        return await self._run(apply)

    # -- tenants -------------------------------------------------------------

    async def create_tenant(self, tenant: Tenant) -> None:
        await self._write(
            lambda c: c.execute(
                "INSERT INTO tenants (id, name, created_at, return_urls, webhook_url)"
                " VALUES (?, ?, ?, ?, ?)",
                (tenant.id, tenant.name, tenant.created_at, json_text(tenant.return_urls),
                 tenant.webhook_url),
            )
        )

    async def get_tenant(self, tenant_id: str) -> Tenant | None:
        row = await self._run(
            lambda c: c.execute(
                f"SELECT {TENANT_COLUMNS} FROM tenants WHERE id = ?", (tenant_id,)
            ).fetchone()
        )
        return tenant_from_row(row) if row else None

    async def list_tenants(self) -> list[Tenant]:
        rows = await self._run(
            lambda c: c.execute(
                f"SELECT {TENANT_COLUMNS} FROM tenants ORDER BY created_at, id"
            ).fetchall()
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
        changes = tenant_changes(name, return_urls, webhook_url, webhook_secret)

        def update(c: sqlite3.Connection) -> Tenant | None:
            if changes:
                sets = ", ".join(f"{column} = ?" for column in changes)
                c.execute(f"UPDATE tenants SET {sets} WHERE id = ?", (*changes.values(), tenant_id))
            row = c.execute(f"SELECT {TENANT_COLUMNS} FROM tenants WHERE id = ?", (tenant_id,)).fetchone()
            return tenant_from_row(row) if row else None

        return await self._write(update)

    async def webhook_secret(self, tenant_id: str) -> Sealed | None:
        row = await self._run(
            lambda c: c.execute(
                "SELECT webhook_secret_key_id, webhook_secret_ciphertext FROM tenants WHERE id = ?",
                (tenant_id,),
            ).fetchone()
        )
        return Sealed(row[0], bytes(row[1])) if row and row[0] else None

    # -- API keys ------------------------------------------------------------

    async def create_api_key(self, key: ApiKey, digest: str) -> None:
        await self._write(
            lambda c: c.execute(
                "INSERT INTO api_keys (id, tenant_id, name, digest, prefix, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (key.id, key.tenant_id, key.name, digest, key.prefix, key.created_at),
            )
        )

    async def list_api_keys(self, tenant_id: str) -> list[ApiKey]:
        rows = await self._run(
            lambda c: c.execute(
                f"SELECT {KEY_COLUMNS} FROM api_keys WHERE tenant_id = ? ORDER BY created_at, id",
                (tenant_id,),
            ).fetchall()
        )
        return [api_key_from_row(r) for r in rows]

    async def get_api_key(self, key_id: str) -> ApiKey | None:
        row = await self._run(
            lambda c: c.execute(
                f"SELECT {KEY_COLUMNS} FROM api_keys WHERE id = ?", (key_id,)
            ).fetchone()
        )
        return api_key_from_row(row) if row else None

    async def revoke_api_key(self, key_id: str, at: str) -> ApiKey | None:
        def revoke(c: sqlite3.Connection) -> ApiKey | None:
            row = c.execute("SELECT digest, revoked_at FROM api_keys WHERE id = ?", (key_id,)).fetchone()
            if row is None:
                return None
            if row[1] is None:
                c.execute("UPDATE api_keys SET revoked_at = ? WHERE id = ?", (at, key_id))
                _invalidate(c, "api_key", row[0], at)
            return api_key_from_row(
                c.execute(f"SELECT {KEY_COLUMNS} FROM api_keys WHERE id = ?", (key_id,)).fetchone()
            )

        return await self._write(revoke)

    async def key_owner(self, digest: str) -> KeyOwner | None:
        row = await self._run(
            lambda c: c.execute(
                "SELECT id, tenant_id FROM api_keys WHERE digest = ? AND revoked_at IS NULL",
                (digest,),
            ).fetchone()
        )
        return KeyOwner(row[0], row[1]) if row else None

    async def touch_api_keys(self, last_used: dict[str, str]) -> None:
        if last_used:
            await self._write(
                lambda c: c.executemany(
                    "UPDATE api_keys SET last_used_at = ? WHERE id = ?",
                    [(at, key_id) for key_id, at in last_used.items()],
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
        def create(c: sqlite3.Connection) -> None:
            c.execute(
                "INSERT INTO connections (id, tenant_id, provider, token_digest, token_prefix,"
                " credentials_key_id, credentials_ciphertext, settings, status, created_at,"
                " updated_at, end_user_id, tags, grant_key)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
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
                ),
            )
            _enqueue(c, event)

        await self._write(create)

    async def find_connection(self, tenant_id: str, token_digest: str) -> ConnectionSecrets | None:
        row = await self._run(
            lambda c: c.execute(
                f"SELECT {CONNECTION_COLUMNS}, credentials_key_id, credentials_ciphertext,"
                " oauth_key_id, oauth_ciphertext FROM connections"
                " WHERE tenant_id = ? AND token_digest = ?",
                (tenant_id, token_digest),
            ).fetchone()
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
        row = await self._run(
            lambda c: c.execute(
                f"SELECT {CONNECTION_COLUMNS} FROM connections WHERE id = ?", (connection_id,)
            ).fetchone()
        )
        return connection_from_row(row) if row else None

    async def connection_token_digest(self, tenant_id: str, connection_id: str) -> str | None:
        row = await self._run(
            lambda c: c.execute(
                "SELECT token_digest FROM connections WHERE tenant_id = ? AND id = ?",
                (tenant_id, connection_id),
            ).fetchone()
        )
        return row[0] if row else None

    async def connection_credentials(self, connection_id: str) -> Sealed | None:
        row = await self._run(
            lambda c: c.execute(
                "SELECT credentials_key_id, credentials_ciphertext FROM connections WHERE id = ?",
                (connection_id,),
            ).fetchone()
        )
        return Sealed(row[0], bytes(row[1])) if row else None

    async def list_connections(
        self,
        tenant_id: str,
        limit: int | None = None,
        after: tuple[str, str] | None = None,
        end_user_id: str | None = None,
    ) -> list[Connection]:
        sql = f"SELECT {CONNECTION_COLUMNS} FROM connections WHERE tenant_id = ?"
        args: list[Any] = [tenant_id]
        if end_user_id is not None:
            sql += " AND end_user_id = ?"
            args.append(end_user_id)
        if after is not None:
            sql += " AND (created_at > ? OR (created_at = ? AND id > ?))"
            args += [after[0], after[0], after[1]]
        sql += " ORDER BY created_at, id"
        if limit is not None:
            sql += " LIMIT ?"
            args.append(limit)
        rows = await self._run(lambda c: c.execute(sql, args).fetchall())
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
        def update(c: sqlite3.Connection) -> bool:
            row = c.execute(
                "SELECT token_digest FROM connections WHERE id = ?", (connection_id,)
            ).fetchone()
            if row is None:
                return False
            if credentials is not None:
                c.execute(
                    "UPDATE connections SET credentials_key_id = ?, credentials_ciphertext = ?,"
                    " oauth_key_id = NULL, oauth_ciphertext = NULL WHERE id = ?",
                    (credentials.key_id, credentials.blob, connection_id),
                )
            if settings is not None:
                c.execute(
                    "UPDATE connections SET settings = ? WHERE id = ?",
                    (msgspec.json.encode(settings).decode(), connection_id),
                )
            if status is not None:
                c.execute("UPDATE connections SET status = ? WHERE id = ?", (status, connection_id))
            if grant_key is not UNSET:
                c.execute("UPDATE connections SET grant_key = ? WHERE id = ?", (grant_key, connection_id))
            c.execute("UPDATE connections SET updated_at = ? WHERE id = ?", (at, connection_id))
            _invalidate(c, "connection", row[0], at)
            _enqueue(c, event)
            return True

        return await self._write(update)

    async def rotate_connection_token(
        self, connection_id: str, token_digest: str, token_prefix: str, at: str
    ) -> bool:
        def rotate(c: sqlite3.Connection) -> bool:
            row = c.execute(
                "SELECT token_digest FROM connections WHERE id = ?", (connection_id,)
            ).fetchone()
            if row is None:
                return False
            c.execute(
                "UPDATE connections SET token_digest = ?, token_prefix = ?, updated_at = ? WHERE id = ?",
                (token_digest, token_prefix, at, connection_id),
            )
            _invalidate(c, "connection", row[0], at)
            return True

        return await self._write(rotate)

    async def delete_connection(
        self, connection_id: str, event: WebhookEvent | None = None
    ) -> bool:
        def delete(c: sqlite3.Connection) -> bool:
            row = c.execute(
                "SELECT token_digest FROM connections WHERE id = ?", (connection_id,)
            ).fetchone()
            if row is None:
                return False
            c.execute("DELETE FROM connections WHERE id = ?", (connection_id,))
            _invalidate(c, "connection", row[0], _now_text(c))
            _enqueue(c, event)
            return True

        return await self._write(delete)

    async def save_oauth_token(self, connection_id: str, token: Sealed) -> None:
        await self._write(
            lambda c: c.execute(
                "UPDATE connections SET oauth_key_id = ?, oauth_ciphertext = ? WHERE id = ?",
                (token.key_id, token.blob, connection_id),
            )
        )

    async def load_oauth_token(self, connection_id: str) -> Sealed | None:
        row = await self._run(
            lambda c: c.execute(
                "SELECT oauth_key_id, oauth_ciphertext FROM connections WHERE id = ?",
                (connection_id,),
            ).fetchone()
        )
        return Sealed(row[0], bytes(row[1])) if row and row[0] else None

    async def set_connection_status(
        self, connection_id: str, status: str, at: str, event: WebhookEvent | None = None
    ) -> None:
        def set_status(c: sqlite3.Connection) -> None:
            row = c.execute("SELECT status FROM connections WHERE id = ?", (connection_id,)).fetchone()
            if row is None:
                return
            c.execute(
                "UPDATE connections SET status = ?, updated_at = ? WHERE id = ?",
                (status, at, connection_id),
            )
            if row[0] != status:
                _enqueue(c, event)

        await self._write(set_status)

    # -- connect sessions ----------------------------------------------------

    async def create_connect_session(self, session: ConnectSession, token_digest: str) -> None:
        await self._write(
            lambda c: c.execute(
                f"INSERT INTO connect_sessions (token_digest, {SESSION_COLUMNS})"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (token_digest, *session_values(session)),
            )
        )

    async def get_connect_session(self, session_id: str) -> ConnectSession | None:
        row = await self._run(
            lambda c: c.execute(
                f"SELECT {SESSION_COLUMNS} FROM connect_sessions WHERE id = ?", (session_id,)
            ).fetchone()
        )
        return session_from_row(row) if row else None

    async def find_connect_session(self, token_digest: str) -> ConnectSession | None:
        row = await self._run(
            lambda c: c.execute(
                f"SELECT {SESSION_COLUMNS} FROM connect_sessions WHERE token_digest = ?",
                (token_digest,),
            ).fetchone()
        )
        return session_from_row(row) if row else None

    async def count_connect_attempt(self, session_id: str) -> int:
        row = await self._write(
            lambda c: c.execute(
                "UPDATE connect_sessions SET attempts = attempts + 1 WHERE id = ? RETURNING attempts",
                (session_id,),
            ).fetchone()
        )
        return row[0] if row else 0

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
        def complete(c: sqlite3.Connection) -> bool:
            cursor = c.execute(
                "UPDATE connect_sessions SET status = ?, provider = ?, connection_id = ?,"
                " completed_at = ? WHERE id = ? AND status = ? AND expires_at > ?",
                (SESSION_COMPLETED, provider, connection_id, at, session_id, SESSION_PENDING, at),
            )
            if cursor.rowcount != 1:
                return False
            c.execute(
                f"INSERT INTO connect_codes (code_digest, {CODE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (code_digest, *code_values(code)),
            )
            return True

        return await self._write(complete)

    async def fail_connect_session(self, session_id: str, error: str, at: str) -> None:
        await self._write(
            lambda c: c.execute(
                "UPDATE connect_sessions SET status = ?, error = ?, completed_at = ?"
                " WHERE id = ? AND status = ?",
                (SESSION_FAILED, error, at, session_id, SESSION_PENDING),
            )
        )

    async def redeem_connect_code(
        self, code_digest: str, tenant_id: str, at: str
    ) -> ConnectCode | None:
        row = await self._write(
            lambda c: c.execute(
                "UPDATE connect_codes SET used_at = ?"
                " WHERE code_digest = ? AND tenant_id = ? AND used_at IS NULL AND expires_at > ?"
                f" RETURNING {CODE_COLUMNS}",
                (at, code_digest, tenant_id, at),
            ).fetchone()
        )
        return code_from_row(row) if row else None

    # -- OAuth installs ------------------------------------------------------

    async def create_connect_attempt(self, attempt: ConnectAttempt, data: Sealed) -> None:
        await self._write(
            lambda c: c.execute(
                f"INSERT INTO connect_attempts ({ATTEMPT_COLUMNS}, data_key_id, data_ciphertext)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (*attempt_values(attempt), data.key_id, data.blob),
            )
        )

    async def claim_connect_attempt(self, state_digest: str, at: str) -> tuple[ConnectAttempt, Sealed] | None:
        row = await self._claim_once("connect_attempts", "state_digest", "used_at", ATTEMPT_COLUMNS, state_digest, at)
        return with_sealed(row, attempt_from_row, ATTEMPT_WIDTH)

    async def get_connect_attempt(self, state_digest: str) -> tuple[ConnectAttempt, Sealed] | None:
        row = await self._run(
            lambda c: c.execute(
                f"SELECT {ATTEMPT_COLUMNS}, data_key_id, data_ciphertext FROM connect_attempts"
                " WHERE state_digest = ?",
                (state_digest,),
            ).fetchone()
        )
        return with_sealed(row, attempt_from_row, ATTEMPT_WIDTH)

    async def update_connect_attempt_data(self, attempt_id: str, data: Sealed) -> None:
        await self._write(
            lambda c: c.execute(
                "UPDATE connect_attempts SET data_key_id = ?, data_ciphertext = ? WHERE id = ?",
                (data.key_id, data.blob, attempt_id),
            )
        )

    async def create_unclaimed_install(self, install: UnclaimedInstall, data: Sealed) -> None:
        await self._write(
            lambda c: c.execute(
                f"INSERT INTO unclaimed_installs ({INSTALL_COLUMNS}, data_key_id, data_ciphertext)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (*install_values(install), data.key_id, data.blob),
            )
        )

    async def claim_unclaimed_install(self, claim_digest: str, at: str) -> tuple[UnclaimedInstall, Sealed] | None:
        row = await self._claim_once(
            "unclaimed_installs", "claim_digest", "claimed_at", INSTALL_COLUMNS, claim_digest, at
        )
        return with_sealed(row, install_from_row, INSTALL_WIDTH)

    async def _claim_once(self, table: str, key: str, used: str, columns: str, value: str, at: str) -> Any:
        """Mark the row used, only if unused and unexpired at ``at``; the row
        with its sealed data, or None (one statement: of racing claims one wins)."""
        return await self._write(
            lambda c: c.execute(
                f"UPDATE {table} SET {used} = ? WHERE {key} = ? AND {used} IS NULL AND expires_at > ?"
                f" RETURNING {columns}, data_key_id, data_ciphertext",
                (at, value, at),
            ).fetchone()
        )

    async def connections_with_grant(self, grant_key: str) -> list[Connection]:
        rows = await self._run(
            lambda c: c.execute(
                f"SELECT {CONNECTION_COLUMNS} FROM connections WHERE grant_key = ? ORDER BY id", (grant_key,)
            ).fetchall()
        )
        return [connection_from_row(r) for r in rows]

    async def save_grant_token(self, grant_key: str, token: Sealed) -> None:
        await self._write(
            lambda c: c.execute(
                "INSERT INTO oauth_grants (grant_key, token_key_id, token_ciphertext, updated_at)"
                " VALUES (?, ?, ?, ?) ON CONFLICT (grant_key) DO UPDATE SET"
                " token_key_id = excluded.token_key_id, token_ciphertext = excluded.token_ciphertext,"
                " updated_at = excluded.updated_at",
                (grant_key, token.key_id, token.blob, _now_text(c)),
            )
        )

    async def load_grant_token(self, grant_key: str) -> Sealed | None:
        row = await self._run(
            lambda c: c.execute(
                "SELECT token_key_id, token_ciphertext FROM oauth_grants WHERE grant_key = ?", (grant_key,)
            ).fetchone()
        )
        return Sealed(row[0], bytes(row[1])) if row else None

    async def sealed_extras(self, kind: str, after: str, limit: int) -> list[tuple[str, str | None, Sealed]]:
        table, key, owner, key_id, blob = SEALED_EXTRAS[kind]
        rows = await self._run(
            lambda c: c.execute(
                f"SELECT {key}, {owner or 'NULL'}, {key_id}, {blob} FROM {table}"
                f" WHERE {key} > ? ORDER BY {key} LIMIT ?",
                (after, limit),
            ).fetchall()
        )
        return [(r[0], r[1], Sealed(r[2], bytes(r[3]))) for r in rows]

    async def reseal_extra(self, kind: str, key: str, old: Sealed, new: Sealed) -> bool:
        table, key_column, _, key_id, blob = SEALED_EXTRAS[kind]
        cursor = await self._write(
            lambda c: c.execute(
                f"UPDATE {table} SET {key_id} = ?, {blob} = ? WHERE {key_column} = ? AND {blob} = ?",
                (new.key_id, new.blob, key, old.blob),
            )
        )
        return cursor.rowcount == 1

    # -- webhook outbox ------------------------------------------------------

    async def enqueue_event(self, event: WebhookEvent) -> None:
        await self._write(lambda c: _enqueue(c, event))

    async def claim_due_events(
        self, now: str, lease_until: str, limit: int, exclude_tenants: Sequence[str] = ()
    ) -> list[WebhookEvent]:
        # One writer at a time (IMMEDIATE): processes sharing the file never
        # claim the same event while its lease holds.
        excluded = list(exclude_tenants)

        def claim(c: sqlite3.Connection) -> list[WebhookEvent]:
            rows = c.execute(
                f"SELECT {EVENT_COLUMNS} FROM webhook_events"
                " WHERE status = ? AND next_attempt_at <= ?"
                " AND (lease_until IS NULL OR lease_until <= ?)"
                f" AND tenant_id NOT IN ({', '.join('?' * len(excluded))})"
                " ORDER BY next_attempt_at, id LIMIT ?",
                (EVENT_PENDING, now, now, *excluded, limit),
            ).fetchall()
            c.executemany(
                "UPDATE webhook_events SET lease_until = ? WHERE id = ?",
                [(lease_until, r[0]) for r in rows],
            )
            return [event_from_row(r) for r in rows]

        return await self._write(claim)

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
        status = EVENT_DELIVERED if delivered else EVENT_FAILED if gave_up else EVENT_PENDING
        await self._write(
            lambda c: c.execute(
                "UPDATE webhook_events SET status = ?, attempts = ?, last_status = ?,"
                " last_error = ?, next_attempt_at = ?, delivered_at = ?, lease_until = NULL"
                " WHERE id = ?",
                (status, attempts, last_status, last_error, next_attempt_at,
                 at if delivered else None, event_id),
            )
        )

    async def list_webhook_events(self, tenant_id: str, limit: int = 50) -> list[WebhookEvent]:
        rows = await self._run(
            lambda c: c.execute(
                f"SELECT {EVENT_COLUMNS} FROM webhook_events WHERE tenant_id = ?"
                " ORDER BY created_at DESC, id DESC LIMIT ?",
                (tenant_id, limit),
            ).fetchall()
        )
        return [event_from_row(r) for r in rows]

    # -- key rotation --------------------------------------------------------

    async def sealed_rows(self, after_id: str, limit: int) -> list[SealedRow]:
        rows = await self._run(
            lambda c: c.execute(
                "SELECT id, tenant_id, credentials_key_id, credentials_ciphertext, oauth_key_id,"
                " oauth_ciphertext FROM connections WHERE id > ? ORDER BY id LIMIT ?",
                (after_id, limit),
            ).fetchall()
        )
        return [
            SealedRow(
                connection_id=r[0], tenant_id=r[1], credentials=Sealed(r[2], bytes(r[3])),
                oauth_token=Sealed(r[4], bytes(r[5])) if r[4] else None,
            )
            for r in rows
        ]

    async def reseal(self, old: SealedRow, new: SealedRow) -> bool:
        def swap(c: sqlite3.Connection) -> bool:
            old_oauth = old.oauth_token
            new_oauth = new.oauth_token
            cursor = c.execute(
                "UPDATE connections SET credentials_key_id = ?, credentials_ciphertext = ?,"
                " oauth_key_id = ?, oauth_ciphertext = ?"
                " WHERE id = ? AND credentials_ciphertext = ?"
                " AND COALESCE(oauth_ciphertext, x'') = ?",
                (
                    new.credentials.key_id, new.credentials.blob,
                    new_oauth.key_id if new_oauth else None, new_oauth.blob if new_oauth else None,
                    old.connection_id, old.credentials.blob,
                    old_oauth.blob if old_oauth else b"",
                ),
            )
            return cursor.rowcount == 1

        return await self._write(swap)

    async def sealed_webhook_secrets(self, after_id: str, limit: int) -> list[tuple[str, Sealed]]:
        rows = await self._run(
            lambda c: c.execute(
                "SELECT id, webhook_secret_key_id, webhook_secret_ciphertext FROM tenants"
                " WHERE id > ? AND webhook_secret_key_id IS NOT NULL ORDER BY id LIMIT ?",
                (after_id, limit),
            ).fetchall()
        )
        return [(r[0], Sealed(r[1], bytes(r[2]))) for r in rows]

    async def reseal_webhook_secret(self, tenant_id: str, old: Sealed, new: Sealed) -> bool:
        return await self._write(
            lambda c: c.execute(
                "UPDATE tenants SET webhook_secret_key_id = ?, webhook_secret_ciphertext = ?"
                " WHERE id = ? AND webhook_secret_ciphertext = ?",
                (new.key_id, new.blob, tenant_id, old.blob),
            ).rowcount == 1
        )

    async def sealed_provider_app_secrets(
        self, after: tuple[str, str], limit: int
    ) -> list[tuple[str | None, str, Sealed]]:
        rows = await self._run(
            lambda c: c.execute(
                "SELECT tenant_id, provider, secret_key_id, secret_ciphertext FROM provider_apps"
                " WHERE (COALESCE(tenant_id, ''), provider) > (?, ?)"
                " ORDER BY COALESCE(tenant_id, ''), provider LIMIT ?",
                (after[0], after[1], limit),
            ).fetchall()
        )
        return [(r[0], r[1], Sealed(r[2], bytes(r[3]))) for r in rows]

    async def reseal_provider_app_secret(
        self, tenant_id: str | None, provider: str, old: Sealed, new: Sealed
    ) -> bool:
        return await self._write(
            lambda c: c.execute(
                "UPDATE provider_apps SET secret_key_id = ?, secret_ciphertext = ?"
                " WHERE tenant_id IS ? AND provider = ? AND secret_ciphertext = ?",
                (new.key_id, new.blob, tenant_id, provider, old.blob),
            ).rowcount == 1
        )

    async def connections_per_key_id(self) -> dict[str, int]:
        rows = await self._run(lambda c: c.execute(KEY_ID_COUNTS_SQL).fetchall())
        return {r[0]: r[1] for r in rows}

    async def counts(self) -> dict[str, int]:
        row = await self._run(lambda c: c.execute(COUNTS_SQL).fetchone())
        return dict(zip(COUNTS, row))

    # -- field mappings ------------------------------------------------------

    async def create_field_mapping(self, mapping: FieldMapping) -> None:
        def create(c: sqlite3.Connection) -> None:
            c.execute(
                "INSERT INTO field_mappings (id, tenant_id, connection_id, object, provider, name,"
                " expression, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    mapping.id, mapping.tenant_id, mapping.connection_id, mapping.object,
                    mapping.provider, mapping.name, mapping.expression, mapping.created_at,
                ),
            )
            _invalidate(c, "field_mappings", mapping.tenant_id, mapping.created_at)

        await self._write(create)

    async def list_field_mappings(self, tenant_id: str) -> list[FieldMapping]:
        rows = await self._run(
            lambda c: c.execute(
                f"SELECT {MAPPING_COLUMNS} FROM field_mappings WHERE tenant_id = ?"
                " ORDER BY created_at, id",
                (tenant_id,),
            ).fetchall()
        )
        return [mapping_from_row(r) for r in rows]

    async def delete_field_mapping(self, tenant_id: str, mapping_id: str) -> bool:
        def delete(c: sqlite3.Connection) -> bool:
            cursor = c.execute(
                "DELETE FROM field_mappings WHERE id = ? AND tenant_id = ?", (mapping_id, tenant_id)
            )
            if cursor.rowcount == 0:
                return False
            _invalidate(c, "field_mappings", tenant_id, _now_text(c))
            return True

        return await self._write(delete)

    # -- provider apps -------------------------------------------------------
    # "tenant_id IS ?" matches NULL (the operator's default) and a tenant id alike.

    async def put_provider_app(self, app: ProviderApp, secret: Sealed) -> bool:
        def put(c: sqlite3.Connection) -> bool:
            # Writers are serialised (BEGIN IMMEDIATE): update, else insert.
            replaced = c.execute(
                "UPDATE provider_apps SET client_id = ?, secret_key_id = ?, secret_ciphertext = ?,"
                " scopes = ?, settings = ?, updated_at = ? WHERE tenant_id IS ? AND provider = ?",
                (
                    app.client_id, secret.key_id, secret.blob, json_text(app.scopes),
                    json_text(app.settings), app.updated_at, app.tenant_id, app.provider,
                ),
            ).rowcount
            if replaced:
                return False
            c.execute(
                "INSERT INTO provider_apps (tenant_id, provider, client_id, secret_key_id,"
                " secret_ciphertext, scopes, settings, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    app.tenant_id, app.provider, app.client_id, secret.key_id, secret.blob,
                    json_text(app.scopes), json_text(app.settings), app.created_at, app.updated_at,
                ),
            )
            return True

        return await self._write(put)

    async def get_provider_app(self, tenant_id: str | None, provider: str) -> ProviderApp | None:
        row = await self._run(
            lambda c: c.execute(
                f"SELECT {PROVIDER_APP_COLUMNS} FROM provider_apps"
                " WHERE tenant_id IS ? AND provider = ?",
                (tenant_id, provider),
            ).fetchone()
        )
        return provider_app_from_row(row) if row else None

    async def sealed_provider_app(
        self, tenant_id: str | None, provider: str
    ) -> tuple[ProviderApp, Sealed] | None:
        row = await self._run(
            lambda c: c.execute(
                f"SELECT {PROVIDER_APP_COLUMNS}, secret_key_id, secret_ciphertext FROM provider_apps"
                " WHERE tenant_id IS ? AND provider = ?",
                (tenant_id, provider),
            ).fetchone()
        )
        return with_sealed(row, provider_app_from_row, PROVIDER_APP_WIDTH)

    async def list_provider_apps(
        self, tenant_id: str | None, *, everyone: bool = False
    ) -> list[ProviderApp]:
        where = "" if everyone else " WHERE tenant_id IS ?"
        rows = await self._run(
            lambda c: c.execute(
                f"SELECT {PROVIDER_APP_COLUMNS} FROM provider_apps{where}"
                " ORDER BY COALESCE(tenant_id, ''), provider",
                () if everyone else (tenant_id,),
            ).fetchall()
        )
        return [provider_app_from_row(r) for r in rows]

    async def delete_provider_app(self, tenant_id: str | None, provider: str) -> bool:
        return await self._write(
            lambda c: c.execute(
                "DELETE FROM provider_apps WHERE tenant_id IS ? AND provider = ?",
                (tenant_id, provider),
            ).rowcount == 1
        )

    # -- invalidations -------------------------------------------------------

    async def last_invalidation_id(self) -> int:
        row = await self._run(lambda c: c.execute("SELECT MAX(id) FROM invalidations").fetchone())
        return row[0] or 0

    async def invalidations_since(self, after_id: int) -> list[Invalidation]:
        rows = await self._run(
            lambda c: c.execute(
                "SELECT id, kind, digest FROM invalidations WHERE id > ? ORDER BY id LIMIT 1000",
                (after_id,),
            ).fetchall()
        )
        return [Invalidation(r[0], r[1], r[2]) for r in rows]

    async def watch_invalidations(self, notify: Callable[[Invalidation | None], None]) -> None:
        # SQLite cannot push: processes sharing the file poll the feed.
        return None

    # -- OAuth refresh -------------------------------------------------------

    @contextlib.asynccontextmanager
    async def refresh_lock(self, connection_id: str) -> AsyncIterator[None]:
        """A row in ``refresh_locks``, so every process and every store on
        the file (``--workers``) refreshes a connection at most once at a
        time. Taken with short IMMEDIATE transactions and polled, never held
        as an open transaction: the file's write lock is not kept while the
        provider answers. A holder that died leaves its row; the row's lease
        then lets the next refresh take over."""
        holder = f"{os.getpid()}:{uuid.uuid4().hex}"

        def take(c: sqlite3.Connection) -> bool:
            now = time.time()
            c.execute(
                "DELETE FROM refresh_locks WHERE connection_id = ? AND expires_at < ?",
                (connection_id, now),
            )
            cursor = c.execute(
                "INSERT OR IGNORE INTO refresh_locks (connection_id, holder, expires_at) VALUES (?, ?, ?)",
                (connection_id, holder, now + _REFRESH_LEASE),
            )
            return cursor.rowcount == 1

        loop = asyncio.get_running_loop()
        deadline = loop.time() + _REFRESH_WAIT
        while not await self._write(take):
            if loop.time() >= deadline:
                raise StoreUnavailable("sqlite: timed out waiting for a token refresh lock")
            await asyncio.sleep(_REFRESH_POLL)
        try:
            yield
        finally:
            release = self._write(
                lambda c: c.execute(
                    "DELETE FROM refresh_locks WHERE connection_id = ? AND holder = ?",
                    (connection_id, holder),
                )
            )
            # Shielded: a cancelled refresh must still give the lock back.
            await asyncio.shield(asyncio.ensure_future(release))


def _enqueue(c: sqlite3.Connection, event: WebhookEvent | None) -> None:
    if event is not None:
        c.execute(
            f"INSERT INTO webhook_events ({EVENT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            event_values(event),
        )


def _statements(script: str) -> list[str]:
    return [s.strip() for s in script.split(";") if s.strip()]


def _invalidate(c: sqlite3.Connection, kind: str, digest: str, at: str) -> None:
    c.execute(
        "INSERT INTO invalidations (kind, digest, created_at) VALUES (?, ?, ?)", (kind, digest, at)
    )


def _now_text(c: sqlite3.Connection) -> str:
    return c.execute("SELECT strftime('%Y-%m-%dT%H:%M:%fZ', 'now')").fetchone()[0]



