"""The keyring through the CLI: `keys rotate` says which keyring it uses
and will not re-encrypt under a key the serve-time keyring lacks; `serve`
will not start with a keyring that cannot read the stored credentials;
`keys generate` makes only ids the keyring parser accepts. And quickstart
prints the address serve will use."""

import sqlite3

import pytest

from keys.vault import new_key_text
from tests.proxy.test_cli import one_json, run


def stored_key_ids(tmp_path):
    rows = sqlite3.connect(tmp_path / "cli.db").execute("SELECT credentials_key_id FROM connections")
    return sorted(row[0] for row in rows)


def test_rotating_under_a_key_the_key_file_lacks_is_refused(tmp_path):
    # The first day: quickstart without SHOPRELAY_ENCRYPTION_KEYS makes the key file.
    one_json(run(tmp_path, "quickstart", "--json"))
    key_file = tmp_path / "cli.db.key"
    file_ring = key_file.read_text().strip()
    file_id = file_ring.split(":")[0]
    # Later a shell has the variable (new key first, the file's key after it)
    # while serve keeps using the key file.
    shell = {"SHOPRELAY_ENCRYPTION_KEYS": f"{new_key_text('k2')},{file_ring}"}
    refused = run(tmp_path, "keys", "rotate", env_extra=shell, check=False)
    assert refused.returncode == 1 and refused.stdout == ""
    assert f"keyring from SHOPRELAY_ENCRYPTION_KEYS: key ids 'k2', '{file_id}'" in refused.stderr
    assert "refusing to rotate" in refused.stderr and str(key_file) in refused.stderr
    assert stored_key_ids(tmp_path) == [file_id]  # nothing re-encrypted
    for secret in (file_ring, shell["SHOPRELAY_ENCRYPTION_KEYS"]):
        assert secret.split(":")[-1] not in refused.stderr

    # Once the key file holds the same keyring, the rotation goes ahead.
    key_file.write_text(shell["SHOPRELAY_ENCRYPTION_KEYS"] + "\n")
    report = one_json(run(tmp_path, "keys", "rotate", env_extra=shell))
    assert report["active_key"] == "k2" and report["rotated"] == 1
    assert stored_key_ids(tmp_path) == ["k2"]
    # Without the variable it says the key file is what it uses.
    again = run(tmp_path, "keys", "rotate")
    assert f"keyring from key file {key_file}" in again.stderr
    assert one_json(again)["already_current"] == 1


def test_rotating_without_any_keyring_makes_no_key_file(tmp_path):
    keys = {"SHOPRELAY_ENCRYPTION_KEYS": new_key_text("k1")}
    tenant = one_json(run(tmp_path, "tenants", "create", "--name", "Acme"))
    run(tmp_path, "connections", "create", "--tenant", tenant["id"], "--provider", "sandbox",
        "--credentials", "{}", env_extra=keys)
    result = run(tmp_path, "keys", "rotate", check=False)
    assert result.returncode == 1 and "no key file at" in result.stderr
    assert not (tmp_path / "cli.db.key").exists()
    # A keyring that lacks the stored key names it.
    lost = run(tmp_path, "keys", "rotate", env_extra={"SHOPRELAY_ENCRYPTION_KEYS": new_key_text("k9")},
               check=False)
    assert lost.returncode == 1 and "not in the keyring ('k1')" in lost.stderr


def test_serve_refuses_a_keyring_that_cannot_read_what_is_stored(tmp_path):
    stored = {"SHOPRELAY_ENCRYPTION_KEYS": new_key_text("k2")}
    tenant = one_json(run(tmp_path, "tenants", "create", "--name", "Acme"))
    for _ in range(2):
        run(tmp_path, "connections", "create", "--tenant", tenant["id"], "--provider", "sandbox",
            "--credentials", "{}", env_extra=stored)

    other = run(tmp_path, "serve", "--port", "1",
                env_extra={"SHOPRELAY_ENCRYPTION_KEYS": new_key_text("k1")}, check=False)
    assert other.returncode == 1
    assert "'k2' (2 connections or webhook secrets)" in other.stderr and "SHOPRELAY_ENCRYPTION_KEYS lacks" in other.stderr
    assert "it holds 'k1'" in other.stderr

    # No variable and no key file: a new key file could read nothing, so none is made.
    bare = run(tmp_path, "serve", "--port", "1", check=False)
    assert bare.returncode == 1 and "no key file at" in bare.stderr and "2 connections" in bare.stderr
    assert not (tmp_path / "cli.db.key").exists()

    # A key file that lacks the key is refused the same way.
    (tmp_path / "cli.db.key").write_text(new_key_text("k1") + "\n")
    (tmp_path / "cli.db.key").chmod(0o600)
    from_file = run(tmp_path, "serve", "--port", "1", check=False)
    assert from_file.returncode == 1
    assert f"key file {tmp_path / 'cli.db.key'} lacks: 'k2' (2 connections or webhook secrets)" in from_file.stderr


@pytest.mark.parametrize("key_id", ["a:b", "k,1", "", "x" * 65, "k 1", "k1\n"])
def test_keys_generate_refuses_ids_the_keyring_would_refuse(tmp_path, key_id):
    result = run(tmp_path, "keys", "generate", "--key-id", key_id, check=False)
    assert result.returncode == 2 and result.stdout == ""
    assert "key id must be 1-64 of A-Z a-z 0-9 _ . -" in result.stderr


def test_keys_generate_makes_an_entry_the_keyring_accepts(tmp_path):
    from keys.vault import parse_keyring

    entry = one_json(run(tmp_path, "keys", "generate", "--key-id", "2026-12.k_1"))["key"]
    assert parse_keyring(entry).key_ids == ["2026-12.k_1"]
    assert parse_keyring(one_json(run(tmp_path, "keys", "generate"))["key"])


@pytest.mark.parametrize("env, args, address, serve", [
    ({"SHOPRELAY_PORT": "18600"}, [], "http://127.0.0.1:18600/", "shoprelay serve)"),
    ({"SHOPRELAY_HOST": "0.0.0.0", "SHOPRELAY_PORT": "18601"}, [], "http://127.0.0.1:18601/",
     "shoprelay serve)"),
    ({"SHOPRELAY_HOST": "::1"}, [], "http://[::1]:8080/", "shoprelay serve)"),
    ({}, ["--port", "18602"], "http://127.0.0.1:18602/", "shoprelay serve --port 18602)"),
])
def test_quickstart_prints_the_address_serve_uses(tmp_path, env, args, address, serve):
    printed = run(tmp_path, "quickstart", *args, env_extra=env).stdout
    assert f"'{address}ecommerce/customers/1?remote_data=true'" in printed
    assert serve in printed
    if "8080" not in address:
        assert "8080" not in printed
