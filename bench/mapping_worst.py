"""/health latency while the worst field mappings run on a 100-customer page.

    python bench/mapping_worst.py [--pages 10] [--expression EXPR ...]

Starts shoprelay (one process, SQLite) with a sandbox connection, then, per
scenario, defines the scenario's mappings and requests ``limit=100`` pages
one after another while a second client asks ``/health`` in a loop on its own
connection. Prints, per scenario: page latency, body size, the
``x-field-mapping-errors`` header, and the /health answers that overlapped a
page (count, p50, p99, max). ``--expression`` replaces the scenarios with one
made of the given expressions (e.g. to measure an older build with the
issue's attack). Not run by CI.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import pathlib
import statistics
import sys
import tempfile
import time

import aiohttp

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from drive import cli, serve_env, serving  # noqa: E402

F8 = "[@,@,@,@,@,@,@,@]"
# The worst a tenant can store (see proxy/mapping_limits.py): 64-fold growth
# written out by the response, by to_string, and serialised six levels deep.
WORST = [
    f"{F8} | {F8}",
    f"to_string({F8} | [@,@,@,@])",
    "to_string([to_string([to_string([to_string([to_string([to_string(@)])])])])])",
]
SCENARIOS = {
    "none": [],
    "legitimate": ["addresses[?kind=='billing'].city | [0]", "join(' ', [given_name, family_name])"],
    "worst x3": WORST,
    "worst x30": WORST * 10,
}


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else float("nan")


async def idle_health(base: str, seconds: float = 1.0) -> dict:
    """/health alone, for comparison."""
    latencies: list[float] = []
    async with aiohttp.ClientSession() as session:
        end = time.perf_counter() + seconds
        while time.perf_counter() < end:
            start = time.perf_counter()
            async with session.get(f"{base}/health") as response:
                await response.read()
            latencies.append((time.perf_counter() - start) * 1000)
    return {"health_idle_ms_p50": round(percentile(latencies, 0.5), 2),
            "health_idle_ms_p99": round(percentile(latencies, 0.99), 2)}


async def measure(base: str, key: str, token: str, pages: int) -> dict:
    windows: list[tuple[float, float]] = []
    page_ms: list[float] = []
    health: list[tuple[float, float]] = []  # (start, end)
    done = asyncio.Event()
    info: dict = {}

    async def probe() -> None:
        async with aiohttp.ClientSession() as session:
            while not done.is_set():
                start = time.perf_counter()
                async with session.get(f"{base}/health") as response:
                    await response.read()
                health.append((start, time.perf_counter()))

    async def load() -> None:
        headers = {"x-api-key": key, "x-connection-token": token}
        async with aiohttp.ClientSession() as session:
            for _ in range(pages):
                start = time.perf_counter()
                async with session.get(f"{base}/ecommerce/customers?limit=100", headers=headers) as response:
                    body = await response.read()
                    info["status"] = response.status
                    info["header"] = response.headers.get("x-field-mapping-errors")
                end = time.perf_counter()
                windows.append((start, end))
                page_ms.append((end - start) * 1000)
                info["body_bytes"] = len(body)
                await asyncio.sleep(0.05)
        done.set()

    prober = asyncio.create_task(probe())
    await asyncio.sleep(0.3)  # the prober's connection is open and warm
    await load()
    await prober
    during = [
        (end - start) * 1000
        for start, end in health
        if any(start < w_end and end > w_start for w_start, w_end in windows)
    ]
    return {
        **info,
        "page_ms_p50": round(statistics.median(page_ms), 1),
        "page_ms_max": round(max(page_ms), 1),
        "health_during_pages": len(during),
        "health_ms_p50": round(percentile(during, 0.5), 2),
        "health_ms_p99": round(percentile(during, 0.99), 2),
        "health_ms_max": round(max(during, default=float("nan")), 2),
    }


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pages", type=int, default=10)
    parser.add_argument("--expression", action="append", help="replace the scenarios with these mappings")
    args = parser.parse_args()
    scenarios = {"given": args.expression} if args.expression else SCENARIOS
    tmp = pathlib.Path(tempfile.mkdtemp(prefix="shoprelay-mapping-bench-"))
    env = serve_env(tmp, "bench")
    async with serving(env, tmp / "server.log") as (base, _):
        print(json.dumps({"scenario": "idle", **await idle_health(base)}), flush=True)
        for label, expressions in scenarios.items():
            # A tenant per scenario, so each sees only its own mappings.
            tenant = cli(env, "tenants", "create", "--name", label)["id"]
            key = cli(env, "api-keys", "create", "--tenant", tenant)["api_key"]
            token = cli(env, "connections", "create", "--tenant", tenant, "--provider", "sandbox",
                        "--credentials", "{}")["connection_token"]
            for n, expression in enumerate(expressions):
                cli(env, "field-mappings", "create", "--tenant", tenant, "--name", f"f{n}",
                    "--provider", "sandbox", "--expression", expression)
            result = await measure(base, key, token, args.pages)
            print(json.dumps({"scenario": label, "mappings": len(expressions), **result}), flush=True)


if __name__ == "__main__":
    asyncio.run(main())
