"""Tenants, API keys and connections: the operations the CLI and the
management API share. Validation happens here, before anything is written,
so bad input leaves the store untouched.
"""

from __future__ import annotations

import uuid
from typing import Any, Awaitable, Callable

import msgspec
from yarl import URL

from keys import secrets
from keys.vault import DecryptionError, Keyring, credentials_aad
from providers import registry
from providers.errors import ConfigurationError
from providers.http import guard_refusal

from .clock import now_text
from .store import Store
from .store.records import CONNECTION_ACTIVE, UNSET, ApiKey, Connection, Sealed, Tenant, UnsetType, WebhookEvent
from .webhooks import events

# A live check of parsed credentials and settings before they are stored
# (proxy.verification.verify, bound to an UpstreamClient); raises ProviderError.
Verifier = Callable[[str, msgspec.Struct, msgspec.Struct], Awaitable[None]]


class InvalidInput(ValueError):
    """Input rejected before anything was written; the message is for users."""


class UnknownTenant(LookupError):
    pass


class UnreadableCredentials(Exception):
    """Stored credentials this keyring cannot decrypt: the operator's keyring
    is wrong, not the merchant's credentials. Carries the key id, never a key."""

    def __init__(self, key_id: str, in_keyring: bool) -> None:
        super().__init__(
            f"the connection's credentials are encrypted with key {key_id!r}, "
            + ("which this keyring holds under a different key" if in_keyring else "which this keyring lacks")
            + " (see `shoprelay status`)"
        )
        self.key_id = key_id
        self.in_keyring = in_keyring


class UnknownConnection(LookupError):
    """The connection does not exist (or was deleted while we worked on it)."""


MAX_NAME_LENGTH = 200


def clean_name(name: str | None, what: str, required: bool) -> str | None:
    if name is None or not name.strip():
        if required:
            raise InvalidInput(f"{what} must not be empty")
        return None
    name = name.strip()
    if len(name) > MAX_NAME_LENGTH or not name.isprintable():
        raise InvalidInput(f"{what} must be printable and at most {MAX_NAME_LENGTH} characters")
    return name


async def create_tenant(store: Store, name: str) -> Tenant:
    tenant = Tenant(
        id=str(uuid.uuid4()), name=clean_name(name, "name", True) or "", created_at=now_text()
    )
    await store.create_tenant(tenant)
    return tenant


async def tenant_named(store: Store, name: str) -> Tenant:
    """The oldest tenant of that name, created if there is none: ``quickstart``
    run again adds a key and a connection to its demo tenant, not a tenant."""
    clean = clean_name(name, "name", True)
    for tenant in await store.list_tenants():  # oldest first
        if tenant.name == clean:
            return tenant
    return await create_tenant(store, name)


async def require_tenant(store: Store, tenant_id: str) -> Tenant:
    tenant = await store.get_tenant(tenant_id)
    if tenant is None:
        raise UnknownTenant(f"no tenant has id {tenant_id!r}")
    return tenant


async def create_api_key(store: Store, tenant_id: str, name: str | None = None) -> tuple[ApiKey, str]:
    """A new key for the tenant; the secret is returned once, never stored."""
    await require_tenant(store, tenant_id)
    secret = secrets.mint_api_key()
    key = ApiKey(
        id=str(uuid.uuid4()),
        tenant_id=tenant_id,
        name=clean_name(name, "name", False),
        prefix=secrets.display_prefix(secret),
        created_at=now_text(),
    )
    await store.create_api_key(key, secrets.digest(secret))
    return key, secret


def validate_connection_input(
    provider: str, credentials: Any, settings: Any, *, allow_private_networks: bool
) -> tuple[msgspec.Struct, msgspec.Struct]:
    """Parse credentials and settings for the provider, and refuse settings
    the SSRF guard would refuse on every call: else the connection is stored
    and every read fails."""
    creds, parsed_settings = _parse(provider, credentials, settings)
    _refuse_guarded_urls(parsed_settings, allow_private_networks)
    return creds, parsed_settings


def _parse(provider: str, credentials: Any, settings: Any) -> tuple[msgspec.Struct, msgspec.Struct]:
    try:
        provider_cls = registry.get(provider)
    except registry.UnknownProvider as exc:
        raise InvalidInput(str(exc)) from None
    try:
        return provider_cls.parse_config(credentials, settings if settings is not None else {})
    except ConfigurationError as exc:
        raise InvalidInput(f"{provider}: {exc.message}") from None


def _refuse_guarded_urls(settings: msgspec.Struct, allow_private_networks: bool) -> None:
    # Settings named *_url are upstream addresses (base_url, auth_url,
    # store_url: see providers.base.CommonSettings). A host name that
    # resolves to a private address is only known at connect time.
    for name in settings.__struct_fields__:
        value = getattr(settings, name)
        if not name.endswith("_url") or not isinstance(value, str):
            continue
        try:
            refusal = guard_refusal(URL(value), allow_private_networks)
        except ValueError:
            refusal = "not a valid URL"
        if refusal is not None:
            raise InvalidInput(f"settings.{name}: {refusal}")


