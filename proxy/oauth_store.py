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


class _SealedTokens:
    """A token kept encrypted in one row; subclasses say which row, which
    connections a refusal marks and which refresh lock they share."""

    def __init__(self, store: Store, keyring: Keyring, aad: bytes) -> None:
        self._store = store
        self._keyring = keyring
        self._aad = aad
        self.on_needs_reauth: list = []
        self.on_save: list = []  # called after each newly minted token is stored

    async def _read(self) -> Sealed | None:
        raise NotImplementedError

    async def _write(self, sealed: Sealed) -> None:
        raise NotImplementedError

    async def _refused(self) -> list[Connection]:
        """The connections a refused refresh leaves needing reauthorization."""
        raise NotImplementedError

    async def load(self) -> AccessToken | None:
        sealed = await self._read()
        if sealed is None:
            return None
        try:
            plain = self._keyring.decrypt(sealed.key_id, sealed.blob, self._aad)
            return msgspec.json.decode(plain, type=AccessToken)
        except (DecryptionError, msgspec.DecodeError):
            return None  # unusable: mint a new one rather than fail the request

    async def save(self, token: AccessToken) -> None:
        key_id, blob = self._keyring.encrypt(msgspec.json.encode(token), self._aad)
        await self._write(Sealed(key_id, blob))
        for callback in self.on_save:
            callback()

    async def mark_needs_reauth(self) -> None:
        # connection.auth_failed goes out with the change of status (the
        # store enqueues it only if the status changes: once per refusal,
        # not once per request that meets the refused connection).
        for connection in await self._refused():
            event = None
            if connection.status != CONNECTION_NEEDS_REAUTH:
                event = await events.event_for(self._store, events.AUTH_FAILED, connection)
            await self._store.set_connection_status(connection.id, CONNECTION_NEEDS_REAUTH, now_text(), event=event)
        for callback in self.on_needs_reauth:
            callback()


class ConnectionTokenStore(_SealedTokens):
    """Implements providers.tokens.TokenStore for one stored connection."""

    def __init__(self, store: Store, keyring: Keyring, tenant_id: str, connection_id: str) -> None:
        super().__init__(store, keyring, credentials_aad(tenant_id, connection_id, "oauth-token"))
        self._connection_id = connection_id

    async def _read(self) -> Sealed | None:
        return await self._store.load_oauth_token(self._connection_id)

    async def _write(self, sealed: Sealed) -> None:
        await self._store.save_oauth_token(self._connection_id, sealed)

    async def _refused(self) -> list[Connection]:
        connection = await self._store.get_connection(self._connection_id)
        return [connection] if connection is not None else []

    def refresh_lock(self) -> contextlib.AbstractAsyncContextManager[None]:
        """Held around load-or-mint-and-save. Within one token manager its
        own lock already serialises refreshes; this adds the store's lock,
        shared by every manager of the connection in every process (a
        PostgreSQL advisory lock, a lock row in SQLite), so they make one
        token request between them and the next one reads the token the
        first saved."""
        return self._store.refresh_lock(self._connection_id)


class GrantTokenStore(_SealedTokens):
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
        super().__init__(store, keyring, sealed_extra_aad("grant", None, grant_key))
        self.grant_key = grant_key

    async def _read(self) -> Sealed | None:
        return await self._store.load_grant_token(self.grant_key)

    async def _write(self, sealed: Sealed) -> None:
        await self._store.save_grant_token(self.grant_key, sealed)

    async def _refused(self) -> list[Connection]:
        return await self._store.connections_with_grant(self.grant_key)

    def refresh_lock(self) -> contextlib.AbstractAsyncContextManager[None]:
        # The lock row (or advisory lock) is named by the grant, not by a
        # connection: a connection id never starts with "grant:".
        return self._store.refresh_lock("grant:" + self.grant_key)
