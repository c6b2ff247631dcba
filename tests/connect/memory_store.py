"""A stand-in for the connect-store work (CONNECT.md's Store methods) until
it lands on main: the real store wrapped, with the connect sessions, codes,
tenants' return_urls, connections' end_user_id/tags and the webhook events
kept in memory. Only what proxy/connect uses. Replaced by the real stores
(tests/harness.py's SQLite, tests/store/ on PostgreSQL) once merged."""

from __future__ import annotations

import asyncio
from typing import Any

import msgspec

from proxy.store.records import ConnectCode, ConnectSession, Connection, Tenant


class MemoryConnectStore:
    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self.return_urls: dict[str, list[str]] = {}
        self.owners: dict[str, tuple[str | None, dict[str, str]]] = {}
        self.sessions: dict[str, ConnectSession] = {}
        self.session_digests: dict[str, str] = {}
        self.codes: dict[str, ConnectCode] = {}
        self.events: list[Any] = []
        self._lock = asyncio.Lock()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    # tenants
    async def get_tenant(self, tenant_id: str) -> Tenant | None:
        tenant = await self._inner.get_tenant(tenant_id)
        if tenant is not None:
            tenant.return_urls = list(self.return_urls.get(tenant_id, []))
        return tenant

    async def update_tenant(self, tenant_id: str, *, return_urls: list[str] | None = None, **_: Any) -> Tenant | None:
        if return_urls is not None:
            self.return_urls[tenant_id] = list(return_urls)
        return await self.get_tenant(tenant_id)

    # connections
    def _dressed(self, connection: Connection | None) -> Connection | None:
        if connection is not None and connection.id in self.owners:
            connection.end_user_id, connection.tags = self.owners[connection.id]
            connection.tags = dict(connection.tags)
        return connection

    async def create_connection(self, connection: Connection, token_digest: str, credentials: Any, event: Any = None) -> None:
        await self._inner.create_connection(connection, token_digest, credentials)
        self.owners[connection.id] = (connection.end_user_id, dict(connection.tags))
        if event is not None:
            self.events.append(event)

    async def get_connection(self, connection_id: str) -> Connection | None:
        return self._dressed(await self._inner.get_connection(connection_id))

    async def update_connection(self, connection_id: str, at: str, credentials: Any = None, settings: Any = None,
                                status: str | None = None, event: Any = None) -> bool:
        found = await self._inner.update_connection(connection_id, at, credentials, settings, status)
        if found and event is not None:
            self.events.append(event)
        return found

    # connect sessions
    async def create_connect_session(self, session: ConnectSession, token_digest: str) -> None:
        self.sessions[session.id] = msgspec.structs.replace(session)
        self.session_digests[token_digest] = session.id

    async def get_connect_session(self, session_id: str) -> ConnectSession | None:
        found = self.sessions.get(session_id)
        return msgspec.structs.replace(found) if found else None

    async def find_connect_session(self, token_digest: str) -> ConnectSession | None:
        session_id = self.session_digests.get(token_digest)
        return await self.get_connect_session(session_id) if session_id else None

    async def count_connect_attempt(self, session_id: str) -> int:
        session = self.sessions[session_id]
        session.attempts += 1
        return session.attempts

    async def complete_connect_session(self, session_id: str, *, provider: str, connection_id: str, at: str,
                                       code_digest: str, code: ConnectCode) -> bool:
        async with self._lock:
            session = self.sessions.get(session_id)
            if session is None or session.status != "pending" or session.expires_at <= at:
                return False
            session.status, session.provider, session.connection_id, session.completed_at = (
                "completed", provider, connection_id, at)
            self.codes[code_digest] = msgspec.structs.replace(code)
            return True

    async def fail_connect_session(self, session_id: str, error: str, at: str) -> None:
        session = self.sessions.get(session_id)
        if session is not None:
            session.status, session.error, session.completed_at = "failed", error, at

    async def redeem_connect_code(self, code_digest: str, tenant_id: str, at: str) -> ConnectCode | None:
        async with self._lock:
            code = self.codes.get(code_digest)
            if code is None or code.used_at is not None or code.expires_at <= at or code.tenant_id != tenant_id:
                return None
            code.used_at = at
            return msgspec.structs.replace(code)
