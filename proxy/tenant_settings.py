"""A tenant's own settings (``GET``/``PATCH /tenant``, ``tenants update``):
where the connect flow may send a merchant back (``return_urls``), where
connection events are POSTed (``webhook_url``) and the secret that signs them.

Return URLs are an allow-list matched exactly, so they are checked strictly
here, once: a URL the page later redirects a merchant's browser to (and whose
origin may frame the page or receive its ``postMessage``) must be a plain
absolute https URL (http only on a loopback host, for development), ASCII,
with no user info, fragment, backslash or whitespace that browsers and
parsers read differently. The webhook URL is an upstream like a store's
``base_url``: the SSRF guard's rules apply (``providers.http.guard_refusal``).

The signing secret follows Standard Webhooks (``whsec_`` + base64 of 32
random bytes): it is shown once, when made (the first ``webhook_url`` set,
or a rotation), and stored sealed with the keyring like credentials, bound
to the tenant (``keys.vault.webhook_secret_aad``).
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any, NamedTuple

from yarl import URL

from keys.vault import DecryptionError, Keyring, webhook_secret_aad
from providers.base import valid_host_name
from providers.http import guard_refusal

from .accounts import InvalidInput, UnreadableCredentials, UnknownTenant, clean_name
from .store import Store
from .store.records import UNSET, Sealed, Tenant, UnsetType
from .webhooks import signing

MAX_RETURN_URLS = 20
MAX_URL_LENGTH = 2048
# Printable ASCII without space or backslash (browsers read "\" as "/", so
# "https://good\@evil" is evil's), whole: no control or non-ASCII characters.
_URL_TEXT = re.compile(r"[!-\[\]-~]+")
_LOOPBACK_NAMES = {"localhost"}


class NoWebhookUrl(InvalidInput):
    """A secret was asked for a tenant that has no webhook URL."""


def validate_return_url(value: Any, field: str = "return_url") -> str:
    """``value`` if it may be a return URL, else InvalidInput naming ``field``.
    Kept as given (it is matched exactly), not normalised."""
    if not isinstance(value, str) or not value:
        raise InvalidInput(f"{field} must be a URL")
    if len(value) > MAX_URL_LENGTH:
        raise InvalidInput(f"{field} must be at most {MAX_URL_LENGTH} characters")
    if not _URL_TEXT.fullmatch(value):
        raise InvalidInput(
            f"{field} must be ASCII without spaces or backslashes (international host names in punycode)"
        )
    url = _parse(value, field)
    if url.scheme == "http":
        if not _loopback(url):
            raise InvalidInput(f"{field} must use https (plain http only on localhost or a loopback address)")
    elif url.scheme != "https":
        raise InvalidInput(f"{field} must be an https URL")
    if url.fragment or "#" in value:
        raise InvalidInput(f"{field} must not have a fragment")
    return value


def validate_return_urls(values: Any) -> list[str]:
    """The allow-list: at most MAX_RETURN_URLS URLs, duplicates dropped."""
    if not isinstance(values, list):
        raise InvalidInput("return_urls must be a list of URLs")
    if len(values) > MAX_RETURN_URLS:
        raise InvalidInput(f"return_urls holds at most {MAX_RETURN_URLS} URLs")
    checked = [validate_return_url(v, f"return_urls[{i}]") for i, v in enumerate(values)]
    return list(dict.fromkeys(checked))


def validate_webhook_url(value: Any, allow_private_networks: bool) -> str:
    """An upstream URL the SSRF guard lets through (https and a public
    address unless SHOPRELAY_ALLOW_PRIVATE_NETWORKS), no user info or
    fragment. Names resolving to private addresses are refused when the
    delivery connects, as for a store."""
    field = "webhook_url"
    if not isinstance(value, str) or not value:
        raise InvalidInput(f"{field} must be a URL")
    if len(value) > MAX_URL_LENGTH:
        raise InvalidInput(f"{field} must be at most {MAX_URL_LENGTH} characters")
    if not _URL_TEXT.fullmatch(value):
        raise InvalidInput(f"{field} must be ASCII without spaces or backslashes")
    url = _parse(value, field)
    if url.scheme not in ("http", "https"):
        raise InvalidInput(f"{field} must be an https URL")
    if url.fragment or "#" in value:
        raise InvalidInput(f"{field} must not have a fragment")
    refusal = guard_refusal(url, allow_private_networks)
    if refusal is not None:
        raise InvalidInput(f"{field}: {refusal}")
    return value


def _parse(value: str, field: str) -> URL:
    try:
        url = URL(value)
        url.port  # raises on a port out of range
    except (ValueError, TypeError):
        raise InvalidInput(f"{field} is not a valid URL") from None
    # "//evil.example/x" and "javascript:..." have no scheme or no host.
    if not url.is_absolute() or not url.scheme or not url.raw_host:
        raise InvalidInput(f"{field} must be an absolute URL with a scheme and a host")
    if not value.lower().startswith(f"{url.scheme}://"):
        raise InvalidInput(f"{field} must be an absolute URL with a scheme and a host")
    if not valid_host_name(url):
        raise InvalidInput(f"{field} has a host name that is not valid")
    if url.raw_user is not None or url.raw_password is not None or "@" in url.raw_authority:
        raise InvalidInput(f"{field} must not contain a user name or password")
    return url


def _loopback(url: URL) -> bool:
    host = (url.host or "").strip("[]").lower()
    if host in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


# -- the signing secret ------------------------------------------------------------


def mint_webhook_secret() -> str:
    return signing.new_secret()  # the format lives with the signature


def seal_webhook_secret(keyring: Keyring, tenant_id: str, secret: str) -> Sealed:
    key_id, blob = keyring.encrypt(secret.encode(), webhook_secret_aad(tenant_id))
    return Sealed(key_id, blob)


async def signing_secret(store: Store, keyring: Keyring, tenant_id: str) -> str | None:
    """The tenant's webhook secret (``whsec_...``) to sign with, or None if it
    has none. UnreadableCredentials if this keyring cannot decrypt it."""
    sealed = await store.webhook_secret(tenant_id)
    if sealed is None:
        return None
    try:
        return keyring.decrypt(sealed.key_id, sealed.blob, webhook_secret_aad(tenant_id)).decode()
    except DecryptionError:
        raise UnreadableCredentials(sealed.key_id, sealed.key_id in keyring.key_ids) from None


# -- operations ------------------------------------------------------------------


class Changes(NamedTuple):
    """Checked changes, as ``Store.update_tenant`` takes them (None: keep
    the name or the return URLs; UNSET: keep the webhook URL)."""

    name: str | None
    return_urls: list[str] | None
    webhook_url: str | None | UnsetType


def validate_changes(
    *,
    name: Any = UNSET,
    return_urls: Any = UNSET,
    webhook_url: Any = UNSET,
    allow_private_networks: bool,
) -> Changes:
    """Every rule, before anything is touched (UNSET: not given)."""
    if name is UNSET and return_urls is UNSET and webhook_url is UNSET:
        raise InvalidInput("give name, return_urls and/or webhook_url")
    return Changes(
        name=None if name is UNSET else clean_name(name, "name", True),
        return_urls=None if return_urls is UNSET else validate_return_urls(return_urls),
        webhook_url=(
            webhook_url if webhook_url is UNSET or webhook_url is None
            else validate_webhook_url(webhook_url, allow_private_networks)
        ),
    )


async def update_settings(
    store: Store,
    keyring: Keyring,
    tenant_id: str,
    *,
    name: str | UnsetType = UNSET,
    return_urls: list[str] | UnsetType = UNSET,
    webhook_url: str | None | UnsetType = UNSET,
    allow_private_networks: bool,
) -> tuple[Tenant, str | None]:
    """Validate everything, then write; returns the tenant and the webhook
    secret if one was made (the first URL set: shown this once), else None.
    A new URL keeps the secret; clearing the URL drops it."""
    changes = validate_changes(
        name=name, return_urls=return_urls, webhook_url=webhook_url,
        allow_private_networks=allow_private_networks,
    )
    url = changes.webhook_url
    secret: str | None = None
    sealed: Sealed | None | UnsetType = UNSET
    if url is None:
        sealed = None
    elif isinstance(url, str) and await store.webhook_secret(tenant_id) is None:
        secret = mint_webhook_secret()
        sealed = seal_webhook_secret(keyring, tenant_id, secret)
    updated = await store.update_tenant(
        tenant_id, name=changes.name, return_urls=changes.return_urls, webhook_url=url,
        webhook_secret=sealed,
    )
    if updated is None:
        raise UnknownTenant(f"no tenant has id {tenant_id!r}")
    return updated, secret


async def rotate_webhook_secret(store: Store, keyring: Keyring, tenant_id: str) -> tuple[Tenant, str]:
    """A new secret (shown once) replacing the old one at once."""
    tenant = await store.get_tenant(tenant_id)
    if tenant is None:
        raise UnknownTenant(f"no tenant has id {tenant_id!r}")
    if tenant.webhook_url is None:
        raise NoWebhookUrl("the tenant has no webhook_url: set one first")
    secret = mint_webhook_secret()
    updated = await store.update_tenant(
        tenant_id, webhook_secret=seal_webhook_secret(keyring, tenant_id, secret)
    )
    if updated is None:
        raise UnknownTenant(f"no tenant has id {tenant_id!r}")
    return updated, secret
