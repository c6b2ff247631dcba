"""``shoprelay tenants update`` and ``tenants rotate-webhook-secret`` (issue
14): the same rules and answers as PATCH /tenant, run as tests/proxy/test_cli.py
runs commands."""

import base64
import json
import sqlite3

import pytest

from tests.proxy.test_cli import one_json, run

APP = "https://app.example.com/connected"
LOCAL = "http://127.0.0.1:3000/connected"
HOOK = "https://hooks.example.com/in"


def tenant_of(tmp_path):
    return one_json(run(tmp_path, "tenants", "create", "--name", "Acme"))["id"]


def stored(tmp_path, tenant):
    return sqlite3.connect(tmp_path / "cli.db").execute(
        "SELECT name, return_urls, webhook_url, webhook_secret_key_id FROM tenants WHERE id = ?", (tenant,)
    ).fetchone()


def test_update_sets_return_urls_and_webhook_and_prints_the_secret_once(tmp_path):
    tenant = tenant_of(tmp_path)
    first = one_json(run(tmp_path, "tenants", "update", "--tenant", tenant, "--return-url", APP,
                         "--return-url", LOCAL, "--webhook-url", HOOK))
    secret = first.pop("webhook_secret")
    assert secret.startswith("whsec_") and len(base64.b64decode(secret[6:])) == 32
    assert first == {"id": tenant, "name": "Acme", "return_urls": [APP, LOCAL], "webhook_url": HOOK}
    assert stored(tmp_path, tenant)[1] == json.dumps([APP, LOCAL], separators=(",", ":"))
    assert secret.encode() not in (tmp_path / "cli.db").read_bytes()

    renamed = one_json(run(tmp_path, "tenants", "update", "--tenant", tenant, "--name", "Acme Inc"))
    assert renamed == {**first, "name": "Acme Inc"}  # no secret: it was shown already
    listed = one_json(run(tmp_path, "tenants", "list"))["data"]
    assert listed[0]["return_urls"] == [APP, LOCAL] and "whsec_" not in json.dumps(listed)

    rotated = one_json(run(tmp_path, "tenants", "rotate-webhook-secret", "--tenant", tenant))
    assert rotated["webhook_secret"].startswith("whsec_") and rotated["webhook_secret"] != secret

    cleared = one_json(run(tmp_path, "tenants", "update", "--tenant", tenant, "--no-webhook-url",
                           "--no-return-urls"))
    assert cleared == {"id": tenant, "name": "Acme Inc", "return_urls": [], "webhook_url": None}
    assert stored(tmp_path, tenant)[3] is None
    refused = run(tmp_path, "tenants", "rotate-webhook-secret", "--tenant", tenant, check=False)
    assert refused.returncode == 1 and "no webhook_url" in refused.stderr and refused.stdout == ""


@pytest.mark.parametrize("args", [
    ["--return-url", "javascript:alert(1)"],
    ["--return-url", "//evil.example/cb"],
    ["--return-url", APP, "--return-url", "http://evil.example/cb"],
    ["--return-url", APP + "#x"],
    ["--webhook-url", "http://hooks.example.com/in"],
    ["--webhook-url", "https://10.0.0.1/in"],
    ["--webhook-url", ""],
    ["--name", ""],
    *[[flag for n in range(21) for flag in ("--return-url", f"{APP}/{n}")]],
])
def test_bad_input_exits_1_and_writes_nothing(tmp_path, args):
    tenant = tenant_of(tmp_path)
    before = stored(tmp_path, tenant)
    result = run(tmp_path, "tenants", "update", "--tenant", tenant, *args, check=False)
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr.startswith("shoprelay: error: ") and len(result.stderr.splitlines()) == 1
    assert stored(tmp_path, tenant) == before


@pytest.mark.parametrize("args", [
    [],
    ["--return-url", APP, "--no-return-urls"],
    ["--webhook-url", HOOK, "--no-webhook-url"],
])
def test_nothing_or_contradictions_exit_1(tmp_path, args):
    tenant = tenant_of(tmp_path)
    result = run(tmp_path, "tenants", "update", "--tenant", tenant, *args, check=False)
    assert (result.returncode, result.stdout) == (1, "") and "give" in result.stderr


def test_an_unknown_tenant_exits_3(tmp_path):
    run(tmp_path, "migrate")
    for args in (["update", "--tenant", "nope", "--name", "x"], ["rotate-webhook-secret", "--tenant", "nope"]):
        result = run(tmp_path, "tenants", *args, check=False)
        assert (result.returncode, result.stdout) == (3, "") and "no tenant has id 'nope'" in result.stderr


def test_private_webhook_urls_follow_the_guard_setting(tmp_path):
    tenant = tenant_of(tmp_path)
    local = "http://127.0.0.1:9000/in"
    assert run(tmp_path, "tenants", "update", "--tenant", tenant, "--webhook-url", local, check=False).returncode == 1
    allowed = one_json(run(tmp_path, "tenants", "update", "--tenant", tenant, "--webhook-url", local,
                           env_extra={"SHOPRELAY_ALLOW_PRIVATE_NETWORKS": "true"}))
    assert allowed["webhook_url"] == local and "webhook_secret" in allowed
