"""The ``shoprelay`` command (contract: README "CLI", DESIGN.md).

Create commands print exactly one JSON object on stdout. Every command that
uses the database first says which on stderr (``shoprelay: database ...``;
``serve`` logs it). Failures print one more line on stderr and exit 1 (2 for
usage errors, 3 when the tenant, key, connection or mapping named does not
exist or is already revoked/deleted), writing nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import shlex
import sys
import time
from importlib.metadata import PackageNotFoundError, version
from typing import Any, Awaitable, Callable, NoReturn

import msgspec

from providers import catalog, registry
from providers.errors import ProviderError

from keys.vault import Keyring, KeyringError, check_key_id, new_key_text

from . import accounts, field_mappings, logs, provider_apps, rotation, tenant_settings, verification
from .bodies import MAX_JSON_DEPTH, json_too_deep
from .clock import now_text
from .config import DATABASE_FILE, Config, ConfigError, listen_url
from .keyring import (
    ENV_NAME, KeyringSource, key_file_path, keyring_source, load_keyring, parse_key_file, read_key_file,
)
from .store import Conflict, InvalidValue, Store, StoreUnavailable, open_store
from .store.records import UNSET
from .views import ConnectionView, ProviderAppView, TenantSettings, TenantSettingsWithSecret

EXIT_FAILURE = 1
EXIT_GONE = 3  # the thing named is not there (unknown, or already revoked/deleted)

log = logging.getLogger("shoprelay.cli")


class CliError(Exception):
    pass


class Gone(CliError):
    """Exits EXIT_GONE: scripts can tell "already done" from a failure."""


def main(argv: list[str] | None = None) -> None:
    parser = _parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help(sys.stderr)
        raise SystemExit(2)
    # serve writes nothing but log lines (JSON in production), its fatal
    # errors included; the other commands keep their one plain stderr line.
    fail = _fail_logged if args.handler is cmd_serve else _fail
    try:
        logs.configure("INFO", _log_format_of_env())  # until the config is read
        config = Config.from_env()
        logs.configure(config.log_level, config.log_format)
        if getattr(args, "uses_database", True):
            if args.handler is cmd_serve:  # serve only logs (JSON lines in production)
                _note_database_left_behind(config, log.warning)
            else:
                _say(f"database {_database_origin(config)}")
                _note_database_left_behind(config, _say)
        args.handler(config, args)
    except (Gone, accounts.UnknownTenant, accounts.UnknownConnection) as exc:
        fail(str(exc), EXIT_GONE)
    except (CliError, ConfigError, accounts.InvalidInput, StoreUnavailable, InvalidValue) as exc:
        fail(str(exc))


def _first_line(message: str) -> str:
    return message.splitlines()[0] if message else "failed"


def _fail(message: str, code: int = EXIT_FAILURE) -> NoReturn:
    print(f"shoprelay: error: {_first_line(message)}", file=sys.stderr)
    raise SystemExit(code)


def _fail_logged(message: str, code: int = EXIT_FAILURE) -> NoReturn:
    log.error("shoprelay: error: %s", _first_line(message))
    raise SystemExit(code)


def _log_format_of_env() -> str:
    """SHOPRELAY_LOG_FORMAT as far as it can be read before the whole
    configuration is (which may be what fails)."""
    fmt = os.environ.get("SHOPRELAY_LOG_FORMAT", "auto").strip().lower()
    return fmt if fmt in ("auto", "json", "text") else "auto"


def _say(message: str) -> None:
    """One line for the operator on stderr (stdout stays machine-readable)."""
    print(f"shoprelay: {message}", file=sys.stderr)


def _database_origin(config: Config) -> str:
    """Which database, and why that one (never a password)."""
    if os.environ.get("SHOPRELAY_DATABASE_URL"):
        return f"{config.database_shown} (SHOPRELAY_DATABASE_URL)"
    origin = "SHOPRELAY_DATA_DIR" if os.environ.get("SHOPRELAY_DATA_DIR") else "the default data directory"
    return f"{config.database_shown} ({origin})"


def _note_database_left_behind(config: Config, say: Callable[[str], Any]) -> None:
    """Before the data directory, the default database was ./shoprelay.db of
    whichever folder a command ran from. Point at one found here rather than
    let it look lost."""
    if os.environ.get("SHOPRELAY_DATABASE_URL"):
        return
    try:
        here = os.path.abspath(DATABASE_FILE)
    except OSError:  # the working directory is gone: nothing was left in it
        return
    if os.path.isfile(here) and here != os.path.abspath(config.sqlite_path):
        say(
            f"note: {here} is not used (the default is now the data directory); to keep it, "
            f"set SHOPRELAY_DATABASE_URL=sqlite:///{here} or move it and its .key file there"
        )


def _emit(obj: Any) -> None:
    sys.stdout.write(msgspec.json.encode(obj).decode() + "\n")
    sys.stdout.flush()


def _with_store(fn: Callable[[Store], Awaitable[Any]], config: Config) -> Any:
    async def run() -> Any:
        store = open_store(
            config.database_url,
            pool_size=min(config.db_pool_size, 2),
            statement_timeout=config.db_statement_timeout,
        )
        try:
            await store.migrate()
            return await fn(store)
        finally:
            await store.close()

    return asyncio.run(run())


def _json_arg(text: str, what: str) -> Any:
    """JSON given inline, or ``@FILE`` / ``-`` (stdin): secrets read from a
    file or a pipe stay out of shell history and ``ps``."""
    if text == "-":
        text = sys.stdin.read()
    elif text.startswith("@"):
        try:
            with open(text[1:], encoding="utf-8") as handle:
                text = handle.read()
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
            raise CliError(f"{what}: cannot read {text[1:]!r}: {reason}") from None
    # Bounded before parsing: json.loads recurses, and deep nesting would be
    # a RecursionError traceback instead of one line.
    if json_too_deep(text.encode("utf-8", "surrogateescape")):
        raise CliError(f"{what} nests deeper than {MAX_JSON_DEPTH} levels")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        # Position only: the text may be a secret.
        raise CliError(f"{what} is not valid JSON ({exc.msg} at position {exc.pos})") from None


def _connection_args(args: argparse.Namespace) -> tuple[Any, Any]:
    """(credentials, settings) from the command line; None for one not given."""
    if args.credentials == "-" and args.settings == "-":
        raise CliError("only one of --credentials and --settings can be read from stdin")
    credentials = _json_arg(args.credentials, "--credentials") if args.credentials is not None else None
    settings = _json_arg(args.settings, "--settings") if args.settings is not None else None
    return credentials, settings


def _verifier(config: Config, http: Any) -> accounts.Verifier:
    """The API's ?verify=true check, failing as a one-line CliError."""

    async def run(provider: str, credentials: msgspec.Struct, settings: msgspec.Struct) -> None:
        try:
            await verification.verify(http, provider, credentials, settings, config.request_timeout)
        except ProviderError as exc:
            problem = verification.problem(exc, provider)
            raise CliError(
                f"verification failed ({problem.code}): {problem.detail}; nothing was written "
                "(--no-verify skips the live check)"
            ) from None

    return run


