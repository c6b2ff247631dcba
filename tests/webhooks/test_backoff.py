"""The retry schedule spans more than 24 hours whatever the jitter, then gives up."""

from __future__ import annotations

import random

from proxy.webhooks import backoff


class Lowest(random.Random):
    def uniform(self, a, b):  # noqa: ANN001 - the least jitter the dice can give
        return a


class Highest(random.Random):
    def uniform(self, a, b):  # noqa: ANN001
        return b


def total(rng):
    delays, attempts = [], 1
    while (delay := backoff.next_delay(attempts, rng=rng)) is not None:
        delays.append(delay)
        attempts += 1
    return delays


def test_the_schedule_spans_at_least_a_day_then_gives_up():
    lowest = total(Lowest())
    assert sum(lowest) >= 24 * 3600
    assert sum(lowest) == backoff.span()
    assert len(lowest) == len(backoff.SCHEDULE)  # ... and it ends: ten attempts in all
    assert backoff.next_delay(len(backoff.SCHEDULE) + 1) is None
    highest = total(Highest())
    assert all(lo <= hi <= lo * (1 + backoff.JITTER) for lo, hi in zip(lowest, highest))
    assert lowest[0] == 5 and lowest == sorted(lowest)  # exponential-ish: never shorter


def test_retry_after_lengthens_a_wait_but_never_shortens_it_or_pushes_it_out_far():
    assert backoff.next_delay(1, retry_after=60, rng=Lowest()) == 60
    assert backoff.next_delay(5, retry_after=60, rng=Lowest()) == backoff.SCHEDULE[4]
    assert backoff.next_delay(1, retry_after=10**9, rng=Lowest()) == backoff.MAX_RETRY_AFTER
