"""Persistence behind one interface; pick the implementation from the URL."""

from __future__ import annotations

from .base import Conflict, InvalidValue, Store, StoreUnavailable

POSTGRES_SCHEMES = ("postgresql://", "postgres://")


def open_store(
    database_url: str, *, pool_size: int = 10, statement_timeout: float = 5.0
) -> Store:
    """``sqlite:///path.db`` or ``postgresql://user:pass@host:5432/db``.

    ``pool_size`` and ``statement_timeout`` (seconds) apply to PostgreSQL
    (``SHOPRELAY_DB_POOL_SIZE``, ``SHOPRELAY_DB_STATEMENT_TIMEOUT``); SQLite
    has one connection and a 5 s busy timeout.
    """
    if database_url.startswith("sqlite:///"):
        from .sqlite import SQLiteStore

        return SQLiteStore(database_url[len("sqlite:///"):])
    if database_url.startswith(POSTGRES_SCHEMES):
        from .postgres import PostgresStore

        return PostgresStore(
            database_url, pool_size=pool_size, statement_timeout=statement_timeout
        )
    raise StoreUnavailable(
        "SHOPRELAY_DATABASE_URL must start with sqlite:/// or postgresql://"
    )


__all__ = ["Conflict", "InvalidValue", "Store", "StoreUnavailable", "open_store"]
