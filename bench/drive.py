"""What the bench scripts share: free ports, starting ``shoprelay serve`` and
the CLI, driving a server with wrk, and reading a process's CPU time and
peak RSS from /proc and a counter from /metrics. Imported by run.py,
stages.py, soak.py and mapping_worst.py (bench/ is on their sys.path)."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import pathlib
import socket
import subprocess
import sys
import time
import urllib.request
from typing import AsyncIterator

ROOT = pathlib.Path(__file__).resolve().parent.parent
PYTHON = sys.executable
# The shoprelay settings of every bench run (run.py's shoprelay and stages.py's runtime):
# limits on but never reached, the access log at INFO in JSON.
SETTINGS = {
    "SHOPRELAY_ALLOW_PRIVATE_NETWORKS": "true",
    "SHOPRELAY_LOG_LEVEL": "INFO",
    "SHOPRELAY_LOG_FORMAT": "json",
    "SHOPRELAY_TENANT_RPS": "1000000",
    "SHOPRELAY_CONNECTION_RPS": "1000000",
    "SHOPRELAY_CONNECTION_CONCURRENCY": "1000",
}
# The headers and body come from the environment, so one script serves every target.
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


def new_keyring(name: str) -> str:
    """A fresh ``SHOPRELAY_ENCRYPTION_KEYS`` value with one key named ``name``."""
    return f"{name}:" + base64.b64encode(os.urandom(32)).decode()


def serve_env(tmp: pathlib.Path, name: str, **settings: str) -> dict[str, str]:
    """The environment a bench script runs shoprelay and its CLI in: a new
    SQLite file and key named ``name`` in ``tmp``, WARNING logs, no request
    rate limits; ``settings`` add or override ``SHOPRELAY_<NAME>``."""
    return {
        **os.environ, "PYTHONPATH": str(ROOT),
        "SHOPRELAY_DATABASE_URL": f"sqlite:///{tmp / f'{name}.db'}",
        "SHOPRELAY_ENCRYPTION_KEYS": new_keyring(name),
        "SHOPRELAY_LOG_LEVEL": "WARNING", "SHOPRELAY_TENANT_RPS": "0", "SHOPRELAY_CONNECTION_RPS": "0",
        **{f"SHOPRELAY_{key.upper()}": value for key, value in settings.items()},
    }


def start_server(env: dict[str, str], port: int, log: pathlib.Path) -> subprocess.Popen:
    """``shoprelay serve`` on ``port`` with ``env``, its stderr (the JSON log) in ``log``."""
    with open(log, "w") as stderr:  # the child keeps its own descriptor
        return subprocess.Popen([PYTHON, "-m", "proxy.cli", "serve", "--port", str(port)], env=env, cwd=ROOT,
                                stderr=stderr)


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)


@contextlib.asynccontextmanager
async def serving(env: dict[str, str], log: pathlib.Path) -> AsyncIterator[tuple[str, subprocess.Popen]]:
    """``shoprelay serve`` on a free port with ``env``, its stderr in ``log``;
    yields its base URL and process once /health answers, stops it on exit."""
    port = free_port()
    server = start_server(env, port, log)
    try:
        base = f"http://127.0.0.1:{port}"
        # In a thread: the caller's loop may be serving an upstream meanwhile.
        await asyncio.to_thread(wait_http, f"{base}/health")
        yield base, server
    finally:
        stop(server)


def cli(env: dict[str, str], *args: str) -> dict:
    out = subprocess.run(
        [PYTHON, "-m", "proxy.cli", *args], capture_output=True, text=True, env=env, check=True, cwd=ROOT
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


# -- measuring ------------------------------------------------------------------------


def memory_mb(pid: int, field: str) -> float:
    """A memory line of /proc/PID/status in MB: VmRSS (resident now), VmHWM (the peak)."""
    for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def peak_rss_mb(pid: int) -> float:
    return memory_mb(pid, "VmHWM")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far."""
    fields = pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wrk(url: str, seconds: float, connections: int, env: dict[str, str], script: str) -> dict[str, float]:
    out = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", "-s", script, url],  # wrk takes whole seconds
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


def wrk_measured(pid: int, url: str, seconds: float, connections: int, env: dict[str, str], script: str) -> dict:
    """wrk, plus the CPU time the serving process ``pid`` spent per request:
    on a shared machine that is the fair measure of what each layer costs."""
    before = cpu_seconds(pid)
    result = wrk(url, seconds, connections, env, script)
    result["cpu_us_per_request"] = (cpu_seconds(pid) - before) / max(result["requests"], 1) * 1e6
    return result


def metric(base: str, name: str, labels: str = "") -> float:
    """The sum of ``name``'s samples whose labels contain ``labels``, from GET /metrics."""
    text = urllib.request.urlopen(f"{base}/metrics").read().decode()
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name + "{") and labels in line:
            total += float(line.rsplit(" ", 1)[1])
    return total


def upstream_tally(upstream: str) -> dict[str, int]:
    """The bench upstream's count of GraphQL queries and their requested points (bench/upstream.py)."""
    return json.loads(urllib.request.urlopen(f"{upstream}/bench/tally").read())


# -- stored connections ---------------------------------------------------------------


def populate(database: str, keys: str, count: int, upstream: str) -> None:
    """Add ``count`` shopify connections spread over 100 tenants, directly
    through the store (accounts.create_connection: validated, encrypted, one
    transaction each, about 3,500 a second on SQLite)."""
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
