"""Who is calling and which connection they mean: the hot path's lookups.

API key -> tenant and (tenant, connection token) -> live connection come
from bounded TTL caches keyed by digest; the store is asked only on a miss.
A token is looked up *with* the tenant id, so another tenant's token is
indistinguishable from an unknown one. Revocations and deletions are
dropped from the caches at once in this process, and in every other
process through the store's invalidation feed: pushed as it commits where
the store can (PostgreSQL LISTEN/NOTIFY), and polled every
``SHOPRELAY_INVALIDATION_POLL_INTERVAL`` seconds always (the fallback while
the listener is reconnecting, and the only way with SQLite).

Reading the feed: ids come from a sequence, and with concurrent writers a
higher id can commit before a lower one. The cursor therefore only moves
over ids seen without a gap below them; rows above a gap are remembered as
seen, and a gap still open after ``GAP_GRACE`` seconds (a rolled-back
transaction) is given up. If the feed cannot be read for ``STALE_AFTER``
seconds, the caches are dropped: a revocation elsewhere must not stay
unseen for longer than that, even through an outage of this process's
database connection (fail closed).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

import msgspec

from keys import secrets
from keys.vault import DecryptionError, Keyring, credentials_aad
from providers import registry
from providers.base import Provider
from providers.errors import ConfigurationError
from providers.http import UpstreamClient
from providers.resilience import RetryPolicy

from . import field_mappings
from .cache import TTLCache
from .clock import now_text
from .concurrency import TenantCalls
from .config import Config
from .metrics import Metrics
from .oauth_store import ConnectionTokenStore, GrantTokenStore
from .problems import ApiError, credentials_unreadable
from .ratelimit import AuthFailureThrottle, Limiter
from .store import Store
from .store.records import CONNECTION_ACTIVE, Invalidation, KeyOwner

log = logging.getLogger("shoprelay.directory")

GAP_GRACE = 30.0  # seconds an unseen id below seen ones may still commit
STALE_AFTER = 30.0  # seconds without reading the feed before the caches go
START_WINDOW = 100  # ids re-read at start, in case some were still committing
UNKNOWN_KEYS_SIZE = 10_000  # digests remembered as unknown (LRU)
UNKNOWN_KEYS_TTL = 60.0  # seconds
THROTTLED_LOOKUPS = 2  # key reads in flight for addresses over their failure budget

_MISSING_KEY = "send your API key in the x-api-key header"
_BAD_KEY = "the API key is not valid (unknown or revoked)"
_MISSING_TOKEN = "send the connection token in the x-connection-token header"
_BAD_TOKEN = "the connection token is not valid for this API key"
_MISSING_ACCOUNT = "integrated_account_id: give the id of one of your connections"
_BAD_ACCOUNT = "integrated_account_id: no connection of yours has that id"
MAX_CONNECTION_ID = 128  # ids are UUIDs; longer is unknown without a query


class LiveConnection(msgspec.Struct, kw_only=True):
    id: str
    tenant_id: str
    provider_name: str
    status: str
    provider: Provider
    token_digest: str
    # Bounds this connection's calls in flight toward its provider, so one
    # tenant's burst cannot use up the merchant's rate limit for everyone.
    slots: asyncio.Semaphore


class TenantMappings:
    """A tenant's field mappings, and the compiled set per connection."""

    def __init__(self, mappings: list[Any]) -> None:
        self.mappings = mappings
        self.compiled: dict[str, list[Any]] = {}

    def for_connection(self, live: "LiveConnection") -> list[Any]:
        compiled = self.compiled.get(live.id)
        if compiled is None:
            compiled = field_mappings.effective(self.mappings, live.provider_name, live.id)
            self.compiled[live.id] = compiled
        return compiled


