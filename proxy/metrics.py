"""Prometheus metrics (text format at ``GET /metrics``).

Per process: with several workers or replicas, scrape each one. Labels are
bounded (route templates, providers, status codes): never ids or tenants.
"""

from __future__ import annotations

import itertools
import math
from bisect import bisect_left
from typing import Any, Callable, Iterable, Sequence

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.utils import floatToGoString

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)


class _Count:
    __slots__ = ("value",)

    def __init__(self) -> None:
        self.value = 0.0

    def inc(self, amount: float = 1.0) -> None:
        self.value += amount


class _Distribution:
    __slots__ = ("bounds", "counts", "sum")

    def __init__(self, bounds: Sequence[float]) -> None:
        self.bounds = bounds
        self.counts = [0] * (len(bounds) + 1)  # the last one is +Inf
        self.sum = 0.0

    def observe(self, value: float) -> None:
        # The first bucket whose upper bound ("le") is >= value.
        self.counts[bisect_left(self.bounds, value)] += 1
        self.sum += value


class _Family:
    """A labelled counter or histogram kept as plain numbers and read when
    /metrics is scraped. prometheus_client's own metrics validate labels and
    take a lock on every update; these are updated several times per request,
    so an update here is one dict lookup and an addition. Only the event
    loop's thread updates them (one loop per process), so no lock is needed.
    Label values are bounded (see above), so the children are too."""

    def __init__(
        self, name: str, documentation: str, labelnames: Sequence[str], buckets: Sequence[float] | None = None
    ) -> None:
        self.name = name
        self.documentation = documentation
        self.labelnames = tuple(labelnames)
        self.buckets = tuple(buckets) if buckets is not None else None
        self._children: dict[tuple[str, ...], Any] = {}

    def labels(self, *values: str) -> Any:
        child = self._children.get(values)
        if child is None:
            if len(values) != len(self.labelnames):
                raise ValueError(f"{self.name} takes labels {self.labelnames}")
            child = _Count() if self.buckets is None else _Distribution(self.buckets)
            self._children[values] = child
        return child

    def collect(self) -> Metric:
        # No "created" timestamps: Prometheus does not want _created series.
        children = list(self._children.items())
        if self.buckets is None:
            counter = CounterMetricFamily(self.name, self.documentation, labels=self.labelnames)
            for values, count in children:
                counter.add_metric(values, count.value)
            return counter
        histogram = HistogramMetricFamily(self.name, self.documentation, labels=self.labelnames)
        bounds = [floatToGoString(b) for b in (*self.buckets, math.inf)]
        for values, dist in children:
            histogram.add_metric(values, list(zip(bounds, itertools.accumulate(dist.counts))), dist.sum)
        return histogram


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        ProcessCollector(registry=self.registry)
        self.requests = _Family(
            "shoprelay_http_requests_total", "HTTP requests answered, by route template, method and status code",
            ["route", "method", "code"],
        )
        self.latency = _Family(
            "shoprelay_http_request_duration_seconds", "Time to answer an HTTP request, in seconds",
            ["route", "method"], _BUCKETS,
        )
        self.upstream = _Family(
            "shoprelay_upstream_calls_total",
            "Provider calls by outcome: ok, or the error code the call answered with (provider_timeout, ...)",
            ["provider", "outcome"],
        )
        self.upstream_latency = _Family(
            "shoprelay_upstream_duration_seconds", "Time of a provider call in seconds, retries included",
            ["provider"], _BUCKETS,
        )
        self.retries = _Family("shoprelay_upstream_retries_total", "Provider calls retried", ["provider"])
        self.cache = _Family(
            "shoprelay_cache_lookups_total", "Hot-path cache lookups, by cache and hit or miss", ["cache", "result"]
        )
        self.token_refreshes = _Family(
            "shoprelay_token_refreshes_total", "OAuth access tokens minted", ["provider"]
        )
        self.webhook_attempts = _Family(
            "shoprelay_webhook_attempts_total",
            "Webhook delivery attempts by outcome: delivered, retry (failed, tried again later), failed (given up)",
            ["outcome"],
        )
        families = [
            self.requests, self.latency, self.upstream, self.upstream_latency,
            self.retries, self.cache, self.token_refreshes, self.webhook_attempts,
        ]

        class Families:
            def collect(self) -> Iterable[Metric]:
                return [family.collect() for family in families]

        self.registry.register(Families())

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
