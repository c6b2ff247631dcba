"""Finishing a connect session once the platform accepted the credentials.

The session is claimed first (``complete_connect_session`` succeeds for one
caller only, and only while the session is pending and unexpired), and only
then is the connection written: two submissions racing, or a submission
racing the expiry, store at most one connection, never an orphan. The claim
stores a one-time code (by digest) the tenant trades for the connection at
``POST /connect/exchange``; the connection token is minted there, so none is
ever shown to the merchant's browser. A reconnect replaces the credentials
of the session's connection, keeping its id and token.

An OAuth install (connect/oauth) also names its platform grant
(``grant_key``) and the first access token the exchange returned: that
token seeds the grant's shared token (replacing the one the platform just
revoked for every connection of the grant, in place) or the connection's.
"""

from __future__ import annotations

import contextlib
import logging
import uuid
from typing import Any

from keys import secrets

from providers.tokens import AccessToken

from .. import accounts
from ..clock import now_text, text_after
from ..oauth_store import ConnectionTokenStore, GrantTokenStore
from ..store.records import (
    CONNECTION_ACTIVE, CONNECTION_NEEDS_REAUTH, ConnectCode, ConnectSession, Connection, Tenant, WebhookEvent,
)
from ..webhooks import events

log = logging.getLogger("shoprelay.connect")

CODE_TTL = 600  # seconds a connect_code may wait for its exchange
STORE_FAILED = "store_failed"  # session.error when the connection could not be written


class SessionGone(Exception):
    """The session was completed, failed or expired meanwhile."""


def webhook_event(kind: str, connection: Connection, session: ConnectSession, tenant: Tenant) -> WebhookEvent | None:
    """The outbox row for this change, written with it; it names the
    session (None when the tenant has no webhook_url)."""
    return events.connection_event(kind, connection, session.id, tenant=tenant)


async def complete(
    runtime: Any, session: ConnectSession, tenant: Tenant, provider: str,
    credentials: dict[str, Any], settings: dict[str, Any],
    *, grant_key: str | None = None, token: AccessToken | None = None,
) -> str:
    """Store the connection (or the reconnected credentials) and complete
    the session; returns the connect code (shown once). Raises SessionGone
    when another submission or the clock got there first."""
    store = runtime.store
    code = secrets.mint_connect_code()
    reconnect = session.reconnect_connection_id
    connection_id = reconnect or str(uuid.uuid4())
    record = ConnectCode(
        session_id=session.id, tenant_id=session.tenant_id, connection_id=connection_id,
        mint_token=reconnect is None, expires_at=text_after(CODE_TTL), used_at=None,
    )
    claimed = await store.complete_connect_session(
        session.id, provider=provider, connection_id=connection_id, at=now_text(),
        code_digest=secrets.digest(code), code=record,
    )
    if not claimed:
        raise SessionGone(session.id)
    try:
        if grant_key is not None and token is not None:
            # First: the platform revoked the grant's previous token when it
            # issued this one, so every connection sharing it needs it now.
            await GrantTokenStore(store, runtime.keyring, grant_key).save(token)
        if reconnect is None:
            await accounts.create_connection(
                store, runtime.keyring, session.tenant_id, provider, credentials, settings,
                connection_id=connection_id, end_user_id=session.end_user_id, tags=session.tags,
                event_for=lambda connection: webhook_event(events.CREATED, connection, session, tenant),
                grant_key=grant_key,
            )
        else:
            connection = await store.get_connection(reconnect)
            if connection is None or connection.tenant_id != session.tenant_id:
                raise accounts.UnknownConnection(reconnect)
            await accounts.update_connection(
                store, runtime.keyring, connection, credentials, settings,
                allow_private_networks=runtime.config.allow_private_networks,
                event=webhook_event(events.UPDATED, connection, session, tenant),
                grant_key=grant_key,  # typed keys (None) leave the old grant: its token is not theirs
            )
        if grant_key is None and token is not None:
            await ConnectionTokenStore(store, runtime.keyring, session.tenant_id, connection_id).save(token)
        if grant_key is not None:
            await _revive(store, grant_key, connection_id)
        if reconnect is not None or grant_key is not None:
            await runtime.directory.poll_once()  # drop the cached old credentials now
        runtime.webhooks.wake()  # deliver the event now rather than at the next poll
    except Exception as exc:
        log.error("connect session %s: the connection could not be stored (%s)", session.id, type(exc).__name__)
        with contextlib.suppress(Exception):
            await store.fail_connect_session(session.id, STORE_FAILED, now_text())
        raise
    return code


async def _revive(store: Any, grant_key: str, connection_id: str) -> None:
    """A new grant heals the connections sharing it that a refused refresh
    had marked needs_reauth: they use its token from now on."""
    for other in await store.connections_with_grant(grant_key):
        if other.id != connection_id and other.status == CONNECTION_NEEDS_REAUTH:
            await store.update_connection(other.id, now_text(), status=CONNECTION_ACTIVE)
