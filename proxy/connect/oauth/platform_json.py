"""One JSON call to a platform during an OAuth flow, and what flows share
about the answer.

A flow talks to a platform while the merchant waits on the callback: a
token exchange, a verification, a listing. Whatever goes wrong there
(blocked by the SSRF guard, unreachable, 5xx, not JSON) becomes a
:class:`FlowRefused` the merchant can read, never an exception page. Calls
carrying a secret never follow redirects: a 307 would resend the body, and
a refusal is all a redirect can mean there.
"""

from __future__ import annotations

import logging
import re
from typing import Any, Literal, Mapping

import msgspec

from providers.errors import ProviderAuthFailed, ProviderError, ReauthRequired
from providers.token_endpoint import TokenEndpoint
from providers.tokens import AccessToken

from .flow import FlowRefused

log = logging.getLogger("shoprelay.connect")

UNREACHABLE = "platform_unreachable"  # FlowRefused.reason when the call itself failed
# An identifier a platform returns as its error ("invalid_code"): repeated, free text never is.
_CODE = re.compile(r"^[A-Za-z][A-Za-z0-9_.\-]{0,63}$")
# What an access/refresh token may look like: visible ASCII, bounded.
_TOKEN = re.compile(r"^[\x21-\x7e]{1,4096}$")
# The app settings a connection inherits, so it talks to the same hosts as its flow did.
INHERITED_SETTINGS = ("auth_url", "base_url")


class Answer(msgspec.Struct, frozen=True):
    status: int
    body: dict[str, Any] | None  # None: not a JSON object


async def call(
    http: Any, platform: str, method: str, url: str, *,
    send: Literal["json", "form", "none"] = "none", fields: Mapping[str, Any] | None = None,
    headers: Mapping[str, str] | None = None, params: Mapping[str, str] | None = None,
) -> Answer:
    """The platform's answer, or FlowRefused (not failing the session: the
    merchant may simply try again) when there was none worth reading."""
    try:
        response = await http.request(
            method, url, headers=headers, params=params,
            json=dict(fields or {}) if send == "json" else None,
            data=dict(fields or {}) if send == "form" else None,
            follow_redirects=False,
        )
    except ProviderError as exc:  # guard refusals, timeouts, connection errors
        log.warning("connect: %s call failed (%s)", platform, type(exc).__name__)
        raise FlowRefused(UNREACHABLE, f"{platform} could not be reached; try again in a moment.",
                          fail_session=False) from None
    if response.status >= 500 or response.status == 429:
        raise FlowRefused(UNREACHABLE, f"{platform} is not answering right now ({response.status}); "
                          "try again in a moment.", fail_session=False)
    try:
        body = msgspec.json.decode(response.body)
    except msgspec.DecodeError:
        body = None
    return Answer(response.status, body if isinstance(body, dict) else None)


def error_code(body: dict[str, Any] | None) -> str | None:
    """RFC 6749's ``error``, when it is an identifier worth repeating."""
    code = (body or {}).get("error")
    return code if isinstance(code, str) and _CODE.match(code) else None


def token_of(body: dict[str, Any] | None, key: str) -> str | None:
    value = (body or {}).get(key)
    return value if isinstance(value, str) and _TOKEN.match(value) else None


def lifetime(body: dict[str, Any] | None, default: float) -> float:
    value = (body or {}).get("expires_in")
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and 0 < value <= 10 * 365 * 86400
    return float(value) if ok else default


def inherited(app: Any) -> dict[str, str]:
    """The app's ``auth_url``/``base_url`` (tests, proxies, on-prem), so the
    connection refreshes and reads where the flow did."""
    return {key: app.settings[key] for key in INHERITED_SETTINGS if app.settings.get(key)}


async def exchange(platform: str, endpoint: TokenEndpoint) -> AccessToken:
    """The token a code exchange mints. A refused code fails the session
    (``invalid_code``); an unreachable platform leaves it open to retry."""
    try:
        return await endpoint.mint()
    except (ReauthRequired, ProviderAuthFailed):
        raise FlowRefused("invalid_code", f"{platform} refused the sign-in (the code was not accepted).") from None
    except ProviderError:
        raise FlowRefused("platform_unavailable", f"{platform} could not be reached. Try again in a moment.",
                          fail_session=False) from None
