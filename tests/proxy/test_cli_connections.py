"""The CLI's connection commands: verification, guarded settings, update,
rotate-token, secrets from files and stdin; providers list, --version, help.
Each command runs through ``proxy.cli.main`` as tests/proxy/test_cli.py runs it."""

import argparse
import asyncio
import base64
import json
import sqlite3

import msgspec
from aiohttp import web

from providers import registry
from proxy import cli
from tests.harness import TEST_KEYRING, running_app
from tests.proxy.test_cli import count, one_json, run
from tests.fakes.woocommerce import WooCommerceFake
from tests.support import serve

GOOD = {"consumer_key": "ck_good", "consumer_secret": "cs_good"}
BAD = {"consumer_key": "ck_bad", "consumer_secret": "cs_bad"}
PRIVATE_OK = {"SHOPRELAY_ALLOW_PRIVATE_NETWORKS": "true"}


def woocommerce_store() -> WooCommerceFake:
    """The WooCommerce fake, taking only GOOD's key (HTTP Basic)."""
    return WooCommerceFake(credentials=GOOD, prefix="")


def keys_seen(store: WooCommerceFake) -> list[str]:
    """The consumer key of each request the store got."""
    return [
        base64.b64decode(r.headers.get("Authorization", "Basic ")[6:]).decode().split(":", 1)[0]
        for r in store.requests
    ]


async def cli_run(tmp_path, *args, **kw):
    """run() off the event loop: the CLI runs a loop of its own, and the
    local upstream must go on answering on this one meanwhile."""
    return await asyncio.to_thread(run, tmp_path, *args, **kw)


def tenant_of(tmp_path, **kw):
    return one_json(run(tmp_path, "tenants", "create", "--name", "Acme", **kw))["id"]


async def test_create_verifies_with_one_live_call_unless_told_not_to(tmp_path):
    tenant = tenant_of(tmp_path)
    store = woocommerce_store()
    async with store.serve() as origin:
        create = ["connections", "create", "--tenant", tenant, "--provider", "woocommerce",
                  "--settings", json.dumps({"store_url": origin})]
        refused = await cli_run(tmp_path, *create, "--credentials", json.dumps(BAD),
                                env_extra=PRIVATE_OK, check=False)
        assert (refused.returncode, refused.stdout) == (1, "")
        assert "verification failed (verification_failed)" in refused.stderr
        assert "WooCommerce rejected these credentials" in refused.stderr
        assert "cs_bad" not in refused.stderr
        assert count(tmp_path, "connections") == 0 and keys_seen(store) == ["ck_bad"]

        created = one_json(await cli_run(tmp_path, *create, "--credentials", json.dumps(GOOD),
                                         env_extra=PRIVATE_OK))
        assert created["provider"] == "woocommerce" and keys_seen(store) == ["ck_bad", "ck_good"]
        unchecked = await cli_run(tmp_path, *create, "--credentials", json.dumps(BAD), "--no-verify",
                                  env_extra=PRIVATE_OK)
        assert one_json(unchecked)["connection_token"].startswith("ct_")
        assert keys_seen(store) == ["ck_bad", "ck_good"] and count(tmp_path, "connections") == 2


async def test_unreachable_store_is_refused_not_stored(tmp_path):
    """A store that does not answer is a failed verification, not a stored connection."""
    tenant = tenant_of(tmp_path)
    async with serve(web.Application()) as origin:
        pass  # the port is closed now
    result = await cli_run(
        tmp_path, "connections", "create", "--tenant", tenant, "--provider", "woocommerce",
        "--credentials", json.dumps(GOOD), "--settings", json.dumps({"store_url": origin}),
        env_extra=PRIVATE_OK, check=False,
    )
    assert result.returncode == 1 and "provider_unavailable" in result.stderr
    assert count(tmp_path, "connections") == 0


