"""Issue 7: no API key, connection token, provider credential, OAuth token,
admin token or encryption key appears in any log line or error body.

Every record of every logger is captured at DEBUG (root at DEBUG, and
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
status) and that the canaries were really in use (the local upstream saw
them), so none of this can pass vacuously.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import os
from typing import Any, Iterator

import httpx
import pytest
from aiohttp import web

from keys.vault import new_key_text
from proxy import cli, logs
from tests.harness import TEST_KEYRING, running_app
from tests.support import load_fixture, serve

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
BODY_CANARY = "cnry-in-a-bad-body-f00d"

SITE_ID = "c993128b-26be-41cd-9fcd-904abe23462f"
INSTANCE_ID = "1d2c6a64-3f21-4e36-9a1f-4c7f4b0a9e11"
ZOHO_ORG = "10234695"
WIX_CONTACT = load_fixture("wix", "contact-full.json")
WIX_CONTACT_ID = WIX_CONTACT["contact"]["id"]
ZOHO_CONTACT = load_fixture("zoho_inventory", "zoho-inventory-customer.json")
ZOHO_CONTACT_ID = str(ZOHO_CONTACT["contact"]["contact_id"])
MISSING_GUID = "00000000-0000-4000-8000-000000000000"

OVERRIDES = {"admin_token": ADMIN_TOKEN, "request_timeout": 1.0, "retry_attempts": 2}
OPENED_LOGGERS = ("aiohttp", "asyncio", "uvicorn", "uvicorn.error", "uvicorn.access", "httpx", "shoprelay")


# -- capture -----------------------------------------------------------------------


class Trap(logging.Handler):
    """Keeps every record, rendered every way a secret could come out."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.project = logs.JsonFormatter()
        self.plain = logging.Formatter("%(name)s %(levelname)s %(message)s %(args)s")
        self.records: list[logging.LogRecord] = []
        self.texts: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)
        for formatter in (self.project, self.plain):
            try:
                # Formatter.format appends the exc_info and stack text itself.
                self.texts.append(formatter.format(record))
            except Exception as exc:  # a record one renderer cannot take
                self.texts.append(f"unrenderable by {type(formatter).__name__}: {exc!r}")
        self.texts.append(repr(vars(record)))

    def access(self) -> list[logging.LogRecord]:
        return [r for r in self.records if r.name == "shoprelay.access"]


@pytest.fixture
def trap() -> Iterator[Trap]:
    """Root and the named loggers at DEBUG into a Trap; all restored after."""
    handler = Trap()
    root = logging.getLogger()
    named = [logging.getLogger(name) for name in OPENED_LOGGERS]
    saved = [(lg, lg.level, lg.propagate, list(lg.handlers), lg.disabled) for lg in [root, *named]]
    root.setLevel(logging.DEBUG)
    root.addHandler(handler)
    for lg in named:
        lg.setLevel(logging.DEBUG)
        lg.disabled = False
    # A CLI run earlier in this process may have detached shoprelay from root.
    logging.getLogger("shoprelay").propagate = True
    try:
        yield handler
    finally:
        for lg, level, propagate, handlers, disabled in saved:
            lg.setLevel(level)
            lg.propagate = propagate
            lg.handlers[:] = handlers
            lg.disabled = disabled


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


# -- a local provider: Wix (API key or app OAuth) or Zoho Inventory (OAuth) ------------


class LocalStore:
    """A provider on 127.0.0.1. The API accepts an ``Authorization`` value in
    ``accepted``; the token endpoint (if any) checks the grant's credentials
    against ``expected``, mints canary access tokens (the documented token
    body with its token replaced) and revokes the previous one. ``refusal``
    makes the token endpoint answer (status, body) instead; ``fault`` makes
    the API answer 503 or hang."""

    def __init__(self, *, secrets: Secrets, token_body: Any, access_prefix: str, scheme: str) -> None:
        self.secrets = secrets
        self.token_body = token_body
        self.access_prefix = access_prefix
        self.scheme = scheme  # what precedes the access token in Authorization
        self.accepted: set[str] = set()
        self.expected: dict[str, str] = {}
        self.minted: list[str] = []
        self.grants: list[dict[str, str]] = []
        self.authorizations: list[str] = []
        self.refusal: tuple[int, Any] | None = None
        self.fault: str | None = None
        self.released = asyncio.Event()

    def grant(self, grant: dict[str, str], refused: Any) -> web.Response:
        self.grants.append(grant)
        if self.refusal is not None:
            status, body = self.refusal
            return web.Response(status=status) if body is None else web.json_response(body, status=status)
        if any(grant.get(k) != v for k, v in self.expected.items()):
            return web.json_response(refused, status=400)
        self.revoke()
        token = self.secrets.add(f"minted access token {len(self.minted) + 1}",
                                 f"{self.access_prefix}{len(self.minted) + 1}.cnry")
        self.minted.append(token)
        self.accepted.add(self.scheme + token)
        return web.json_response({**self.token_body, "access_token": token})

    def revoke(self) -> None:
        self.accepted -= {self.scheme + t for t in self.minted}

    async def gate(self, request: web.Request, unauthorized: Any, unavailable: Any) -> web.Response | None:
        """None to serve the request; else the fault or the 401."""
        if self.fault == "hang":
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self.released.wait(), 10)
        if self.fault == "503":
            return web.json_response(unavailable, status=503)
        authorization = request.headers.get("Authorization", "")
        self.authorizations.append(authorization)
        if authorization not in self.accepted:
            return web.json_response(unauthorized, status=401)
        return None


