"""The benchmark: one command, one machine, one report.

    python bench/run.py [--seconds 10] [--connections 32] [--scaling 10,1000,10000,100000]

Starts a local Shopify GraphQL upstream, shoprelay (production settings: JSON
logs at WARNING, no debug), and a bare Starlette + aiohttp forwarder; drives
each with wrk for the same time and concurrency; reports requests/s, p50/p99
latency and peak RSS for direct-to-upstream, forwarder and shoprelay, their
ratios, the list endpoint, the database queries made while warm, and latency
as the number of stored connections grows. Needs ``wrk`` (``apt-get install
wrk``). Not run by CI.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import os
import pathlib
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from typing import AsyncIterator

ROOT = pathlib.Path(__file__).resolve().parent.parent
PYTHON = sys.executable
LUA = """
wrk.method = os.getenv("WRK_METHOD") or "GET"
wrk.body = os.getenv("WRK_BODY")
if os.getenv("WRK_API_KEY") then
  wrk.headers["x-api-key"] = os.getenv("WRK_API_KEY")
  wrk.headers["x-connection-token"] = os.getenv("WRK_TOKEN")
end
if os.getenv("WRK_SHOPIFY") then
  wrk.headers["X-Shopify-Access-Token"] = "shpat_bench"
  wrk.headers["Content-Type"] = "application/json"
end
done = function(summary, latency, requests)
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write
    + summary.errors.status + summary.errors.timeout
  io.write(string.format('JSON{"requests":%d,"duration_us":%d,"errors":%d,"p50_us":%d,"p99_us":%d,"mean_us":%f}\\n',
    summary.requests, summary.duration, errors, latency:percentile(50), latency:percentile(99), latency.mean))
end
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            urllib.request.urlopen(url, timeout=1)
            return
        except Exception as exc:  # noqa: BLE001 - any failure means not up yet
            if getattr(exc, "code", None):  # an HTTP error answer: the server is up
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"{url} did not come up") from exc
            time.sleep(0.1)


def serve_env(tmp: pathlib.Path, name: str, **settings: str) -> dict[str, str]:
    """The environment a bench script runs shoprelay and its CLI in: a new
    SQLite file and key named ``name`` in ``tmp``, WARNING logs, no request
    rate limits; ``settings`` add or override ``SHOPRELAY_<NAME>``."""
    return {
        **os.environ, "PYTHONPATH": str(ROOT),
        "SHOPRELAY_DATABASE_URL": f"sqlite:///{tmp / f'{name}.db'}",
        "SHOPRELAY_ENCRYPTION_KEYS": f"{name}:" + base64.b64encode(os.urandom(32)).decode(),
        "SHOPRELAY_LOG_LEVEL": "WARNING", "SHOPRELAY_TENANT_RPS": "0", "SHOPRELAY_CONNECTION_RPS": "0",
        **{f"SHOPRELAY_{key.upper()}": value for key, value in settings.items()},
    }


@contextlib.asynccontextmanager
async def serving(env: dict[str, str], log: pathlib.Path) -> AsyncIterator[tuple[str, subprocess.Popen]]:
    """``shoprelay serve`` on a free port with ``env``, its stderr in ``log``;
    yields its base URL and process once /health answers, stops it on exit."""
    port = free_port()
    with open(log, "w") as stderr:
        server = subprocess.Popen([PYTHON, "-m", "proxy.cli", "serve", "--port", str(port)], env=env, cwd=ROOT,
                                  stderr=stderr)
        try:
            base = f"http://127.0.0.1:{port}"
            # In a thread: the caller's loop may be serving an upstream meanwhile.
            await asyncio.to_thread(wait_http, f"{base}/health")
            yield base, server
        finally:
            server.terminate()
            server.wait(10)


