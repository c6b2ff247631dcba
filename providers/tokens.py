"""OAuth access tokens: where they are kept and how they are refreshed.

Providers with a token endpoint (Zoho, Wix OAuth) get a :class:`TokenStore`
from the proxy, which persists tokens encrypted with the connection. The
:class:`TokenManager` makes refreshes single-flight per connection: one lock
per manager, plus the store's own ``refresh_lock`` for every other manager of
the connection (in this process or another sharing the database), after
which the stored token is read again before minting.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any, AsyncIterator, Awaitable, Callable, Protocol

import msgspec

# Refresh this long before expiry so an in-flight request never carries a
# token that dies on the way.
REFRESH_MARGIN_SECONDS = 120.0


class AccessToken(msgspec.Struct, kw_only=True):
    access_token: str
    expires_at: float
    extra: dict[str, Any] = msgspec.field(default_factory=dict)

    def fresh(self, now: float | None = None) -> bool:
        return (now or time.time()) < self.expires_at - REFRESH_MARGIN_SECONDS

    def __repr__(self) -> str:  # never print the token itself
        return f"AccessToken(expires_at={self.expires_at!r}, extra_keys={sorted(self.extra)!r})"


class TokenStore(Protocol):
    async def load(self) -> AccessToken | None: ...

    async def save(self, token: AccessToken) -> None: ...

    async def mark_needs_reauth(self) -> None: ...

    def refresh_lock(self) -> contextlib.AbstractAsyncContextManager[None]: ...


class MemoryTokenStore:
    """A process-local store, for tests and for connections without a database."""

    def __init__(self) -> None:
        self.token: AccessToken | None = None
        self.needs_reauth = False

    async def load(self) -> AccessToken | None:
        return self.token

    async def save(self, token: AccessToken) -> None:
        self.token = token

    async def mark_needs_reauth(self) -> None:
        self.needs_reauth = True

    @contextlib.asynccontextmanager
    async def refresh_lock(self) -> AsyncIterator[None]:
        yield


class TokenManager:
    """Hands out a fresh token; at most one refresh runs at a time."""

    def __init__(
        self, store: TokenStore, mint: Callable[[], Awaitable[AccessToken]]
    ) -> None:
        self._store = store
        self._mint = mint
        self._lock = asyncio.Lock()
        self._token: AccessToken | None = None
        # Callers queued behind a mint that failed share its error instead of
        # each minting again: a cold burst makes one token request, not 50.
        self._attempts = 0
        self._failure: BaseException | None = None

    async def get(self, *, stale: AccessToken | None = None) -> AccessToken:
        """A fresh token. Pass ``stale`` (the token a 401 came back for) to
        force a refresh unless someone already replaced it."""
        token = self._token
        if token is not None and token.fresh() and token is not stale:
            return token
        attempts_seen = self._attempts
        async with self._lock:
            if self._attempts != attempts_seen and self._failure is not None:
                raise self._failure
            token = self._token
            if token is not None and token.fresh() and token is not stale:
                return token
            async with self._store.refresh_lock():
                stored = await self._store.load()
                if (
                    stored is not None
                    and stored.fresh()
                    and (stale is None or stored.access_token != stale.access_token)
                ):
                    self._token = stored
                    return stored
                try:
                    token = await self._mint()
                    await self._store.save(token)  # persisted before first use
                except Exception as exc:
                    self._failure = exc
                    raise
                else:
                    self._failure = None
                finally:
                    self._attempts += 1  # counted when done: waiters read it before
                self._token = token
                return token

    def forget(self) -> None:
        self._token = None
