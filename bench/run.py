"""The benchmark: one command, one machine, one report.

    .venv/bin/python bench/run.py [--seconds 5] [--rounds 3] [--connections 16] [--scaling 10,1000,10000,100000]

Starts the bench's Shopify GraphQL upstream (bench/upstream.py), the bare
Starlette + aiohttp forwarder (bench/forwarder.py) and shoprelay (one
worker; access log at INFO in JSON, its stderr in a file of the run's temp
directory; request limits on but set beyond reach; every guard on), and
reports, as JSON and then as tables:

* throughput (req/s), p50/p99 and CPU µs per request of the serving process
  (from /proc) for direct (wrk posting the query to the upstream), forwarder
  and shoprelay, for get (``/ecommerce/customers/544365967``) and list
  (``/ecommerce/customers?limit=50``; the forwarder and direct send the
  50-customer query shoprelay's Shopify module builds). Measured in
  ``--rounds`` alternating rounds (each round runs every target back to
  back for ``--seconds``), after a warm-up; each number is the median of
  the rounds;
* the ratios shoprelay / forwarder of throughput and of CPU per request
  (get and list; the median of the per-round ratios) and the p50 shoprelay
  adds over the forwarder on one connection (get);
* upstream cost: shoprelay's provider calls per request (the delta of
  ``shoprelay_upstream_calls_total``), the GraphQL queries and Shopify
  requested points per get and per page of 50 as the upstream priced what
  it received, and the points of the module's own query text
  (tests/fakes/graphql_cost.py, as tests/providers/test_shopify_cost.py);
* "access lines written" against the requests sent to shoprelay (the log was on);
* peak RSS of the forwarder and shoprelay; store lookups while warm;
* the per-stage CPU budget of a get (bench/stages.py) and what is left of
  shoprelay's CPU per request: framework and transport;
* latency, throughput and RSS with 10 / 1,000 / 10,000 / 100,000 stored connections.

Needs ``wrk``. Not run by CI.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from drive import (  # noqa: E402
    LUA, PYTHON, ROOT, SETTINGS, cli, free_port, metric, new_keyring, peak_rss_mb, populate, start_server, stop,
    upstream_tally, wait_http, wrk, wrk_measured,
)
from rounds import median_of_rounds, paired_difference, paired_ratio, table  # noqa: E402

sys.path.insert(0, str(ROOT))
from providers import shopify  # noqa: E402
from tests.fakes.graphql_cost import requested_cost  # noqa: E402

CUSTOMER_ID = "544365967"
PAGE = 50
KINDS = ("get", "list")
TARGETS = ("direct", "forwarder", "shoprelay")
GET_BODY = json.dumps({"query": "query($id: ID!){customer(id:$id){id}}",
                       "variables": {"id": f"gid://shopify/Customer/{CUSTOMER_ID}"}})  # the forwarder's get
LIST_QUERY = shopify.queries().forward  # the first page's query, no metafields mapped
LIST_BODY = json.dumps({"query": LIST_QUERY, "variables": {"n": PAGE, "cursor": None}})
UPSTREAM_CALLS = "shoprelay_upstream_calls_total"
SERVED = "shoprelay_http_requests_total"
ROUTES = {"get": "/ecommerce/customers/{id}", "list": "/ecommerce/customers"}


def stated_points() -> dict[str, int]:
    """Requested points of the queries providers/shopify.py builds for a get and a page of 50."""
    ops = shopify.queries()
    queries = -(-PAGE // ops.page_size)  # a page larger than a query holds takes several
    return {
        "get": requested_cost(ops.get, {"id": f"gid://shopify/Customer/{CUSTOMER_ID}", **ops.variables}),
        "list": queries * requested_cost(ops.forward, {"n": min(PAGE, ops.page_size), "cursor": None,
                                                       **ops.variables}),
    }


class Bench:
    """The three servers of a run, and the tallies taken while shoprelay serves."""

    def __init__(self, args: argparse.Namespace, tmp: pathlib.Path) -> None:
        self.args, self.tmp = args, tmp
        self.script = str(tmp / "bench.lua")
        pathlib.Path(self.script).write_text(LUA)
        self.procs: list[subprocess.Popen] = []
        self.sent_to_shoprelay = 0
        self.shoprelay_tallies = {kind: {"requests": 0.0, "calls": 0.0, "queries": 0.0, "points": 0.0} for kind in KINDS}

    def spawn(self, *argv: str, env: dict[str, str]) -> subprocess.Popen:
        proc = subprocess.Popen([PYTHON, *argv], env=env, cwd=ROOT)
        self.procs.append(proc)
        return proc

    def start(self) -> None:
        up_port, fw_port, sr_port = free_port(), free_port(), free_port()
        self.upstream = f"http://127.0.0.1:{up_port}"
        self.database, self.keys = f"sqlite:///{self.tmp / 'bench.db'}", new_keyring("bench")
        self.env = {**os.environ, "PYTHONPATH": str(ROOT), "SHOPRELAY_DATABASE_URL": self.database,
                    "SHOPRELAY_ENCRYPTION_KEYS": self.keys, **SETTINGS}
        up = self.spawn(str(ROOT / "bench/upstream.py"), str(up_port), env=self.env)
        fw = self.spawn(str(ROOT / "bench/forwarder.py"), str(fw_port), self.upstream,
                        env={**self.env, "BENCH_LIST_QUERY": LIST_QUERY})
        tenant = cli(self.env, "tenants", "create", "--name", "bench")
        key = cli(self.env, "api-keys", "create", "--tenant", tenant["id"])["api_key"]
        conn = cli(self.env, "connections", "create", "--tenant", tenant["id"], "--provider", "shopify",
                   "--credentials", '{"access_token": "shpat_bench"}',
                   "--settings", json.dumps({"shop": "bench-shop", "base_url": self.upstream}))
        self.auth = {"WRK_API_KEY": key, "WRK_TOKEN": conn["connection_token"]}
        self.sr_port, self.log = sr_port, self.tmp / "shoprelay.log"
        self.shoprelay = start_server(self.env, sr_port, self.log)
        self.procs.append(self.shoprelay)
        self.base, fw_base = f"http://127.0.0.1:{sr_port}", f"http://127.0.0.1:{fw_port}"
        for url in (f"{self.base}/health", f"{fw_base}/ecommerce/customers/1", f"{self.upstream}/bench/tally"):
            wait_http(url)
        graphql = f"{self.upstream}/admin/api/2026-10/graphql.json"
        shopify_post = {"WRK_METHOD": "POST", "WRK_SHOPIFY": "1"}
        self.targets = {  # kind -> target -> (url, wrk environment, serving pid)
            "get": {
                "direct": (graphql, {**shopify_post, "WRK_BODY": GET_BODY}, up.pid),
                "forwarder": (f"{fw_base}/ecommerce/customers/{CUSTOMER_ID}", {}, fw.pid),
                "shoprelay": (f"{self.base}/ecommerce/customers/{CUSTOMER_ID}", self.auth, self.shoprelay.pid),
            },
            "list": {
                "direct": (graphql, {**shopify_post, "WRK_BODY": LIST_BODY}, up.pid),
                "forwarder": (f"{fw_base}/ecommerce/customers?limit={PAGE}", {}, fw.pid),
                "shoprelay": (f"{self.base}/ecommerce/customers?limit={PAGE}", self.auth, self.shoprelay.pid),
            },
        }
        self.pids = {"forwarder": fw.pid, "shoprelay": self.shoprelay.pid}

    def counters(self, kind: str) -> dict[str, float]:
        """shoprelay's requests served on ``kind``'s route and provider calls
        made (its /metrics), and the upstream's queries and points received."""
        tally = upstream_tally(self.upstream)
        return {"requests": metric(self.base, SERVED, f'route="{ROUTES[kind]}"'),
                "calls": metric(self.base, UPSTREAM_CALLS), "queries": tally["queries"], "points": tally["points"]}

    def drive(self, kind: str, target: str, seconds: float, connections: int, warm_up: bool = False) -> dict:
        url, extra, pid = self.targets[kind][target]
        if target != "shoprelay":
            return wrk_measured(pid, url, seconds, connections, extra, self.script)
        before = self.counters(kind)
        result = wrk_measured(pid, url, seconds, connections, extra, self.script)
        self.sent_to_shoprelay += result["requests"]
        time.sleep(0.3)  # the requests in flight when wrk stopped are answered, and counted
        if not warm_up:
            after = self.counters(kind)
            for name, total in self.shoprelay_tallies[kind].items():
                self.shoprelay_tallies[kind][name] = total + after[name] - before[name]
        return result

    def stop(self) -> None:
        for proc in self.procs:
            stop(proc)


