"""Re-encrypting every stored secret under the active key: connections'
credentials and OAuth tokens, then tenants' webhook signing secrets, then
provider apps' client secrets, then the OAuth install tables' (attempts,
unclaimed installs, shared grant tokens).

Resumable and safe while serving: rows already under the active key are
skipped, each row is swapped only if it still holds what was read
(a concurrent credential update wins), and the plaintext never changes, so
serving processes keep working with old and new keys both in the keyring.
"""

from __future__ import annotations

import functools
from typing import Awaitable, Callable

import msgspec

from keys.vault import DecryptionError, Keyring, credentials_aad, provider_app_aad, sealed_extra_aad
from keys.vault import webhook_secret_aad

from .store import Store
from .store.base import SEALED_EXTRAS
from .store.records import Sealed, SealedRow


class RotationReport(msgspec.Struct, kw_only=True):
    active_key: str
    rotated: int = 0
    already_current: int = 0
    changed_meanwhile: int = 0
    undecryptable: list[str] = msgspec.field(default_factory=list)  # connection ids
    # Tenants whose webhook secret is under a key the ring lacks.
    undecryptable_webhook_secrets: list[str] = msgspec.field(default_factory=list)
    # Provider apps ("operator/{provider}" or "{tenant id}/{provider}") likewise.
    undecryptable_provider_apps: list[str] = msgspec.field(default_factory=list)
    # "kind:key" of OAuth install rows (store.base.SEALED_EXTRAS) likewise.
    undecryptable_oauth: list[str] = msgspec.field(default_factory=list)


def _reseal(keyring: Keyring, sealed: Sealed, aad: bytes) -> Sealed:
    if sealed.key_id == keyring.active_id:
        return sealed
    key_id, blob = keyring.encrypt(keyring.decrypt(sealed.key_id, sealed.blob, aad), aad)
    return Sealed(key_id, blob)


async def rotate(store: Store, keyring: Keyring, batch: int = 500) -> RotationReport:
    report = RotationReport(active_key=keyring.active_id)
    after = ""
    while True:
        rows = await store.sealed_rows(after, batch)
        if not rows:
            await _rotate_webhook_secrets(store, keyring, batch, report)
            await _rotate_provider_apps(store, keyring, batch, report)
            for kind in SEALED_EXTRAS:
                await _rotate_extras(store, keyring, kind, batch, report)
            return report
        for row in rows:
            after = row.connection_id
            current = row.credentials.key_id == keyring.active_id and (
                row.oauth_token is None or row.oauth_token.key_id == keyring.active_id
            )
            if current:
                report.already_current += 1
                continue
            try:
                new = SealedRow(
                    connection_id=row.connection_id,
                    tenant_id=row.tenant_id,
                    credentials=_reseal(
                        keyring, row.credentials, credentials_aad(row.tenant_id, row.connection_id)
                    ),
                    oauth_token=_reseal(
                        keyring, row.oauth_token,
                        credentials_aad(row.tenant_id, row.connection_id, "oauth-token"),
                    ) if row.oauth_token else None,
                )
            except DecryptionError:
                # Its key is missing from the ring: leave it, name it, carry on.
                report.undecryptable.append(row.connection_id)
                continue
            if await store.reseal(row, new):
                report.rotated += 1
            else:
                report.changed_meanwhile += 1


async def _rotate_one(
    keyring: Keyring, report: RotationReport, sealed: Sealed, aad: bytes,
    swap: Callable[[Sealed], Awaitable[bool]], stuck: list[str], name: str,
) -> None:
    """One sealed value (not a connection's): re-encrypted and swapped if
    it still holds what was read; counted in the report, or named in
    ``stuck`` when its key is missing from the ring."""
    if sealed.key_id == keyring.active_id:
        report.already_current += 1
        return
    try:
        new = _reseal(keyring, sealed, aad)
    except DecryptionError:
        stuck.append(name)
        return
    if await swap(new):
        report.rotated += 1
    else:
        report.changed_meanwhile += 1


async def _rotate_webhook_secrets(
    store: Store, keyring: Keyring, batch: int, report: RotationReport
) -> None:
    """Tenants' webhook secrets, counted in the report with the connections."""
    after = ""
    while rows := await store.sealed_webhook_secrets(after, batch):
        for tenant_id, sealed in rows:
            after = tenant_id
            await _rotate_one(
                keyring, report, sealed, webhook_secret_aad(tenant_id),
                functools.partial(store.reseal_webhook_secret, tenant_id, sealed),
                report.undecryptable_webhook_secrets, tenant_id,
            )


async def _rotate_provider_apps(
    store: Store, keyring: Keyring, batch: int, report: RotationReport
) -> None:
    """Provider apps' client secrets, counted with the rest."""
    after = ("", "")
    while rows := await store.sealed_provider_app_secrets(after, batch):
        for tenant_id, provider, sealed in rows:
            after = (tenant_id or "", provider)
            await _rotate_one(
                keyring, report, sealed, provider_app_aad(tenant_id, provider),
                functools.partial(store.reseal_provider_app_secret, tenant_id, provider, sealed),
                report.undecryptable_provider_apps, f"{tenant_id or 'operator'}/{provider}",
            )


async def _rotate_extras(store: Store, keyring: Keyring, kind: str, batch: int, report: RotationReport) -> None:
    """One OAuth install table's sealed column, counted with the rest."""
    after = ""
    while rows := await store.sealed_extras(kind, after, batch):
        for key, owner, sealed in rows:
            after = key
            await _rotate_one(
                keyring, report, sealed, sealed_extra_aad(kind, owner, key),
                functools.partial(store.reseal_extra, kind, key, sealed), report.undecryptable_oauth, f"{kind}:{key}",
            )
