"""Where a connection's OAuth access token lives: encrypted in its row, or,
for connections made from one platform grant (an OAuth install), in the
grant's row shared by all of them (``GrantTokenStore``)."""

from __future__ import annotations

import contextlib

import msgspec

from keys.vault import DecryptionError, Keyring, credentials_aad, sealed_extra_aad
from providers.tokens import AccessToken

from .clock import now_text
from .store import Store
from .store.records import CONNECTION_NEEDS_REAUTH, Connection, Sealed
from .webhooks import events


class ConnectionTokenStore:
    """Implements providers.tokens.TokenStore for one stored connection."""

    def __init__(self, store: Store, keyring: Keyring, tenant_id: str, connection_id: str) -> None:
        self._store = store
        self._keyring = keyring
        self._connection_id = connection_id
        self._aad = credentials_aad(tenant_id, connection_id, "oauth-token")
        self.on_needs_reauth: list = []
        self.on_save: list = []  # called after each newly minted token is stored

    async def load(self) -> AccessToken | None:
        sealed = await self._store.load_oauth_token(self._connection_id)
        if sealed is None:
            return None
        try:
            plain = self._keyring.decrypt(sealed.key_id, sealed.blob, self._aad)
            return msgspec.json.decode(plain, type=AccessToken)
        except (DecryptionError, msgspec.DecodeError):
            return None  # unusable: mint a new one rather than fail the request

    async def save(self, token: AccessToken) -> None:
        key_id, blob = self._keyring.encrypt(msgspec.json.encode(token), self._aad)
        await self._store.save_oauth_token(self._connection_id, Sealed(key_id, blob))
        for callback in self.on_save:
            callback()

    async def mark_needs_reauth(self) -> None:
        # connection.auth_failed goes out with the change of status (the
        # store enqueues it only if the status changes: once per refusal,
        # not once per request that meets the refused connection).
        connection = await self._store.get_connection(self._connection_id)
        if connection is not None:
            await _mark(self._store, connection)
        for callback in self.on_needs_reauth:
            callback()

    def refresh_lock(self) -> contextlib.AbstractAsyncContextManager[None]:
        """Held around load-or-mint-and-save. Within one token manager its
        own lock already serialises refreshes; this adds the store's lock,
        shared by every manager of the connection in every process (a
        PostgreSQL advisory lock, a lock row in SQLite), so they make one
        token request between them and the next one reads the token the
        first saved."""
        return self._store.refresh_lock(self._connection_id)


class GrantTokenStore:
    """Implements providers.tokens.TokenStore for a platform grant shared by
    several connections (Shopify allows one live expiring token per app and
    shop: two connections to one shop through one app must share it, or
    each refresh would revoke the other's token).

    The token, with its rotating refresh token, is kept once under the
    grant key; the refresh lock is the grant's, so every connection in every
    process makes one refresh between them and the rest read its result. A
    refusal marks every connection of the grant needs_reauth, each sending
    its own ``connection.auth_failed``."""

    def __init__(self, store: Store, keyring: Keyring, grant_key: str) -> None:
        self._store = store
        self._keyring = keyring
        self.grant_key = grant_key
        self._aad = sealed_extra_aad("grant", None, grant_key)
        self.on_needs_reauth: list = []
        self.on_save: list = []

    async def load(self) -> AccessToken | None:
        sealed = await self._store.load_grant_token(self.grant_key)
        if sealed is None:
            return None
        try:
            plain = self._keyring.decrypt(sealed.key_id, sealed.blob, self._aad)
            return msgspec.json.decode(plain, type=AccessToken)
        except (DecryptionError, msgspec.DecodeError):
            return None

    async def save(self, token: AccessToken) -> None:
        key_id, blob = self._keyring.encrypt(msgspec.json.encode(token), self._aad)
        await self._store.save_grant_token(self.grant_key, Sealed(key_id, blob))
        for callback in self.on_save:
            callback()

    async def mark_needs_reauth(self) -> None:
        for connection in await self._store.connections_with_grant(self.grant_key):
            await _mark(self._store, connection)
        for callback in self.on_needs_reauth:
            callback()

    def refresh_lock(self) -> contextlib.AbstractAsyncContextManager[None]:
        # The lock row (or advisory lock) is named by the grant, not by a
        # connection: a connection id never starts with "grant:".
        return self._store.refresh_lock("grant:" + self.grant_key)


async def _mark(store: Store, connection: Connection) -> None:
    """needs_reauth, with connection.auth_failed when the status changes."""
    event = None
    if connection.status != CONNECTION_NEEDS_REAUTH:
        event = await events.event_for(store, events.AUTH_FAILED, connection)
    await store.set_connection_status(connection.id, CONNECTION_NEEDS_REAUTH, now_text(), event=event)