def test_settings_the_guard_refuses_are_refused_at_creation(tmp_path):
    """The issue's case: a plain-http store_url used to be stored, then every read was 502."""
    tenant = tenant_of(tmp_path)
    woo = ["connections", "create", "--tenant", tenant, "--provider", "woocommerce",
           "--credentials", json.dumps(GOOD)]
    for settings, name, reason in [
        ({"store_url": "http://shop.example.com"}, "store_url", "plain http"),
        ({"store_url": "https://10.1.2.3/shop"}, "store_url", "not a public address"),
        ({"store_url": "https://shop.example.com", "base_url": "https://[::1]:8443"}, "base_url",
         "not a public address"),
        ({"store_url": "https://169.254.169.254"}, "store_url", "not a public address"),
    ]:
        # --no-verify too: the refusal comes before any call.
        result = run(tmp_path, *woo, "--settings", json.dumps(settings), "--no-verify", check=False)
        assert (result.returncode, result.stdout) == (1, ""), settings
        assert f"settings.{name}: " in result.stderr and reason in result.stderr
    wix = run(tmp_path, "connections", "create", "--tenant", tenant, "--provider", "wix",
              "--credentials", json.dumps({"client_id": "app", "client_secret": "s3cret"}),
              "--settings", json.dumps({"instance_id": "1a2b3c4d-0000-4000-8000-123456789abc",
                                        "auth_url": "http://127.0.0.1:9"}), "--no-verify", check=False)
    assert wix.returncode == 1 and "settings.auth_url: plain http" in wix.stderr
    assert count(tmp_path, "connections") == 0


async def test_api_refuses_guarded_settings_with_a_400_naming_them(tmp_path):
    async with running_app(tmp_path, allow_private_networks=False) as api:
        tenant = await api.tenant()
        headers = {"x-api-key": tenant.api_key}
        body = {"provider": "woocommerce", "credentials": GOOD,
                "settings": {"store_url": "http://shop.example.com"}}
        created = await api.client.post("/connections", json=body, headers=headers)
        assert created.status_code == 400 and created.json()["code"] == "invalid_request"
        assert created.json()["detail"].startswith("settings.store_url: plain http")
        body["settings"] = {"store_url": "https://shop.example.com"}
        conn = (await api.client.post("/connections", json=body, headers=headers)).json()
        patched = await api.client.patch(
            f"/connections/{conn['id']}", json={"settings": {"store_url": "https://127.0.0.1"}}, headers=headers
        )
        assert patched.status_code == 400 and "settings.store_url" in patched.json()["detail"]
        stored = await api.client.get(f"/connections/{conn['id']}", headers=headers)
        assert stored.json()["settings"]["store_url"] == "https://shop.example.com"


async def test_update_and_rotate_token_take_effect(tmp_path):
    env = {"SHOPRELAY_DATABASE_URL": f"sqlite:///{tmp_path / 'shoprelay.db'}",
           "SHOPRELAY_ENCRYPTION_KEYS": TEST_KEYRING}
    tenant = tenant_of(tmp_path, env_extra=env)
    conn = one_json(run(tmp_path, "connections", "create", "--tenant", tenant, "--provider", "sandbox",
                        "--credentials", "{}", "--settings", '{"size": 20}', env_extra=env))
    (tmp_path / "settings.json").write_text('{"size": 5, "seed": 7}')
    updated = one_json(run(tmp_path, "connections", "update", conn["id"], "--settings", "@settings.json",
                           env_extra=env))
    assert updated["id"] == conn["id"] and updated["settings"]["size"] == 5
    assert updated["settings"]["seed"] == "7" and "connection_token" not in updated
    bad = run(tmp_path, "connections", "update", conn["id"], "--settings", '{"size": 0}', env_extra=env,
              check=False)
    assert bad.returncode == 1 and "size" in bad.stderr
    rotated = one_json(run(tmp_path, "connections", "rotate-token", conn["id"], env_extra=env))
    assert set(rotated) == {"id", "connection_token", "provider"} and rotated["id"] == conn["id"]
    assert rotated["connection_token"] != conn["connection_token"]

    async with running_app(tmp_path) as api:
        key = one_json(await cli_run(tmp_path, "api-keys", "create", "--tenant", tenant, env_extra=env))
        headers = {"x-api-key": key["api_key"]}

        async def read(token, customer_id):
            return await api.client.get(f"/ecommerce/customers/{customer_id}",
                                        headers={**headers, "x-connection-token": token})

        old = await read(conn["connection_token"], "1")
        assert old.status_code == 401 and old.json()["code"] == "invalid_connection_token"
        assert (await read(rotated["connection_token"], "5")).status_code == 200
        assert (await read(rotated["connection_token"], "6")).status_code == 404  # size 5 now


