"""``shoprelay provider-apps set|list|delete|callback-urls`` (issue 15): the
operator's default apps and tenants' own, the secret read from stdin or a
file and never printed, the same rules as PUT /provider-apps, run as
tests/proxy/test_cli.py runs commands."""

import asyncio
import json
from types import SimpleNamespace

import pytest

from proxy import provider_apps
from proxy.config import Config
from proxy.keyring import load_keyring
from proxy.store import open_store
from tests.proxy.test_cli import one_json, run

SECRET = "cnry-cli-app-secret-51d0"
PUBLIC = "https://relay.example.com"


def tenant_of(tmp_path):
    return one_json(run(tmp_path, "tenants", "create", "--name", "Acme"))["id"]


def resolve(tmp_path, tenant_id, provider):
    """What the OAuth flows would get, read as the server reads it."""
    config = Config(database_url=f"sqlite:///{tmp_path / 'cli.db'}")

    async def go():
        store = open_store(config.database_url)
        try:
            runtime = SimpleNamespace(store=store, keyring=load_keyring(config, create=False))
            return await provider_apps.resolve(runtime, tenant_id, provider)
        finally:
            await store.close()

    return asyncio.run(go())


def set_app(tmp_path, *args, stdin="", check=True):
    return run(tmp_path, "provider-apps", "set", *args, stdin=stdin, check=check,
               env_extra={"SHOPRELAY_PUBLIC_URL": PUBLIC})


def test_default_and_tenant_apps_with_the_secret_from_stdin_and_a_file(tmp_path):
    tenant = tenant_of(tmp_path)
    default = one_json(set_app(tmp_path, "--provider", "shopify", "--client-id", "operator-app",
                               "--client-secret", "-", stdin=SECRET + "\n"))
    assert default == {
        "tenant_id": None, "provider": "shopify", "client_id": "operator-app", "scopes": ["read_customers"],
        "settings": {}, "owner": "operator", "created_at": default["created_at"],
        "updated_at": default["created_at"], "callback_url": f"{PUBLIC}/connect/oauth/shopify/callback",
        "created": True,
    }
    secret_file = tmp_path / "secret.txt"
    secret_file.write_text("cnry-tenant-secret-99\n")
    own = one_json(set_app(tmp_path, "--provider", "shopify", "--client-id", "own-app", "--tenant", tenant,
                           "--client-secret-file", str(secret_file), "--scopes", "read_customers, read_orders",
                           "--settings", '{"auth_url": "https://auth.example.com"}'))
    assert (own["owner"], own["tenant_id"], own["scopes"], own["settings"], own["created"]) == (
        "tenant", tenant, ["read_customers", "read_orders"], {"auth_url": "https://auth.example.com"}, True,
    )
    replaced = one_json(set_app(tmp_path, "--provider", "shopify", "--client-id", "operator-app-2",
                                "--client-secret", "cnry-inline-secret"))
    assert replaced["created"] is False and replaced["created_at"] == default["created_at"]

    mine = resolve(tmp_path, tenant, "shopify")
    assert (mine.client_id, mine.client_secret, mine.owner) == ("own-app", "cnry-tenant-secret-99", "tenant")
    other = resolve(tmp_path, "another-tenant", "shopify")
    assert (other.client_id, other.client_secret, other.owner) == ("operator-app-2", "cnry-inline-secret", "operator")

    listed = one_json(run(tmp_path, "provider-apps", "list"))["data"]
    assert [(a["tenant_id"], a["client_id"]) for a in listed] == [(None, "operator-app-2"), (tenant, "own-app")]
    only = one_json(run(tmp_path, "provider-apps", "list", "--tenant", tenant))["data"]
    assert [a["client_id"] for a in only] == ["own-app"]
    database = (tmp_path / "cli.db").read_bytes()
    for secret in (SECRET, "cnry-tenant-secret-99", "cnry-inline-secret"):
        assert secret not in json.dumps(listed) and secret.encode() not in database

    deleted = one_json(run(tmp_path, "provider-apps", "delete", "--provider", "shopify", "--tenant", tenant))
    assert deleted == {"provider": "shopify", "tenant_id": tenant, "deleted": True}
    assert resolve(tmp_path, tenant, "shopify").owner == "operator"
    again = run(tmp_path, "provider-apps", "delete", "--provider", "shopify", "--tenant", tenant, check=False)
    assert again.returncode == 3 and again.stdout == ""
    one_json(run(tmp_path, "provider-apps", "delete", "--provider", "shopify"))
    assert resolve(tmp_path, tenant, "shopify") is None


