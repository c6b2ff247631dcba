"""Test support: a real local upstream (aiohttp on 127.0.0.1), fixtures, and
``shoprelay serve`` run as a subprocess."""

from __future__ import annotations

import contextlib
import json
import os
import pathlib
import socket
import subprocess
import sys
import time
from typing import Any, AsyncIterator, Callable, Iterator

import httpx
from aiohttp import web

FIXTURES = pathlib.Path(__file__).parent / "fixtures"


def load_fixture(provider: str, name: str) -> Any:
    """A provider payload from tests/fixtures/<provider>/<name>."""
    return json.loads((FIXTURES / provider / name).read_text(encoding="utf-8"))


@contextlib.asynccontextmanager
async def serve(app: web.Application) -> AsyncIterator[str]:
    """Run ``app`` on an ephemeral loopback port; yields its origin URL."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


class Recorder:
    """Keeps every request an upstream saw, for asserting headers and queries."""

    def __init__(self) -> None:
        self.requests: list[web.Request] = []
        self.bodies: list[bytes] = []

    @web.middleware
    async def middleware(self, request: web.Request, handler):  # type: ignore[no-untyped-def]
        self.requests.append(request)
        self.bodies.append(await request.read())
        return await handler(request)

    def app(self) -> web.Application:
        return web.Application(middlewares=[self.middleware])


def reply(body: Any = None, *, status: int = 200, text: str | None = None, **kwargs: Any):
    """An async aiohttp handler that always answers the same thing."""

    async def handler(request: web.Request) -> web.StreamResponse:
        if text is not None:
            return web.Response(text=text, status=status, **kwargs)
        return web.json_response(body, status=status, **kwargs)

    return handler


def free_port() -> int:
    """A loopback port nothing listens on (for a subprocess to bind)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def serve_command(
    tmp_path: pathlib.Path,
    port: int | None = None,
    preexec_fn: Callable[[], None] | None = None,
    stop: float = 30.0,
    **settings: str,
) -> Iterator[int]:
    """``shoprelay serve`` as a user runs it: a subprocess in ``tmp_path`` on
    ``port`` (else a free one), with ``SHOPRELAY_<name>`` settings in place of
    any from this environment. Yields the port once ``/health`` answers 200;
    terminates the server on exit. Its stdout and stderr go to
    ``tmp_path/serve.log``. ``stop`` only bounds a hang."""
    port = port or free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHOPRELAY_")}
    env.update({f"SHOPRELAY_{name.upper()}": value for name, value in settings.items()})
    with open(tmp_path / "serve.log", "wb") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "proxy.cli", "serve", "--port", str(port)],
            env=env, cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT, preexec_fn=preexec_fn,
        )
        try:
            deadline = time.monotonic() + stop
            while True:
                try:
                    if httpx.get(f"http://127.0.0.1:{port}/health").status_code == 200:
                        break
                except httpx.TransportError:
                    if time.monotonic() > deadline or server.poll() is not None:
                        raise
                    time.sleep(0.1)
            yield port
        finally:
            server.terminate()
            server.wait(timeout=stop)