async def _existing_connection(store: Store, connection_id: str) -> Any:
    connection = await store.get_connection(connection_id)
    if connection is None:
        raise Gone(f"no connection has id {connection_id!r}")
    return connection


# -- commands ----------------------------------------------------------------


def _serve_keyring(config: Config) -> tuple[Keyring, KeyringSource]:
    """The keyring serve will use, refused (CliError) if it cannot read every
    stored credential: better not to start than to answer every read of
    those connections with an error."""
    source = keyring_source(config)

    async def run(store: Store) -> Keyring:
        in_use = await store.connections_per_key_id()
        if source.kind == "key file" and in_use and read_key_file(source.key_file or "") is None:
            # A new key file could read none of them: do not make one.
            raise CliError(
                f"the database holds {_rows(sum(in_use.values()))} but {ENV_NAME} is not set and "
                f"there is no key file at {source.key_file}; start serve with the keyring that "
                "encrypted them"
            )
        keyring = load_keyring(config)
        lacking = {key_id: n for key_id, n in in_use.items() if key_id not in keyring.key_ids}
        if lacking:
            raise CliError(
                f"stored credentials use key ids that the keyring from {source.describe()} lacks: "
                + ", ".join(f"{key_id!r} ({_rows(n)})" for key_id, n in sorted(lacking.items()))
                + f"; it holds {_ids(keyring)}. Add the missing keys (after the first), then start again"
            )
        return keyring

    return _with_store(run, config), source


def _rows(n: int) -> str:
    # Tenants' webhook secrets are counted with the connections (see
    # Store.connections_per_key_id): the keyring must read them all.
    return f"{n} connection{'' if n == 1 else 's'} or webhook secret{'' if n == 1 else 's'}"


def _ids(keyring: Keyring) -> str:
    return ", ".join(repr(key_id) for key_id in keyring.key_ids)


def cmd_serve(config: Config, args: argparse.Namespace) -> None:
    import uvicorn

    from . import serving

    # Logged, not printed, like everything serve says (JSON lines in production).
    log.info("database %s", _database_origin(config))
    # Fail fast, in this process, on a bad keyring or database, or a keyring
    # that cannot read what is stored, with a clear message rather than a
    # worker traceback or an error on every read.
    keyring, source = _serve_keyring(config)
    log.info("keyring from %s: key ids %s (active %r)", source.describe(), _ids(keyring), keyring.active_id)
    host = args.host if args.host is not None else config.host
    port = args.port if args.port is not None else config.port
    if not config.public_url:
        # connect_url links default to the address served here; the workers
        # build their Config from the environment, so it goes there.
        os.environ["SHOPRELAY_PUBLIC_URL"] = listen_url(host, port)
    log.info("public URL (connect links) %s", os.environ.get("SHOPRELAY_PUBLIC_URL", config.public_url))
    try:
        uvicorn.run(
            "proxy.app:create_app",
            factory=True,
            **serving.server_options(
                config,
                host=host,
                port=port,
                workers=args.workers if args.workers is not None else config.workers,
            ),
        )
    except SystemExit as exc:
        # uvicorn exits 3 when it cannot start (port taken, app failed to
        # load), having logged why; 3 is this CLI's "already gone".
        if exc.code == 3:
            raise CliError("the server could not start (the lines above say why)") from None
        raise


