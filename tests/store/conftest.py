"""The store fixture: every store test runs on each implementation
(SQLite in a temporary file; PostgreSQL in a fresh schema of a throwaway
database, see tests/store/postgres.py)."""

from __future__ import annotations

import pytest

from proxy.store import open_store
from tests.store.postgres import PostgresDatabase, session_database


@pytest.fixture(scope="session")
def postgres_database():
    yield from session_database()


@pytest.fixture(params=["sqlite", "postgresql"])
async def store(request, tmp_path):
    schema = None
    if request.param == "sqlite":
        store = open_store(f"sqlite:///{tmp_path / 'store.db'}")
    else:
        # Requested only here, so SQLite runs where no PostgreSQL answers.
        database: PostgresDatabase = request.getfixturevalue("postgres_database")
        schema = await database.create_schema()
        store = open_store(database.schema_url(schema))
    try:
        await store.migrate()
        yield store
    finally:
        await store.close()
        if schema is not None:
            await database.drop_schema(schema)