def wix_store(secrets: Secrets) -> tuple[LocalStore, web.Application]:
    store = LocalStore(secrets=secrets, token_body=load_fixture("wix", "oauth-token.json"),
                       access_prefix="OauthNG.JWS.cnry-wix-access-", scheme="")
    refused = load_fixture("wix", "oauth-error-invalid-client.json")

    async def token(request: web.Request) -> web.Response:
        return store.grant(await request.json(), refused)

    async def gate(request: web.Request) -> web.Response | None:
        if request.headers.get("wix-site-id") not in (None, SITE_ID):
            return web.json_response(load_fixture("wix", "error-403.json"), status=403)
        return await store.gate(
            request, load_fixture("wix", "error-401.json"), load_fixture("wix", "error-system.json")
        )

    async def contact(request: web.Request) -> web.Response:
        if (refused_now := await gate(request)) is not None:
            return refused_now
        if request.match_info["id"] != WIX_CONTACT_ID:
            return web.json_response(load_fixture("wix", "error-404.json"), status=404)
        return web.json_response(WIX_CONTACT)

    async def contacts(request: web.Request) -> web.Response:
        return await gate(request) or web.json_response(load_fixture("wix", "contacts-list-full.json"))

    app = web.Application()
    app.router.add_post("/oauth2/token", token)
    app.router.add_get("/contacts/v4/contacts", contacts)
    app.router.add_get("/contacts/v4/contacts/{id}", contact)
    return store, app


def zoho_store(secrets: Secrets) -> tuple[LocalStore, web.Application]:
    body = load_fixture("zoho_inventory", "zoho-oauth-token-refresh.json")
    store = LocalStore(
        secrets=secrets, token_body=body, access_prefix="1000.cnry-zoho-access-", scheme="Zoho-oauthtoken "
    )
    refused = load_fixture("zoho_inventory", "oauth-error-invalid-client.json")

    async def token(request: web.Request) -> web.Response:
        # Zoho's refresh request carries the secrets in the query string.
        return store.grant(dict(request.query), refused)

    async def gate(request: web.Request) -> web.Response | None:
        return await store.gate(
            request, load_fixture("zoho_inventory", "error-401-code-14.json"),
            load_fixture("zoho_inventory", "error-internal.json"),
        )

    async def contact(request: web.Request) -> web.Response:
        if (refused_now := await gate(request)) is not None:
            return refused_now
        if request.match_info["id"] != ZOHO_CONTACT_ID:
            return web.json_response(load_fixture("zoho_inventory", "zoho-inventory-not-found.json"), status=404)
        return web.json_response(ZOHO_CONTACT)

    async def contacts(request: web.Request) -> web.Response:  # verify's request
        return await gate(request) or web.json_response(
            load_fixture("zoho_inventory", "zoho-inventory-customers-list.json"))

    app = web.Application()
    app.router.add_post("/oauth/v2/token", token)
    app.router.add_get("/inventory/v1/contacts", contacts)
    app.router.add_get("/inventory/v1/contacts/{id}", contact)
    return store, app


@contextlib.asynccontextmanager
async def relay(tmp_path: Any, store: LocalStore, app: web.Application) -> Any:
    async with serve(app) as origin, running_app(tmp_path, **OVERRIDES) as api:
        try:
            yield api, origin
        finally:
            store.released.set()  # let a hanging handler end before the upstream stops


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
    wix, app = wix_store(secrets)
    wix.accepted = {WIX_API_KEY, WIX_PATCHED_KEY}
    configure_like_serve(trap)
    async with relay(tmp_path, wix, app) as (api, origin):
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
        wix.fault = "503"
        assert problem_code(await read()) == "provider_unavailable"
        wix.fault = "hang"
        assert problem_code(await read()) == "provider_timeout"
        wix.fault = None

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
    assert {WIX_API_KEY, WIX_REJECTED_KEY, WIX_PATCHED_KEY} <= set(wix.authorizations)
    stderr = capsys.readouterr().err
    assert_each_request_logged(trap, stderr, responses)
    assert_no_secret_anywhere(secrets, trap.texts + [stderr], responses)