@pytest.mark.parametrize("args, message", [
    (["--provider", "nope"], "no provider app can be set for 'nope'"),
    (["--provider", "woocommerce"], "no provider app can be set"),
    (["--provider", "shopify", "--client-id", "has space"], "client_id"),
    (["--provider", "shopify", "--scopes", ",".join(["s"] * 21)], "scopes"),
    (["--provider", "shopify", "--settings", '{"auth_url": "http://auth.example.com"}'], "settings.auth_url"),
    (["--provider", "shopify", "--settings", '{"base_url": "https://10.0.0.1"}'], "settings.base_url"),
    (["--provider", "shopify", "--settings", '{"token_url": "https://x.example.com"}'], "settings.token_url"),
    (["--provider", "shopify", "--settings", "[1"], "--settings is not valid JSON"),
])
def test_refused_input_writes_nothing_and_never_echoes_the_secret(tmp_path, args, message):
    base = {"--client-id": "app"}
    given = dict(zip(args[::2], args[1::2]))
    argv = [*args, *(x for k, v in base.items() if k not in given for x in (k, v))]
    result = set_app(tmp_path, *argv, "--client-secret", SECRET, check=False)
    assert result.returncode == 1 and result.stdout == ""
    assert message in result.stderr and SECRET not in result.stderr
    assert one_json(run(tmp_path, "provider-apps", "list"))["data"] == []


def test_secret_bounds_and_unknown_tenant(tmp_path):
    long = set_app(tmp_path, "--provider", "shopify", "--client-id", "a", "--client-secret", "-",
                   stdin="s" * 5000, check=False)
    assert long.returncode == 1 and "client_secret" in long.stderr
    empty = set_app(tmp_path, "--provider", "shopify", "--client-id", "a", "--client-secret", "-",
                    stdin="\n", check=False)
    assert empty.returncode == 1 and "client_secret" in empty.stderr
    missing = set_app(tmp_path, "--provider", "shopify", "--client-id", "a",
                      "--client-secret-file", str(tmp_path / "absent"), check=False)
    assert missing.returncode == 1 and "cannot read" in missing.stderr
    ghost = set_app(tmp_path, "--provider", "shopify", "--client-id", "a", "--client-secret", "x",
                    "--tenant", "ghost", check=False)
    assert ghost.returncode == 3 and "ghost" in ghost.stderr
    both = set_app(tmp_path, "--provider", "shopify", "--client-id", "a", "--client-secret", "x",
                   "--client-secret-file", "f", check=False)
    assert both.returncode == 2


def test_help_says_how_to_keep_the_secret_out_of_history(tmp_path):
    result = run(tmp_path, "provider-apps", "set", "--help", check=False)
    assert result.returncode == 0 and "stdin" in result.stdout and "shell history" in result.stdout


def test_callback_urls_lists_what_to_register(tmp_path):
    result = run(tmp_path, "provider-apps", "callback-urls", env_extra={"SHOPRELAY_PUBLIC_URL": PUBLIC})
    printed = one_json(result)
    assert printed["public_url"] == PUBLIC and "SHOPRELAY_PUBLIC_URL is not set" not in result.stderr
    by_name = {entry["provider"]: entry for entry in printed["data"]}
    assert by_name["shopify"]["callback_url"] == f"{PUBLIC}/connect/oauth/shopify/callback"
    assert by_name["shopify"]["default_scopes"] == ["read_customers"]
    assert by_name["bigcommerce"]["load_url"] == f"{PUBLIC}/connect/oauth/bigcommerce/load"
    assert by_name["bigcommerce"]["uninstall_url"] == f"{PUBLIC}/connect/oauth/bigcommerce/uninstall"
    assert by_name["zoho_inventory"]["callback_url"] == f"{PUBLIC}/connect/oauth/zoho_inventory/callback"
    assert by_name["woocommerce"]["needs_app"] is False and "callback_url" not in by_name["woocommerce"]
    assert "sandbox" not in by_name and "commerce7" not in by_name
    assert not (tmp_path / "cli.db").exists()  # it reads no database

    unset = run(tmp_path, "provider-apps", "callback-urls")
    assert "SHOPRELAY_PUBLIC_URL is not set" in unset.stderr
    assert one_json(unset)["public_url"].startswith("http://127.0.0.1:")