def access_lines(log: pathlib.Path) -> int:
    count = 0
    for line in log.read_text().splitlines():
        if line.startswith("{") and json.loads(line).get("logger") == "shoprelay.access":
            count += 1
    return count


def measure(bench: Bench, args: argparse.Namespace) -> dict:
    """The alternating rounds (get and list at load, then get on one connection)."""
    for kind in KINDS:
        for target in TARGETS:
            bench.drive(kind, target, args.warmup, args.connections, warm_up=True)
    misses = metric(bench.base, "shoprelay_cache_lookups_total", 'result="miss"')
    runs = {kind: {target: [] for target in TARGETS} for kind in KINDS}
    one = {target: [] for target in TARGETS}
    for _ in range(args.rounds):
        for kind in KINDS:
            for target in TARGETS:
                runs[kind][target].append(bench.drive(kind, target, args.seconds, args.connections))
    for _ in range(args.rounds):  # unloaded latency: what each layer adds to a single call
        for target in TARGETS:
            one[target].append(bench.drive("get", target, max(2.0, args.seconds / 2), 1))
    report: dict = {
        "store_lookups_while_warm": metric(bench.base, "shoprelay_cache_lookups_total", 'result="miss"') - misses,
    }
    for kind in KINDS:
        report[kind] = {target: {**median_of_rounds(runs[kind][target]), "runs": runs[kind][target]}
                        for target in TARGETS}
    report["get_one_connection"] = {target: median_of_rounds(one[target]) for target in TARGETS}
    report["ratios"] = {
        **{f"{kind}_{name}": paired_ratio(runs[kind]["shoprelay"], runs[kind]["forwarder"], measure)
           for kind in KINDS for name, measure in (("rps", "rps"), ("cpu_per_request", "cpu_us_per_request"))},
        "get_p50_ms_added_one_connection": paired_difference(one["shoprelay"], one["forwarder"], "p50_ms"),
    }
    report["upstream"] = {
        kind: {
            "requests_served": t["requests"],
            "provider_calls_per_request": t["calls"] / max(t["requests"], 1),
            "graphql_queries_per_request": t["queries"] / max(t["requests"], 1),
            "requested_points_per_request": t["points"] / max(t["requests"], 1),
        }
        for kind, t in bench.shoprelay_tallies.items()
    }
    report["upstream"]["points_of_module_query_text"] = stated_points()
    report["peak_rss_mb"] = {name: peak_rss_mb(pid) for name, pid in bench.pids.items()}
    return report


