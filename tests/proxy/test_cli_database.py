"""Which database the CLI uses: one default place whatever the working
directory, named on stderr by every command, and `shoprelay status`."""

import json
import os
import stat

import pytest

from keys.vault import new_key_text
from tests.cli_runner import run_cli


def cli(cwd, *args, env_extra=None):
    """The CLI (in this process: tests/cli_runner.py) from ``cwd``, with none
    of this machine's SHOPRELAY_* or XDG_* settings (HOME comes from ``env_extra``)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SHOPRELAY_", "XDG_"))}
    env.update(env_extra or {})
    return run_cli(*args, env=env, cwd=cwd)


def ok(result):
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def folders(tmp_path, *names):
    paths = [tmp_path / name for name in names]
    for path in paths:
        path.mkdir()
    return paths


def test_one_database_whatever_the_folder(tmp_path):
    home, here, there = folders(tmp_path, "home", "here", "there")
    env = {"HOME": str(home)}
    tenant = ok(cli(here, "tenants", "create", "--name", "Acme", env_extra=env))
    listed = cli(there, "tenants", "list", env_extra=env)
    assert [t["id"] for t in ok(listed)["data"]] == [tenant["id"]]

    data_dir = home / ".local" / "share" / "shoprelay"
    database = data_dir / "shoprelay.db"
    assert database.is_file()
    assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700
    assert list(here.iterdir()) == [] and list(there.iterdir()) == []
    # Said on stderr, in one line, by every command that uses it.
    first = listed.stderr.splitlines()[0]
    assert first == f"shoprelay: database sqlite:///{database} (the default data directory)"


def test_xdg_data_home_and_shoprelay_data_dir_choose_the_place(tmp_path):
    home, xdg, chosen, cwd = folders(tmp_path, "home", "xdg", "chosen", "cwd")
    by_xdg = cli(cwd, "tenants", "list", env_extra={"HOME": str(home), "XDG_DATA_HOME": str(xdg)})
    assert ok(by_xdg) == {"data": []}
    assert (xdg / "shoprelay" / "shoprelay.db").is_file()
    assert f"sqlite:///{xdg / 'shoprelay' / 'shoprelay.db'}" in by_xdg.stderr
    by_var = cli(cwd, "tenants", "list", env_extra={
        "HOME": str(home), "XDG_DATA_HOME": str(xdg), "SHOPRELAY_DATA_DIR": str(chosen / "data"),
    })
    assert f"sqlite:///{chosen / 'data' / 'shoprelay.db'} (SHOPRELAY_DATA_DIR)" in by_var.stderr
    assert not (home / ".local").exists()
    relative = cli(cwd, "tenants", "list", env_extra={"HOME": str(home), "SHOPRELAY_DATA_DIR": "data"})
    assert relative.returncode == 1 and "SHOPRELAY_DATA_DIR must be an absolute path" in relative.stderr


def test_an_old_database_in_the_folder_is_pointed_at(tmp_path):
    home, cwd = folders(tmp_path, "home", "cwd")
    (cwd / "shoprelay.db").write_bytes(b"")
    result = cli(cwd, "tenants", "list", env_extra={"HOME": str(home)})
    assert ok(result) == {"data": []}
    assert f"{cwd / 'shoprelay.db'} is not used" in result.stderr
    assert f"SHOPRELAY_DATABASE_URL=sqlite:///{cwd / 'shoprelay.db'}" in result.stderr


def test_a_postgresql_url_is_named_without_its_password(tmp_path):
    url = "postgresql://shop:s3cret-pw@127.0.0.1:1/x?password=s3cret-pw"
    result = cli(tmp_path, "tenants", "list", env_extra={
        "HOME": str(tmp_path), "SHOPRELAY_DATABASE_URL": url,
    })
    assert result.returncode == 1  # nothing listens on port 1
    assert result.stderr.splitlines()[0] == (
        "shoprelay: database postgresql://shop:***@127.0.0.1:1/x?password=*** (SHOPRELAY_DATABASE_URL)"
    )
    assert "s3cret" not in result.stderr


def test_status_says_what_is_where(tmp_path):
    home, cwd = folders(tmp_path, "home", "cwd")
    env = {"HOME": str(home)}
    before = ok(cli(cwd, "status", env_extra=env))
    database = home / ".local" / "share" / "shoprelay" / "shoprelay.db"
    # Looking creates nothing.
    assert before["exists"] is False and not database.exists()
    assert before["database"] == f"sqlite:///{database}"
    assert before["keyring"]["source"] == "key file" and "error" in before["keyring"]

    demo = ok(cli(cwd, "quickstart", "--json", env_extra=env))
    after = ok(cli(cwd, "status", env_extra=env))
    key_id = after["keyring"]["key_ids"][0]
    assert after["exists"] is True and after["schema_version"] >= 2
    assert after["keyring"] == {
        "source": "key file", "key_file": f"{database}.key", "key_ids": [key_id], "active_key": key_id,
    }
    assert after["counts"] == {"tenants": 1, "active_api_keys": 1, "connections": 1, "field_mappings": 0}
    assert after["connections_per_key_id"] == {key_id: 1}
    assert after["unreadable_connections_per_key_id"] == {}
    # With another keyring in the environment, status shows what it cannot read.
    other = ok(cli(cwd, "status", env_extra={**env, "SHOPRELAY_ENCRYPTION_KEYS": new_key_text("k9")}))
    assert other["keyring"]["source"] == "SHOPRELAY_ENCRYPTION_KEYS"
    assert other["unreadable_connections_per_key_id"] == {key_id: 1}
    for secret in (demo["api_key"], demo["connection_token"], database.with_suffix(".db.key").read_text()):
        assert secret.strip() not in json.dumps([before, after, other])


def test_where_the_default_database_is():
    from proxy.config import Config, ConfigError

    def url(env):
        return Config.from_env(env).database_url

    assert url({"HOME": "/h"}) == "sqlite:////h/.local/share/shoprelay/shoprelay.db"
    assert url({"HOME": "/h", "XDG_DATA_HOME": "/x"}) == "sqlite:////x/shoprelay/shoprelay.db"
    assert url({"HOME": "/h", "XDG_DATA_HOME": "x"}) == "sqlite:////h/.local/share/shoprelay/shoprelay.db"
    assert url({"HOME": "/h", "XDG_DATA_HOME": "/x", "SHOPRELAY_DATA_DIR": "/d/"}) == "sqlite:////d/shoprelay.db"
    with pytest.raises(ConfigError, match="SHOPRELAY_DATA_DIR"):
        Config.from_env({"HOME": "not-absolute"})
    # With a database URL the data directory is not needed, so not required.
    assert url({"HOME": "not-absolute", "SHOPRELAY_DATABASE_URL": "sqlite:///a.db"}) == "sqlite:///a.db"
