"""SHOPRELAY_PUBLIC_URL and SHOPRELAY_CONNECT_SESSION_TTL."""

import pytest

from proxy.config import Config, ConfigError, listen_url


def test_the_public_url_defaults_to_the_listening_address():
    assert Config.from_env({"HOME": "/tmp"}).public_base == "http://127.0.0.1:8080"
    assert Config.from_env({"HOME": "/tmp", "SHOPRELAY_HOST": "0.0.0.0", "SHOPRELAY_PORT": "9000"}).public_base == (
        "http://127.0.0.1:9000")
    assert listen_url("::", 8080) == "http://[::1]:8080"
    assert listen_url("::1", 80) == "http://[::1]:80"
    assert listen_url("relay.internal", 8080) == "http://relay.internal:8080"


@pytest.mark.parametrize("value, expected", [
    ("https://relay.example.com", "https://relay.example.com"),
    ("https://relay.example.com/", "https://relay.example.com"),
    (" https://example.com/shoprelay/ ", "https://example.com/shoprelay"),
    ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
])
def test_a_public_url_is_kept_without_its_trailing_slash(value, expected):
    config = Config.from_env({"HOME": "/tmp", "SHOPRELAY_PUBLIC_URL": value})
    assert config.public_url == expected == config.public_base


@pytest.mark.parametrize("value", [
    "relay.example.com", "ftp://relay.example.com", "https://", "https://relay.example.com/?x=1",
    "https://relay.example.com/#top", "https://user:pw@relay.example.com", "https://relay.example.com:99999",
])
def test_a_bad_public_url_stops_startup_naming_the_variable(value):
    with pytest.raises(ConfigError, match="SHOPRELAY_PUBLIC_URL"):
        Config.from_env({"HOME": "/tmp", "SHOPRELAY_PUBLIC_URL": value})


def test_the_session_ttl_is_bounded():
    assert Config.from_env({"HOME": "/tmp"}).connect_session_ttl == 1800
    assert Config.from_env({"HOME": "/tmp", "SHOPRELAY_CONNECT_SESSION_TTL": "600"}).connect_session_ttl == 600
    for bad in ("0", "59", "604801", "ten"):
        with pytest.raises(ConfigError, match="SHOPRELAY_CONNECT_SESSION_TTL"):
            Config.from_env({"HOME": "/tmp", "SHOPRELAY_CONNECT_SESSION_TTL": bad})