def cmd_migrate(config: Config, args: argparse.Namespace) -> None:
    version = _with_store(lambda store: store.migrate(), config)
    _emit({"schema_version": version})


def cmd_tenants_create(config: Config, args: argparse.Namespace) -> None:
    tenant = _with_store(lambda s: accounts.create_tenant(s, args.name), config)
    _emit({"id": tenant.id, "name": tenant.name})


def cmd_tenants_list(config: Config, args: argparse.Namespace) -> None:
    _emit({"data": _with_store(lambda s: s.list_tenants(), config)})


def _tenant_view(tenant: Any, secret: str | None) -> TenantSettings:
    """As GET/PATCH /tenant answer: the webhook secret only when just made."""
    view = TenantSettings.of(tenant)
    if secret is None:
        return view
    return TenantSettingsWithSecret(**msgspec.structs.asdict(view), webhook_secret=secret)


def cmd_tenants_update(config: Config, args: argparse.Namespace) -> None:
    if args.return_urls is not None and args.no_return_urls:
        raise CliError("give --return-url or --no-return-urls, not both")
    if args.webhook_url is not None and args.no_webhook_url:
        raise CliError("give --webhook-url or --no-webhook-url, not both")
    given = (args.name, args.return_urls, args.webhook_url)
    if all(v is None for v in given) and not (args.no_return_urls or args.no_webhook_url):
        raise CliError("give --name, --return-url, --webhook-url, --no-return-urls and/or --no-webhook-url")
    # UNSET: not given, kept as it is.
    name = UNSET if args.name is None else args.name
    return_urls: Any = [] if args.no_return_urls else UNSET if args.return_urls is None else args.return_urls
    webhook_url: Any = None if args.no_webhook_url else UNSET if args.webhook_url is None else args.webhook_url

    # Checked before the keyring or the store is touched: bad input writes nothing.
    tenant_settings.validate_changes(
        name=name, return_urls=return_urls, webhook_url=webhook_url,
        allow_private_networks=config.allow_private_networks,
    )

    async def run(store: Store) -> Any:
        await accounts.require_tenant(store, args.tenant)
        return await tenant_settings.update_settings(
            store, load_keyring(config), args.tenant, name=name, return_urls=return_urls,
            webhook_url=webhook_url, allow_private_networks=config.allow_private_networks,
        )

    _emit(_tenant_view(*_with_store(run, config)))


def cmd_tenants_rotate_webhook_secret(config: Config, args: argparse.Namespace) -> None:
    async def run(store: Store) -> Any:
        # Checked before the keyring is loaded (which may create a key file).
        if (await accounts.require_tenant(store, args.tenant)).webhook_url is None:
            raise CliError("the tenant has no webhook_url: set one first (tenants update --webhook-url URL)")
        return await tenant_settings.rotate_webhook_secret(store, load_keyring(config), args.tenant)

    _emit(_tenant_view(*_with_store(run, config)))


def cmd_api_keys_create(config: Config, args: argparse.Namespace) -> None:
    key, secret = _with_store(lambda s: accounts.create_api_key(s, args.tenant, args.name), config)
    _emit({"id": key.id, "api_key": secret})


def cmd_api_keys_list(config: Config, args: argparse.Namespace) -> None:
    async def run(store: Store) -> Any:
        await accounts.require_tenant(store, args.tenant)
        return await store.list_api_keys(args.tenant)

    _emit({"data": _with_store(run, config)})


def cmd_api_keys_revoke(config: Config, args: argparse.Namespace) -> None:
    at = now_text()
    key = _with_store(lambda s: s.revoke_api_key(args.key_id, at), config)
    if key is None:
        raise Gone(f"no API key has id {args.key_id!r}")
    if key.revoked_at != at:
        raise Gone(f"API key {args.key_id!r} was already revoked at {key.revoked_at}")
    _emit({"id": key.id, "revoked_at": key.revoked_at})


def cmd_connections_create(config: Config, args: argparse.Namespace) -> None:
    credentials, settings = _connection_args(args)
    # Validate before touching the keyring or the store: bad input writes nothing.
    parsed_credentials, parsed_settings = accounts.validate_connection_input(
        args.provider, credentials, settings or {}, allow_private_networks=config.allow_private_networks
    )

    async def run(store: Store) -> Any:
        await accounts.require_tenant(store, args.tenant)
        if args.verify:
            async with verification.upstream_client(config) as http:
                await _verifier(config, http)(args.provider, parsed_credentials, parsed_settings)
        keyring = load_keyring(config)  # only now: may create the key file
        return await accounts.create_connection(
            store, keyring, args.tenant, args.provider, credentials, settings or {}
        )

    connection, token = _with_store(run, config)
    _emit({"id": connection.id, "connection_token": token, "provider": connection.provider})


