"""What can go wrong when talking to a provider, as one exception tree.

    ProviderError
    ├── ConfigurationError        credentials/settings invalid for the provider
    ├── CustomerNotFound          malformed id, or the provider says not found
    ├── ProviderAuthFailed        the provider rejects the stored credentials
    │   └── ReauthRequired        a token refresh was refused for good
    ├── ProviderRateLimited       the provider's rate limit (carries retry_after)
    ├── ProviderUnavailable       5xx, connection refused/reset, DNS failure
    │   └── UpstreamBlocked       the SSRF guard refused the destination
    ├── ProviderTimeout           no answer within the deadline
    └── ProviderBadResponse       not JSON, wrong shape, too large, bad redirect

The proxy maps each class to one row of the error table. Messages never carry
secrets: they are shown to API clients. ``scrub`` is the one place that
removes them (see Provider.redact and the Provider template methods).
"""

from __future__ import annotations

import base64
import re
from typing import Iterable

REDACTED = "[redacted]"
# A run of base64 text long enough to carry a piece of a credential.
_BASE64_RUN = re.compile(r"[A-Za-z0-9+/]{8,}")


def scrub(text: str, secrets: Iterable[str], encoded: Iterable[str] = ()) -> str:
    """``text`` without the secrets. Each exact value is replaced, longest
    first (a secret holding another goes whole); then each run of 8+ base64
    characters that is a piece of an ``encoded`` form: a store echoing the
    Authorization header may cut it short, and a piece of base64 still
    decodes to a piece of the secret."""
    for secret in sorted({s for s in secrets if s}, key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    forms = [form.rstrip("=") for form in encoded if form]
    if forms:
        text = _BASE64_RUN.sub(
            lambda run: REDACTED if any(run.group() in form for form in forms) else run.group(), text
        )
    return text


def basic_auth(user: str, password: str) -> str:
    """The HTTP Basic ``Authorization`` value (RFC 7617) for ASCII credentials.
    Built here rather than with aiohttp.BasicAuth, deprecated in aiohttp 3.14."""
    return "Basic " + base64.b64encode(f"{user}:{password}".encode("ascii")).decode("ascii")


class ProviderError(Exception):
    """Base class. ``remote_status`` is the provider's HTTP status, if any."""

    def __init__(self, message: str, *, remote_status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.remote_status = remote_status


class ConfigurationError(ProviderError):
    """Credentials or settings do not match what the provider declares."""


class CustomerNotFound(ProviderError):
    pass


class ProviderAuthFailed(ProviderError):
    pass


class ReauthRequired(ProviderAuthFailed):
    """The provider refused a token refresh permanently (invalid_grant...)."""


class ProviderRateLimited(ProviderError):
    def __init__(
        self,
        message: str,
        *,
        remote_status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, remote_status=remote_status)
        self.retry_after = retry_after


class ProviderUnavailable(ProviderError):
    pass


class UpstreamBlocked(ProviderUnavailable):
    """The destination resolves to an address the SSRF guard refuses."""


class ProviderTimeout(ProviderError):
    pass


class ProviderBadResponse(ProviderError):
    pass
