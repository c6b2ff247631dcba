"""Several shoprelay replicas (app instances with their own runtimes and
caches) on one PostgreSQL database: a fresh schema per test inside the
session's throwaway database (tests/store/postgres.py)."""

from __future__ import annotations

import contextlib
import pathlib
from typing import Any, AsyncIterator

import pytest

from tests.harness import Harness, running_app
from tests.store.postgres import PostgresDatabase, session_database

ADMIN_TOKEN = "admin-test-token-0123456789"


@pytest.fixture(scope="session")
def postgres_database():
    yield from session_database()


@pytest.fixture
async def pg(postgres_database: PostgresDatabase) -> AsyncIterator["Schema"]:
    schema = await postgres_database.create_schema()
    try:
        yield Schema(postgres_database, schema)
    finally:
        await postgres_database.drop_schema(schema)


class Schema:
    def __init__(self, database: PostgresDatabase, name: str) -> None:
        self.database = database
        self.name = name
        self.url = database.schema_url(name)


@contextlib.asynccontextmanager
async def replicas(
    tmp_path: pathlib.Path, url: str, count: int = 2, **overrides: Any
) -> AsyncIterator[list[Harness]]:
    """``count`` app instances on one database, each with its own lifespan."""
    settings: dict[str, Any] = {"database_url": url, "admin_token": ADMIN_TOKEN}
    settings.update(overrides)
    async with contextlib.AsyncExitStack() as stack:
        apps = [await stack.enter_async_context(running_app(tmp_path, **settings)) for _ in range(count)]
        yield apps


def admin_headers() -> dict[str, str]:
    return {"authorization": f"Bearer {ADMIN_TOKEN}"}
