"""The bench report's arithmetic (bench/rounds.py): medians of alternating
rounds and the paired ratios; no timing is measured here."""

from __future__ import annotations

import pytest

from bench.rounds import median_of_rounds, paired_difference, paired_ratio, table


def run(rps: float, cpu: float, p50: float = 1.0, requests: int = 100, errors: int = 0) -> dict[str, float]:
    return {"rps": rps, "cpu_us_per_request": cpu, "p50_ms": p50, "p99_ms": p50 * 2,
            "requests": requests, "errors": errors}


def test_median_of_rounds_takes_each_measure_separately_and_sums_the_counts() -> None:
    summary = median_of_rounds([run(100, 300, requests=10), run(300, 100, errors=2), run(200, 200)])
    assert summary["rps"] == 200
    assert summary["cpu_us_per_request"] == 200
    assert summary["requests"] == 210
    assert summary["errors"] == 2
    assert summary["rounds"] == 3


def test_an_even_number_of_rounds_averages_the_middle_two() -> None:
    assert median_of_rounds([run(100, 1), run(200, 1)])["rps"] == 150


def test_no_rounds_is_an_error() -> None:
    with pytest.raises(ValueError):
        median_of_rounds([])


def test_ratio_pairs_each_round_with_its_own_baseline() -> None:
    # Round 2 ran on a loaded machine: both targets halved; the pairing keeps the ratio at 0.5.
    shoprelay = [run(500, 0), run(250, 0), run(500, 0)]
    forwarder = [run(1000, 0), run(500, 0), run(1000, 0)]
    assert paired_ratio(shoprelay, forwarder, "rps") == 0.5


def test_ratio_needs_as_many_rounds_on_both_sides() -> None:
    with pytest.raises(ValueError):
        paired_ratio([run(1, 1)], [run(1, 1), run(1, 1)], "rps")


def test_difference_is_the_median_of_the_rounds_differences() -> None:
    assert paired_difference([run(0, 0, p50=1.4), run(0, 0, p50=1.0), run(0, 0, p50=5.0)],
                             [run(0, 0, p50=1.0), run(0, 0, p50=0.9), run(0, 0, p50=1.0)], "p50_ms") == pytest.approx(0.4)


def test_table_aligns_columns_and_formats_numbers() -> None:
    text = table(["target", "req/s", "p50 ms"], [["direct", 8644.2, 0.2], ["shoprelay", 2274.0, None]], first_width=10)
    assert text.splitlines() == [
        "target      req/s  p50 ms",
        "direct       8644    0.20",
        "shoprelay    2274       -",
    ]