async def test_update_verifies_and_reads_credentials_from_stdin(tmp_path):
    tenant = tenant_of(tmp_path)
    store = woocommerce_store()
    async with store.serve() as origin:
        (tmp_path / "creds.json").write_text(json.dumps(GOOD))
        conn = one_json(await cli_run(
            tmp_path, "connections", "create", "--tenant", tenant, "--provider", "woocommerce",
            "--credentials", "@creds.json", "--settings", json.dumps({"store_url": origin}),
            env_extra=PRIVATE_OK,
        ))
        assert keys_seen(store) == ["ck_good"]  # the file's credentials were the ones sent

        def update(*args, stdin, check=True):
            return run(tmp_path, "connections", "update", conn["id"], *args, stdin=stdin,
                       env_extra=PRIVATE_OK, check=check)

        refused = await asyncio.to_thread(update, "--credentials", "-", stdin=json.dumps(BAD), check=False)
        assert refused.returncode == 1 and "verification failed" in refused.stderr
        assert keys_seen(store) == ["ck_good", "ck_bad"]
        # Settings only: the stored (good) credentials are verified with them.
        await asyncio.to_thread(update, "--settings", "-", stdin=json.dumps({"store_url": origin + "/"}))
        assert keys_seen(store) == ["ck_good", "ck_bad", "ck_good"]
        await asyncio.to_thread(update, "--credentials", "-", "--no-verify", stdin=json.dumps(BAD))
        assert len(keys_seen(store)) == 3
        # Now the stored credentials are the bad ones: a settings change fails verification.
        again = await asyncio.to_thread(update, "--settings", json.dumps({"store_url": origin}), stdin="",
                                        check=False)
        assert again.returncode == 1 and keys_seen(store)[-1] == "ck_bad"


def test_credentials_input_errors(tmp_path):
    tenant = tenant_of(tmp_path)
    base = ["connections", "create", "--tenant", tenant, "--provider", "sandbox"]
    missing = run(tmp_path, *base, "--credentials", "@nope.json", check=False)
    assert missing.returncode == 1 and "cannot read 'nope.json'" in missing.stderr
    (tmp_path / "broken.json").write_text('{"api_key": "sk-secret-value",')
    broken = run(tmp_path, *base, "--credentials", "@broken.json", check=False)
    assert broken.returncode == 1 and "not valid JSON" in broken.stderr
    assert "sk-secret-value" not in broken.stderr
    both = run(tmp_path, *base, "--credentials", "-", "--settings", "-", check=False)
    assert both.returncode == 1 and "only one" in both.stderr
    assert count(tmp_path, "connections") == 0


def test_sandbox_accepts_an_integer_seed(tmp_path):
    tenant = tenant_of(tmp_path)
    conn = one_json(run(tmp_path, "connections", "create", "--tenant", tenant, "--provider", "sandbox",
                        "--credentials", "{}", "--settings", '{"seed": 42, "size": 3}'))
    listed = one_json(run(tmp_path, "connections", "list", "--tenant", tenant))["data"]
    assert [c["settings"]["seed"] for c in listed if c["id"] == conn["id"]] == ["42"]
    for bad in ('{"seed": true}', '{"seed": "' + "x" * 65 + '"}', '{"size": "many"}'):
        assert run(tmp_path, "connections", "create", "--tenant", tenant, "--provider", "sandbox",
                   "--credentials", "{}", "--settings", bad, check=False).returncode == 1


def test_providers_list_describes_every_field(tmp_path):
    data = one_json(run(tmp_path, "providers", "list"))["data"]
    assert [p["name"] for p in data] == registry.names()
    for entry in data:
        provider = registry.get(entry["name"])
        for part, struct in (("credentials", provider.credentials_type), ("settings", provider.settings_type)):
            names = {f.encode_name for f in msgspec.structs.fields(struct)}
            assert {f["name"] for f in entry[part]} == names, entry["name"]
            for field in entry[part]:
                assert field["help"] and field["type"] and isinstance(field["required"], bool), field
    sandbox = next(p for p in data if p["name"] == "sandbox")
    seed = next(f for f in sandbox["settings"] if f["name"] == "seed")
    assert seed["type"] == "string | integer" and seed["default"] == "shoprelay"
    woo = next(p for p in data if p["name"] == "woocommerce")
    assert [(f["name"], f["required"]) for f in woo["credentials"]] == [
        ("consumer_key", True), ("consumer_secret", True)]