def run_stages(args: argparse.Namespace) -> dict:
    out = subprocess.run([PYTHON, str(ROOT / "bench/stages.py"), "--json", "--in-flight", str(args.connections)],
                         capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)}, cwd=ROOT)
    if out.returncode != 0:
        return {"error": out.stderr.strip().splitlines()[-1] if out.stderr.strip() else f"exit {out.returncode}"}
    return json.loads(out.stdout)


def scaling(bench: Bench, args: argparse.Namespace) -> dict:
    """Get latency with more and more stored connections (one more server per size)."""
    results, existing = {}, 1
    for target in [int(n) for n in args.scaling.split(",") if n]:
        started = time.monotonic()
        if target > existing:
            populate(bench.database, bench.keys, target - existing, bench.upstream)
            existing = target
        populated = time.monotonic() - started
        server = start_server(bench.env, bench.sr_port, bench.tmp / f"shoprelay-{target}.log")
        try:
            started = time.monotonic()
            wait_http(f"{bench.base}/health")
            up = time.monotonic() - started
            url = bench.targets["get"]["shoprelay"][0]
            wrk(url, 1, args.connections, bench.auth, bench.script)
            results[str(target)] = {**wrk(url, max(3.0, args.seconds / 2), args.connections, bench.auth,
                                          bench.script),
                                    "peak_rss_mb": peak_rss_mb(server.pid), "populate_s": populated, "startup_s": up}
        finally:
            stop(server)
    return results


