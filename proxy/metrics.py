"""Prometheus metrics (text format at ``GET /metrics``).

Per process: with several workers or replicas, scrape each one. Labels are
bounded (route templates, providers, status codes): never ids or tenants.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.process_collector import ProcessCollector

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)


class _Family:
    """A labelled metric whose children are looked up once: prometheus_client's
    ``labels()`` validates and locks on every call, a cost on every request.
    Label values are bounded (see above), so the memo is too."""

    def __init__(self, metric: Counter | Histogram) -> None:
        self.metric = metric
        self._children: dict[tuple[str, ...], Any] = {}

    def labels(self, *values: str) -> Any:
        child = self._children.get(values)
        if child is None:
            child = self._children[values] = self.metric.labels(*values)
        return child


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        ProcessCollector(registry=self.registry)
        r = self.registry
        self.requests = _Family(Counter(
            "shoprelay_requests", "HTTP requests served", ["route", "method", "status"], registry=r
        ))
        self.latency = _Family(Histogram(
            "shoprelay_request_duration_seconds", "Time to answer", ["route"], buckets=_BUCKETS, registry=r
        ))
        self.upstream = _Family(Counter(
            "shoprelay_upstream_calls", "Provider calls by outcome", ["provider", "outcome"], registry=r
        ))
        self.upstream_latency = _Family(Histogram(
            "shoprelay_upstream_duration_seconds", "Provider call time, retries included",
            ["provider"], buckets=_BUCKETS, registry=r,
        ))
        self.retries = _Family(Counter("shoprelay_upstream_retries", "Provider retries", ["provider"], registry=r))
        self.cache = _Family(Counter(
            "shoprelay_cache_lookups", "Hot-path cache lookups", ["cache", "result"], registry=r
        ))
        self.token_refreshes = _Family(Counter(
            "shoprelay_token_refreshes", "OAuth access tokens minted", ["provider"], registry=r
        ))

    def watch_circuits(self, open_count: Callable[[], int]) -> None:
        class Circuits:
            def collect(self) -> Iterable[GaugeMetricFamily]:
                yield GaugeMetricFamily(
                    "shoprelay_circuits_open", "Upstreams whose circuit is open or probing",
                    value=open_count(),
                )

        self.registry.register(Circuits())

    def render(self) -> bytes:
        return generate_latest(self.registry)


def outcome(status: int) -> str:
    return f"{status // 100}xx"
