"""Garbage-collector settings for a long-running server process.

A request allocates a few thousand short-lived objects, so CPython's default
young-generation threshold (700 allocations) runs a collection on nearly
every request, and each older-generation pass walks every object the imports
and the startup created. Measured with wrk against a local upstream: about
6% less CPU per request with the settings below (5 alternating runs with
and without: 359 against 381 µs).
"""

from __future__ import annotations

import gc

# Young collections every 20,000 allocations instead of 700: a few requests'
# worth of cycles wait a little longer, bounded, for far fewer passes.
YOUNG_THRESHOLD = 20_000

_settled = False


def settle() -> None:
    """Once per process, after startup: move everything alive so far (modules,
    caches, the runtime) out of the collector's sight, and collect less often."""
    global _settled
    if _settled:
        return
    _settled = True
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, middle, old)