def peak_rss_mb(pid: int) -> float:
    for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def wrk(url: str, seconds: int, connections: int, env: dict[str, str], script: str) -> dict[str, float]:
    out = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "-s", script, url],
        capture_output=True, text=True, env={**os.environ, **env}, check=True,
    ).stdout
    line = next(l for l in out.splitlines() if l.startswith("JSON"))
    data = json.loads(line[4:])
    return {
        "rps": data["requests"] / (data["duration_us"] / 1e6),
        "p50_ms": data["p50_us"] / 1000,
        "p99_ms": data["p99_us"] / 1000,
        "errors": data["errors"],
        "requests": data["requests"],
    }


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far."""
    fields = pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wrk_measured(pid: int, url: str, seconds: int, connections: int, env: dict[str, str], script: str) -> dict:
    """wrk, plus the CPU time the serving process spent per request: on a
    shared 2-core machine that is the fair measure of what each layer costs."""
    before = cpu_seconds(pid)
    result = wrk(url, seconds, connections, env, script)
    result["cpu_us_per_request"] = (cpu_seconds(pid) - before) / max(result["requests"], 1) * 1e6
    return result


def cli(env: dict[str, str], *args: str) -> dict:
    out = subprocess.run(
        [PYTHON, "-m", "proxy.cli", *args], capture_output=True, text=True, env=env, check=True, cwd=ROOT
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def metric(base: str, name: str, labels: str) -> float:
    text = urllib.request.urlopen(f"{base}/metrics").read().decode()
    for line in text.splitlines():
        if line.startswith(name + "{") and labels in line:
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def populate(database: str, keys: str, count: int, upstream: str) -> None:
    """Add ``count`` shopify connections spread over 100 tenants, directly through the store."""
    sys.path.insert(0, str(ROOT))
    from keys.vault import parse_keyring
    from proxy import accounts
    from proxy.store import open_store

    async def go() -> None:
        store = open_store(database)
        await store.migrate()
        ring = parse_keyring(keys)
        tenants = [await accounts.create_tenant(store, f"bulk-{n}") for n in range(min(100, count))]
        for n in range(count):
            await accounts.create_connection(
                store, ring, tenants[n % len(tenants)].id, "shopify",
                {"access_token": f"shpat_bulk_{n}"}, {"shop": f"bulk-{n}", "base_url": upstream},
            )
        await store.close()

    asyncio.run(go())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--scaling", default="10,1000,10000,100000")
    args = parser.parse_args()
    tmp = pathlib.Path(tempfile.mkdtemp(prefix="shoprelay-bench-"))
    script = tmp / "bench.lua"
    script.write_text(LUA)
    keys = "bench:" + __import__("base64").b64encode(os.urandom(32)).decode()
    up_port, fw_port, sr_port = free_port(), free_port(), free_port()
    upstream = f"http://127.0.0.1:{up_port}"
    database = f"sqlite:///{tmp / 'bench.db'}"
    env = {
        **os.environ,
        "SHOPRELAY_DATABASE_URL": database,
        "SHOPRELAY_ENCRYPTION_KEYS": keys,
        "SHOPRELAY_ALLOW_PRIVATE_NETWORKS": "true",
        "SHOPRELAY_LOG_LEVEL": "WARNING",
        "SHOPRELAY_LOG_FORMAT": "json",
        "SHOPRELAY_TENANT_RPS": "0",
        "SHOPRELAY_CONNECTION_RPS": "0",
        "SHOPRELAY_CONNECTION_CONCURRENCY": "1000",
        "PYTHONPATH": str(ROOT),
    }
    procs: list[subprocess.Popen] = []
    report: dict = {"settings": vars(args)}
    try:
        procs.append(subprocess.Popen([PYTHON, str(ROOT / "bench/upstream.py"), str(up_port)], env=env))
        procs.append(subprocess.Popen([PYTHON, str(ROOT / "bench/forwarder.py"), str(fw_port), upstream], env=env))
        tenant = cli(env, "tenants", "create", "--name", "bench")
        key = cli(env, "api-keys", "create", "--tenant", tenant["id"])["api_key"]
        conn = cli(env, "connections", "create", "--tenant", tenant["id"], "--provider", "shopify",
                   "--credentials", '{"access_token": "shpat_bench"}',
                   "--settings", json.dumps({"shop": "bench-shop", "base_url": upstream}))
        shoprelay = subprocess.Popen([PYTHON, "-m", "proxy.cli", "serve", "--port", str(sr_port)], env=env, cwd=ROOT)
        procs.append(shoprelay)
        base = f"http://127.0.0.1:{sr_port}"
        for url in (f"{base}/health", f"http://127.0.0.1:{fw_port}/ecommerce/customers/1"):
            wait_http(url)
        auth = {"WRK_API_KEY": key, "WRK_TOKEN": conn["connection_token"]}
        body = '{"query":"query($id: ID!){customer(id:$id){id}}","variables":{"id":"gid://shopify/Customer/544365967"}}'
        targets = {
            "direct": (f"{upstream}/admin/api/2026-10/graphql.json", {"WRK_METHOD": "POST", "WRK_BODY": body, "WRK_SHOPIFY": "1"}),
            "forwarder": (f"http://127.0.0.1:{fw_port}/ecommerce/customers/544365967", {}),
            "shoprelay": (f"{base}/ecommerce/customers/544365967", auth),
        }
        for name, (url, extra) in targets.items():
            wrk(url, 2, args.connections, extra, str(script))  # warm up
        misses_before = metric(base, "shoprelay_cache_lookups_total", 'result="miss"')
        pids = {"direct": procs[0].pid, "forwarder": procs[1].pid, "shoprelay": shoprelay.pid}
        results = {name: wrk_measured(pids[name], url, args.seconds, args.connections, extra, str(script))
                   for name, (url, extra) in targets.items()}
        # Unloaded latency (one connection): what each layer adds to a single call.
        for name, (url, extra) in targets.items():
            results[name]["p50_ms_one_connection"] = wrk(url, max(3, args.seconds // 2), 1, extra, str(script))["p50_ms"]
        misses_after = metric(base, "shoprelay_cache_lookups_total", 'result="miss"')
        results["forwarder"]["peak_rss_mb"] = peak_rss_mb(procs[1].pid)
        results["shoprelay"]["peak_rss_mb"] = peak_rss_mb(shoprelay.pid)
        report["get"] = results
        report["ratios"] = {
            "shoprelay_vs_forwarder_rps": results["shoprelay"]["rps"] / results["forwarder"]["rps"],
            "forwarder_vs_direct_rps": results["forwarder"]["rps"] / results["direct"]["rps"],
            "added_p50_ms_over_forwarder": results["shoprelay"]["p50_ms"] - results["forwarder"]["p50_ms"],
            "added_p50_ms_over_forwarder_one_connection":
                results["shoprelay"]["p50_ms_one_connection"] - results["forwarder"]["p50_ms_one_connection"],
            "shoprelay_vs_forwarder_cpu_per_request":
                results["shoprelay"]["cpu_us_per_request"] / results["forwarder"]["cpu_us_per_request"],
        }
        report["store_lookups_while_warm"] = misses_after - misses_before
        report["list"] = {
            "shoprelay": wrk_measured(shoprelay.pid, f"{base}/ecommerce/customers?limit=50", args.seconds,
                                      args.connections, auth, str(script)),
        }
        shoprelay.terminate()
        shoprelay.wait(10)
        procs.remove(shoprelay)
        scaling = {}
        existing = 1
        for target in [int(n) for n in args.scaling.split(",") if n]:
            if target > existing:
                populate(database, keys, target - existing, upstream)
                existing = target
            server = subprocess.Popen([PYTHON, "-m", "proxy.cli", "serve", "--port", str(sr_port)], env=env, cwd=ROOT)
            try:
                wait_http(f"{base}/health")
                url = f"{base}/ecommerce/customers/544365967"
                wrk(url, 1, args.connections, auth, str(script))
                scaling[str(target)] = wrk(url, max(3, args.seconds // 2), args.connections, auth, str(script))
                scaling[str(target)]["peak_rss_mb"] = peak_rss_mb(server.pid)
            finally:
                server.terminate()
                server.wait(10)
        report["connections_scaling"] = scaling
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(10)
    print(json.dumps(report, indent=2))
    print()
    g = report["get"]
    print(f"{'target':<12}{'req/s':>10}{'p50 ms':>9}{'p99 ms':>9}{'RSS MB':>9}{'CPU us/req':>12}{'p50 ms @1':>11}")
    for name in ("direct", "forwarder", "shoprelay"):
        r = g[name]
        print(f"{name:<12}{r['rps']:>10.0f}{r['p50_ms']:>9.2f}{r['p99_ms']:>9.2f}"
              f"{r.get('peak_rss_mb', float('nan')):>9.1f}{r['cpu_us_per_request']:>12.0f}{r['p50_ms_one_connection']:>11.2f}")
    ratios = report["ratios"]
    print(f"shoprelay/forwarder throughput: {ratios['shoprelay_vs_forwarder_rps']:.2f}x; "
          f"p50 added: {ratios['added_p50_ms_over_forwarder']:.2f} ms under load, "
          f"{ratios['added_p50_ms_over_forwarder_one_connection']:.2f} ms on one connection; "
          f"CPU per request: {ratios['shoprelay_vs_forwarder_cpu_per_request']:.2f}x; "
          f"store lookups while warm: {report['store_lookups_while_warm']:.0f}")
    print("list (limit=50):", {k: round(v, 2) for k, v in report["list"]["shoprelay"].items()})
    for n, r in report["connections_scaling"].items():
        print(f"connections={n:>7}: p50 {r['p50_ms']:.2f} ms, p99 {r['p99_ms']:.2f} ms, {r['rps']:.0f} req/s")


if __name__ == "__main__":
    main()
