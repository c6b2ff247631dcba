"""Pure arithmetic of the bench report (no I/O, tested in tests/bench/):
the median of alternating rounds, the ratios of two targets, and a table."""

from __future__ import annotations

import statistics
from typing import Iterable, Mapping, Sequence

# The per-run numbers a round holds, each summarised by its median.
MEASURES = ("rps", "cpu_us_per_request", "p50_ms", "p99_ms")


def median_of_rounds(runs: Sequence[Mapping[str, float]], measures: Iterable[str] = MEASURES) -> dict[str, float]:
    """Each measure's median over the rounds' runs, plus the runs' total
    requests and errors (every round counts there)."""
    if not runs:
        raise ValueError("no rounds to summarise")
    summary = {name: statistics.median(run[name] for run in runs) for name in measures if name in runs[0]}
    summary["requests"] = sum(run["requests"] for run in runs)
    summary["errors"] = sum(run["errors"] for run in runs)
    summary["rounds"] = len(runs)
    return summary


def paired_ratio(numerators: Sequence[Mapping[str, float]], denominators: Sequence[Mapping[str, float]],
                 measure: str) -> float:
    """The median over rounds of ``numerator / denominator`` of ``measure``,
    each round's pair run back to back (so the machine's noise of the
    moment hits both alike)."""
    if len(numerators) != len(denominators) or not numerators:
        raise ValueError("ratios pair the rounds of two targets one for one")
    return statistics.median(n[measure] / d[measure] for n, d in zip(numerators, denominators))


def paired_difference(minuends: Sequence[Mapping[str, float]], subtrahends: Sequence[Mapping[str, float]],
                      measure: str) -> float:
    """The median over rounds of ``minuend - subtrahend`` of ``measure``."""
    if len(minuends) != len(subtrahends) or not minuends:
        raise ValueError("differences pair the rounds of two targets one for one")
    return statistics.median(a[measure] - b[measure] for a, b in zip(minuends, subtrahends))


def table(header: Sequence[str], rows: Iterable[Sequence[object]], first_width: int = 14) -> str:
    """Rows under a header, the first column left-aligned, numbers right-
    aligned to the wider of the header and the values (floats to 2 places
    below 10, else none; None as '-')."""

    def cell(value: object) -> str:
        if value is None:
            return "-"
        if isinstance(value, float):
            return f"{value:.2f}" if abs(value) < 10 else f"{value:.0f}"
        return str(value)

    body = [[cell(v) for v in row] for row in rows]
    widths = [max([len(header[i])] + [len(r[i]) for r in body]) for i in range(len(header))]
    widths[0] = max(widths[0], first_width)
    lines = []
    for row in [list(header), *body]:
        lines.append(row[0].ljust(widths[0]) + "".join("  " + v.rjust(w) for v, w in zip(row[1:], widths[1:])))
    return "\n".join(lines)
