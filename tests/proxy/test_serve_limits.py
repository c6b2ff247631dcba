"""``shoprelay serve`` against clients that connect and stall: the real
command in a subprocess, on real sockets. Sockets that send nothing, half a
request or a body a trickle at a time are closed; many of them at once
cannot keep ``/health`` from answering, even where the process may open few
files."""

from __future__ import annotations

import asyncio
import contextlib
import resource
from typing import AsyncIterator, Iterator

import httpx
import pytest

from proxy import serving as serving_module
from proxy.config import Config, ConfigError
from tests.harness import TEST_KEYRING
from tests.support import serve_command

STOP = 30.0  # seconds: generous bounds that only stop a hung test
ADMIN_TOKEN = "admin-test-token-0123456789abcdefghijkl"


@contextlib.contextmanager
def serving(tmp_path, files: int | None = None, **settings: str) -> Iterator[int]:
    """``shoprelay serve`` on a free port, with ``SHOPRELAY_<name>`` settings;
    ``files`` caps the descriptors the server process may open."""

    def limit_files() -> None:
        if files is not None:
            resource.setrlimit(resource.RLIMIT_NOFILE, (files, files))

    with serve_command(
        tmp_path, preexec_fn=limit_files, stop=STOP,
        database_url=f"sqlite:///{tmp_path / 'serve.db'}", encryption_keys=TEST_KEYRING, **settings,
    ) as port:
        yield port


async def health(port: int) -> int:
    async with httpx.AsyncClient(timeout=STOP) as client:
        return (await client.get(f"http://127.0.0.1:{port}/health")).status_code


async def closed_by_server(reader: asyncio.StreamReader) -> bool:
    """Waits (within STOP) for the server to close; True once it has."""
    try:
        async with asyncio.timeout(STOP):
            while await reader.read(65536):
                pass
    except TimeoutError:
        return False
    except ConnectionError:
        pass
    return True


@contextlib.asynccontextmanager
async def stalled(port: int, count: int, sent: bytes) -> AsyncIterator[list[asyncio.StreamReader]]:
    """``count`` connections that each send ``sent`` and then nothing more."""
    writers, readers = [], []
    try:
        for _ in range(count):
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writers.append(writer)
            readers.append(reader)
            with contextlib.suppress(ConnectionError):
                writer.write(sent)
                await writer.drain()
        yield readers
    finally:
        for writer in writers:
            writer.close()
        # Let the closes reach the server before it is told to stop: it
        # waits for requests in progress (a stalled body) when it shuts down.
        for writer in writers:
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()


async def test_800_slow_sockets_do_not_stop_health(tmp_path):
    # 512 files: fewer than the slow sockets. Without a bound on connections
    # the server runs out of descriptors and accepts nothing more.
    with serving(tmp_path, files=512, client_read_timeout="60") as port:
        async with stalled(port, 800, b"GET /health HTTP/1.1\r\nHost: shoprelay\r\n"):
            assert [await health(port) for _ in range(3)] == [200, 200, 200]


async def test_stalled_request_bodies_do_not_stop_health(tmp_path):
    # Every connection has sent a whole, authorised head and one byte of
    # its body, then nothing: each has a request in progress. They are still
    # evictable (nothing was answered yet), so /health gets a socket.
    stall = (b"POST /admin/tenants HTTP/1.1\r\nHost: shoprelay\r\n"
             b"Authorization: Bearer " + ADMIN_TOKEN.encode() + b"\r\n"
             b"Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{")
    with serving(tmp_path, max_connections="16", client_read_timeout="60", admin_token=ADMIN_TOKEN) as port:
        async with stalled(port, 16, stall) as readers:
            assert [await health(port) for _ in range(3)] == [200, 200, 200]
            # The oldest stalled one was closed to make room.
            assert await closed_by_server(readers[0])


async def test_silent_half_sent_and_idle_sockets_are_closed(tmp_path):
    with serving(tmp_path, client_read_timeout="1", keep_alive_timeout="1", admin_token=ADMIN_TOKEN) as port:
        async with (
            stalled(port, 1, b"") as silent,
            stalled(port, 1, b"GET /heal") as half_line,
            stalled(port, 1, b"GET /health HTTP/1.1\r\nHost: shoprelay\r\n") as half_head,
            stalled(port, 1, b"POST /admin/tenants HTTP/1.1\r\nHost: shoprelay\r\n"
                             b"Authorization: Bearer " + ADMIN_TOKEN.encode() + b"\r\n"
                             b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{") as half_body,
            stalled(port, 1, b"GET /health HTTP/1.1\r\nHost: shoprelay\r\n\r\n") as idle,
        ):
            # The idle one was answered, then kept alive until the timeout.
            head = await asyncio.wait_for(idle[0].readuntil(b"\r\n\r\n"), STOP)
            assert head.startswith(b"HTTP/1.1 200 ")
            for readers in (silent, half_line, half_head, half_body, idle):
                assert await closed_by_server(readers[0])
            assert await health(port) == 200
    # The body cut short is the client's doing: logged as such, not as our error.
    log = (tmp_path / "serve.log").read_text()
    assert '"route":"/admin/tenants","status":400' in log
    assert '"level":"error"' not in log


async def test_an_oversized_request_head_is_refused(tmp_path):
    with serving(tmp_path) as port:
        flood = b"GET /health HTTP/1.1\r\nHost: shoprelay\r\nX-Padding: " + b"a" * 100_000
        async with stalled(port, 1, flood) as (reader,):
            answer = await asyncio.wait_for(reader.read(), STOP)
        assert answer.startswith(b"HTTP/1.1 431 ")
        assert await health(port) == 200


def test_serve_settings_are_read_and_bounded():
    config = Config.from_env({
        "SHOPRELAY_CLIENT_READ_TIMEOUT": "2.5",
        "SHOPRELAY_KEEP_ALIVE_TIMEOUT": "75",
        "SHOPRELAY_MAX_CONNECTIONS": "4000",
    })
    assert (config.client_read_timeout, config.keep_alive_timeout, config.max_connections) == (2.5, 75.0, 4000)
    for name, value in (("CLIENT_READ_TIMEOUT", "0"), ("KEEP_ALIVE_TIMEOUT", "-1"), ("MAX_CONNECTIONS", "5")):
        with pytest.raises(ConfigError, match=f"SHOPRELAY_{name}"):
            Config.from_env({f"SHOPRELAY_{name}": value})
    # Client sockets leave room for the upstream pool, the database and 64 files.
    assert serving_module.connection_bound(Config(), 512) == 512 - 256 - 10 - 64
    assert serving_module.connection_bound(Config(max_connections=200), 65_536) == 200
