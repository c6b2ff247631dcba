"""When a failed delivery is tried again, and when we give up.

The delays are the Standard Webhooks specification's example schedule
("Deliverability and reliability"): after the first attempt, 5 s, 5 min,
30 min, 2 h, 5 h, 10 h, 14 h, 20 h and 24 h, ten attempts over about 75
hours. Jitter only ever lengthens a delay (up to a fifth), so the schedule
is a floor: whatever the dice, the attempts span more than the 24 hours
issue 14 asks for, and receivers that failed together are not retried in
lockstep.
"""

from __future__ import annotations

import random

SCHEDULE: tuple[float, ...] = (5, 300, 1800, 7200, 18000, 36000, 50400, 72000, 86400)
JITTER = 0.2
# A Retry-After longer than this is read as this: a receiver must not be able
# to push its events past the end of the schedule in one answer.
MAX_RETRY_AFTER = 3600.0


def next_delay(
    attempts: int,
    retry_after: float | None = None,
    schedule: tuple[float, ...] = SCHEDULE,
    rng: random.Random | None = None,
) -> float | None:
    """Seconds until the next attempt after ``attempts`` failed ones, or None
    to give up. A receiver's ``Retry-After`` (the spec asks to honour it)
    can lengthen the wait, never shorten it."""
    if attempts < 1 or attempts > len(schedule):
        return None
    delay = schedule[attempts - 1] * (1 + (rng or random).uniform(0, JITTER))
    if retry_after is not None:
        delay = max(delay, min(retry_after, MAX_RETRY_AFTER))
    return delay


def span(schedule: tuple[float, ...] = SCHEDULE) -> float:
    """The shortest time from the first attempt to the last."""
    return float(sum(schedule))
