"""Provider apps: the OAuth client (id, secret, scopes) shoprelay uses on a
platform's consent screen. The operator sets a default per provider; a
tenant may set its own, which wins for that tenant's merchants.

The OAuth flows use only ``resolve``, ``ResolvedApp``, ``callback_url`` and
``OAUTH_PROVIDERS`` from here. The client secret is sealed like connection
credentials (AAD bound to owner and provider), decrypted only by
``resolve``, and never returned, printed or logged.
"""

from __future__ import annotations

from typing import Any

import msgspec
from yarl import URL

from keys.vault import DecryptionError, Keyring, provider_app_aad
from providers import registry
from providers.base import valid_origin
from providers.http import guard_refusal

from .accounts import UnreadableCredentials
from .clock import now_text
from .config import Config
from .store import Store
from .store.records import ProviderApp, Sealed


class Registration(msgspec.Struct, frozen=True, kw_only=True):
    """What the operator registers on a platform for shoprelay's app."""

    # The scopes asked for when the app names none: the least a customer read needs.
    default_scopes: tuple[str, ...] = ()
    # Further URLs the platform's app settings ask for (label -> path under
    # the public origin), besides the OAuth callback.
    extra_paths: tuple[tuple[str, str], ...] = ()
    needs_app: bool = True
    note: str = ""


OAUTH_PROVIDERS: dict[str, Registration] = {
    "shopify": Registration(default_scopes=("read_customers",)),
    "bigcommerce": Registration(
        default_scopes=("store_v2_customers_read_only",),
        extra_paths=(
            ("load_url", "/connect/oauth/bigcommerce/load"),
            ("uninstall_url", "/connect/oauth/bigcommerce/uninstall"),
        ),
        note="scopes are chosen in the app's profile in the Developer Portal",
    ),
    "wix": Registration(note="permissions are chosen in the app's dashboard"),
    "zoho_inventory": Registration(
        default_scopes=("ZohoInventory.contacts.READ", "ZohoInventory.settings.READ"),
    ),
    "square": Registration(default_scopes=("CUSTOMERS_READ",)),
    "woocommerce": Registration(
        needs_app=False, note="needs no app: each store grants keys to shoprelay directly",
    ),
}

MAX_CLIENT_ID = 256
MAX_CLIENT_SECRET = 1024
MAX_SCOPES = 20
MAX_SCOPE = 128
SETTINGS = ("auth_url", "base_url")
OPERATOR = "operator"
TENANT = "tenant"


class ResolvedApp(msgspec.Struct, frozen=True, kw_only=True):
    """The app a flow uses for one tenant, its secret decrypted."""

    provider: str
    client_id: str
    client_secret: str
    scopes: list[str]
    settings: dict[str, Any]
    owner: str  # "tenant" | "operator"
    tenant_id: str | None  # None for the operator's default

    def __repr__(self) -> str:
        # Never the secret: a ResolvedApp in a log line or traceback is safe.
        return (
            f"ResolvedApp(provider={self.provider!r}, client_id={self.client_id!r}, "
            f"owner={self.owner!r}, tenant_id={self.tenant_id!r}, client_secret=<hidden>)"
        )

    __str__ = __repr__

    def origin(self, default: str) -> str:
        """The authorization and token endpoints' origin: settings.auth_url, else ``default``."""
        return self.settings.get("auth_url") or default

    def api_origin(self, default: str) -> str:
        """The platform API's origin: settings.base_url, else ``default``."""
        return self.settings.get("base_url") or default


class UnknownProvider(LookupError):
    """No app can be set for this provider (not installed, or no OAuth install)."""


class InvalidApp(ValueError):
    """A refused field of an app; ``field`` names it (``settings.auth_url``)."""

    def __init__(self, field: str, detail: str) -> None:
        super().__init__(f"{field}: {detail}")
        self.field = field
        self.detail = detail


def callback_url(config: Config, provider: str) -> str:
    return f"{config.public_base}/connect/oauth/{provider}/callback"


def registered_urls(config: Config, provider: str) -> dict[str, str]:
    """Every URL to enter in the platform's app settings (callback first)."""
    registration = OAUTH_PROVIDERS[provider]
    urls = {"callback_url": callback_url(config, provider)} if registration.needs_app else {}
    urls.update((label, config.public_base + path) for label, path in registration.extra_paths)
    return urls


def app_providers() -> list[str]:
    """Installed providers that take an app."""
    installed = set(registry.names())
    return [name for name, reg in OAUTH_PROVIDERS.items() if reg.needs_app and name in installed]


def check_provider(provider: str) -> Registration:
    registration = OAUTH_PROVIDERS.get(provider)
    if registration is None or not registration.needs_app or provider not in registry.names():
        known = ", ".join(app_providers()) or "none"
        shown = provider if len(provider) <= 64 and provider.isprintable() else "(that name)"
        raise UnknownProvider(f"no provider app can be set for {shown!r}; apps are for: {known}")
    return registration


