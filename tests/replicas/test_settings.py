"""The settings a PostgreSQL deployment adds, and how they are validated."""

import pytest

from proxy.config import Config, ConfigError
from proxy.store import open_store
from proxy.store.postgres import PostgresStore


def test_defaults():
    config = Config.from_env({})
    assert (config.db_pool_size, config.db_statement_timeout, config.invalidation_poll_interval) == (10, 5.0, 1.0)
    assert (config.host, config.port, config.workers) == ("127.0.0.1", 8080, 1)


def test_values_are_read():
    config = Config.from_env({
        "SHOPRELAY_DATABASE_URL": "postgresql://u:p@db:5432/x",
        "SHOPRELAY_DB_POOL_SIZE": "25",
        "SHOPRELAY_DB_STATEMENT_TIMEOUT": "2.5",
        "SHOPRELAY_INVALIDATION_POLL_INTERVAL": "0.5",
        "SHOPRELAY_HOST": "0.0.0.0",
        "SHOPRELAY_PORT": "9000",
        "SHOPRELAY_WORKERS": "4",
    })
    assert (config.db_pool_size, config.db_statement_timeout, config.invalidation_poll_interval) == (25, 2.5, 0.5)
    assert (config.host, config.port, config.workers) == ("0.0.0.0", 9000, 4)
    store = open_store(config.database_url, pool_size=config.db_pool_size,
                       statement_timeout=config.db_statement_timeout)
    assert isinstance(store, PostgresStore) and store._pool_size == 25
    assert store._server_settings["statement_timeout"] == "2500"


@pytest.mark.parametrize("name, value", [
    ("SHOPRELAY_DB_POOL_SIZE", "0"),
    ("SHOPRELAY_DB_POOL_SIZE", "many"),
    ("SHOPRELAY_DB_STATEMENT_TIMEOUT", "-1"),
    ("SHOPRELAY_DB_STATEMENT_TIMEOUT", "nan"),
    ("SHOPRELAY_INVALIDATION_POLL_INTERVAL", "0"),
    ("SHOPRELAY_PORT", "70000"),
    ("SHOPRELAY_WORKERS", "0"),
])
def test_bad_values_stop_startup_naming_the_variable(name, value):
    with pytest.raises(ConfigError, match=name):
        Config.from_env({name: value})


def test_a_malformed_postgresql_url_is_refused_without_echoing_it():
    with pytest.raises(ConfigError) as caught:
        Config.from_env({"SHOPRELAY_DATABASE_URL": "postgresql://u:s3cret@db:port/x"})
    assert "s3cret" not in str(caught.value) and "SHOPRELAY_DATABASE_URL" in str(caught.value)
