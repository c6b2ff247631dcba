from __future__ import annotations

from typing import AsyncIterator

import pytest

from providers.http import UpstreamClient, UpstreamPolicy, create_session

@pytest.fixture
async def upstream_client() -> AsyncIterator[UpstreamClient]:
    """An UpstreamClient allowed to reach loopback (the local test upstream)."""
    policy = UpstreamPolicy(allow_private_networks=True, read_timeout=2.0, connect_timeout=2.0)
    session = create_session(policy)
    try:
        yield UpstreamClient(session, policy)
    finally:
        await session.close()
