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
secrets: they are shown to API clients.
"""

from __future__ import annotations


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