def cmd_connections_update(config: Config, args: argparse.Namespace) -> None:
    credentials, settings = _connection_args(args)
    if credentials is None and settings is None:
        raise CliError("give --credentials and/or --settings")

    async def run(store: Store) -> Any:
        connection = await _existing_connection(store, args.connection_id)
        keyring = load_keyring(config)
        async with contextlib.AsyncExitStack() as stack:
            verify = None
            if args.verify:
                http = await stack.enter_async_context(verification.upstream_client(config))
                verify = _verifier(config, http)
            try:
                return await accounts.update_connection(
                    store, keyring, connection, credentials, settings,
                    allow_private_networks=config.allow_private_networks, verify=verify,
                )
            except accounts.UnreadableCredentials as exc:
                raise CliError(f"{exc}; or give --credentials anew") from None

    _emit(ConnectionView.of(_with_store(run, config)))


def cmd_connections_rotate_token(config: Config, args: argparse.Namespace) -> None:
    async def run(store: Store) -> Any:
        return await accounts.rotate_connection_token(
            store, await _existing_connection(store, args.connection_id)
        )

    connection, token = _with_store(run, config)
    _emit({"id": connection.id, "connection_token": token, "provider": connection.provider})


def cmd_connections_list(config: Config, args: argparse.Namespace) -> None:
    async def run(store: Store) -> Any:
        await accounts.require_tenant(store, args.tenant)
        return await store.list_connections(args.tenant, end_user_id=args.end_user_id)

    _emit({"data": _with_store(run, config)})


def cmd_connections_delete(config: Config, args: argparse.Namespace) -> None:
    async def run(store: Store) -> bool:
        connection = await store.get_connection(args.connection_id)
        # A running server sends connection.deleted (the event is in the store).
        return connection is not None and await accounts.delete_connection(store, connection)

    if not _with_store(run, config):
        raise Gone(f"no connection has id {args.connection_id!r}")
    _emit({"id": args.connection_id, "deleted": True})


def cmd_field_mappings_create(config: Config, args: argparse.Namespace) -> None:
    async def run(store: Store) -> Any:
        await accounts.require_tenant(store, args.tenant)
        connection_provider = None
        if args.connection:
            connection = await store.get_connection(args.connection)
            if connection is None or connection.tenant_id != args.tenant:
                raise Gone(f"no connection has id {args.connection!r} for that tenant")
            connection_provider = connection.provider
        mapping = field_mappings.new_mapping(
            args.tenant, name=args.name, object=args.object, provider=args.provider,
            expression=args.expression, connection_id=args.connection,
            connection_provider=connection_provider,
        )
        full = field_mappings.over_limit(len(await store.list_field_mappings(args.tenant)))
        if full is not None:
            raise CliError(full)
        try:
            await store.create_field_mapping(mapping)
        except Conflict:
            raise CliError(f"a mapping named {args.name!r} already exists in that scope") from None
        return mapping

    _emit(_with_store(run, config))


def cmd_field_mappings_list(config: Config, args: argparse.Namespace) -> None:
    async def run(store: Store) -> Any:
        await accounts.require_tenant(store, args.tenant)
        return await store.list_field_mappings(args.tenant)

    _emit({"data": _with_store(run, config)})


def cmd_field_mappings_delete(config: Config, args: argparse.Namespace) -> None:
    if not _with_store(lambda s: s.delete_field_mapping(args.tenant, args.mapping_id), config):
        raise Gone(f"no field mapping has id {args.mapping_id!r} for that tenant")
    _emit({"id": args.mapping_id, "deleted": True})


def cmd_keys_rotate(config: Config, args: argparse.Namespace) -> None:
    source = keyring_source(config)
    keyring = load_keyring(config, create=False)  # a brand-new key could read nothing
    _say(
        f"keyring from {source.describe()}: key ids {_ids(keyring)}, "
        f"re-encrypting under {keyring.active_id!r}"
    )
    if source.kind == "environment" and config.is_sqlite:
        _refuse_if_key_file_disagrees(config, keyring)

    async def run(store: Store) -> tuple[rotation.RotationReport, dict[str, int]]:
        in_use = await store.connections_per_key_id()
        return await rotation.rotate(store, keyring, args.batch), in_use

    report, in_use = _with_store(run, config)
    _emit(report)
    others = (len(report.undecryptable_webhook_secrets) + len(report.undecryptable_provider_apps)
              + len(report.undecryptable_oauth))
    stuck = len(report.undecryptable) + others
    if stuck:
        lacking = sorted(key_id for key_id in in_use if key_id not in keyring.key_ids)
        what = (
            f"{len(report.undecryptable)} connection(s)" if not others
            else f"{stuck} connection(s), webhook secret(s), provider app secret(s) or OAuth grant(s)"
        )
        raise CliError(
            f"{what} use a key that is not in the keyring "
            f"({', '.join(map(repr, lacking)) or 'a different key under a known id'}); "
            "add it back and run again"
        )


