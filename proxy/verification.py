"""Verifying a connection with one cheap live call before it is stored.

The management API does it on ``?verify=true``; the CLI by default
(``--no-verify`` skips it). Both call :func:`verify`, so a connection the
CLI accepts is one the API would accept, through the same SSRF guard and
deadline as a read.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import AsyncIterator

import msgspec

from providers import calls, registry
from providers.errors import ProviderAuthFailed, ProviderError, ProviderTimeout
from providers.http import UpstreamClient, create_session
from providers.tokens import MemoryTokenStore

from .config import Config
from .problems import ApiError, from_provider_error
from .runtime import upstream_policy


async def verify(
    http: UpstreamClient,
    provider: str,
    credentials: msgspec.Struct,
    settings: msgspec.Struct,
    timeout: float,
) -> None:
    """One live call with these (parsed) credentials; nothing is stored.

    Raises the ProviderError a read would meet: ProviderAuthFailed when the
    provider rejects the credentials, ProviderTimeout past ``timeout``."""
    provider_cls = registry.get(provider)
    instance = provider_cls(credentials, settings, http, MemoryTokenStore())
    # A record of its own, as a read opens: else the HTTP layer would use
    # whatever record (and expired deadline) the context holds.
    calls.begin(timeout, provider)
    try:
        async with asyncio.timeout(timeout):
            await instance.verify_credentials()  # errors scrubbed of the secrets
    except TimeoutError:
        raise ProviderTimeout(f"{instance.display_name} did not answer in time") from None


def problem(exc: ProviderError, provider: str) -> ApiError:
    """A failed verification as the API answers it: 422 ``verification_failed``
    when the provider rejects the credentials, else the error table's row."""
    if isinstance(exc, ProviderAuthFailed):
        try:
            display = registry.get(provider).display_name
        except registry.UnknownProvider:
            display = provider
        return ApiError(
            422,
            "verification_failed",
            f"{display} rejected these credentials: {exc.message}",
            provider=provider,
            remote_status=exc.remote_status,
        )
    return from_provider_error(exc, provider)


@contextlib.asynccontextmanager
async def upstream_client(config: Config) -> AsyncIterator[UpstreamClient]:
    """An UpstreamClient for one command, under the service's policy."""
    policy = upstream_policy(config)
    session = create_session(policy)
    try:
        yield UpstreamClient(session, policy)
    finally:
        await session.close()
