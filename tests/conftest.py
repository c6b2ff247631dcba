from __future__ import annotations

from typing import AsyncIterator

import pytest

from providers.http import UpstreamClient, UpstreamPolicy, create_session


@pytest.fixture(scope="session", autouse=True)
def no_data_in_the_real_home(tmp_path_factory):
    """The default database lives in the user's data directory: point it
    (and XDG_DATA_HOME, which survives helpers that drop SHOPRELAY_*) at a
    temporary one, so no test, nor a CLI it starts, writes into $HOME."""
    data_home = tmp_path_factory.mktemp("xdg-data")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_DATA_HOME", str(data_home))
        patch.setenv("SHOPRELAY_DATA_DIR", str(data_home / "shoprelay"))
        yield


@pytest.fixture
async def upstream_client() -> AsyncIterator[UpstreamClient]:
    """An UpstreamClient allowed to reach loopback (the local test upstream)."""
    policy = UpstreamPolicy(allow_private_networks=True, read_timeout=2.0, connect_timeout=2.0)
    session = create_session(policy)
    try:
        yield UpstreamClient(session, policy)
    finally:
        await session.close()
