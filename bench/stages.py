"""The per-stage CPU budget of a warm Shopify ``GET /ecommerce/customers/{id}``.

    python bench/stages.py [--budget 0.2] [--repeats 5] [--json]

In one process: the real runtime (``proxy.runtime.Runtime.running``, the
settings run.py serves with), one tenant, key and Shopify connection, and
the bench's Shopify upstream (bench/upstream.py) in a subprocess. Each stage
of a get is run on its own many times; its CPU time (``time.process_time``,
this process only: the upstream's work is not counted) is reported in µs
per iteration, the median of ``--repeats`` batches of about ``--budget``
CPU seconds. Each stage calls the functions the request calls:

* auth: ``directory.owner_of`` + ``directory.connection_for`` (routes/customers.py ``authorize``)
* provider call: the GraphQL POST through ``provider.send`` (the HTTP exchange, the body in hand)
* decode: the body into the provider's Structs in one pass, as a read that keeps
  no raw does (``_graphql``'s ``Envelope[...]``, ``fetch_customer``'s id check)
* map: ``map_payload``, payload -> unified Customer
* shape: ``unified(...)`` with default parameters
* encode: the route's msgspec JSON encoder on the unified customer
* log: one access line (``middleware.access_line`` at INFO, JSON lines to a file
  as ``serve`` writes them to stderr)
* metrics: the per-request metric updates (``customers.count_call`` and
  ``middleware.count_request``)

The provider call runs ``--in-flight`` calls side by side (run.py passes
its wrk connections), as the server does under load. The sum is what the
stages cost; run.py subtracts it from the served CPU per request: the rest
is the framework and transport (uvicorn, the hot path's frame and the
request context, asyncio, the glue between the stages: the field-mapping
lookup, query reading, the provider's template method, and the call's guards:
deadline, slots, retries, breaker). Not in the sum, for
reference: the provider call with one call in flight, the same session's
bare aiohttp POST of the same query and of the forwarder's minimal one (the
floor under the provider call), and ``unified`` with ``fields=``.
"""

from __future__ import annotations

import argparse
import asyncio
import inspect
import json
import logging
import os
import pathlib
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Any, Callable

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from drive import PYTHON, ROOT, SETTINGS, free_port, new_keyring, stop, wait_http  # noqa: E402

sys.path.insert(0, str(ROOT))
import msgspec  # noqa: E402
from starlette.datastructures import QueryParams  # noqa: E402
from starlette.routing import Route  # noqa: E402

from providers import calls  # noqa: E402
from providers import shopify  # noqa: E402
from providers.shopify_metafields import metafields_read  # noqa: E402
from proxy import accounts, gc_tuning, shaping  # noqa: E402
from proxy.config import Config  # noqa: E402
from proxy import logs, middleware  # noqa: E402
from proxy.routes import customers  # noqa: E402
from proxy.runtime import Runtime  # noqa: E402

CUSTOMER_ID = "544365967"
ROUTE = "/ecommerce/customers/{id}"
CLIENT = "127.0.0.1"
FIELDS = "id,email,first_name,last_name,addresses.city"
BARE_HEADERS = {"X-Shopify-Access-Token": "shpat_bench", "Content-Type": "application/json",
                "Accept": "application/json"}
# bench/forwarder.py's get: the smallest query for the customer.
MINIMAL_QUERY = "query($id: ID!){customer(id:$id){id}}"
# What the access line and the request's metrics read of the ASGI scope.
SCOPE = {"type": "http", "method": "GET", "route": Route(ROUTE, lambda request: None)}


# -- the stages: each the request's own calls ------------------------------------------


async def auth(directory: Any, api_key: str, token: str) -> Any:
    owner = await directory.owner_of(api_key, CLIENT)
    return await directory.connection_for(owner, token)


async def provider_call(provider: Any) -> Any:
    """``ShopifyProvider._graphql``'s exchange for ``fetch_customer``: the query for
    the call's mapped metafields, the POST through ``send``; the body in hand."""
    ops = shopify.queries(metafields_read(calls.current().mapped))
    variables = {"id": f"gid://shopify/Customer/{CUSTOMER_ID}", **ops.variables}
    payload = {"query": ops.get, "variables": variables}
    return await provider.send("POST", provider.endpoint, json=payload, headers={"Accept": "application/json"})