class Directory:
    def __init__(
        self,
        store: Store,
        keyring: Keyring,
        http: UpstreamClient | None,
        config: Config,
        metrics: "Metrics | None" = None,
    ) -> None:
        self.metrics = metrics or Metrics()
        self._key_hit = self.metrics.cache.labels("api_key", "hit")
        self._key_miss = self.metrics.cache.labels("api_key", "miss")
        self._conn_hit = self.metrics.cache.labels("connection", "hit")
        self._conn_miss = self.metrics.cache.labels("connection", "miss")
        self.store = store
        self.keyring = keyring
        self.http = http
        self.keys: TTLCache[str, KeyOwner] = TTLCache(config.cache_size, config.cache_ttl)
        self.connections: TTLCache[str, LiveConnection] = TTLCache(config.cache_size, config.cache_ttl)
        self.mappings: TTLCache[str, TenantMappings] = TTLCache(config.cache_size, config.cache_ttl)
        # (tenant, connection id) -> token digest, for surfaces that name a
        # connection by id; a stale entry costs one query, never a wrong answer.
        self.connection_ids: TTLCache[str, str] = TTLCache(config.cache_size, config.cache_ttl)
        self._poll_interval = config.invalidation_poll_interval
        self._connection_concurrency = config.connection_concurrency
        self._retry_policy = RetryPolicy(max_attempts=config.retry_attempts)
        self.tenant_limits = Limiter(config.tenant_rps, config.tenant_rps * 2)
        self.connection_limits = Limiter(config.connection_rps, config.connection_rps * 2)
        self.tenant_calls = TenantCalls(config.tenant_concurrency)
        self.auth_failures = AuthFailureThrottle(
            config.auth_failures_per_minute / 60, config.auth_failures_per_minute
        )
        # Digests found unknown: a repeated wrong key is answered without
        # the store. Keys are random, so none can exist before it is made.
        self.unknown_keys: TTLCache[str, bool] = TTLCache(UNKNOWN_KEYS_SIZE, UNKNOWN_KEYS_TTL)
        self._throttled_lookups = asyncio.Semaphore(THROTTLED_LOOKUPS)
        self._loading: dict[tuple[str, str], asyncio.Future[LiveConnection | None]] = {}
        self._last_used: dict[str, str] = {}
        self._last_touched: dict[str, float] = {}
        self._invalidation_cursor = 0
        self._seen_above_cursor: set[int] = set()  # ids read beyond a gap
        self._gap: tuple[int, int, float] | None = None  # (first missing id, last, since)
        self._feed_read_at = time.monotonic()
        self._wake = asyncio.Event()
        self.store_queries = 0  # observable: the hot path must not grow it when warm

    # -- the hot path -------------------------------------------------------

    async def owner_of(self, api_key: str | None, client: str = "") -> KeyOwner:
        """The tenant behind an API key. A key that exists is always
        accepted: it is looked up first, and only a failure is judged
        against the address's budget (401, or 429 once it is spent), so
        clients sharing an address with a guesser are not locked out."""
        if not api_key:
            raise ApiError(401, "missing_api_key", _MISSING_KEY, headers=_challenge())
        digest = secrets.digest(api_key) if secrets.looks_like(api_key, secrets.API_KEY_PREFIX) else None
        owner = self.keys.get(digest) if digest else None
        (self._key_hit if owner is not None else self._key_miss).inc()
        if owner is None:
            if digest is not None and self.unknown_keys.get(digest) is None:
                owner = await self._look_up_key(digest, client)
            if owner is None:
                if digest is not None:
                    self.unknown_keys.put(digest, True)
                self.auth_failures.refuse(client)
                raise ApiError(401, "invalid_api_key", _BAD_KEY, headers=_challenge())
            self.keys.put(digest, owner)  # type: ignore[arg-type]
        self.tenant_limits.check(owner.tenant_id, "tenant")
        self._note_used(owner.key_id)
        return owner

    async def _look_up_key(self, digest: str, client: str) -> KeyOwner | None:
        """One indexed read by digest. From an address over its budget
        (a guesser, or anyone behind the same proxy) the reads queue for a
        few slots, so a flood of fresh guesses costs the store a bounded
        number of queries in flight while real keys still get through."""
        self.store_queries += 1
        if self.auth_failures.blocked(client) is None:
            return await self.store.key_owner(digest)
        async with self._throttled_lookups:
            return await self.store.key_owner(digest)

    async def connection_for(self, owner: KeyOwner, token: str | None) -> LiveConnection:
        if not token:
            raise ApiError(401, "missing_connection_token", _MISSING_TOKEN)
        if not secrets.looks_like(token, secrets.CONNECTION_TOKEN_PREFIX):
            raise ApiError(401, "invalid_connection_token", _BAD_TOKEN)
        live = await self._live_by_digest(owner, secrets.digest(token))
        if live is None or live.tenant_id != owner.tenant_id:
            raise ApiError(401, "invalid_connection_token", _BAD_TOKEN)
        self.connection_limits.check(live.id, "connection")
        return live

    async def connection_by_id(self, owner: KeyOwner, connection_id: str | None) -> LiveConnection:
        """The tenant's connection named by id (Truto's ``integrated_account_id``):
        the same LiveConnection, cache and invalidation as its token. The id
        leads to the token digest (remembered per tenant and id); a stale
        digest (the token was rotated) is looked up again once. Unknown,
        deleted and another tenant's ids answer alike."""
        if not connection_id:
            raise ApiError(400, "invalid_parameter", _MISSING_ACCOUNT, parameter="integrated_account_id")
        key = f"{owner.tenant_id}\x00{connection_id}"
        live = None
        digest = self.connection_ids.get(key) if len(connection_id) <= MAX_CONNECTION_ID else None
        if digest is not None:
            live = await self._live_by_digest(owner, digest)
        if live is None and len(connection_id) <= MAX_CONNECTION_ID:
            self.store_queries += 1
            digest = await self.store.connection_token_digest(owner.tenant_id, connection_id)
            live = await self._live_by_digest(owner, digest) if digest is not None else None
        if live is None or live.id != connection_id or live.tenant_id != owner.tenant_id:
            self.connection_ids.pop(key)
            raise ApiError(404, "not_found", _BAD_ACCOUNT, parameter="integrated_account_id")
        self.connection_ids.put(key, live.token_digest)
        self.connection_limits.check(live.id, "connection")
        return live

    async def _live_by_digest(self, owner: KeyOwner, digest: str) -> LiveConnection | None:
        live = self.connections.get(digest)
        (self._conn_hit if live is not None else self._conn_miss).inc()
        if live is None:
            live = await self._load_once(owner.tenant_id, digest)
            if live is not None:
                self.connections.put(digest, live)
        return live

    async def mappings_for(self, live: LiveConnection) -> list[Any]:
        """Compiled (name, expression) pairs that apply to this connection."""
        tenant = self.mappings.get(live.tenant_id)
        if tenant is None:
            self.store_queries += 1
            tenant = TenantMappings(await self.store.list_field_mappings(live.tenant_id))
            self.mappings.put(live.tenant_id, tenant)
        return tenant.for_connection(live)

    async def _load_once(self, tenant_id: str, digest: str) -> LiveConnection | None:
        """Concurrent misses for one connection share one load: one
        LiveConnection, so one token manager, so a cold burst makes one
        token request (and one query)."""
        key = (tenant_id, digest)
        loading = self._loading.get(key)
        if loading is None:
            loading = self._loading[key] = asyncio.ensure_future(self._load(tenant_id, digest))
            loading.add_done_callback(lambda done: self._loaded(key, done))
        # Shielded: one waiter giving up must not cancel the load for the rest.
        return await asyncio.shield(loading)

    def _loaded(self, key: tuple[str, str], done: "asyncio.Future[LiveConnection | None]") -> None:
        self._loading.pop(key, None)
        if not done.cancelled():
            done.exception()  # retrieved here too, in case every waiter gave up

    async def _load(self, tenant_id: str, digest: str) -> LiveConnection | None:
        self.store_queries += 1
        found = await self.store.find_connection(tenant_id, digest)
        if found is None:
            return None
        conn = found.connection
        key_id = found.credentials.key_id
        try:
            plain = self.keyring.decrypt(
                key_id, found.credentials.blob, credentials_aad(conn.tenant_id, conn.id)
            )
        except DecryptionError:
            # Our keyring, not the merchant's credentials: never blame the provider.
            log.error("connection %s: stored credentials under key %r cannot be decrypted", conn.id, key_id)
            raise credentials_unreadable(key_id, key_id in self.keyring.key_ids) from None
        try:
            provider_cls = registry.get(conn.provider)
            credentials, settings = provider_cls.parse_config(msgspec.json.decode(plain), conn.settings)
        except (registry.UnknownProvider, ConfigurationError, msgspec.DecodeError) as exc:
            # Operator-side problem (provider removed or changed): say so in
            # the log by connection id, but never which secret.
            log.error("connection %s cannot be loaded: %s", conn.id, type(exc).__name__)
            raise ApiError(
                502,
                "provider_auth_failed",
                "the connection's stored credentials cannot be used; recreate the connection",
                provider=conn.provider,
            ) from None
        tokens: ConnectionTokenStore | GrantTokenStore
        if conn.grant_key is not None:  # made by an OAuth install: the grant's token is shared
            tokens = GrantTokenStore(self.store, self.keyring, conn.grant_key)
        else:
            tokens = ConnectionTokenStore(self.store, self.keyring, conn.tenant_id, conn.id)
        refreshes = self.metrics.token_refreshes.labels(conn.provider)
        tokens.on_save.append(refreshes.inc)
        live = LiveConnection(
            id=conn.id,
            tenant_id=conn.tenant_id,
            provider_name=conn.provider,
            status=conn.status,
            provider=provider_cls(credentials, settings, self.http, tokens),
            token_digest=digest,
            slots=asyncio.Semaphore(self._connection_concurrency),
        )
        live.provider.retry_policy = self._retry_policy
        tokens.on_needs_reauth.append(lambda: setattr(live, "status", "needs_reauth"))
        return live

    # -- invalidation ---------------------------------------------------------

    def invalidate(self, kind: str, digest: str) -> None:
        if kind == "api_key":
            self.keys.pop(digest)
        elif kind == "connection":
            self.connections.pop(digest)
        elif kind == "field_mappings":
            self.mappings.pop(digest)

    async def start(self) -> None:
        last = await self.store.last_invalidation_id()
        # Caches are empty now; re-reading a short window costs nothing and
        # catches an invalidation whose transaction had not committed yet.
        self._invalidation_cursor = max(0, last - START_WINDOW)
        await self._read_feed()

    def _notified(self, item: Invalidation | None) -> None:
        """The store pushed an invalidation (or asks us to catch up)."""
        if item is not None:
            self.invalidate(item.kind, item.digest)
        self._wake.set()

    async def poll_forever(self) -> None:
        """Background task: follow the invalidation feed (woken at once by
        the store's push where it has one, else every poll interval) and
        flush last-used times."""
        listener = asyncio.create_task(self.store.watch_invalidations(self._notified))
        try:
            while True:
                try:
                    async with asyncio.timeout(self._poll_interval):
                        await self._wake.wait()
                except TimeoutError:
                    pass
                self._wake.clear()
                try:
                    await self._read_feed()
                    await self.flush_last_used()
                except Exception as exc:  # keep polling; the store may come back
                    log.warning("invalidation poll failed: %s", type(exc).__name__)
                    self._drop_if_stale()
        finally:
            listener.cancel()
            await asyncio.gather(listener, return_exceptions=True)

    async def poll_once(self) -> None:
        """Apply the feed now (after a write in this process, so what it
        invalidated fails here at once). If the feed cannot be read, every
        cache is dropped instead: nothing stale is served, nothing raises
        after the write itself succeeded."""
        try:
            await self._read_feed()
        except Exception as exc:
            log.warning("invalidation feed unreadable (%s); dropping caches", type(exc).__name__)
            self.drop_caches()
            return
        with contextlib.suppress(Exception):
            await self.flush_last_used()

    async def _read_feed(self) -> None:
        items = await self.store.invalidations_since(self._invalidation_cursor)
        self._feed_read_at = time.monotonic()
        seen = self._seen_above_cursor
        for item in items:
            if item.id in seen:
                continue
            self.invalidate(item.kind, item.digest)
            seen.add(item.id)
        self._advance_cursor()

    def _advance_cursor(self) -> None:
        seen = self._seen_above_cursor
        while self._invalidation_cursor + 1 in seen:
            self._invalidation_cursor += 1
            seen.discard(self._invalidation_cursor)
        if not seen:
            self._gap = None
            return
        missing, now = self._invalidation_cursor + 1, time.monotonic()
        if self._gap is None or self._gap[0] != missing:
            # ids missing..upto were handed out before an id we have seen
            # committed; give them GAP_GRACE seconds to commit too.
            self._gap = (missing, min(seen) - 1, now)
        elif now - self._gap[2] > GAP_GRACE:
            # They never will (rolled back): stop waiting for them.
            self._invalidation_cursor = self._gap[1]
            self._gap = None
            self._advance_cursor()

    def _drop_if_stale(self) -> None:
        if time.monotonic() - self._feed_read_at > STALE_AFTER:
            if len(self.keys) or len(self.connections) or len(self.mappings):
                log.error(
                    "invalidation feed unreadable for %.0fs; dropping caches", STALE_AFTER
                )
            self.drop_caches()

    def drop_caches(self) -> None:
        self.keys.clear()
        self.connections.clear()
        self.connection_ids.clear()
        self.mappings.clear()

    # -- last used (batched; never a write per request) ----------------------

    def _note_used(self, key_id: str) -> None:
        now = time.monotonic()
        if now - self._last_touched.get(key_id, -1e9) >= 60:
            self._last_touched[key_id] = now
            self._last_used[key_id] = now_text()

    async def flush_last_used(self) -> None:
        if self._last_used:
            pending, self._last_used = self._last_used, {}
            try:
                await self.store.touch_api_keys(pending)
            except BaseException:
                for key_id, at in pending.items():  # keep them for the next flush
                    self._last_used.setdefault(key_id, at)
                raise


def _challenge() -> dict[str, Any]:
    return {"WWW-Authenticate": 'ApiKey header="x-api-key"'}