async def create_connection(
    store: Store,
    keyring: Keyring,
    tenant_id: str,
    provider: str,
    credentials: Any,
    settings: Any = None,
    *,
    connection_id: str | None = None,
    end_user_id: str | None = None,
    tags: dict[str, str] | None = None,
    event_for: Callable[[Connection], WebhookEvent | None] | None = None,
    grant_key: str | None = None,
) -> tuple[Connection, str]:
    """Validate, encrypt and store; returns the connection and its token (shown once).
    ``end_user_id`` and ``tags`` are the connect session's (checked there).
    ``connection_id`` is for a caller that named the connection before
    storing it; ``event_for`` builds the webhook event written with it
    (the connect page's carries its session id), by default a plain
    ``connection.created`` when the tenant has a ``webhook_url``.
    ``grant_key`` names the platform grant of an OAuth install, whose
    token the connection shares (oauth_store.GrantTokenStore).

    The SSRF guard's refusals are the caller's check (validate_connection_input
    with the configured policy): tests and benchmarks store loopback stores."""
    creds, parsed_settings = _parse(provider, credentials, settings)
    tenant = await require_tenant(store, tenant_id)
    token = secrets.mint_connection_token()
    now = now_text()
    connection = Connection(
        id=connection_id or str(uuid.uuid4()),
        tenant_id=tenant_id,
        provider=provider,
        token_prefix=secrets.display_prefix(token),
        status=CONNECTION_ACTIVE,
        settings=msgspec.to_builtins(parsed_settings),
        created_at=now,
        updated_at=now,
        end_user_id=end_user_id,
        tags=dict(tags or {}),
        grant_key=grant_key,
    )
    if event_for is None:
        event = events.connection_event(events.CREATED, connection, tenant=tenant)
    else:
        event = event_for(connection)
    await store.create_connection(connection, secrets.digest(token), _seal(keyring, connection, creds), event=event)
    return connection, token


def _seal(keyring: Keyring, connection: Connection, credentials: msgspec.Struct) -> Sealed:
    key_id, blob = keyring.encrypt(
        msgspec.json.encode(credentials), credentials_aad(connection.tenant_id, connection.id)
    )
    return Sealed(key_id, blob)


async def stored_credentials(store: Store, keyring: Keyring, connection: Connection) -> Any:
    """The connection's credentials as stored (decrypted JSON)."""
    found = await store.connection_credentials(connection.id)
    if found is None:  # deleted since the caller read it
        raise UnknownConnection(f"no connection has id {connection.id!r}")
    try:
        plain = keyring.decrypt(
            found.key_id, found.blob, credentials_aad(connection.tenant_id, connection.id)
        )
    except DecryptionError:
        raise UnreadableCredentials(found.key_id, found.key_id in keyring.key_ids) from None
    return msgspec.json.decode(plain)


async def update_connection(
    store: Store,
    keyring: Keyring,
    connection: Connection,
    credentials: Any = None,
    settings: Any = None,
    *,
    allow_private_networks: bool,
    verify: Verifier | None = None,
    event: WebhookEvent | None = None,
    grant_key: "str | None | UnsetType" = UNSET,
) -> Connection:
    """Replace the credentials and/or settings (PATCH /connections/{id},
    ``connections update``). What is not given is kept, and the result is
    validated (and verified) as a whole, as at creation; the connection is
    active again afterwards. Nothing is written when a check fails.
    ``connection.updated`` goes out with the change: ``event`` (the connect
    page's, with its session id), else a plain one. ``grant_key`` (an OAuth
    reconnect) replaces the connection's grant; left out, it stays unless
    new credentials are given: those are the connection's own, and the
    grant's shared token is not theirs."""
    if credentials is None and settings is None:
        raise InvalidInput("give credentials and/or settings")
    if credentials is None:
        credentials = await stored_credentials(store, keyring, connection)
        new_credentials = False
    else:
        new_credentials = True
    creds, parsed_settings = validate_connection_input(
        connection.provider,
        credentials,
        settings if settings is not None else connection.settings,
        allow_private_networks=allow_private_networks,
    )
    if not new_credentials and settings is not None:
        _same_destination(connection, settings)
    if verify is not None:
        await verify(connection.provider, creds, parsed_settings)
    if new_credentials and grant_key is UNSET:
        grant_key = None
    found = await store.update_connection(
        connection.id,
        now_text(),
        credentials=_seal(keyring, connection, creds) if new_credentials else None,
        settings=msgspec.to_builtins(parsed_settings) if settings is not None else None,
        status=CONNECTION_ACTIVE,
        event=event or await events.event_for(store, events.UPDATED, connection),
        grant_key=grant_key,
    )
    updated = await store.get_connection(connection.id) if found else None
    if updated is None:
        raise UnknownConnection(f"no connection has id {connection.id!r}")
    return updated


def _same_destination(connection: Connection, new_settings: dict[str, Any]) -> None:
    """Stored credentials stay where they were given: a settings-only change
    of where they are sent (origin, store) is refused. Credentials sent along
    replace the stored ones, and the store drops the OAuth token with them."""
    provider_cls = registry.get(connection.provider)
    before = provider_cls.destination(connection.settings)
    after = provider_cls.destination(new_settings)
    changed = sorted(name for name in before if before[name] != after[name])
    if changed:
        raise InvalidInput(
            f"changing {', '.join(changed)} decides where the stored credentials are sent: "
            "give the credentials again in the same request"
        )


async def delete_connection(store: Store, connection: Connection) -> bool:
    """Delete it (its token fails at once); ``connection.deleted`` goes out
    with the deletion. False if it was already gone."""
    return await store.delete_connection(
        connection.id, event=await events.event_for(store, events.DELETED, connection)
    )


async def rotate_connection_token(store: Store, connection: Connection) -> tuple[Connection, str]:
    """A new token for the connection (shown once); the old one stops working."""
    token = secrets.mint_connection_token()
    found = await store.rotate_connection_token(
        connection.id, secrets.digest(token), secrets.display_prefix(token), now_text()
    )
    updated = await store.get_connection(connection.id) if found else None
    if updated is None:
        raise UnknownConnection(f"no connection has id {connection.id!r}")
    return updated, token
