"""The CLI contract: each command run as ``proxy.cli.main(argv)`` in this
process with an environment of its own (tests/cli_runner.py), and one smoke
test of the installed ``shoprelay`` console script in a real process."""

import json
import os
import pathlib
import sqlite3
import stat
import subprocess
import sys

import httpx
import pytest

from tests.cli_runner import run_cli
from tests.harness import TEST_KEYRING
from tests.support import free_port, serve_command


def cli_env(tmp_path, env_extra=None):
    """This environment without its SHOPRELAY_* settings, on tmp_path/cli.db."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHOPRELAY_")}
    env["SHOPRELAY_DATABASE_URL"] = f"sqlite:///{tmp_path / 'cli.db'}"
    env.update(env_extra or {})
    return env


def run(tmp_path, *args, env_extra=None, check=True, umask=-1, stdin=""):
    env = cli_env(tmp_path, env_extra)
    result = run_cli(*args, env=env, cwd=tmp_path, umask=umask, stdin=stdin)
    # Every command that uses a database names it on its first stderr line
    # (tests/proxy/test_cli_database.py); the rest is what these tests check.
    first, _, rest = result.stderr.partition("\n")
    if first.startswith("shoprelay: database "):
        assert f"{env['SHOPRELAY_DATABASE_URL']} " in first
        result.stderr = rest
    if check:
        assert result.returncode == 0, result.stderr
    return result


def one_json(result):
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1, result.stdout
    return json.loads(lines[0])


def count(tmp_path, table):
    return sqlite3.connect(tmp_path / "cli.db").execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]


def test_create_list_revoke_delete(tmp_path):
    tenant = one_json(run(tmp_path, "tenants", "create", "--name", "Acme"))
    assert set(tenant) == {"id", "name"} and tenant["name"] == "Acme"
    key = one_json(run(tmp_path, "api-keys", "create", "--tenant", tenant["id"], "--name", "prod"))
    assert set(key) == {"id", "api_key"} and key["api_key"].startswith("sk_")
    conn = one_json(run(
        tmp_path, "connections", "create", "--tenant", tenant["id"], "--provider", "sandbox",
        "--credentials", "{}", "--settings", '{"size": 10}',
    ))
    assert set(conn) == {"id", "connection_token", "provider"}
    assert conn["connection_token"].startswith("ct_") and conn["provider"] == "sandbox"

    keys = one_json(run(tmp_path, "api-keys", "list", "--tenant", tenant["id"]))["data"]
    assert [k["id"] for k in keys] == [key["id"]]
    assert keys[0]["prefix"] == key["api_key"][:11]
    conns_out = run(tmp_path, "connections", "list", "--tenant", tenant["id"]).stdout
    assert conn["connection_token"] not in conns_out and key["api_key"] not in conns_out
    assert json.loads(conns_out)["data"][0]["token_prefix"] == conn["connection_token"][:11]

    revoked = one_json(run(tmp_path, "api-keys", "revoke", key["id"]))
    assert revoked["id"] == key["id"] and revoked["revoked_at"]
    deleted = one_json(run(tmp_path, "connections", "delete", conn["id"]))
    assert deleted == {"id": conn["id"], "deleted": True}
    assert count(tmp_path, "connections") == 0


@pytest.mark.parametrize(
    "args, message",
    [
        (["--provider", "acme_shop", "--credentials", "{}"], "unknown provider"),
        (["--provider", "sandbox", "--credentials", "{not json"], "not valid JSON"),
        (["--provider", "sandbox", "--credentials", "{}", "--settings", '{"size": "many"}'], "size"),
        (["--provider", "sandbox", "--credentials", "[]"], "JSON object"),
        (["--provider", "sandbox", "--credentials", '{"extra": 1}'], "extra"),
        # 32,000 levels were a 22-line RecursionError traceback (issue 11).
        (["--provider", "sandbox", "--credentials", '{"a":' + "[" * 32_000 + "]" * 32_000 + "}"],
         "--credentials nests deeper than 32 levels"),
        (["--provider", "sandbox", "--credentials", "{}", "--settings", "[" * 32_000],
         "--settings nests deeper than 32 levels"),
    ],
)
def test_bad_connection_input_writes_nothing(tmp_path, args, message):
    tenant = one_json(run(tmp_path, "tenants", "create", "--name", "Acme"))
    result = run(tmp_path, "connections", "create", "--tenant", tenant["id"], *args, check=False)
    assert result.returncode == 1
    assert result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1
    assert message in result.stderr
    assert count(tmp_path, "connections") == 0


def test_unknown_tenant_is_refused(tmp_path):
    for args in (
        ["api-keys", "create", "--tenant", "nope"],
        ["connections", "create", "--tenant", "nope", "--provider", "sandbox", "--credentials", "{}"],
        ["api-keys", "list", "--tenant", "nope"],
    ):
        result = run(tmp_path, *args, check=False)
        assert result.returncode == 3 and "no tenant" in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1
    assert count(tmp_path, "api_keys") == 0 and count(tmp_path, "connections") == 0


def test_already_gone_exits_3_everywhere(tmp_path):
    """Unknown, revoked or deleted: one exit status (3), distinct from failure (1)."""
    tenant = one_json(run(tmp_path, "tenants", "create", "--name", "Acme"))["id"]
    key = one_json(run(tmp_path, "api-keys", "create", "--tenant", tenant))["id"]
    conn = one_json(run(tmp_path, "connections", "create", "--tenant", tenant, "--provider", "sandbox",
                        "--credentials", "{}"))["id"]
    mapping = one_json(run(tmp_path, "field-mappings", "create", "--tenant", tenant, "--name", "city",
                           "--provider", "sandbox", "--expression", "addresses[0].city"))["id"]
    run(tmp_path, "api-keys", "revoke", key)
    run(tmp_path, "connections", "delete", conn)
    run(tmp_path, "field-mappings", "delete", "--tenant", tenant, mapping)
    for args, message in [
        (["api-keys", "revoke", "nope"], "no API key"),
        (["api-keys", "revoke", key], "already revoked"),
        (["connections", "delete", "nope"], "no connection"),
        (["connections", "delete", conn], "no connection"),
        (["connections", "update", conn, "--settings", "{}"], "no connection"),
        (["connections", "rotate-token", conn], "no connection"),
        (["field-mappings", "delete", "--tenant", tenant, mapping], "no field mapping"),
        (["field-mappings", "create", "--tenant", tenant, "--name", "x", "--provider", "sandbox",
          "--expression", "x", "--connection", conn], "no connection"),
        (["api-keys", "list", "--tenant", "nope"], "no tenant"),
    ]:
        result = run(tmp_path, *args, check=False)
        assert (result.returncode, result.stdout) == (3, ""), (args, result.stderr)
        assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1
    # A real failure keeps exit 1.
    assert run(tmp_path, "connections", "update", "nope", check=False).returncode == 1


@pytest.mark.parametrize(
    "keyring, message",
    [
        ("k1:%%%", "not valid base64"),
        ("k1:" + "QUJD", "3 bytes"),
        (TEST_KEYRING + "," + TEST_KEYRING, "appears twice"),
    ],
)
def test_malformed_keyring_stops_with_a_clear_message(tmp_path, keyring, message):
    tenant = one_json(run(tmp_path, "tenants", "create", "--name", "Acme"))
    env = {"SHOPRELAY_ENCRYPTION_KEYS": keyring}
    result = run(
        tmp_path, "connections", "create", "--tenant", tenant["id"], "--provider", "sandbox",
        "--credentials", "{}", env_extra=env, check=False,
    )
    assert result.returncode == 1 and message in result.stderr
    assert "SHOPRELAY_ENCRYPTION_KEYS" in result.stderr
    served = run(tmp_path, "serve", "--port", "1", env_extra=env, check=False)
    assert served.returncode == 1 and message in served.stderr


def test_key_file_is_created_0600_with_a_warning(tmp_path):
    result = run(tmp_path, "quickstart", "--json")
    key_file = tmp_path / "cli.db.key"
    assert key_file.exists()
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert "SHOPRELAY_ENCRYPTION_KEYS is not set" in result.stderr
    assert key_file.read_text().strip() not in result.stderr


def test_database_file_is_created_0600_even_with_a_lax_umask(tmp_path):
    run(tmp_path, "tenants", "create", "--name", "Acme", umask=0)
    assert stat.S_IMODE((tmp_path / "cli.db").stat().st_mode) == 0o600


def test_an_existing_world_readable_database_is_tightened(tmp_path):
    run(tmp_path, "tenants", "create", "--name", "Acme")
    (tmp_path / "cli.db").chmod(0o644)
    run(tmp_path, "tenants", "list", check=False)
    assert stat.S_IMODE((tmp_path / "cli.db").stat().st_mode) == 0o600


def test_the_installed_command_quickstart_then_serve_answers_the_printed_request(tmp_path):
    """The smoke test in real processes: the ``shoprelay`` console script the
    package installs (next to this interpreter), then ``serve``."""
    port = free_port()
    script = pathlib.Path(sys.executable).parent / "shoprelay"
    quickstart = subprocess.run(
        [str(script), "quickstart", "--json", "--port", str(port)],
        capture_output=True, text=True, env=cli_env(tmp_path), timeout=60, cwd=tmp_path,
    )
    assert quickstart.returncode == 0, quickstart.stderr
    info = one_json(quickstart)
    assert f"127.0.0.1:{port}/ecommerce/customers/1" in info["curl"]
    assert info["api_key"] in info["curl"] and info["connection_token"] in info["curl"]
    with serve_command(tmp_path, port, database_url=f"sqlite:///{tmp_path / 'cli.db'}"):
        response = httpx.get(
            f"http://127.0.0.1:{port}/ecommerce/customers/1?remote_data=true",
            headers={"x-api-key": info["api_key"], "x-connection-token": info["connection_token"]},
        )
        assert response.status_code == 200
        body = response.json()
        assert body["id"] == "1" and body["remote_data"]["customer_id"] == 1
    output = (tmp_path / "serve.log").read_text() + quickstart.stderr
    for secret in (info["api_key"], info["connection_token"]):
        assert secret not in output


def test_keys_rotate_command(tmp_path):
    from keys.vault import new_key_text

    old, new = new_key_text("old"), new_key_text("new")
    tenant = one_json(run(tmp_path, "tenants", "create", "--name", "Acme", env_extra={"SHOPRELAY_ENCRYPTION_KEYS": old}))
    for _ in range(3):
        run(tmp_path, "connections", "create", "--tenant", tenant["id"], "--provider", "sandbox",
            "--credentials", "{}", env_extra={"SHOPRELAY_ENCRYPTION_KEYS": old})
    report = one_json(run(tmp_path, "keys", "rotate", env_extra={"SHOPRELAY_ENCRYPTION_KEYS": f"{new},{old}"}))
    assert report["active_key"] == "new" and report["rotated"] == 3 and report["undecryptable"] == []
    # With the old key gone, everything still decrypts: rotation finds nothing left to do.
    after = one_json(run(tmp_path, "keys", "rotate", env_extra={"SHOPRELAY_ENCRYPTION_KEYS": new}))
    assert after["already_current"] == 3 and after["undecryptable"] == []
    # Dropping the key too early is reported, not silently ignored.
    lost = run(tmp_path, "keys", "rotate", env_extra={"SHOPRELAY_ENCRYPTION_KEYS": new_key_text("other")}, check=False)
    assert lost.returncode == 1 and "not in the keyring" in lost.stderr
    generated = one_json(run(tmp_path, "keys", "generate", "--key-id", "k9"))
    assert generated["key"].startswith("k9:")


def test_field_mappings_commands(tmp_path):
    tenant = one_json(run(tmp_path, "tenants", "create", "--name", "Acme"))
    conn = one_json(run(tmp_path, "connections", "create", "--tenant", tenant["id"], "--provider", "sandbox",
                        "--credentials", "{}"))
    created = one_json(run(tmp_path, "field-mappings", "create", "--tenant", tenant["id"], "--name", "city",
                           "--provider", "sandbox", "--expression", "addresses[0].city"))
    assert created["name"] == "city" and created["connection_id"] is None
    scoped = one_json(run(tmp_path, "field-mappings", "create", "--tenant", tenant["id"], "--name", "city",
                          "--provider", "sandbox", "--expression", "addresses[0].postcode",
                          "--connection", conn["id"]))
    assert scoped["connection_id"] == conn["id"]
    bad = run(tmp_path, "field-mappings", "create", "--tenant", tenant["id"], "--name", "x",
              "--provider", "sandbox", "--expression", "a[?", check=False)
    assert bad.returncode == 1 and "not valid JMESPath" in bad.stderr
    dup = run(tmp_path, "field-mappings", "create", "--tenant", tenant["id"], "--name", "city",
              "--provider", "sandbox", "--expression", "x", check=False)
    assert dup.returncode == 1 and "already exists" in dup.stderr
    listed = one_json(run(tmp_path, "field-mappings", "list", "--tenant", tenant["id"]))["data"]
    assert {m["id"] for m in listed} == {created["id"], scoped["id"]}
    # The tenant's limit of 100 mappings holds here too (98 more written straight to the database).
    db = sqlite3.connect(tmp_path / "cli.db")
    with db:
        db.executemany(
            "INSERT INTO field_mappings (id, tenant_id, connection_id, object, provider, name, expression,"
            " created_at) SELECT ?, tenant_id, NULL, object, provider, ?, expression, created_at"
            " FROM field_mappings WHERE id = ?",
            [(f"extra-{i}", f"extra_{i}", created["id"]) for i in range(98)],
        )
    db.close()
    full = run(tmp_path, "field-mappings", "create", "--tenant", tenant["id"], "--name", "one_more",
               "--provider", "sandbox", "--expression", "x", check=False)
    assert full.returncode == 1 and "at most 100 field mappings" in full.stderr
    db = sqlite3.connect(tmp_path / "cli.db")
    with db:
        db.execute("DELETE FROM field_mappings WHERE id LIKE 'extra-%'")
    db.close()
    assert one_json(run(tmp_path, "field-mappings", "delete", "--tenant", tenant["id"], created["id"]))["deleted"]
    assert run(tmp_path, "field-mappings", "delete", "--tenant", "other", scoped["id"], check=False).returncode == 3
