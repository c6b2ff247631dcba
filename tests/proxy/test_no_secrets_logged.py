"""Issue 7: no API key, connection token, provider credential, OAuth token,
admin token or encryption key appears in any log line or error body.

Every record of every logger is captured at DEBUG (tests/logtrap.py: root at DEBUG, and
aiohttp, asyncio, uvicorn, httpx and shoprelay's own loggers opened to
DEBUG) by a handler that renders it three ways: with the project's own
JsonFormatter, as ``%(message)s %(args)s`` plus the traceback text, and as
the repr of the whole record (so a secret hiding in ``args``, an ``extra``
or an exception is found even where a formatter would not print it). The
project's configured handler (``logs.configure("DEBUG", "json")``, what
``shoprelay serve`` and every CLI command install) writes to the captured
stderr, which is searched too.

Known secrets (canaries, plus every ``sk_``/``ct_`` minted on the way and
their digests) must then be absent from all of it, and from every HTTP
response body and header, except the one creation/rotation response whose
job is to hand out that one new key or token. Each test also proves that
logging happened (one access line per request, carrying its request id and
status) and that the canaries were really in use (the store, the Wix or
Zoho Inventory fake of tests/fakes/, saw them), so none of this can pass
vacuously.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os

import httpx
import pytest

from keys.vault import new_key_text
from proxy import cli, logs
from tests.fakes.square import SquareFake
from tests.fakes.wix import SITE_ID, WixFake
from tests.fakes.zoho_inventory import ORG_ID as ZOHO_ORG
from tests.fakes.zoho_inventory import ZohoInventoryFake
from tests.harness import TEST_KEYRING, running_app
from tests.logtrap import Trap, trap  # noqa: F401 (the fixture)
from tests.support import load_fixture

# -- canaries: distinct, unguessable-by-accident values -------------------------------

ADMIN_TOKEN = "cnry-admin-token-3e8d1f"
WRONG_ADMIN_TOKEN = "cnry-wrong-admin-token-6a0b"
UNKNOWN_API_KEY = "sk_cnryUnknownApiKey00000000000000000000000000"  # shaped like a key
JUNK_API_KEY = "cnry-junk-api-key-44c1"  # not even shaped like one
UNKNOWN_TOKEN = "ct_cnryUnknownConnToken000000000000000000000000"
WIX_API_KEY = "IST.cnryWixApiKey.5d0f3b1a9e"
WIX_REJECTED_KEY = "IST.cnryWixRejectedKey.0b9d"
WIX_PATCHED_KEY = "IST.cnryWixPatchedKey.c3a1"
WIX_CLIENT_ID = "cnry-wix-client-id-0c7e"
WIX_CLIENT_SECRET = "cnry-wix-client-secret-81f2"
WIX_CLIENT_SECRET_2 = "cnry-wix-client-secret-2-d95a"
ZOHO_CLIENT_ID = "1000.CNRYZOHOCLIENTID4F1"
ZOHO_CLIENT_SECRET = "cnryzohoclientsecret9a3c"
ZOHO_CLIENT_SECRET_2 = "cnryzohoclientsecret2e60d"
ZOHO_REFRESH_TOKEN = "1000.cnryzohorefresh.77b1e0"
ZOHO_REFRESH_TOKEN_2 = "1000.cnryzohorefresh2.1c5f"
SQUARE_CLIENT_ID = "sq0idp-cnrySquareClientId7b2"
SQUARE_CLIENT_SECRET = "sq0csp-cnrySquareClientSecret5e1"
SQUARE_CLIENT_SECRET_2 = "sq0csp-cnrySquareClientSecret2-90c"
SQUARE_REFRESH_TOKEN = "EQAAcnrySquareRefresh.4d7a"
SQUARE_REFRESH_TOKEN_2 = "EQAAcnrySquareRefresh2.b18e"
BODY_CANARY = "cnry-in-a-bad-body-f00d"

WIX_CONTACT = load_fixture("wix", "contact-full.json")
WIX_CONTACT_ID = WIX_CONTACT["contact"]["id"]
MISSING_GUID = "00000000-0000-4000-8000-000000000000"

OVERRIDES = {"admin_token": ADMIN_TOKEN, "request_timeout": 1.0, "retry_attempts": 2}


# -- capture: tests/logtrap.py -----------------------------------------------------


def configure_like_serve(trap: Trap) -> None:
    """The project's own logging set-up at DEBUG/JSON (as ``serve`` does),
    with the trap beside its stderr handler (configure detaches shoprelay
    from root)."""
    logs.configure("DEBUG", "json")
    logging.getLogger("shoprelay").addHandler(trap)


class Secrets:
    """Name -> value of everything that must never come out."""

    def __init__(self) -> None:
        self.values: dict[str, str] = {}

    def add(self, name: str, value: str) -> str:
        self.values[name] = value
        if value.startswith(("sk_", "ct_")):  # the lookup digest is as private as the secret
            self.values[f"{name} (digest)"] = hashlib.sha256(value.encode()).hexdigest()
        return value

    def found_in(self, text: str) -> set[str]:
        return {value for value in self.values.values() if value in text}

    def name_of(self, value: str) -> str:
        return next(name for name, v in self.values.items() if v == value)


def canaries() -> Secrets:
    found = Secrets()
    for name, value in globals().items():
        if not name.startswith("_") and isinstance(value, str) and "cnry" in value.lower():
            found.add(name, value)
    found.add("test encryption key", TEST_KEYRING.split(":", 1)[1])
    return found


class Responses:
    """Every response the test client got, and the one secret each may hold."""

    def __init__(self) -> None:
        self.seen: list[httpx.Response] = []
        self.allowed: dict[int, str] = {}

    def attach(self, client: httpx.AsyncClient) -> None:
        async def keep(response: httpx.Response) -> None:
            await response.aread()
            self.seen.append(response)

        client.event_hooks = {"request": [], "response": [keep]}

    def hands_out(self, response: httpx.Response, field: str, secrets: Secrets, name: str) -> str:
        """A creation/rotation response: its new secret is its job, once."""
        assert response.status_code in (200, 201), response.text
        value = secrets.add(name, response.json()[field])
        self.allowed[id(response)] = value
        return value


def assert_no_secret_anywhere(secrets: Secrets, log_texts: list[str], responses: Responses) -> None:
    assert len(secrets.values) >= 10
    for text in log_texts:
        leaked = secrets.found_in(text)
        assert not leaked, f"{[secrets.name_of(v) for v in leaked]} in a log line: {text[:500]}"
    for response in responses.seen:
        everything = response.text + "\n" + "\n".join(f"{k}: {v}" for k, v in response.headers.multi_items())
        leaked = secrets.found_in(everything) - {responses.allowed.get(id(response))}
        assert not leaked, (
            f"{[secrets.name_of(v) for v in leaked]} in the response to "
            f"{response.request.method} {response.request.url.path}: {everything[:500]}"
        )


def assert_each_request_logged(trap: Trap, stderr: str, responses: Responses) -> None:
    """One access line per request, with its request id and status, both in
    the trap and in the project's own JSON output: logging did happen."""
    assert responses.seen
    by_id = {r.request_id: r for r in trap.access()}  # type: ignore[attr-defined]
    assert len(trap.access()) == len(responses.seen)
    json_lines = [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]
    access_lines = {line["request_id"]: line for line in json_lines if line["logger"] == "shoprelay.access"}
    for response in responses.seen:
        request_id = response.headers["x-request-id"]
        assert by_id[request_id].status == response.status_code  # type: ignore[attr-defined]
        assert access_lines[request_id]["status"] == response.status_code
        assert access_lines[request_id]["msg"] == "request"


