"""Installs a platform started with no connect session behind them: parked, then claimed.

BigCommerce's marketplace and control-panel installs call the app's auth
callback inside the control panel, where our session cookie is not sent
(reference/connect-flows.md D, "Starts we don't control"). The code in that
callback lives for seconds, so it is exchanged at once and the grant is
parked here: sealed, under the digest of a one-time claim code shown to the
merchant (192 random bits, ``CLAIM_TTL``). The merchant then opens a
connect link from the tenant's app and enters the code; the claim is atomic
(one use, unexpired), and only then does the grant become a connection.
Nothing about a parked grant is readable without its code.
"""

from __future__ import annotations

import secrets as random
from typing import Any

from keys import secrets

from ...clock import now_text, text_after
from ...store.records import UnclaimedInstall
from . import attempts

CLAIM_TTL = 24 * 3600  # the merchant may install first and connect later that day
PREFIX = "sri_"  # "shoprelay install": recognisable to the merchant and to secret scanners
_RANDOM_BYTES = 24  # 192 bits


def mint() -> str:
    return PREFIX + random.token_urlsafe(_RANDOM_BYTES)


def looks_like(code: str) -> bool:
    """Cheap shape check before any lookup; surrounding spaces a copy may add are the caller's to strip."""
    return secrets.looks_like(code, PREFIX)


async def park(
    runtime: Any, *, provider: str, app_tenant_id: str | None, grant_key: str | None, data: dict[str, Any],
) -> tuple[str, str]:
    """Seal ``data`` (the grant: credentials and settings) under a new claim
    code; returns (claim code, expires_at). The code is shown once."""
    code = mint()
    claim_digest = secrets.digest(code)
    now = now_text()
    install = UnclaimedInstall(
        claim_digest=claim_digest, provider=provider, app_tenant_id=app_tenant_id, grant_key=grant_key,
        created_at=now, expires_at=text_after(CLAIM_TTL), claimed_at=None,
    )
    sealed = attempts.seal(runtime, app_tenant_id, claim_digest, data, kind="install")
    await runtime.store.create_unclaimed_install(install, sealed)
    return code, install.expires_at


async def claim(runtime: Any, code: str, provider: str) -> tuple[UnclaimedInstall, dict[str, Any]] | None:
    """The parked grant, claimed (spent) now; None when the code is not one
    of ``provider``'s live installs. A code of another shape costs no lookup."""
    code = code.strip()
    if not looks_like(code):
        return None
    found = await runtime.store.claim_unclaimed_install(secrets.digest(code), now_text())
    if found is None:
        return None
    install, sealed = found
    data = attempts.unseal(runtime, install.app_tenant_id, install.claim_digest, sealed, kind="install")
    if install.provider != provider or data is None:
        return None
    return install, data
