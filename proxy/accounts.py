"""Tenants, API keys and connections: the operations the CLI and the
management API share. Validation happens here, before anything is written,
so bad input leaves the store untouched.
"""

from __future__ import annotations

import uuid
from typing import Any

import msgspec

from keys import secrets
from keys.vault import Keyring, credentials_aad
from providers import registry
from providers.errors import ConfigurationError

from .clock import now_text
from .store import Store
from .store.records import CONNECTION_ACTIVE, ApiKey, Connection, Sealed, Tenant


class InvalidInput(ValueError):
    """Input rejected before anything was written; the message is for users."""


class UnknownTenant(LookupError):
    pass


MAX_NAME_LENGTH = 200


def _clean_name(name: str | None, what: str, required: bool) -> str | None:
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
        id=str(uuid.uuid4()), name=_clean_name(name, "name", True) or "", created_at=now_text()
    )
    await store.create_tenant(tenant)
    return tenant


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
        name=_clean_name(name, "name", False),
        prefix=secrets.display_prefix(secret),
        created_at=now_text(),
    )
    await store.create_api_key(key, secrets.digest(secret))
    return key, secret


def validate_connection_input(
    provider: str, credentials: Any, settings: Any
) -> tuple[msgspec.Struct, msgspec.Struct]:
    try:
        provider_cls = registry.get(provider)
    except registry.UnknownProvider as exc:
        raise InvalidInput(str(exc)) from None
    try:
        return provider_cls.parse_config(credentials, settings if settings is not None else {})
    except ConfigurationError as exc:
        raise InvalidInput(f"{provider}: {exc.message}") from None


async def create_connection(
    store: Store,
    keyring: Keyring,
    tenant_id: str,
    provider: str,
    credentials: Any,
    settings: Any = None,
) -> tuple[Connection, str]:
    """Validate, encrypt and store; returns the connection and its token (shown once)."""
    creds, parsed_settings = validate_connection_input(provider, credentials, settings)
    await require_tenant(store, tenant_id)
    token = secrets.mint_connection_token()
    now = now_text()
    connection = Connection(
        id=str(uuid.uuid4()),
        tenant_id=tenant_id,
        provider=provider,
        token_prefix=secrets.display_prefix(token),
        status=CONNECTION_ACTIVE,
        settings=msgspec.to_builtins(parsed_settings),
        created_at=now,
        updated_at=now,
    )
    key_id, blob = keyring.encrypt(
        msgspec.json.encode(creds), credentials_aad(tenant_id, connection.id)
    )
    await store.create_connection(connection, secrets.digest(token), Sealed(key_id, blob))
    return connection, token