# -- OAuth: Zoho Inventory and Wix app OAuth --------------------------------------------


DIALECTS = {
    # provider: (store factory, credentials, patched credentials, settings, customer id,
    #            permanent refusal (status, body))
    "zoho_inventory": (
        zoho_store,
        {"client_id": ZOHO_CLIENT_ID, "client_secret": ZOHO_CLIENT_SECRET, "refresh_token": ZOHO_REFRESH_TOKEN},
        {"client_id": ZOHO_CLIENT_ID, "client_secret": ZOHO_CLIENT_SECRET_2, "refresh_token": ZOHO_REFRESH_TOKEN_2},
        lambda origin: {"organization_id": ZOHO_ORG, "data_center": "com", "base_url": origin, "auth_url": origin},
        ZOHO_CONTACT_ID,
        (200, load_fixture("zoho_inventory", "oauth-error-invalid-client.json")),  # Zoho refuses with HTTP 200
    ),
    "wix": (
        wix_store,
        {"client_id": WIX_CLIENT_ID, "client_secret": WIX_CLIENT_SECRET},
        {"client_id": WIX_CLIENT_ID, "client_secret": WIX_CLIENT_SECRET_2},
        lambda origin: {"instance_id": INSTANCE_ID, "base_url": origin, "auth_url": origin},
        WIX_CONTACT_ID,
        (400, load_fixture("wix", "oauth-error-invalid-client.json")),
    ),
}


@pytest.mark.parametrize("provider", sorted(DIALECTS))
async def test_oauth_flows_log_and_answer_no_secret(tmp_path, capsys, trap, provider):
    make_store, credentials, patched, settings_of, customer_id, permanent = DIALECTS[provider]
    secrets = canaries()
    responses = Responses()
    store, app = make_store(secrets)
    store.expected = dict(credentials)
    configure_like_serve(trap)
    async with relay(tmp_path, store, app) as (api, origin):
        responses.attach(api.client)
        tenant = await api.tenant()
        secrets.add("api key", tenant.api_key)
        key = {"x-api-key": tenant.api_key}
        body = {"provider": provider, "credentials": credentials, "settings": settings_of(origin)}
        created = await api.client.post("/connections?verify=true", json=body, headers=key)
        token = responses.hands_out(created, "connection_token", secrets, "connection token")
        conn_id = created.json()["id"]

        async def read() -> httpx.Response:
            return await api.get_customer(tenant, token, customer_id)

        async def status() -> str:
            return (await api.client.get(f"/connections/{conn_id}", headers=key)).json()["status"]

        assert (await read()).status_code == 200  # mints (the verify call minted its own)
        store.revoke()
        assert (await read()).status_code == 200  # 401 -> refresh -> retried
        assert len(store.minted) == 3
        store.revoke()
        store.refusal = (503, None)  # a transient token-endpoint failure
        assert problem_code(await read()) == "provider_unavailable"
        assert await status() == "active"
        store.refusal = permanent  # invalid_client: for good
        assert problem_code(await read()) == "provider_auth_failed"
        assert await status() == "needs_reauth"
        asked = len(store.grants)
        assert problem_code(await read()) == "provider_auth_failed"
        assert len(store.grants) == asked  # needs_reauth answers without asking again

        # New credentials bring the connection back.
        store.refusal, store.expected = None, dict(patched)
        patch = await api.client.patch(f"/connections/{conn_id}", json={"credentials": patched}, headers=key)
        assert patch.status_code == 200 and patch.json()["status"] == "active"
        assert (await read()).status_code == 200
        rotated = await api.client.post(f"/connections/{conn_id}/rotate-token", headers=key)
        responses.hands_out(rotated, "connection_token", secrets, "rotated connection token")
        assert (await api.client.delete(f"/connections/{conn_id}", headers=key)).status_code == 204

    # The secrets were in flight: every grant carried them, every token was used.
    assert {g["client_secret"] for g in store.grants} == {credentials["client_secret"], patched["client_secret"]}
    assert {a.removeprefix(store.scheme) for a in store.authorizations} >= set(store.minted)
    stderr = capsys.readouterr().err
    assert_each_request_logged(trap, stderr, responses)
    assert_no_secret_anywhere(secrets, trap.texts + [stderr], responses)