async def bare_post(session: Any, url: str, body: bytes) -> bytes:
    """The floor of an exchange: the same session's POST and read, without
    shoprelay's HTTP layer (auth, guard, breaker, deadline, capped read)."""
    async with session.post(url, data=body, headers=BARE_HEADERS) as answer:
        return await answer.read()


def decode(provider: Any, response: Any) -> Any:
    """As ``ShopifyProvider._graphql`` and ``fetch_customer`` read the bench's
    get, which keeps no raw (no remote_data, no field mapping): the answer in
    one pass into the payload Structs, the bucket noted, the id checked."""
    answer = provider.read_json(response, shopify.Envelope[shopify.CustomerData[shopify.ShopifyCustomer]])
    shopify._note_bucket(answer.extensions)
    payload = answer.data.customer
    provider.check_customer_id(payload.remote_id, CUSTOMER_ID)
    return None, payload


def metric_updates(metrics: Any, provider: str, started: float) -> None:
    elapsed = time.perf_counter() - started
    customers.count_call(metrics, provider, "ok", elapsed, 1)  # call_provider's
    middleware.count_request(metrics, SCOPE, 200, elapsed)  # the request's


# -- timing ---------------------------------------------------------------------------


async def cpu_us(step: Callable[[], Any], budget: float, repeats: int,
                 before_batch: Callable[[], None] = lambda: None, in_flight: int = 1) -> float:
    """µs of this process's CPU per call of ``step`` (awaited when it returns
    an awaitable): the median of ``repeats`` batches of about ``budget`` s.
    ``in_flight``: that many tasks await calls side by side, as requests do
    under load (the event loop serves several answers per wake-up)."""
    first = step()
    awaited = inspect.isawaitable(first)
    if awaited:
        await first

    async def worker(n: int) -> None:
        for _ in range(n):
            await step()

    async def batch(n: int) -> float:
        before_batch()
        started = time.process_time()
        if awaited and in_flight > 1:
            await asyncio.gather(*(worker(n // in_flight) for _ in range(in_flight)))
        elif awaited:
            await worker(n)
        else:
            for _ in range(n):
                step()
        return time.process_time() - started

    n = in_flight
    while (spent := await batch(n)) < budget / 4:
        n *= 2
    n = max(in_flight, round(n * budget / max(spent, 1e-9)) // in_flight * in_flight)
    return statistics.median([await batch(n) / n * 1e6 for _ in range(repeats)])


# -- the harness ----------------------------------------------------------------------


def configure_log(path: pathlib.Path) -> None:
    """As proxy.logs.configure at INFO in JSON, to a file instead of stderr."""
    handler = logs.JsonLines(open(path, "a"))  # noqa: SIM115 - open for the process's life, as stderr is
    root = logging.getLogger("shoprelay")
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
    root.propagate = False


async def measure(tmp: pathlib.Path, upstream: str, budget: float, repeats: int, in_flight: int) -> dict[str, Any]:
    env = {**SETTINGS, "SHOPRELAY_DATABASE_URL": f"sqlite:///{tmp / 'stages.db'}",
           "SHOPRELAY_ENCRYPTION_KEYS": new_keyring("stages")}
    config = Config.from_env(env)
    log_path = tmp / "stages-access.log"
    configure_log(log_path)
    async with Runtime.running(config) as runtime:
        tenant = await accounts.create_tenant(runtime.store, "stages")
        _, api_key = await accounts.create_api_key(runtime.store, tenant.id)
        _, token = await accounts.create_connection(
            runtime.store, runtime.keyring, tenant.id, "shopify", {"access_token": "shpat_bench"},
            {"shop": "bench-shop", "base_url": upstream},
        )
        directory = runtime.directory
        live = await auth(directory, api_key, token)  # warm: the caches hold key and connection
        provider = live.provider
        # As the route opens it for the bench's get: no mappings, no remote_data.
        record = calls.begin(config.request_timeout, live.provider_name, live.id, (), keep_raw=False)

        def fresh_deadline() -> None:  # a batch of calls outlasts one request's deadline
            record.deadline = asyncio.get_running_loop().time() + config.request_timeout

        response = await provider_call(provider)
        raw, payload = decode(provider, response)
        customer = provider.map_payload(payload)
        default = shaping.parse(QueryParams(""), provider.remote_query_refusal)
        fields = shaping.parse(QueryParams({"fields": FIELDS}), provider.remote_query_refusal)
        body = customers.unified(customer, raw, {}, False, default)
        context = {"request_id": "req_0123456789abcdef", "tenant_id": tenant.id, "connection_id": live.id, "provider": live.provider_name,
                   "upstream_status": 200, "attempts": 1}
        session, gid = runtime.http.session, {"id": f"gid://shopify/Customer/{CUSTOMER_ID}"}
        same = msgspec.json.encode({"query": shopify.queries().get, "variables": gid})
        minimal = msgspec.json.encode({"query": MINIMAL_QUERY, "variables": gid})
        lines_before = sum(1 for _ in open(log_path))
        gc_tuning.settle()  # as the app's lifespan does once started

        stages: dict[str, float] = {}
        stages["auth"] = await cpu_us(lambda: auth(directory, api_key, token), budget, repeats)
        stages["provider call"] = await cpu_us(lambda: provider_call(provider), budget, repeats, fresh_deadline,
                                               in_flight)
        stages["decode"] = await cpu_us(lambda: decode(provider, response), budget, repeats)
        stages["map"] = await cpu_us(lambda: provider.map_payload(payload), budget, repeats)
        stages["shape"] = await cpu_us(lambda: customers.unified(customer, raw, {}, False, default), budget, repeats)
        stages["encode"] = await cpu_us(lambda: customers._encode(body), budget, repeats)
        started = time.perf_counter()
        stages["log"] = await cpu_us(lambda: middleware.access_line(SCOPE, context, 200,
                                                                    time.perf_counter() - started), budget, repeats)
        stages["metrics"] = await cpu_us(lambda: metric_updates(runtime.metrics, live.provider_name, started),
                                         budget, repeats)
        extra = {"provider call, 1 in flight": await cpu_us(lambda: provider_call(provider), budget, repeats,
                                                            fresh_deadline),
                 "bare aiohttp POST, same query": await cpu_us(
                     lambda: bare_post(session, provider.endpoint, same), budget, repeats, in_flight=in_flight),
                 "bare aiohttp POST, forwarder's query": await cpu_us(
                     lambda: bare_post(session, provider.endpoint, minimal), budget, repeats, in_flight=in_flight),
                 "shape fields=": await cpu_us(lambda: customers.unified(customer, raw, {}, False, fields),
                                               budget, repeats)}
        for handler in logging.getLogger("shoprelay").handlers:
            handler.flush()
        lines = sum(1 for _ in open(log_path)) - lines_before
    return {
        "stages_us": stages,
        "sum_us": sum(stages.values()),
        "not_summed_us": extra,
        "fields": FIELDS,
        "access_lines_written": lines,
        "in_flight": in_flight,
        "budget_s": budget,
        "repeats": repeats,
    }


def stage_table(result: dict[str, Any]) -> str:
    in_flight = f"{result['in_flight']} calls in flight, as under wrk"
    notes = {"provider call": in_flight, "bare aiohttp POST, same query": in_flight,
             "bare aiohttp POST, forwarder's query": in_flight,
             "shape fields=": f"fields={result['fields']}"}
    width = max(len(name) for name in [*result["stages_us"], *result["not_summed_us"]]) + 2

    def row(name: str, us: float) -> str:
        return f"{name:<{width}}{us:>8.1f}  {notes.get(name, '')}".rstrip()

    rows = [f"{'stage':<{width}}{'CPU µs':>8}"]
    rows += [row(name, us) for name, us in result["stages_us"].items()]
    rows.append(row("sum", result["sum_us"]))
    rows.append("not in the sum:")
    rows += [row(name, us) for name, us in result["not_summed_us"].items()]
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=float, default=0.2, help="CPU seconds per batch")
    parser.add_argument("--repeats", type=int, default=5, help="batches per stage (the median is reported)")
    parser.add_argument("--in-flight", type=int, default=16,
                        help="provider calls awaited side by side (run.py passes its wrk --connections)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    args = parser.parse_args()
    tmp = pathlib.Path(tempfile.mkdtemp(prefix="shoprelay-stages-"))
    port = free_port()
    upstream_proc = subprocess.Popen([PYTHON, str(ROOT / "bench/upstream.py"), str(port)],
                                     env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        upstream = f"http://127.0.0.1:{port}"
        wait_http(f"{upstream}/bench/tally")
        result = asyncio.run(measure(tmp, upstream, args.budget, args.repeats, args.in_flight))
    finally:
        stop(upstream_proc)
    if args.json:
        print(json.dumps(result))
    else:
        print(stage_table(result))


if __name__ == "__main__":
    main()
