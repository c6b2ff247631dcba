"""Request bodies over the cap are refused before they are held in memory:
at once from Content-Length, and while they stream in when chunked."""

import asyncio

import pytest

from proxy.bodies import MAX_BODY_BYTES
from tests.harness import running_app, served_over_http

ADMIN = "admin-token-for-tests-0123456789"
CHUNK = 16 * 1024
HUGE = 500 * 1024 * 1024  # what the hostile client offers: 500 MB


@pytest.mark.parametrize("path", ["/connections", "/field-mappings", "/admin/tenants"])
async def test_chunked_body_over_the_cap_stops_being_read_at_the_cap(tmp_path, path):
    async with running_app(tmp_path, admin_token=ADMIN) as api:
        tenant = await api.tenant()
        consumed = 0

        async def endless():
            # Generated lazily: the counter says how much the app pulled.
            nonlocal consumed
            while consumed < HUGE:
                consumed += CHUNK
                yield b" " * CHUNK

        headers = {"x-api-key": tenant.api_key, "authorization": f"Bearer {ADMIN}"}
        response = await api.client.post(path, content=endless(), headers=headers)
        assert response.status_code == 413, response.text
        assert response.json()["code"] == "invalid_request"
        assert consumed <= MAX_BODY_BYTES + CHUNK, consumed
        assert (await api.client.get("/health")).status_code == 200


async def test_a_body_at_the_cap_is_still_read_when_chunked(tmp_path):
    """The streaming read keeps every byte up to the cap (here: a valid JSON
    body padded with whitespace to exactly the cap)."""
    async with running_app(tmp_path) as api:
        tenant = await api.tenant()
        body = b'{"provider":"sandbox","credentials":{}}'
        padded = body + b" " * (MAX_BODY_BYTES - len(body))

        async def chunks():
            for start in range(0, len(padded), CHUNK):
                yield padded[start:start + CHUNK]

        response = await api.client.post(
            "/connections", content=chunks(), headers={"x-api-key": tenant.api_key}
        )
        assert response.status_code == 201, response.text


async def test_declared_length_over_the_cap_is_refused_before_any_body_is_sent(tmp_path):
    """Over a real socket: the headers alone announce 500 MB; the answer is
    413 without one byte of body having been sent."""
    async with served_over_http(tmp_path) as (api, base):
        tenant = await api.tenant()
        host, port = base.removeprefix("http://").split(":")
        reader, writer = await asyncio.open_connection(host, int(port))
        try:
            writer.write(
                (
                    "POST /connections HTTP/1.1\r\n"
                    f"Host: {host}\r\n"
                    f"x-api-key: {tenant.api_key}\r\n"
                    "Content-Type: application/json\r\n"
                    f"Content-Length: {HUGE}\r\n\r\n"
                ).encode()
            )
            await writer.drain()
            async with asyncio.timeout(30):  # a hang guard, not a timing assertion
                status_line = await reader.readline()
        finally:
            writer.close()
        assert status_line.split()[1] == b"413", status_line
