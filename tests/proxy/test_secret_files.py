"""Secret settings from files (Docker/Kubernetes secrets, issue 12 item 11):
SHOPRELAY_DATABASE_URL_FILE, SHOPRELAY_ENCRYPTION_KEYS_FILE and
SHOPRELAY_ADMIN_TOKEN_FILE, through the CLI and the HTTP API."""

from __future__ import annotations

import os

import pytest

from proxy.config import Config, ConfigError
from tests.harness import TEST_KEYRING, running_app
from tests.proxy.test_cli import one_json, run

SECRET = "s3cret-admin-token-0123456789abcdef"


def write(path, text):
    path.write_text(text)
    path.chmod(0o600)
    return str(path)


def test_the_cli_reads_the_database_and_keyring_from_files(tmp_path):
    url = write(tmp_path / "database_url", f"sqlite:///{tmp_path / 'from-file.db'}\n")
    keys = write(tmp_path / "keys", TEST_KEYRING + "\n")
    env = {"SHOPRELAY_DATABASE_URL_FILE": url, "SHOPRELAY_ENCRYPTION_KEYS_FILE": keys}
    # run() sets SHOPRELAY_DATABASE_URL; the _FILE form replaces it here.
    result = run(tmp_path, "tenants", "create", "--name", "filed", env_extra=env, check=False)
    assert result.returncode != 0 and "SHOPRELAY_DATABASE_URL_FILE" in result.stderr and "not both" in result.stderr

    clean = {k: v for k, v in os.environ.items() if not k.startswith("SHOPRELAY_")}
    import subprocess
    import sys

    def cli(*args):
        return subprocess.run([sys.executable, "-m", "proxy.cli", *args], capture_output=True, text=True,
                              env={**clean, **env}, timeout=60, cwd=tmp_path)

    created = cli("tenants", "create", "--name", "filed")
    assert created.returncode == 0, created.stderr
    tenant = one_json(created)
    assert (tmp_path / "from-file.db").exists()
    connection = cli("connections", "create", "--tenant", tenant["id"], "--provider", "sandbox",
                     "--credentials", "{}")
    assert connection.returncode == 0, connection.stderr
    # No key file was made: the keyring came from the file.
    assert not list(tmp_path.glob("*.key"))


async def test_the_admin_api_takes_its_token_from_a_file(tmp_path):
    path = write(tmp_path / "admin_token", SECRET + "\n")
    config = Config.from_env({"SHOPRELAY_ADMIN_TOKEN_FILE": path})
    assert config.admin_token == SECRET  # the trailing newline of the file is not part of it
    async with running_app(tmp_path, admin_token=config.admin_token) as api:
        ok = await api.client.get("/admin/tenants", headers={"Authorization": f"Bearer {SECRET}"})
        assert ok.status_code == 200
        wrong = await api.client.get("/admin/tenants", headers={"Authorization": "Bearer not-it"})
        assert wrong.status_code == 401


@pytest.mark.parametrize("name", ["SHOPRELAY_DATABASE_URL", "SHOPRELAY_ENCRYPTION_KEYS", "SHOPRELAY_ADMIN_TOKEN"])
def test_a_variable_and_its_file_together_are_refused(tmp_path, name):
    path = write(tmp_path / "secret", "sqlite:///x.db")
    with pytest.raises(ConfigError, match=f"{name} or {name}_FILE, not both"):
        Config.from_env({name: "sqlite:///y.db", f"{name}_FILE": path})


@pytest.mark.parametrize("name", ["SHOPRELAY_DATABASE_URL", "SHOPRELAY_ENCRYPTION_KEYS", "SHOPRELAY_ADMIN_TOKEN"])
def test_unreadable_files_name_the_variable_never_the_content(tmp_path, name):
    missing = tmp_path / "missing"
    with pytest.raises(ConfigError, match=f"{name}_FILE: cannot read .*missing"):
        Config.from_env({f"{name}_FILE": str(missing)})
    with pytest.raises(ConfigError, match=f"{name}_FILE: cannot read"):
        Config.from_env({f"{name}_FILE": str(tmp_path)})  # a directory
    empty = write(tmp_path / "empty", "\n")
    with pytest.raises(ConfigError, match=f"{name}_FILE: .* is empty"):
        Config.from_env({f"{name}_FILE": empty})
    binary = tmp_path / "binary"
    binary.write_bytes(b"postgresql://u:\xff\xfesecret@db/x")
    with pytest.raises(ConfigError) as caught:
        Config.from_env({f"{name}_FILE": str(binary)})
    assert "secret" not in str(caught.value).replace(str(tmp_path), "") and f"{name}_FILE" in str(caught.value)


def test_a_bad_url_from_a_file_is_refused_without_echoing_it(tmp_path):
    path = write(tmp_path / "url", "postgresql://u:s3cret@db:port/x")
    with pytest.raises(ConfigError) as caught:
        Config.from_env({"SHOPRELAY_DATABASE_URL_FILE": path})
    assert "s3cret" not in str(caught.value)
