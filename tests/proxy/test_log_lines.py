"""JSON lines (proxy.logs.JsonLines): the access line written without a
LogRecord is the line JsonFormatter writes; lines written within one turn
of the event loop go out in one write, in order; the direct way is taken
only when nothing else would see the record (issue 17)."""

import asyncio
import io
import json
import logging

import pytest

from proxy import logs

FIELDS = {"request_id": "req_1", "method": "GET", "route": "/ecommerce/customers/{id}", "status": 200,
          "latency_ms": 1.25, "tenant_id": None, "attempts": 1}


class CountingStream(io.StringIO):
    def __init__(self) -> None:
        super().__init__()
        self.writes = 0

    def write(self, text: str) -> int:
        self.writes += 1
        return super().write(text)


@pytest.fixture
def shoprelay_logger():
    """The shoprelay loggers as ``configure`` leaves them, restored after."""
    root = logging.getLogger("shoprelay")
    access = logging.getLogger("shoprelay.access")
    saved = (list(root.handlers), root.level, root.propagate, list(access.handlers), access.propagate)
    yield root
    root.handlers[:], root.level, root.propagate = saved[0], saved[1], saved[2]
    access.handlers[:], access.propagate = saved[3], saved[4]


def lines(stream: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_the_direct_line_is_the_formatters_line():
    record = logging.LogRecord("shoprelay.access", logging.INFO, __file__, 1, "request", (), None)
    record.__dict__.update(FIELDS)
    formatted = json.loads(logs.JsonFormatter().format(record))
    stream = io.StringIO()
    logs.JsonLines(stream).write_entry("info", "shoprelay.access", "request", FIELDS)
    [direct] = lines(stream)
    assert list(direct) == list(formatted)  # the same keys, in the same order
    assert {k: v for k, v in direct.items() if k != "ts"} == {k: v for k, v in formatted.items() if k != "ts"}
    assert direct["ts"].endswith("Z") and len(direct["ts"]) == len("2026-12-02T15:00:00.123Z")


async def test_lines_within_one_loop_turn_are_one_write_in_order():
    stream = CountingStream()
    handler = logs.JsonLines(stream)
    for n in range(3):
        handler.write_entry("info", "shoprelay.access", "request", {"n": n})
    assert stream.writes == 0  # not yet: at the end of this turn
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert stream.writes == 1
    assert [line["n"] for line in lines(stream)] == [0, 1, 2]


async def test_a_record_logged_meanwhile_comes_after_the_pending_lines():
    stream = CountingStream()
    handler = logs.JsonLines(stream)
    logger = logging.getLogger("shoprelay.test-json-lines")
    logger.handlers[:], logger.propagate = [handler], False
    handler.write_entry("info", "shoprelay.access", "request", {"n": 1})
    logger.warning("then this")
    assert [line.get("n", line["msg"]) for line in lines(stream)] == [1, "then this"]


def test_outside_a_loop_a_line_is_written_at_once():
    stream = CountingStream()
    logs.JsonLines(stream).write_entry("info", "shoprelay.access", "request", {"n": 1})
    assert stream.writes == 1 and lines(stream)[0]["n"] == 1


def test_the_direct_way_only_when_the_configured_handler_is_the_only_one(shoprelay_logger):
    access = logging.getLogger("shoprelay.access")
    logs.configure("INFO", "json")
    sink = logs.direct_sink(access, logging.INFO)
    assert isinstance(sink, logs.JsonLines) and shoprelay_logger.handlers == [sink]
    shoprelay_logger.addHandler(logging.NullHandler())  # a test's capture, say
    assert logs.direct_sink(access, logging.INFO) is None
    shoprelay_logger.handlers[:] = [sink]
    access.addHandler(logging.NullHandler())
    assert logs.direct_sink(access, logging.INFO) is None
    access.handlers[:] = []
    shoprelay_logger.propagate = True  # root's handlers would see it
    assert logs.direct_sink(access, logging.INFO) is None
    shoprelay_logger.propagate = False
    sink.setLevel(logging.WARNING)
    assert logs.direct_sink(access, logging.INFO) is None
    logs.configure("INFO", "text")
    assert logs.direct_sink(access, logging.INFO) is None


def test_a_flush_writes_whole_lines_in_pieces_a_pipe_keeps_whole():
    stream = CountingStream()
    handler = logs.JsonLines(stream)
    handler._pending = [f'{{"n":{n},"pad":"{"x" * 400}"}}' for n in range(30)] + ['{"long":"' + "y" * 9000 + '"}']
    writes = []
    stream.write = lambda text: writes.append(text) or len(text)  # type: ignore[method-assign]
    handler.flush()
    assert len(writes) > 2
    assert all(len(w.encode()) <= logs._PIPE_BUF for w in writes[:-1])  # the long line goes alone
    assert all(w.endswith("\n") for w in writes)
    assert [json.loads(line).get("n") for w in writes for line in w.splitlines()] == [*range(30), None]


async def test_a_served_read_writes_its_access_line_the_direct_way(tmp_path, shoprelay_logger):
    """As ``serve`` configures logging (JSON, nothing else attached): the
    access line of a customer read skips the LogRecord and says what happened."""
    from tests.harness import running_app

    stream = io.StringIO()
    logs.configure("INFO", "json")
    [handler] = shoprelay_logger.handlers
    handler.setStream(stream)
    assert logs.direct_sink(logging.getLogger("shoprelay.access"), logging.INFO) is handler
    async with running_app(tmp_path) as api:
        tenant = await api.tenant()
        _, token = await api.connection(tenant, "sandbox", {})
        ok = await api.get_customer(tenant, token, "1")
        missing = await api.get_customer(tenant, token, "999999")
        await asyncio.sleep(0)
    access = [line for line in lines(stream) if line["logger"] == "shoprelay.access"]
    assert [(a["request_id"], a["status"], a["error_code"], a["tenant_id"], a["route"]) for a in access] == [
        (ok.headers["x-request-id"], 200, None, tenant.id, "/ecommerce/customers/{id}"),
        (missing.headers["x-request-id"], 404, "customer_not_found", tenant.id, "/ecommerce/customers/{id}"),
    ]
    assert tenant.api_key not in stream.getvalue() and token not in stream.getvalue()
