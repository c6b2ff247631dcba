"""The webhook delivery worker: sends the outbox (``webhook_events``).

One per process, started and stopped with the app's lifespan. Everything it
knows is in the store, so it survives restarts, and several processes (or
replicas on one PostgreSQL) share the work:

* it *claims* due events (``claim_due_events``): each claimed row carries a
  lease, and no other process claims it until the lease ends (PostgreSQL
  also skips rows another transaction is claiming: ``FOR UPDATE SKIP
  LOCKED``). The lease outlasts an attempt (the timeout bounds it), so one
  event is in one process's hands at a time; a process that dies holding one
  leaves it to be claimed again when the lease ends: at least once;
* it POSTs the stored body, signed (``signing``), through the guarded
  upstream client: the SSRF guard checks the tenant's URL as it checks a
  store's (private addresses only with ``SHOPRELAY_ALLOW_PRIVATE_NETWORKS``),
  at connect time, on every attempt; redirects are not followed;
* a 2xx is delivered; anything else (another status, a timeout, a refused
  or failed connection) is retried on the ``backoff`` schedule until it
  gives up (410 Gone gives up at once: the receiver asks us to stop).

A slow receiver holds one slot for at most ``timeout`` seconds; at most
``concurrency`` attempts run at once, and at most a quarter of them for one
tenant, so one tenant's dead or slow endpoint cannot hold back another's
events: claims leave out the tenants at their share, whose events wait in
the store untouched.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import time
from datetime import datetime, timedelta, timezone

from keys.vault import Keyring
from providers import calls
from providers.errors import ProviderError, ProviderTimeout, UpstreamBlocked
from providers.http import UpstreamClient, retry_after_seconds

from .. import tenant_settings
from ..accounts import UnreadableCredentials
from ..metrics import Metrics
from ..store import Store, StoreUnavailable
from ..store.records import WebhookEvent
from . import backoff, signing

log = logging.getLogger("shoprelay.webhooks")

POLL_INTERVAL = 1.0  # seconds between looks at the outbox when nothing wakes us
LEASE_MARGIN = 30.0  # beyond the attempt's timeout: reading the secret, recording the result
GONE = 410


def _at(seconds: float = 0.0) -> str:
    """A time ``seconds`` from now, as the store writes times (proxy.clock)."""
    moment = datetime.now(timezone.utc) + timedelta(seconds=seconds)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


class Attempt:
    """What one POST came to."""

    __slots__ = ("status", "error", "retry_after")

    def __init__(self, status: int | None, error: str | None, retry_after: float | None = None) -> None:
        self.status = status
        self.error = error
        self.retry_after = retry_after

    @property
    def delivered(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


class DeliveryWorker:
    def __init__(
        self, store: Store, keyring: Keyring, http: UpstreamClient, *, timeout: float = 15.0, concurrency: int = 8,
        metrics: Metrics | None = None,
    ) -> None:
        self.store = store
        self.metrics = metrics
        self.keyring = keyring
        self.http = http
        self.timeout = timeout
        self.concurrency = concurrency
        self.per_tenant = max(1, concurrency // 4)
        self.lease = timeout + LEASE_MARGIN
        # Attributes, not constants, so tests can run the schedule in milliseconds.
        self.poll_interval = POLL_INTERVAL
        self.schedule = backoff.SCHEDULE
        self._wake = asyncio.Event()
        self._running: set[asyncio.Task[None]] = set()
        self._tenants: collections.Counter[str] = collections.Counter()
        self._store_down = False

    def wake(self) -> None:
        """Look at the outbox now (an event was just written, or a slot freed)."""
        self._wake.set()

    async def run_forever(self) -> None:
        try:
            while True:
                try:
                    await self.dispatch()
                    if self._store_down:
                        self._store_down = False
                        log.info("webhooks: the store answers again; deliveries resume")
                except StoreUnavailable:
                    if not self._store_down:  # once per outage, not once per poll
                        self._store_down = True
                        log.warning("webhooks: the store does not answer; deliveries wait for it")
                except Exception:  # a bug must not stop deliveries for good
                    log.exception("webhooks: claiming due events failed")
                try:
                    async with asyncio.timeout(self.poll_interval):
                        await self._wake.wait()
                except TimeoutError:
                    pass
                self._wake.clear()
        finally:
            for task in self._running:
                task.cancel()
            # Cancelled mid-attempt: the lease runs out and another claim sends it again.
            await asyncio.gather(*self._running, return_exceptions=True)

    async def dispatch(self) -> None:
        """Claim due events for the free slots and start them. Tenants at
        their share are left out of the claim, so their events wait in the
        store untouched while others' go out."""
        while (free := self.concurrency - len(self._running)) > 0:
            busy = [t for t, running in self._tenants.items() if running >= self.per_tenant]
            # At most a share per claim, so one batch rarely overfills a tenant.
            events = await self.store.claim_due_events(_at(), _at(self.lease), min(free, self.per_tenant), busy)
            if not events:
                return
            for event in events:
                if self._tenants[event.tenant_id] >= self.per_tenant:
                    await self._put_back(event)  # the batch held more than its share
                else:
                    self._start(event)

    def _start(self, event: WebhookEvent) -> None:
        self._tenants[event.tenant_id] += 1
        task = asyncio.create_task(self.deliver(event))
        self._running.add(task)
        task.add_done_callback(lambda done: self._finished(done, event.tenant_id))

    def _finished(self, task: "asyncio.Task[None]", tenant_id: str) -> None:
        self._running.discard(task)
        self._tenants[tenant_id] -= 1
        if self._tenants[tenant_id] <= 0:
            del self._tenants[tenant_id]
        self._wake.set()

    async def _put_back(self, event: WebhookEvent) -> None:
        """Release a claimed event untried, as due as it was: its tenant is
        at its share now, so the next claims leave it be until a slot frees."""
        await self.store.record_delivery(
            event.id, delivered=False, gave_up=False, attempts=event.attempts,
            last_status=event.last_status, last_error=event.last_error,
            next_attempt_at=event.next_attempt_at, at=_at(),
        )

    # -- one event ----------------------------------------------------------

    async def deliver(self, event: WebhookEvent) -> None:
        """One attempt at ``event`` and its record. Never raises: a store
        failure leaves the event leased, to be claimed again later."""
        try:
            target = await self._target(event.tenant_id)
            if target is None:
                # Nothing was sent, so no attempt is counted.
                await self._record(event, Attempt(None, "the tenant has no webhook_url"), give_up=True, tried=False)
                return
            url, secret = target
            if secret is None:
                attempt = Attempt(None, "the webhook secret cannot be read with this server's keyring")
            else:
                attempt = await self.post(url, secret, event)
            await self._record(event, attempt, give_up=attempt.status == GONE)
        except StoreUnavailable:
            log.warning("webhooks: event %s: the store does not answer; it is retried when its lease ends", event.id)
        except Exception:
            log.exception("webhooks: event %s: delivery failed unexpectedly", event.id)

    async def _target(self, tenant_id: str) -> tuple[str, str | None] | None:
        """The tenant's URL and secret as they are now (both may have changed
        since the event was written); None if there is no URL."""
        tenant = await self.store.get_tenant(tenant_id)
        if tenant is None or not tenant.webhook_url:
            return None
        try:
            secret = await tenant_settings.signing_secret(self.store, self.keyring, tenant_id)
        except UnreadableCredentials as exc:
            log.error("webhooks: tenant %s: the webhook secret under key %r cannot be decrypted", tenant_id, exc.key_id)
            return tenant.webhook_url, None
        return (tenant.webhook_url, secret) if secret is not None else None

    async def post(self, url: str, secret: str, event: WebhookEvent) -> Attempt:
        body = event.payload.encode()
        headers = signing.headers(secret, event.id, int(time.time()), body)
        # A record of its own: the deadline bounds connect, send and the whole
        # answer, and no store name, so the providers' circuit breaker stays out.
        calls.begin(self.timeout, "webhooks")
        try:
            async with asyncio.timeout(self.timeout):
                response = await self.http.request("POST", url, headers=headers, data=body, follow_redirects=False)
        except (TimeoutError, ProviderTimeout):
            return Attempt(None, f"no answer within {self.timeout:g} s")
        except UpstreamBlocked as exc:
            return Attempt(None, f"refused by the SSRF guard: {exc.message}")
        except ProviderError as exc:
            # The HTTP layer speaks of "the provider"; here it is the endpoint.
            return Attempt(None, exc.message.replace("the provider", "the endpoint"))
        if 200 <= response.status < 300:
            return Attempt(response.status, None)
        error = f"the endpoint answered {response.status}"
        if 300 <= response.status < 400:
            error += " (a redirect: not followed; update the webhook_url)"
        return Attempt(response.status, error, retry_after_seconds(response.headers.get("Retry-After")))

    async def _record(self, event: WebhookEvent, attempt: Attempt, *, give_up: bool, tried: bool = True) -> None:
        attempts = event.attempts + (1 if tried else 0)
        if attempt.delivered:
            await self.store.record_delivery(
                event.id, delivered=True, gave_up=False, attempts=attempts, last_status=attempt.status,
                last_error=None, next_attempt_at=event.next_attempt_at, at=_at(),
            )
            self._count("delivered")
            log.info("webhooks: event %s (%s) delivered to tenant %s after %d attempt(s)",
                     event.id, event.type, event.tenant_id, attempts)
            return
        delay = None if give_up else backoff.next_delay(attempts, attempt.retry_after, self.schedule)
        await self.store.record_delivery(
            event.id, delivered=False, gave_up=delay is None, attempts=attempts, last_status=attempt.status,
            last_error=attempt.error,
            next_attempt_at=_at(delay) if delay is not None else event.next_attempt_at, at=_at(),
        )
        if tried:
            self._count("failed" if delay is None else "retry")
        if delay is None:
            # Dropped untried (no URL any more) is the tenant's choice, not a failure.
            log.log(logging.ERROR if tried else logging.INFO,
                    "webhooks: event %s (%s) for tenant %s: gave up after %d attempt(s): %s",
                    event.id, event.type, event.tenant_id, attempts, attempt.error)
        else:
            log.warning("webhooks: event %s (%s) for tenant %s: attempt %d failed (%s); next in %.0f s",
                        event.id, event.type, event.tenant_id, attempts, attempt.error, delay)

    def _count(self, outcome: str) -> None:
        if self.metrics is not None:
            self.metrics.webhook_attempts.labels(outcome).inc()