def test_version(tmp_path):
    from importlib.metadata import version

    result = run(tmp_path, "--version")
    assert result.stdout.strip() == f"shoprelay {version('shoprelay')}"


def test_every_option_has_help():
    missing = []

    def walk(parser: argparse.ArgumentParser, path: str) -> None:
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                helped = {a.dest for a in action._choices_actions if a.help}
                for name, sub in action.choices.items():
                    if name not in helped:
                        missing.append(f"{path} {name}")
                    walk(sub, f"{path} {name}")
            elif not action.help:
                missing.append(f"{path} {'/'.join(action.option_strings) or action.dest}")

    walk(cli._parser(), "shoprelay")
    assert not missing, missing


def test_quickstart_reuses_its_demo_tenant(tmp_path):
    first = one_json(run(tmp_path, "quickstart", "--json"))
    second = one_json(run(tmp_path, "quickstart", "--json"))
    assert first["tenant_id"] == second["tenant_id"]
    assert first["api_key"] != second["api_key"]  # each run prints a key of its own
    db = sqlite3.connect(tmp_path / "cli.db")
    assert db.execute("SELECT COUNT(*) FROM tenants").fetchone()[0] == 1
    assert db.execute("SELECT COUNT(*) FROM api_keys WHERE revoked_at IS NULL").fetchone()[0] == 2
    other = one_json(run(tmp_path, "quickstart", "--json", "--name", "other"))
    assert other["tenant_id"] != first["tenant_id"]


def test_update_keeps_patch_rules_for_where_credentials_go(tmp_path):
    """As PATCH: moving stored credentials to another store needs them given again."""
    tenant = tenant_of(tmp_path)
    conn = one_json(run(tmp_path, "connections", "create", "--tenant", tenant, "--provider", "woocommerce",
                        "--credentials", json.dumps(GOOD), "--settings",
                        json.dumps({"store_url": "https://shop.example.com"}), "--no-verify"))
    moved = run(tmp_path, "connections", "update", conn["id"], "--no-verify",
                "--settings", json.dumps({"store_url": "https://evil.example.net"}), check=False)
    assert moved.returncode == 1 and "give the credentials again" in moved.stderr
    listed = one_json(run(tmp_path, "connections", "list", "--tenant", tenant))["data"]
    assert listed[0]["settings"]["store_url"] == "https://shop.example.com"
    run(tmp_path, "connections", "update", conn["id"], "--no-verify", "--credentials", json.dumps(GOOD),
        "--settings", json.dumps({"store_url": "https://evil.example.net"}))


def test_connections_list_shows_and_filters_end_users(tmp_path):
    """Connections the connect flow made carry their end user and tags; the
    CLI shows them, and --end-user-id keeps one end user's."""
    from proxy.store import open_store
    from proxy.store.records import Connection, Sealed

    tenant = tenant_of(tmp_path)

    async def link() -> None:
        store = open_store(f"sqlite:///{tmp_path / 'cli.db'}")
        try:
            for n, user in enumerate(["alice", "bob", "alice"]):
                when = f"2026-01-0{n + 1}T00:00:00.000Z"
                await store.create_connection(
                    Connection(id=f"c{n}", tenant_id=tenant, provider="sandbox", token_prefix="ct_x",
                               status="active", settings={}, created_at=when, updated_at=when,
                               end_user_id=user, tags={"n": str(n)}),
                    f"digest-{n}", Sealed("k", b"x"),
                )
        finally:
            await store.close()

    asyncio.run(link())
    everyone = one_json(run(tmp_path, "connections", "list", "--tenant", tenant))["data"]
    assert [(c["id"], c["end_user_id"], c["tags"]) for c in everyone] == [
        ("c0", "alice", {"n": "0"}), ("c1", "bob", {"n": "1"}), ("c2", "alice", {"n": "2"}),
    ]
    alice = one_json(run(tmp_path, "connections", "list", "--tenant", tenant, "--end-user-id", "alice"))["data"]
    assert [c["id"] for c in alice] == ["c0", "c2"]
    nobody = one_json(run(tmp_path, "connections", "list", "--tenant", tenant, "--end-user-id", "carol"))
    assert nobody == {"data": []}
