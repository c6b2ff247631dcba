"""Connect attempts: what one ``state`` stands for, kept server-side.

A flow's begin mints a ``state`` (256 random bits, URL-safe) and seals
what it will need at the callback (the shop typed, a PKCE verifier) in an
attempt row keyed by the state's SHA-256 digest, bound to the connect
session, good for ten minutes and claimed once: a replayed, expired or
guessed state finds nothing. The data is encrypted with the keyring
(AAD: the tenant and attempt id), so the database never holds a verifier
or a typed store address in clear.
"""

from __future__ import annotations

import re
import secrets as random
import uuid
from typing import Any

import msgspec

from keys import secrets
from keys.vault import DecryptionError, sealed_extra_aad

from ...clock import now_text, text_after
from ...store.records import ConnectAttempt, ConnectSession, Sealed

TTL = 600  # seconds between begin and callback
CALLBACK, CHOOSE = "callback", "choose"  # the step an attempt's state is good for
_STATE = re.compile(r"^[A-Za-z0-9_-]{32,128}$")


def mint_state() -> str:
    return random.token_urlsafe(32)


def looks_like_state(value: str | None) -> bool:
    """Shape check before any lookup: junk costs no query."""
    return value is not None and bool(_STATE.match(value))


def seal(runtime: Any, tenant_id: str | None, key: str, data: dict[str, Any], kind: str = "attempt") -> Sealed:
    aad = sealed_extra_aad(kind, tenant_id, key)
    key_id, blob = runtime.keyring.encrypt(msgspec.json.encode(data), aad)
    return Sealed(key_id, blob)


def unseal(
    runtime: Any, tenant_id: str | None, key: str, sealed: Sealed, kind: str = "attempt"
) -> dict[str, Any] | None:
    """The data, or None when it cannot be read (its key left the ring)."""
    try:
        plain = runtime.keyring.decrypt(sealed.key_id, sealed.blob, sealed_extra_aad(kind, tenant_id, key))
        data = msgspec.json.decode(plain)
    except (DecryptionError, msgspec.DecodeError):
        return None
    return data if isinstance(data, dict) else None


async def create(runtime: Any, session: ConnectSession, provider: str, data: dict[str, Any]) -> str:
    state = mint_state()
    attempt = ConnectAttempt(
        id=str(uuid.uuid4()), state_digest=secrets.digest(state), session_id=session.id,
        tenant_id=session.tenant_id, provider=provider, created_at=now_text(), expires_at=text_after(TTL),
    )
    await runtime.store.create_connect_attempt(attempt, seal(runtime, attempt.tenant_id, attempt.id, data))
    return state


async def claim(runtime: Any, state: str | None) -> tuple[ConnectAttempt, dict[str, Any]] | None:
    """The attempt behind ``state``, used up now; None for a state that is
    malformed, unknown, used or expired."""
    if not looks_like_state(state):
        return None
    found = await runtime.store.claim_connect_attempt(secrets.digest(state), now_text())  # type: ignore[arg-type]
    if found is None:
        return None
    attempt, sealed = found
    data = unseal(runtime, attempt.tenant_id, attempt.id, sealed)
    return (attempt, data) if data is not None else None


async def replace_data(runtime: Any, attempt: ConnectAttempt, data: dict[str, Any]) -> None:
    await runtime.store.update_connect_attempt_data(attempt.id, seal(runtime, attempt.tenant_id, attempt.id, data))