def _refuse_if_key_file_disagrees(config: Config, keyring: Keyring) -> None:
    """The variable wins over the key file, so a shell that has it and a
    ``serve`` that does not use different keyrings. Rotating under a key the
    key file lacks would leave every row unreadable to such a serve."""
    path = key_file_path(config)
    text = read_key_file(path)
    if text is None:
        return
    if not parse_key_file(path, text).same_key(keyring, keyring.active_id):
        raise CliError(
            f"refusing to rotate: key {keyring.active_id!r} (first in {ENV_NAME}) is not in the key file "
            f"{path} beside the database, which a serve started without {ENV_NAME} uses: it could not "
            f"read what this would write. Put the same keyring in the key file, or move the key file "
            f"away if serve always gets {ENV_NAME}"
        )


def _key_id(text: str) -> str:
    try:
        return check_key_id(text)
    except KeyringError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def cmd_keys_generate(config: Config, args: argparse.Namespace) -> None:
    _emit({"key": new_key_text(args.key_id)})


def cmd_status(config: Config, args: argparse.Namespace) -> None:
    status: dict[str, Any] = {"database": config.database_shown, "data_dir": config.data_dir}
    keyring: Keyring | None = None
    about: dict[str, Any] = {}
    status["keyring"] = about
    try:
        source = keyring_source(config)
        about.update(source=ENV_NAME if source.kind == "environment" else "key file", key_file=source.key_file)
        if source.kind == "key file" and read_key_file(source.key_file or "") is None:
            about["error"] = "no key file yet (the first stored connection creates it)"
        else:
            keyring = load_keyring(config, create=False)
            about.update(key_ids=keyring.key_ids, active_key=keyring.active_id)
    except ConfigError as exc:
        about["error"] = str(exc)
    # Status looks; it does not make an empty database where there is none.
    if config.is_sqlite and not os.path.exists(config.sqlite_path):
        status.update(exists=False, schema_version=None, counts=None, connections_per_key_id=None)
        _emit(status)
        return

    async def run(store: Store) -> None:
        status.update(exists=True, schema_version=await store.migrate(), counts=await store.counts())
        in_use = await store.connections_per_key_id()
        status["connections_per_key_id"] = in_use
        if keyring is not None:
            status["unreadable_connections_per_key_id"] = {
                key_id: n for key_id, n in in_use.items() if key_id not in keyring.key_ids
            }

    _with_store(run, config)
    _emit(status)


def cmd_providers_list(config: Config, args: argparse.Namespace) -> None:
    _emit({"data": [catalog.describe(registry.get(name)) for name in registry.names()]})


def cmd_quickstart(config: Config, args: argparse.Namespace) -> None:
    keyring = load_keyring(config)

    async def run(store: Store) -> Any:
        tenant = await accounts.tenant_named(store, args.name)
        key, api_key = await accounts.create_api_key(store, tenant.id, "quickstart")
        connection, token = await accounts.create_connection(store, keyring, tenant.id, "sandbox", {}, {})
        return tenant, key, api_key, connection, token

    tenant, key, api_key, connection, token = _with_store(run, config)
    host = args.host if args.host is not None else config.host
    port = args.port if args.port is not None else config.port
    base = f"http://{_reachable(host)}:{port}"
    serve = "shoprelay serve"
    if args.host is not None and args.host != config.host:
        serve += f" --host {shlex.quote(args.host)}"
    if args.port is not None and args.port != config.port:
        serve += f" --port {args.port}"
    curl = (
        f"curl -s -H {shlex.quote('x-api-key: ' + api_key)}"
        f" -H {shlex.quote('x-connection-token: ' + token)}"
        f" {shlex.quote(base + '/ecommerce/customers/1?remote_data=true')}"
    )
    if args.json:
        _emit({
            "tenant_id": tenant.id, "api_key_id": key.id, "api_key": api_key,
            "connection_id": connection.id, "connection_token": token, "curl": curl,
        })
        return
    print(f"Demo tenant {args.name!r} (reused if it existed), a new API key and a new sandbox connection.")
    print("The key and token are shown once; keep them somewhere safe.\n")
    print(f"  tenant_id         {tenant.id}")
    print(f"  api_key           {api_key}")
    print(f"  connection_token  {token}\n")
    print(f"Start the service ({serve}), then fetch a customer:\n")
    print(curl)


def _reachable(host: str) -> str:
    """``host`` as a client writes it: an any-address listener is reached on
    loopback, an IPv6 literal in brackets."""
    if host in ("", "0.0.0.0"):
        return "127.0.0.1"
    if host == "::":
        return "[::1]"
    return f"[{host}]" if ":" in host else host


# -- parser --------------------------------------------------------------------


def _version() -> str:
    try:
        return version("shoprelay")
    except PackageNotFoundError:  # run from a source tree that is not installed
        return "unknown"



# -- provider apps ----------------------------------------------------------------


