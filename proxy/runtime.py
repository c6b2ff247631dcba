"""Everything a running service holds: built in the app lifespan, torn down
with it. One shared aiohttp session per process."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from keys.vault import Keyring
from providers.http import UpstreamClient, UpstreamPolicy, create_session
from providers.resilience import CircuitBreaker

from . import forwarded
from .config import Config
from .directory import Directory
from .keyring import load_keyring
from .metrics import Metrics
from .store import Store, open_store
from .webhooks.delivery import DeliveryWorker

log = logging.getLogger("shoprelay")


class Runtime:
    def __init__(self, config: Config, store: Store, keyring: Keyring, http: UpstreamClient) -> None:
        self.config = config
        self.store = store
        self.keyring = keyring
        self.http = http
        self.metrics = Metrics()
        self.trusted_proxies = forwarded.networks(config.trusted_proxies)
        self.directory = Directory(store, keyring, http, config, self.metrics)
        if http.breaker is not None:
            self.metrics.watch_circuits(http.breaker.open_count)
        self.webhooks = DeliveryWorker(
            store, keyring, http, timeout=config.webhook_timeout, concurrency=config.webhook_concurrency,
            metrics=self.metrics,
        )
        self._tasks: list[asyncio.Task[None]] = []

    @classmethod
    @contextlib.asynccontextmanager
    async def running(cls, config: Config):  # type: ignore[no-untyped-def]
        keyring = load_keyring(config)
        store = open_store(
            config.database_url,
            pool_size=config.db_pool_size,
            statement_timeout=config.db_statement_timeout,
        )
        try:
            await store.migrate()
            policy = upstream_policy(config)
            session = create_session(policy)
            breaker = CircuitBreaker()
            runtime = cls(config, store, keyring, UpstreamClient(session, policy, breaker))
            try:
                await runtime.directory.start()
                runtime._tasks.append(asyncio.create_task(runtime.directory.poll_forever()))
                runtime._tasks.append(asyncio.create_task(runtime.webhooks.run_forever()))
                yield runtime
            finally:
                for task in runtime._tasks:
                    task.cancel()
                await asyncio.gather(*runtime._tasks, return_exceptions=True)
                with contextlib.suppress(Exception):
                    await runtime.directory.flush_last_used()
                await session.close()
        finally:
            await store.close()


def upstream_policy(config: Config) -> UpstreamPolicy:
    return UpstreamPolicy(
        allow_private_networks=config.allow_private_networks,
        connect_timeout=config.connect_timeout,
        read_timeout=config.request_timeout,
        max_response_bytes=config.max_response_bytes,
        pool_size=config.upstream_pool_size,
    )
