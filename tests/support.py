"""Test support: a real local upstream (aiohttp on 127.0.0.1) and fixtures."""

from __future__ import annotations

import contextlib
import json
import pathlib
from typing import Any, AsyncIterator

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