def print_tables(report: dict) -> None:
    rows = []
    for kind in KINDS:
        for target in TARGETS:
            r = report[kind][target]
            one = report["get_one_connection"][target]["p50_ms"] if kind == "get" else None
            rows.append([f"{kind} {target}", r["rps"], r["cpu_us_per_request"], r["p50_ms"], r["p99_ms"], one,
                         report["peak_rss_mb"].get(target), int(r["errors"])])
    print(table(["target", "req/s", "CPU µs/req", "p50 ms", "p99 ms", "p50 ms @1", "RSS MB", "errors"], rows))
    rt = report["ratios"]
    print(f"\nshoprelay/forwarder, median of {report['settings']['rounds']} rounds: "
          f"get throughput {rt['get_rps']:.2f}x, CPU/req {rt['get_cpu_per_request']:.2f}x; "
          f"list throughput {rt['list_rps']:.2f}x, CPU/req {rt['list_cpu_per_request']:.2f}x; "
          f"p50 added on one connection (get) {rt['get_p50_ms_added_one_connection']:.2f} ms")
    up = report["upstream"]
    for kind in KINDS:
        print(f"upstream per {'get' if kind == 'get' else f'page of {PAGE}'}: "
              f"{up[kind]['provider_calls_per_request']:.2f} provider calls ({UPSTREAM_CALLS}), "
              f"{up[kind]['graphql_queries_per_request']:.2f} GraphQL queries, "
              f"{up[kind]['requested_points_per_request']:.0f} requested points as received "
              f"({up['points_of_module_query_text'][kind]} by the module's query text)")
    log = report["access_log"]
    print(f"access lines written: {log['lines']} for {log['requests_served']:.0f} customer requests served "
          f"({log['requests_sent']} counted by wrk, which leaves out those in flight when it stops); "
          f"store lookups while warm: "
          f"{report['store_lookups_while_warm']:.0f}")
    st = report["stages"]
    if "error" in st:
        print(f"\nstages: failed: {st['error']}")
    else:
        print("\nper-stage CPU of a get (bench/stages.py):")
        print(table(["stage", "µs"], [*st["stages_us"].items(), ("sum of stages", st["sum_us"]),
                                      ("framework and transport", st["framework_and_transport_us"]),
                                      ("shoprelay CPU/req (get)", report["get"]["shoprelay"]["cpu_us_per_request"])],
                    first_width=24))
        print("not in the sum (for reference):")
        print(table(["stage", "µs"], list(st["not_summed_us"].items()), first_width=24))
    print("\nstored connections:")
    print(table(["connections", "req/s", "p50 ms", "p99 ms", "RSS MB", "populate s", "startup s"],
                [[n, r["rps"], r["p50_ms"], r["p99_ms"], r["peak_rss_mb"], r["populate_s"], r["startup_s"]]
                 for n, r in report["connections_scaling"].items()]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5, help="length of each target's run in a round")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds; the median is reported")
    parser.add_argument("--warmup", type=float, default=2, help="seconds of warm-up per target and kind")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections under load")
    parser.add_argument("--scaling", default="10,1000,10000,100000", help="stored connections, comma-separated")
    args = parser.parse_args()
    tmp = pathlib.Path(tempfile.mkdtemp(prefix="shoprelay-bench-"))
    bench = Bench(args, tmp)
    report: dict = {"settings": {**vars(args), "tmp": str(tmp)}}
    try:
        bench.start()
        report.update(measure(bench, args))
        served = sum(metric(bench.base, SERVED, f'route="{route}"') for route in ROUTES.values())
        stop(bench.shoprelay)
        report["access_log"] = {"file": str(bench.log), "lines": access_lines(bench.log),
                                "requests_served": served, "requests_sent": bench.sent_to_shoprelay}
        report["stages"] = run_stages(args)
        if "sum_us" in report["stages"]:
            report["stages"]["framework_and_transport_us"] = (
                report["get"]["shoprelay"]["cpu_us_per_request"] - report["stages"]["sum_us"])
        report["connections_scaling"] = scaling(bench, args)
    finally:
        bench.stop()
    print(json.dumps(report, indent=2))
    print()
    print_tables(report)


if __name__ == "__main__":
    main()
