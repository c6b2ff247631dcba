"""A throwaway PostgreSQL database for a test session, and a fresh schema
per test inside it (a clean store, every migration applied from zero).

Where the server is: ``SHOPRELAY_TEST_POSTGRES_URL`` (``.ci/run`` creates a
throwaway database per run and exports it; the session then uses it as
is), else 127.0.0.1:5432 as ``$PGUSER``, ``postgres`` or ``root``, where the
session creates its own database and drops it at the end. PostgreSQL tests
are skipped, saying why, only when no server answers there.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import urllib.parse
import uuid
from typing import Iterator

import asyncpg
import pytest

ENV_URL = "SHOPRELAY_TEST_POSTGRES_URL"
LOCAL_SERVER = "127.0.0.1:5432"


class PostgresDatabase:
    """One database on a reachable server; ``url`` connects to it."""

    def __init__(self, url: str, name: str) -> None:
        self.url = url
        self.name = name

    def schema_url(self, schema: str) -> str:
        """The database URL with ``search_path`` set to ``schema``
        (asyncpg passes unknown query parameters as server settings)."""
        parts = urllib.parse.urlsplit(self.url)
        query = urllib.parse.parse_qsl(parts.query)
        query = [(k, v) for k, v in query if k != "search_path"] + [("search_path", schema)]
        return urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(query)))

    async def connect(self) -> asyncpg.Connection:
        return await asyncpg.connect(self.url, timeout=5)

    async def create_schema(self) -> str:
        schema = "t_" + uuid.uuid4().hex[:16]
        conn = await self.connect()
        try:
            await conn.execute(f'CREATE SCHEMA "{schema}"')
        finally:
            await conn.close()
        return schema

    async def drop_schema(self, schema: str) -> None:
        conn = await self.connect()
        try:
            await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        finally:
            await conn.close()


def _local_candidates() -> list[str]:
    users = [os.environ.get("PGUSER"), "postgres", "root"]
    seen: list[str] = []
    for user in users:
        if user and user not in seen:
            seen.append(user)
    return [f"postgresql://{user}@{LOCAL_SERVER}/postgres" for user in seen]


async def _first_reachable(urls: list[str]) -> tuple[str | None, str]:
    last = "no URL to try"
    for url in urls:
        try:
            conn = await asyncpg.connect(url, timeout=3)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            last = f"{type(exc).__name__}: {exc}"
            continue
        await conn.close()
        return url, ""
    return None, last


def _run(coroutine_fn, *args):  # type: ignore[no-untyped-def]
    """Run a coroutine to completion from sync code, even when an event loop
    is running in this thread (a fixture requested from an async one)."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(lambda: asyncio.run(coroutine_fn(*args))).result()


def session_database() -> Iterator[PostgresDatabase]:
    """Body of the session fixture (sync: it runs its own event loops)."""
    given = os.environ.get(ENV_URL)
    if given:
        url, why = _run(_first_reachable, [given])
        if url is None:
            pytest.fail(f"{ENV_URL} is set but its server does not answer ({why})")
        yield PostgresDatabase(given, urllib.parse.urlsplit(given).path.lstrip("/"))
        return
    admin, why = _run(_first_reachable, _local_candidates())
    if admin is None:
        pytest.skip(f"no PostgreSQL server answers at {LOCAL_SERVER} ({why}); set {ENV_URL}")
    name = f"shoprelay_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"

    async def create() -> None:
        conn = await asyncpg.connect(admin, timeout=5)
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()

    async def drop() -> None:
        conn = await asyncpg.connect(admin, timeout=5)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()

    _run(create)
    parts = urllib.parse.urlsplit(admin)
    try:
        yield PostgresDatabase(urllib.parse.urlunsplit(parts._replace(path="/" + name)), name)
    finally:
        _run(drop)