def _client_secret(args: argparse.Namespace) -> str:
    """--client-secret VALUE, or - for stdin, or --client-secret-file PATH:
    the two last keep the secret out of shell history and ``ps``. One
    trailing newline (what echo and editors add) is not part of it."""
    if args.client_secret_file is not None:
        try:
            with open(args.client_secret_file, encoding="utf-8") as handle:
                text = handle.read(provider_apps.MAX_CLIENT_SECRET + 3)
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
            raise CliError(f"--client-secret-file: cannot read {args.client_secret_file!r}: {reason}") from None
    elif args.client_secret == "-":
        text = sys.stdin.read(provider_apps.MAX_CLIENT_SECRET + 3)
    else:
        text = args.client_secret
    return text.removesuffix("\n").removesuffix("\r")


def _app_view(config: Config, app: Any) -> dict[str, Any]:
    view = msgspec.to_builtins(ProviderAppView.of(app, provider_apps.callback_url(config, app.provider)))
    return {"tenant_id": app.tenant_id, **view}


def cmd_provider_apps_set(config: Config, args: argparse.Namespace) -> None:
    secret = _client_secret(args)
    scopes = None if args.scopes is None else [s.strip() for s in args.scopes.split(",") if s.strip()]
    settings = _json_arg(args.settings, "--settings") if args.settings is not None else None
    # Validate before touching the keyring or the store: bad input writes nothing.
    try:
        provider_apps.check_input(
            args.provider, args.client_id, secret, scopes, settings,
            allow_private_networks=config.allow_private_networks,
        )
    except (provider_apps.UnknownProvider, provider_apps.InvalidApp) as exc:
        raise CliError(str(exc)) from None

    async def run(store: Store) -> Any:
        if args.tenant is not None:
            await accounts.require_tenant(store, args.tenant)
        keyring = load_keyring(config)  # only now: may create the key file
        return await provider_apps.put_app(
            store, keyring, args.tenant, args.provider, args.client_id, secret, scopes, settings,
            allow_private_networks=config.allow_private_networks,
        )

    app, created = _with_store(run, config)
    _emit({**_app_view(config, app), "created": created})


def cmd_provider_apps_list(config: Config, args: argparse.Namespace) -> None:
    async def run(store: Store) -> Any:
        if args.tenant is not None:
            await accounts.require_tenant(store, args.tenant)
            return await store.list_provider_apps(args.tenant)
        return await store.list_provider_apps(None, everyone=True)

    _emit({"data": [_app_view(config, app) for app in _with_store(run, config)]})


def cmd_provider_apps_delete(config: Config, args: argparse.Namespace) -> None:
    try:
        provider_apps.check_provider(args.provider)
    except provider_apps.UnknownProvider as exc:
        raise CliError(str(exc)) from None
    if not _with_store(lambda s: s.delete_provider_app(args.tenant, args.provider), config):
        owner = f"tenant {args.tenant!r}" if args.tenant is not None else "the operator (default)"
        raise Gone(f"{owner} has no app for {args.provider}")
    _emit({"provider": args.provider, "tenant_id": args.tenant, "deleted": True})


