"""TokenManager: one token request per burst, whether the mint works or fails."""

import asyncio
import time

import pytest

from providers.tokens import AccessToken, MemoryTokenStore, TokenManager


class CountingMint:
    def __init__(self, fail_times: int = 0) -> None:
        self.calls = 0
        self.fail_times = fail_times

    async def __call__(self) -> AccessToken:
        self.calls += 1
        await asyncio.sleep(0.01)  # let the whole burst queue up behind us
        if self.calls <= self.fail_times:
            raise ConnectionError(f"token endpoint down (call {self.calls})")
        return AccessToken(access_token=f"tok-{self.calls}", expires_at=time.time() + 3600)


async def test_a_cold_burst_mints_once_and_persists_first():
    store, mint = MemoryTokenStore(), CountingMint()
    manager = TokenManager(store, mint)
    tokens = await asyncio.gather(*(manager.get() for _ in range(50)))
    assert mint.calls == 1
    assert {t.access_token for t in tokens} == {"tok-1"}
    assert store.token is not None and store.token.access_token == "tok-1"


async def test_a_failed_mint_is_shared_with_the_callers_queued_behind_it():
    mint = CountingMint(fail_times=1)
    manager = TokenManager(MemoryTokenStore(), mint)
    results = await asyncio.gather(*(manager.get() for _ in range(50)), return_exceptions=True)
    assert mint.calls == 1
    assert all(isinstance(r, ConnectionError) for r in results)
    # A caller arriving after the failure tries again (the failure was transient).
    assert (await manager.get()).access_token == "tok-2"
    assert mint.calls == 2


async def test_a_stale_token_is_replaced_once():
    mint = CountingMint()
    manager = TokenManager(MemoryTokenStore(), mint)
    first = await manager.get()
    refreshed = await asyncio.gather(*(manager.get(stale=first) for _ in range(10)))
    assert mint.calls == 2
    assert {t.access_token for t in refreshed} == {"tok-2"}


@pytest.mark.parametrize("expires_in", [0, 60])
async def test_a_token_near_expiry_is_refreshed(expires_in):
    store = MemoryTokenStore()
    store.token = AccessToken(access_token="old", expires_at=time.time() + expires_in)
    mint = CountingMint()
    assert (await TokenManager(store, mint).get()).access_token == "tok-1"
