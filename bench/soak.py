"""The soak: sustained load with a share of upstream calls faulted.

    python bench/soak.py [--minutes 10] [--fault-rate 0.2] [--concurrency 16]

A local Shopify GraphQL double answers normally, or (with the given
probability) with one of: 429 with and without Retry-After, 500/502/503, a
reset connection, a hang past the deadline, a slow body, truncated JSON, an
HTML error page. shoprelay serves it with a 3 s deadline. The report: request
count, status mix, p50/p99/max latency against the deadline, RSS and open
file descriptors at start and end, and any 500. Not run by CI.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import os
import pathlib
import random
import sys
import tempfile
import time

import aiohttp
from aiohttp import web

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from drive import cli, free_port, memory_mb, serve_env, serving  # noqa: E402
from upstream import ONE  # noqa: E402

DEADLINE = 3.0
FAULTS = ["429", "429-retry-after", "500", "502", "503", "reset", "hang", "slow", "truncated", "html"]


def make_upstream(fault_rate: float, tally: collections.Counter) -> web.Application:
    async def graphql(request: web.Request) -> web.StreamResponse:
        await request.read()
        if random.random() >= fault_rate:
            tally["ok"] += 1
            return web.Response(body=ONE, content_type="application/json")
        fault = random.choice(FAULTS)
        tally[fault] += 1
        if fault == "429":
            return web.json_response({"errors": "Too many requests"}, status=429)
        if fault == "429-retry-after":
            return web.json_response({"errors": "Too many requests"}, status=429, headers={"Retry-After": "1"})
        if fault in ("500", "502", "503"):
            return web.json_response({"errors": "Internal error"}, status=int(fault))
        if fault == "reset":
            request.transport.abort()  # type: ignore[union-attr]
            return web.Response()
        if fault == "hang":
            await asyncio.sleep(DEADLINE * 3)
            return web.Response(body=ONE, content_type="application/json")
        if fault == "slow":
            response = web.StreamResponse(headers={"Content-Type": "application/json"})
            await response.prepare(request)
            try:
                for byte in ONE[:40]:
                    await response.write(bytes([byte]))
                    await asyncio.sleep(0.25)
            except ConnectionResetError:
                pass  # shoprelay gave up at its deadline, as it should
            return response
        if fault == "truncated":
            return web.Response(body=ONE[: len(ONE) // 2], content_type="application/json")
        return web.Response(text="<html><body>502 Bad Gateway</body></html>", status=200, content_type="text/html")

    app = web.Application()
    app.router.add_post("/admin/api/{version}/graphql.json", graphql)
    return app


def rss_mb(pid: int) -> float:
    return memory_mb(pid, "VmRSS")


def open_fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


async def soak(args: argparse.Namespace) -> dict:
    tally: collections.Counter = collections.Counter()
    runner = web.AppRunner(make_upstream(args.fault_rate, tally), access_log=None)
    await runner.setup()
    up_port = free_port()
    await web.TCPSite(runner, "127.0.0.1", up_port).start()
    tmp = pathlib.Path(tempfile.mkdtemp(prefix="shoprelay-soak-"))
    env = serve_env(
        tmp, "soak", allow_private_networks="true", log_format="json", request_timeout=str(DEADLINE),
        connection_concurrency="64",
    )
    tenant = cli(env, "tenants", "create", "--name", "soak")
    key = cli(env, "api-keys", "create", "--tenant", tenant["id"])["api_key"]
    # Several connections (stores) on one upstream host, as many merchants would be.
    # --no-verify: the upstream runs on this loop, which cli() blocks, and it faults.
    tokens = [
        cli(env, "connections", "create", "--tenant", tenant["id"], "--provider", "shopify", "--no-verify",
            "--credentials", '{"access_token": "shpat_soak"}',
            "--settings", json.dumps({"shop": f"soak-{n}", "base_url": f"http://127.0.0.1:{up_port}"}))["connection_token"]
        for n in range(4)
    ]
    try:
        async with serving(env, tmp / "server.log") as (base, server):
            statuses: collections.Counter = collections.Counter()
            latencies: list[float] = []
            codes: collections.Counter = collections.Counter()
            start_rss, start_fds = rss_mb(server.pid), open_fds(server.pid)
            samples = []
            end = time.monotonic() + args.minutes * 60

            async def worker(session: aiohttp.ClientSession) -> None:
                while time.monotonic() < end:
                    headers = {"x-api-key": key, "x-connection-token": random.choice(tokens)}
                    t0 = time.monotonic()
                    async with session.get(f"{base}/ecommerce/customers/544365967", headers=headers) as response:
                        body = await response.read()
                    latencies.append(time.monotonic() - t0)
                    statuses[response.status] += 1
                    if response.status != 200:
                        codes[json.loads(body).get("code", "?")] += 1

            async def sampler() -> None:
                while time.monotonic() < end:
                    samples.append((round(time.monotonic() - (end - args.minutes * 60)), rss_mb(server.pid)))
                    await asyncio.sleep(30)

            timeout = aiohttp.ClientTimeout(total=DEADLINE * 4)
            async with aiohttp.ClientSession(timeout=timeout) as session:
                await asyncio.gather(sampler(), *(worker(session) for _ in range(args.concurrency)))
            await asyncio.sleep(1)
            latencies.sort()
            pick = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000  # noqa: E731
            return {
                "minutes": args.minutes, "fault_rate": args.fault_rate, "concurrency": args.concurrency,
                "requests": len(latencies), "statuses": dict(statuses), "codes": dict(codes),
                "upstream_outcomes": dict(tally),
                "p50_ms": round(pick(0.5), 1), "p99_ms": round(pick(0.99), 1), "max_ms": round(latencies[-1] * 1000, 1),
                "deadline_ms": DEADLINE * 1000,
                "rss_mb_start": round(start_rss, 1), "rss_mb_end": round(rss_mb(server.pid), 1),
                "rss_samples": samples,
                "open_fds_start": start_fds, "open_fds_end": open_fds(server.pid),
                "server_errors_500": statuses.get(500, 0),
            }
    finally:
        await runner.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--fault-rate", type=float, default=0.2)
    parser.add_argument("--concurrency", type=int, default=16)
    print(json.dumps(asyncio.run(soak(parser.parse_args())), indent=2))


if __name__ == "__main__":
    main()