def cmd_provider_apps_callback_urls(config: Config, args: argparse.Namespace) -> None:
    if not config.public_url:
        _say(
            f"SHOPRELAY_PUBLIC_URL is not set: these use {config.public_base}, which the platforms "
            "cannot reach; set it to this server's public https origin"
        )
    installed = set(registry.names())
    data = []
    for name, registration in provider_apps.OAUTH_PROVIDERS.items():
        if name not in installed:
            continue
        entry: dict[str, Any] = {"provider": name, "display_name": registry.get(name).display_name,
                                 "needs_app": registration.needs_app,
                                 **provider_apps.registered_urls(config, name)}
        if registration.needs_app:
            entry["default_scopes"] = list(registration.default_scopes)
        if registration.note:
            entry["note"] = registration.note
        data.append(entry)
    _emit({"public_url": config.public_base, "data": data})


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="shoprelay",
        description="Unified e-commerce API",
        epilog="Exit status: 0 done, 1 failed, 2 usage error, 3 the tenant, key, connection or "
        "mapping named does not exist or is already revoked/deleted.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = parser.add_subparsers(metavar="COMMAND")

    serve = sub.add_parser("serve", help="run the HTTP service")
    serve.add_argument("--host", help="default $SHOPRELAY_HOST or 127.0.0.1")
    serve.add_argument("--port", type=int, help="default $SHOPRELAY_PORT or 8080")
    serve.add_argument("--workers", type=int, help="default $SHOPRELAY_WORKERS or 1")
    serve.set_defaults(handler=cmd_serve)

    sub.add_parser("migrate", help="apply database migrations").set_defaults(handler=cmd_migrate)
    sub.add_parser(
        "status", help="which database and keyring, schema version, counts (JSON)"
    ).set_defaults(handler=cmd_status)

    tenant_help = "the tenant's id (from tenants create or tenants list)"
    tenants = sub.add_parser("tenants", help="manage tenants").add_subparsers(metavar="ACTION")
    t_create = tenants.add_parser("create", help="create a tenant")
    t_create.add_argument("--name", required=True, help="a display name, e.g. the company")
    t_create.set_defaults(handler=cmd_tenants_create)
    tenants.add_parser("list", help="list tenants").set_defaults(handler=cmd_tenants_list)
    t_update = tenants.add_parser(
        "update", help="set a tenant's name, connect return URLs and/or webhook URL"
    )
    t_update.add_argument("--tenant", required=True, help=tenant_help)
    t_update.add_argument("--name", help="a new display name (shown on the connect page)")
    t_update.add_argument(
        "--return-url", dest="return_urls", action="append", metavar="URL",
        help="a URL connect sessions may return to (exact; https, or http on loopback); repeat for "
        f"several (at most {tenant_settings.MAX_RETURN_URLS}); replaces the whole list",
    )
    t_update.add_argument("--no-return-urls", action="store_true", help="empty the list of return URLs")
    t_update.add_argument(
        "--webhook-url", metavar="URL",
        help="where connection events are POSTed; the first one set prints webhook_secret (once)",
    )
    t_update.add_argument(
        "--no-webhook-url", action="store_true", help="stop sending events (drops the webhook secret)"
    )
    t_update.set_defaults(handler=cmd_tenants_update)
    t_rotate = tenants.add_parser(
        "rotate-webhook-secret", help="print a new webhook secret (once); the old one stops signing"
    )
    t_rotate.add_argument("--tenant", required=True, help=tenant_help)
    t_rotate.set_defaults(handler=cmd_tenants_rotate_webhook_secret)

    keys = sub.add_parser("api-keys", help="manage API keys").add_subparsers(metavar="ACTION")
    k_create = keys.add_parser("create", help="create an API key (printed once)")
    k_create.add_argument("--tenant", required=True, help=tenant_help)
    k_create.add_argument("--name", help="a label to tell keys apart, e.g. prod")
    k_create.set_defaults(handler=cmd_api_keys_create)
    k_list = keys.add_parser("list", help="list a tenant's keys (never the secrets)")
    k_list.add_argument("--tenant", required=True, help=tenant_help)
    k_list.set_defaults(handler=cmd_api_keys_list)
    k_revoke = keys.add_parser("revoke", help="revoke a key; it stops working at once")
    k_revoke.add_argument("key_id", help="the key's id (from api-keys list), not the key itself")
    k_revoke.set_defaults(handler=cmd_api_keys_revoke)

    json_help = (
        "a JSON object, inline, or @FILE to read it from a file, or - to read it from stdin "
        "(keeps secrets out of shell history and ps); see providers list"
    )
    no_verify_help = "store without the live check (by default one call to the store must succeed)"
    connection_help = "the connection's id (from connections list), not its token"
    conns = sub.add_parser("connections", help="manage connections").add_subparsers(metavar="ACTION")
    c_create = conns.add_parser("create", help="link a store (token printed once)")
    c_create.add_argument("--tenant", required=True, help=tenant_help)
    c_create.add_argument("--provider", required=True, help="a provider name (see providers list)")
    c_create.add_argument("--credentials", required=True, help="the provider's credentials: " + json_help, metavar="JSON")
    c_create.add_argument("--settings", help="the provider's settings: " + json_help, metavar="JSON")
    c_create.add_argument("--no-verify", dest="verify", action="store_false", help=no_verify_help)
    c_create.set_defaults(handler=cmd_connections_create)
    c_update = conns.add_parser(
        "update", help="replace a connection's credentials and/or settings (the token stays)"
    )
    c_update.add_argument("connection_id", help=connection_help)
    c_update.add_argument("--credentials", help="new credentials (else the stored ones): " + json_help, metavar="JSON")
    c_update.add_argument("--settings", help="new settings, replacing all of them: " + json_help, metavar="JSON")
    c_update.add_argument("--no-verify", dest="verify", action="store_false", help=no_verify_help)
    c_update.set_defaults(handler=cmd_connections_update)
    c_rotate = conns.add_parser(
        "rotate-token", help="print a new connection token (once); the old one stops working"
    )
    c_rotate.add_argument("connection_id", help=connection_help)
    c_rotate.set_defaults(handler=cmd_connections_rotate_token)
    c_list = conns.add_parser("list", help="list a tenant's connections (never the secrets)")
    c_list.add_argument("--tenant", required=True, help=tenant_help)
    c_list.add_argument("--end-user-id", help="only the connections of this end user (from the connect flow)")
    c_list.set_defaults(handler=cmd_connections_list)
    c_delete = conns.add_parser("delete", help="delete a connection; its token stops working")
    c_delete.add_argument("connection_id", help=connection_help)
    c_delete.set_defaults(handler=cmd_connections_delete)

    fm = sub.add_parser("field-mappings", help="custom fields").add_subparsers(metavar="ACTION")
    fm_create = fm.add_parser("create", help="map a custom field to a JMESPath expression")
    fm_create.add_argument("--tenant", required=True, help=tenant_help)
    fm_create.add_argument("--name", required=True, help="the field's name in field_mappings")
    fm_create.add_argument("--provider", required=True, help="the provider whose remote_data it reads")
    fm_create.add_argument(
        "--expression", required=True, help="JMESPath over the provider's raw customer (remote_data)"
    )
    fm_create.add_argument("--object", default="customer", help="the unified object (default customer)")
    fm_create.add_argument("--connection", help="a connection id: override for that connection only")
    fm_create.set_defaults(handler=cmd_field_mappings_create)
    fm_list = fm.add_parser("list", help="a tenant's custom fields")
    fm_list.add_argument("--tenant", required=True, help=tenant_help)
    fm_list.set_defaults(handler=cmd_field_mappings_list)
    fm_delete = fm.add_parser("delete", help="delete a custom field")
    fm_delete.add_argument("--tenant", required=True, help=tenant_help)
    fm_delete.add_argument("mapping_id", help="the mapping's id (from field-mappings list)")
    fm_delete.set_defaults(handler=cmd_field_mappings_delete)

    apps = sub.add_parser(
        "provider-apps", help="OAuth apps on the platforms: the operator's defaults and tenants' own"
    ).add_subparsers(metavar="ACTION")
    app_tenant_help = "a tenant's own app (wins over the default for its merchants); without it, the default"
    a_set = apps.add_parser(
        "set", help="set (create or replace) a provider app; the secret is stored encrypted and never printed",
        description="Set the OAuth app (client) shoprelay uses on PROVIDER's consent screen. Give the secret "
        "as --client-secret - (read from stdin) or --client-secret-file PATH to keep it out of shell history "
        "and ps; --client-secret VALUE works but is visible to both.",
    )
    a_set.add_argument("--provider", required=True, help="the platform (see provider-apps callback-urls)")
    a_set.add_argument("--client-id", required=True, help="the app's client id (API key, App ID)")
    secret_arg = a_set.add_mutually_exclusive_group(required=True)
    secret_arg.add_argument(
        "--client-secret", metavar="SECRET",
        help="the app's client secret, or - to read it from stdin (keeps it out of shell history and ps)",
    )
    secret_arg.add_argument("--client-secret-file", metavar="PATH", help="read the client secret from this file")
    a_set.add_argument("--tenant", help=app_tenant_help)
    a_set.add_argument(
        "--scopes", metavar="A,B", help="comma-separated scopes (default: the least a customer read needs)"
    )
    a_set.add_argument(
        "--settings", metavar="JSON",
        help='{"auth_url": ORIGIN, "base_url": ORIGIN} (tests, on-prem); inline, @FILE or -',
    )
    a_set.set_defaults(handler=cmd_provider_apps_set)
    a_list = apps.add_parser("list", help="provider apps, never their secrets (JSON)")
    a_list.add_argument("--tenant", help="only this tenant's own apps (default: every app, defaults first)")
    a_list.set_defaults(handler=cmd_provider_apps_list)
    a_delete = apps.add_parser("delete", help="delete a provider app")
    a_delete.add_argument("--provider", required=True, help="the platform")
    a_delete.add_argument("--tenant", help=app_tenant_help)
    a_delete.set_defaults(handler=cmd_provider_apps_delete)
    apps.add_parser(
        "callback-urls", help="the URLs to register in each platform's app settings (uses SHOPRELAY_PUBLIC_URL)"
    ).set_defaults(handler=cmd_provider_apps_callback_urls, uses_database=False)

    keys_cmd = sub.add_parser("keys", help="credential encryption keys").add_subparsers(metavar="ACTION")
    k_rotate = keys_cmd.add_parser(
        "rotate", help="re-encrypt every credential under the first key of the keyring"
    )
    k_rotate.add_argument("--batch", type=int, default=500, help="connections re-encrypted per transaction")
    k_rotate.set_defaults(handler=cmd_keys_rotate)
    k_gen = keys_cmd.add_parser("generate", help="print a new keyring entry id:base64key")
    k_gen.add_argument(
        "--key-id", type=_key_id, default="k" + str(int(time.time())),
        help="the entry's id: 1-64 of A-Z a-z 0-9 _ . - (default k<unix time>)",
    )
    k_gen.set_defaults(handler=cmd_keys_generate, uses_database=False)

    providers = sub.add_parser("providers", help="available providers").add_subparsers(metavar="ACTION")
    providers.add_parser(
        "list", help="each provider's credentials and settings, one line of help each (JSON)"
    ).set_defaults(handler=cmd_providers_list, uses_database=False)

    quick = sub.add_parser("quickstart", help="create a demo tenant, key and sandbox connection")
    quick.add_argument("--name", default="demo", help="the demo tenant's name, reused if it exists")
    quick.add_argument("--host", help="host of the printed address (default: the one serve uses, $SHOPRELAY_HOST)")
    quick.add_argument("--port", type=int, help="port of the printed address (default: $SHOPRELAY_PORT or 8080)")
    quick.add_argument("--json", action="store_true", help="print one JSON object")
    quick.set_defaults(handler=cmd_quickstart)
    return parser


if __name__ == "__main__":
    main()