# -- the stores: the Wix and Zoho Inventory fakes (tests/fakes/) ---------------------


def minted(secrets: Secrets, fake: WixFake | ZohoInventoryFake | SquareFake) -> None:
    """The access tokens a fake minted are secrets too."""
    for n, token in enumerate(fake.minted, start=1):
        secrets.add(f"minted access token {n}", token)


def problem_code(response: httpx.Response) -> str:
    return response.json()["code"]


# -- the CLI -------------------------------------------------------------------------


def test_cli_flows_log_and_print_no_secret(tmp_path, monkeypatch, capsys, trap):
    for name in [n for n in os.environ if n.startswith("SHOPRELAY_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("SHOPRELAY_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("SHOPRELAY_LOG_LEVEL", "DEBUG")
    monkeypatch.setenv("SHOPRELAY_LOG_FORMAT", "json")
    configure = logs.configure

    def configure_and_trap(level: str, fmt: str) -> None:
        configure(level, fmt)  # the real set-up, then the trap beside it
        logging.getLogger("shoprelay").addHandler(trap)

    monkeypatch.setattr(logs, "configure", configure_and_trap)
    secrets = canaries()
    outputs: list[tuple[list[str], str, str]] = []  # (argv, stdout, stderr)

    def run(*argv: str, ok: bool = True) -> str:
        code = 0
        try:
            cli.main(list(argv))
        except SystemExit as exc:
            code = exc.code  # type: ignore[assignment]
        out, err = capsys.readouterr()
        outputs.append((list(argv), out, err))
        assert (code == 0) == ok, (argv, out, err)
        return out

    tenant = json.loads(run("tenants", "create", "--name", "Acme"))["id"]
    run("tenants", "list")
    keys = [json.loads(run("api-keys", "create", "--tenant", tenant, "--name", n)) for n in ("prod", "old")]
    for i, key in enumerate(keys):
        secrets.add(f"cli api key {i}", key["api_key"])
    wix = json.loads(run(
        "connections", "create", "--tenant", tenant, "--provider", "wix",
        "--credentials", json.dumps({"api_key": WIX_API_KEY}), "--settings", json.dumps({"site_id": SITE_ID}),
        "--no-verify",  # the real Wix is not for tests
    ))
    zoho = json.loads(run(
        "connections", "create", "--tenant", tenant, "--provider", "zoho_inventory",
        "--credentials", json.dumps({"client_id": ZOHO_CLIENT_ID, "client_secret": ZOHO_CLIENT_SECRET,
                                     "refresh_token": ZOHO_REFRESH_TOKEN}),
        "--settings", json.dumps({"organization_id": ZOHO_ORG, "data_center": "eu"}), "--no-verify",
    ))
    for conn in (wix, zoho):
        secrets.add(f"cli connection token {conn['id']}", conn["connection_token"])
    # The key file the first connection created (and warned about) is a secret too.
    key_file_text = (tmp_path / "cli.db.key").read_text().strip()
    secrets.add("cli key file", key_file_text.split(":", 1)[1])
    # Refused input that carries secrets: the one-line error must not repeat them.
    run("connections", "create", "--tenant", tenant, "--provider", "wix",
        "--credentials", json.dumps({"api_key": WIX_API_KEY, "bogus": BODY_CANARY}), ok=False)
    run("connections", "create", "--tenant", tenant, "--provider", "wix",
        "--credentials", '{"api_key": "' + WIX_API_KEY + '", ' + BODY_CANARY, ok=False)
    run("api-keys", "list", "--tenant", tenant)
    # The webhook secret is printed when made and on rotation, never after.
    hooked = json.loads(run("tenants", "update", "--tenant", tenant, "--webhook-url", "https://hooks.example.com/in",
                            "--return-url", "https://app.example.com/back"))
    secrets.add("cli webhook secret", hooked["webhook_secret"])
    run("tenants", "update", "--tenant", tenant, "--name", "Acme 2")
    rotated_secret = json.loads(run("tenants", "rotate-webhook-secret", "--tenant", tenant))["webhook_secret"]
    secrets.add("cli rotated webhook secret", rotated_secret)
    run("tenants", "list")
    run("api-keys", "revoke", keys[1]["id"])
    run("connections", "list", "--tenant", tenant)
    mapping = json.loads(run("field-mappings", "create", "--tenant", tenant, "--name", "city",
                             "--provider", "wix", "--expression", "info.addresses.items[0].address.city"))
    run("field-mappings", "list", "--tenant", tenant)
    run("field-mappings", "delete", "--tenant", tenant, mapping["id"])
    new_key = new_key_text("k2")
    secrets.add("cli rotated-to key", new_key.split(":", 1)[1])
    monkeypatch.setenv("SHOPRELAY_ENCRYPTION_KEYS", f"{new_key},{key_file_text}")
    # The key file gets the same keyring, or rotate refuses (a serve without
    # the variable would use the file and could not read the result).
    (tmp_path / "cli.db.key").write_text(f"{new_key},{key_file_text}\n")
    assert json.loads(run("keys", "rotate"))["rotated"] == 3  # two connections, one webhook secret
    run("connections", "delete", zoho["id"])
    run("connections", "list", "--tenant", tenant)

    # Creation output shows its own new secret, once; nothing else shows any.
    creations = {"api-keys create": "api_key", "connections create": "connection_token",
                 "tenants update": "webhook_secret", "tenants rotate-webhook-secret": "webhook_secret"}
    for argv, out, err in outputs:
        field = creations.get(" ".join(argv[:2]))
        allowed = {json.loads(out).get(field)} if field and out else set()
        leaked = secrets.found_in(out + err) - allowed
        assert not leaked, f"{[secrets.name_of(v) for v in leaked]} printed by {argv[:2]}: {out}{err}"
    stderr = "".join(err for _, _, err in outputs)
    assert_no_secret_anywhere(secrets, trap.texts + [stderr], Responses())
    # Logging was live: the keyring warning went out through the project's
    # JSON handler and the trap, and DEBUG records were captured.
    assert any(json.loads(line)["logger"] == "shoprelay.keyring"
               for line in stderr.splitlines() if line.startswith("{"))
    assert any(r.name == "shoprelay.keyring" and r.levelno == logging.WARNING for r in trap.records)
    assert any(r.levelno == logging.DEBUG for r in trap.records)
    assert logging.getLogger("shoprelay").level == logging.DEBUG


# -- management, admin and customer reads (Wix with an API key) -------------------------


async def test_api_flows_log_and_answer_no_secret(tmp_path, capsys, trap):
    secrets = canaries()
    responses = Responses()
    wix = WixFake([WIX_CONTACT["contact"]], credentials={"api_key": WIX_API_KEY})
    wix.api_keys.add(WIX_PATCHED_KEY)  # the key the connection is patched to
    configure_like_serve(trap)
    async with wix.serve() as origin, running_app(tmp_path, **OVERRIDES) as api:
        client = api.client
        responses.attach(client)
        admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}

        # Admin API: refused tokens, then a tenant and two keys, one revoked.
        refused = await client.post("/admin/tenants", json={"name": "acme"},
                                    headers={"Authorization": f"Bearer {WRONG_ADMIN_TOKEN}"})
        assert refused.status_code == 401
        assert (await client.get("/admin/tenants", headers={"Authorization": ADMIN_TOKEN})).status_code == 401
        tenant = (await client.post("/admin/tenants", json={"name": "acme"}, headers=admin)).json()["id"]
        assert (await client.get("/admin/tenants", headers=admin)).status_code == 200
        created = [await client.post(f"/admin/tenants/{tenant}/api-keys", json={"name": n}, headers=admin)
                   for n in ("live", "doomed")]
        api_key = responses.hands_out(created[0], "api_key", secrets, "api key")
        doomed = responses.hands_out(created[1], "api_key", secrets, "revoked api key")
        assert (await client.delete(f"/admin/api-keys/{created[1].json()['id']}", headers=admin)).status_code == 204
        key = {"x-api-key": api_key}

        # Tenant settings: the webhook secret is in the answer that makes it, only.
        hook = {"webhook_url": "https://hooks.example.com/in", "return_urls": ["https://app.example.com/back"]}
        made = await client.patch("/tenant", json=hook, headers=key)
        responses.hands_out(made, "webhook_secret", secrets, "webhook secret")
        assert (await client.get("/tenant", headers=key)).status_code == 200
        remade = await client.post("/tenant/webhook-secret/rotate", headers=key)
        responses.hands_out(remade, "webhook_secret", secrets, "rotated webhook secret")
        moved = await client.patch("/tenant", json={"webhook_url": "https://hooks.example.com/v2"}, headers=key)
        assert moved.status_code == 200

        # Management API: verification failures and refused bodies carrying canaries.
        settings = {"site_id": SITE_ID, "base_url": origin}
        rejected = {"provider": "wix", "credentials": {"api_key": WIX_REJECTED_KEY}, "settings": settings}
        failed = await client.post("/connections?verify=true", json=rejected, headers=key)
        assert failed.status_code == 422 and problem_code(failed) == "verification_failed"
        bogus = {"provider": "wix", "credentials": {"api_key": WIX_API_KEY, "bogus": BODY_CANARY}, "settings": settings}
        assert (await client.post("/connections", json=bogus, headers=key)).status_code == 400
        broken = '{"provider": "wix", "credentials": {"api_key": "' + WIX_API_KEY + '"' + BODY_CANARY
        assert (await client.post("/connections", content=broken, headers=key)).status_code == 400
        good = {"provider": "wix", "credentials": {"api_key": WIX_API_KEY}, "settings": settings}
        created_conn = await client.post("/connections?verify=true", json=good, headers=key)
        assert created_conn.status_code == 201
        token = responses.hands_out(created_conn, "connection_token", secrets, "connection token")
        conn_id = created_conn.json()["id"]
        assert (await client.get("/connections", headers=key)).status_code == 200
        assert (await client.get(f"/connections/{conn_id}", headers=key)).status_code == 200
        mapping = {"name": "city", "provider": "wix", "expression": "info.addresses.items[0].address.city"}
        assert (await client.post("/field-mappings", json=mapping, headers=key)).status_code == 201
        assert (await client.get("/field-mappings", headers=key)).status_code == 200
        bad_conn = await client.post("/connections", json=rejected, headers=key)
        bad_token = responses.hands_out(bad_conn, "connection_token", secrets, "rejected connection's token")

        # Customer reads: success, not found, and every way to fail.
        async def read(customer_id: str = WIX_CONTACT_ID, *, k: str | None = api_key,
                       t: str | None = token, path: str = "/ecommerce/customers/") -> httpx.Response:
            headers = {name: v for name, v in (("x-api-key", k), ("x-connection-token", t)) if v is not None}
            return await client.get(path + customer_id, params={"remote_data": "true"}, headers=headers)

        assert (await read()).status_code == 200
        assert (await read("", path="/ecommerce/customers")).status_code == 200
        assert problem_code(await read(MISSING_GUID)) == "customer_not_found"
        assert problem_code(await read("not-a-guid")) == "customer_not_found"
        assert problem_code(await read(k=UNKNOWN_API_KEY)) == "invalid_api_key"
        assert problem_code(await read(k=JUNK_API_KEY)) == "invalid_api_key"
        assert problem_code(await read(k=doomed)) == "invalid_api_key"
        assert problem_code(await read(k=None)) == "missing_api_key"
        assert problem_code(await read(t=UNKNOWN_TOKEN)) == "invalid_connection_token"
        assert problem_code(await read(t=WIX_API_KEY)) == "invalid_connection_token"  # a credential sent as a token
        assert problem_code(await read(t=bad_token)) == "provider_auth_failed"  # the provider's 401
        wix.answer(wix.server_error(503), times=None)
        assert problem_code(await read()) == "provider_unavailable"
        wix.clear_faults()
        wix.hang(times=None)
        assert problem_code(await read()) == "provider_timeout"
        wix.clear_faults()

        # Patch (refused, then accepted), rotate, delete.
        patch_bad = {"credentials": {"api_key": WIX_REJECTED_KEY}}
        patched = await client.patch(f"/connections/{conn_id}?verify=true", json=patch_bad, headers=key)
        assert patched.status_code == 422
        patch = {"credentials": {"api_key": WIX_PATCHED_KEY}}
        assert (await client.patch(f"/connections/{conn_id}", json=patch, headers=key)).status_code == 200
        assert (await read()).status_code == 200
        rotated = await client.post(f"/connections/{conn_id}/rotate-token", headers=key)
        new_token = responses.hands_out(rotated, "connection_token", secrets, "rotated connection token")
        assert problem_code(await read()) == "invalid_connection_token"
        assert (await read(t=new_token)).status_code == 200
        assert (await client.delete(f"/connections/{conn_id}", headers=key)).status_code == 204
        assert problem_code(await read(t=new_token)) == "invalid_connection_token"

    # The canaries were really in flight: the store saw each credential.
    assert {WIX_API_KEY, WIX_REJECTED_KEY, WIX_PATCHED_KEY} <= {r.headers.get("Authorization") for r in wix.requests}
    stderr = capsys.readouterr().err
    assert_each_request_logged(trap, stderr, responses)
    assert_no_secret_anywhere(secrets, trap.texts + [stderr], responses)


# -- OAuth: Zoho Inventory and Wix app OAuth --------------------------------------------


DIALECTS = {
    # provider: (fake, credentials, patched credentials, what precedes the token in
    #            Authorization, permanent refusal of the token endpoint (status, body))
    "zoho_inventory": (
        ZohoInventoryFake,
        {"client_id": ZOHO_CLIENT_ID, "client_secret": ZOHO_CLIENT_SECRET, "refresh_token": ZOHO_REFRESH_TOKEN},
        {"client_id": ZOHO_CLIENT_ID, "client_secret": ZOHO_CLIENT_SECRET_2, "refresh_token": ZOHO_REFRESH_TOKEN_2},
        "Zoho-oauthtoken ",
        (200, load_fixture("zoho_inventory", "oauth-error-invalid-client.json")),  # Zoho refuses with HTTP 200
    ),
    "wix": (
        WixFake,
        {"client_id": WIX_CLIENT_ID, "client_secret": WIX_CLIENT_SECRET},
        {"client_id": WIX_CLIENT_ID, "client_secret": WIX_CLIENT_SECRET_2},
        "",
        (400, load_fixture("wix", "oauth-error-invalid-client.json")),
    ),
    "square": (
        SquareFake,
        {"client_id": SQUARE_CLIENT_ID, "client_secret": SQUARE_CLIENT_SECRET, "refresh_token": SQUARE_REFRESH_TOKEN},
        {"client_id": SQUARE_CLIENT_ID, "client_secret": SQUARE_CLIENT_SECRET_2,
         "refresh_token": SQUARE_REFRESH_TOKEN_2},
        "Bearer ",
        (401, load_fixture("square", "error-401.json")),
    ),
}


@pytest.mark.parametrize("provider", sorted(DIALECTS))
async def test_oauth_flows_log_and_answer_no_secret(tmp_path, capsys, trap, provider):
    fake_class, credentials, patched, scheme, permanent = DIALECTS[provider]
    secrets = canaries()
    responses = Responses()
    store = fake_class(credentials=credentials)  # its token endpoint takes these only
    configure_like_serve(trap)
    async with store.serve() as origin, running_app(tmp_path, **OVERRIDES) as api:
        responses.attach(api.client)
        tenant = await api.tenant()
        secrets.add("api key", tenant.api_key)
        key = {"x-api-key": tenant.api_key}
        body = {"provider": provider, "credentials": credentials, "settings": store.settings(origin)}
        created = await api.client.post("/connections?verify=true", json=body, headers=key)
        token = responses.hands_out(created, "connection_token", secrets, "connection token")
        conn_id = created.json()["id"]

        async def read() -> httpx.Response:
            return await api.get_customer(tenant, token, store.ids[0])

        async def status() -> str:
            return (await api.client.get(f"/connections/{conn_id}", headers=key)).json()["status"]

        assert (await read()).status_code == 200  # mints (the verify call minted its own)
        store.revoke_all()
        assert (await read()).status_code == 200  # 401 -> refresh -> retried
        assert len(store.minted) == 3
        store.revoke_all()
        store.answer(503, on={"token"}, times=None)  # a transient token-endpoint failure
        assert problem_code(await read()) == "provider_unavailable"
        assert await status() == "active"
        store.clear_faults()
        store.answer(*permanent, on={"token"}, times=None)  # invalid_client: for good
        assert problem_code(await read()) == "provider_auth_failed"
        assert await status() == "needs_reauth"
        asked = store.token_requests()
        assert problem_code(await read()) == "provider_auth_failed"
        assert store.token_requests() == asked  # needs_reauth answers without asking again

        # New credentials bring the connection back.
        store.clear_faults()
        store.credentials = dict(patched)
        patch = await api.client.patch(f"/connections/{conn_id}", json={"credentials": patched}, headers=key)
        assert patch.status_code == 200 and patch.json()["status"] == "active"
        assert (await read()).status_code == 200
        rotated = await api.client.post(f"/connections/{conn_id}/rotate-token", headers=key)
        responses.hands_out(rotated, "connection_token", secrets, "rotated connection token")
        assert (await api.client.delete(f"/connections/{conn_id}", headers=key)).status_code == 204

    # The secrets were in flight: every grant carried them, every token was used.
    assert {g["client_secret"] for g in store.grants} == {credentials["client_secret"], patched["client_secret"]}
    used = {r.headers.get("Authorization", "").removeprefix(scheme) for r in store.requests}
    assert used >= set(store.minted)
    minted(secrets, store)
    stderr = capsys.readouterr().err
    assert_each_request_logged(trap, stderr, responses)
    assert_no_secret_anywhere(secrets, trap.texts + [stderr], responses)