def check_input(
    provider: str,
    client_id: Any,
    client_secret: Any,
    scopes: Any,
    settings: Any,
    *,
    allow_private_networks: bool,
) -> tuple[list[str], dict[str, str]]:
    """Refuse what a flow could not use (UnknownProvider, InvalidApp);
    the scopes (the platform's default when None) and settings to store."""
    registration = check_provider(provider)
    if not isinstance(client_id, str) or not 1 <= len(client_id) <= MAX_CLIENT_ID or not all(
        "\x21" <= ch <= "\x7e" for ch in client_id
    ):
        raise InvalidApp("client_id", f"1 to {MAX_CLIENT_ID} printable ASCII characters, no spaces")
    if not isinstance(client_secret, str) or not 1 <= len(client_secret) <= MAX_CLIENT_SECRET or not (
        client_secret.isprintable()
    ):
        raise InvalidApp("client_secret", f"1 to {MAX_CLIENT_SECRET} printable characters")
    return _scopes(scopes, registration), _settings(settings, allow_private_networks)


def _scopes(scopes: Any, registration: Registration) -> list[str]:
    if scopes is None:
        return list(registration.default_scopes)
    if not isinstance(scopes, list) or len(scopes) > MAX_SCOPES:
        raise InvalidApp("scopes", f"a list of at most {MAX_SCOPES} scopes")
    for scope in scopes:
        if not isinstance(scope, str) or not 1 <= len(scope) <= MAX_SCOPE or not all(
            "\x21" <= ch <= "\x7e" for ch in scope
        ):
            raise InvalidApp("scopes", f"each scope is 1 to {MAX_SCOPE} printable ASCII characters, no spaces")
    return list(dict.fromkeys(scopes))  # duplicates dropped, order kept


def _settings(settings: Any, allow_private_networks: bool) -> dict[str, str]:
    """Origins only, under the SSRF guard's rules for connection settings:
    the client secret is sent to ``auth_url``."""
    if settings is None:
        return {}
    if not isinstance(settings, dict):
        raise InvalidApp("settings", f"an object with {' and/or '.join(SETTINGS)}")
    for name in settings:
        if name not in SETTINGS:
            shown = name if isinstance(name, str) and len(name) <= 64 and name.isprintable() else "(a name)"
            raise InvalidApp(f"settings.{shown}", f"unknown setting; apps take {', '.join(SETTINGS)}")
    cleaned: dict[str, str] = {}
    for name, value in settings.items():
        if value is None:
            continue
        field = f"settings.{name}"
        if not isinstance(value, str) or len(value) > 2048:
            raise InvalidApp(field, "an origin like https://host[:port]")
        try:
            valid_origin(value, name)
            refusal = guard_refusal(URL(value), allow_private_networks)
        except ValueError as exc:
            raise InvalidApp(field, str(exc).removeprefix(f"{name} ")) from None
        if refusal is not None:
            raise InvalidApp(field, refusal)
        cleaned[name] = value
    return cleaned


def seal(keyring: Keyring, tenant_id: str | None, provider: str, secret: str) -> Sealed:
    key_id, blob = keyring.encrypt(secret.encode(), provider_app_aad(tenant_id, provider))
    return Sealed(key_id, blob)


async def put_app(
    store: Store,
    keyring: Keyring,
    tenant_id: str | None,
    provider: str,
    client_id: Any,
    client_secret: Any,
    scopes: Any = None,
    settings: Any = None,
    *,
    allow_private_networks: bool,
) -> tuple[ProviderApp, bool]:
    """Validate, seal and store (replacing the owner's app for the provider);
    the app as stored and whether it was created."""
    clean_scopes, clean_settings = check_input(
        provider, client_id, client_secret, scopes, settings,
        allow_private_networks=allow_private_networks,
    )
    now = now_text()
    app = ProviderApp(
        tenant_id=tenant_id, provider=provider, client_id=client_id, scopes=clean_scopes,
        settings=clean_settings, created_at=now, updated_at=now,
    )
    created = await store.put_provider_app(app, seal(keyring, tenant_id, provider, client_secret))
    if not created:
        app = await store.get_provider_app(tenant_id, provider) or app
    return app, created


async def resolve(runtime: Any, tenant_id: str, provider: str) -> ResolvedApp | None:
    """The app for this tenant's merchants: its own, else the operator's
    default, else None. UnreadableCredentials if the secret's key is gone."""
    store: Store = runtime.store
    for owner_id in (tenant_id, None):
        found = await store.sealed_provider_app(owner_id, provider)
        if found is None:
            continue
        app, sealed = found
        try:
            secret = runtime.keyring.decrypt(
                sealed.key_id, sealed.blob, provider_app_aad(owner_id, provider)
            ).decode()
        except DecryptionError:
            raise UnreadableCredentials(sealed.key_id, sealed.key_id in runtime.keyring.key_ids) from None
        return ResolvedApp(
            provider=provider, client_id=app.client_id, client_secret=secret,
            scopes=list(app.scopes), settings=dict(app.settings),
            owner=TENANT if owner_id is not None else OPERATOR, tenant_id=owner_id,
        )
    return None
