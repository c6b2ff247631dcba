"""The ``shoprelay`` command (contract: README "CLI", DESIGN.md).

Create commands print exactly one JSON object on stdout. Every command that
uses the database first says which on stderr (``shoprelay: database ...``;
``serve`` logs it). Failures print one more line on stderr and exit 1 (2 for
usage errors), writing nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import shlex
import sys
import time
from typing import Any, Awaitable, Callable, NoReturn

import msgspec

from providers import registry

from keys.vault import Keyring, KeyringError, check_key_id, new_key_text

from . import accounts, field_mappings, logs, rotation
from .bodies import MAX_JSON_DEPTH, json_too_deep
from .clock import now_text
from .config import DATABASE_FILE, Config, ConfigError
from .keyring import (
    ENV_NAME, KeyringSource, key_file_path, keyring_source, load_keyring, parse_key_file, read_key_file,
)
from .store import Conflict, InvalidValue, Store, StoreUnavailable, open_store

EXIT_FAILURE = 1

log = logging.getLogger("shoprelay.cli")


class CliError(Exception):
    pass


def main(argv: list[str] | None = None) -> None:
    parser = _parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help(sys.stderr)
        raise SystemExit(2)
    try:
        config = Config.from_env()
        logs.configure(config.log_level, config.log_format)
        if getattr(args, "uses_database", True):
            if args.handler is cmd_serve:  # serve only logs (JSON lines in production)
                _note_database_left_behind(config, log.warning)
            else:
                _say(f"database {_database_origin(config)}")
                _note_database_left_behind(config, _say)
        args.handler(config, args)
    except (
        CliError, ConfigError, accounts.InvalidInput, accounts.UnknownTenant, StoreUnavailable, InvalidValue
    ) as exc:
        _fail(str(exc))


def _fail(message: str) -> NoReturn:
    print(f"shoprelay: error: {message.splitlines()[0] if message else 'failed'}", file=sys.stderr)
    raise SystemExit(EXIT_FAILURE)


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
    # Bounded before parsing: json.loads recurses, and deep nesting would be
    # a RecursionError traceback instead of one line.
    if json_too_deep(text.encode("utf-8", "surrogateescape")):
        raise CliError(f"{what} nests deeper than {MAX_JSON_DEPTH} levels")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise CliError(f"{what} is not valid JSON ({exc.msg} at position {exc.pos})") from None


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
    return f"{n} connection{'' if n == 1 else 's'}"


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
    uvicorn.run(
        "proxy.app:create_app",
        factory=True,
        **serving.server_options(
            config,
            host=args.host if args.host is not None else config.host,
            port=args.port if args.port is not None else config.port,
            workers=args.workers if args.workers is not None else config.workers,
        ),
    )


def cmd_migrate(config: Config, args: argparse.Namespace) -> None:
    version = _with_store(lambda store: store.migrate(), config)
    _emit({"schema_version": version})


def cmd_tenants_create(config: Config, args: argparse.Namespace) -> None:
    tenant = _with_store(lambda s: accounts.create_tenant(s, args.name), config)
    _emit({"id": tenant.id, "name": tenant.name})


def cmd_tenants_list(config: Config, args: argparse.Namespace) -> None:
    _emit({"data": _with_store(lambda s: s.list_tenants(), config)})


def cmd_api_keys_create(config: Config, args: argparse.Namespace) -> None:
    key, secret = _with_store(lambda s: accounts.create_api_key(s, args.tenant, args.name), config)
    _emit({"id": key.id, "api_key": secret})


def cmd_api_keys_list(config: Config, args: argparse.Namespace) -> None:
    async def run(store: Store) -> Any:
        await accounts.require_tenant(store, args.tenant)
        return await store.list_api_keys(args.tenant)

    _emit({"data": _with_store(run, config)})


def cmd_api_keys_revoke(config: Config, args: argparse.Namespace) -> None:
    key = _with_store(lambda s: s.revoke_api_key(args.key_id, now_text()), config)
    if key is None:
        raise CliError(f"no API key has id {args.key_id!r}")
    _emit({"id": key.id, "revoked_at": key.revoked_at})


def cmd_connections_create(config: Config, args: argparse.Namespace) -> None:
    credentials = _json_arg(args.credentials, "--credentials")
    settings = _json_arg(args.settings, "--settings") if args.settings else {}
    # Validate before touching the keyring or the store: bad input writes nothing.
    accounts.validate_connection_input(args.provider, credentials, settings)

    async def run(store: Store) -> Any:
        await accounts.require_tenant(store, args.tenant)
        keyring = load_keyring(config)  # only now: may create the key file
        return await accounts.create_connection(
            store, keyring, args.tenant, args.provider, credentials, settings
        )

    connection, token = _with_store(run, config)
    _emit({"id": connection.id, "connection_token": token, "provider": connection.provider})


def cmd_connections_list(config: Config, args: argparse.Namespace) -> None:
    async def run(store: Store) -> Any:
        await accounts.require_tenant(store, args.tenant)
        return await store.list_connections(args.tenant)

    _emit({"data": _with_store(run, config)})


def cmd_connections_delete(config: Config, args: argparse.Namespace) -> None:
    if not _with_store(lambda s: s.delete_connection(args.connection_id), config):
        raise CliError(f"no connection has id {args.connection_id!r}")
    _emit({"id": args.connection_id, "deleted": True})


def cmd_field_mappings_create(config: Config, args: argparse.Namespace) -> None:
    async def run(store: Store) -> Any:
        await accounts.require_tenant(store, args.tenant)
        connection_provider = None
        if args.connection:
            connection = await store.get_connection(args.connection)
            if connection is None or connection.tenant_id != args.tenant:
                raise CliError(f"no connection has id {args.connection!r} for that tenant")
            connection_provider = connection.provider
        mapping = field_mappings.new_mapping(
            args.tenant, name=args.name, object=args.object, provider=args.provider,
            expression=args.expression, connection_id=args.connection,
            connection_provider=connection_provider,
        )
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
        raise CliError(f"no field mapping has id {args.mapping_id!r} for that tenant")
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
    if report.undecryptable:
        lacking = sorted(key_id for key_id in in_use if key_id not in keyring.key_ids)
        raise CliError(
            f"{len(report.undecryptable)} connection(s) use a key that is not in the keyring "
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
    _emit({"data": registry.names()})


def cmd_quickstart(config: Config, args: argparse.Namespace) -> None:
    keyring = load_keyring(config)

    async def run(store: Store) -> Any:
        tenant = await accounts.create_tenant(store, args.name)
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
    print("Created a demo tenant, an API key and a sandbox connection.")
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


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="shoprelay", description="Unified e-commerce API")
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

    tenants = sub.add_parser("tenants", help="manage tenants").add_subparsers(metavar="ACTION")
    t_create = tenants.add_parser("create", help="create a tenant")
    t_create.add_argument("--name", required=True)
    t_create.set_defaults(handler=cmd_tenants_create)
    tenants.add_parser("list", help="list tenants").set_defaults(handler=cmd_tenants_list)

    keys = sub.add_parser("api-keys", help="manage API keys").add_subparsers(metavar="ACTION")
    k_create = keys.add_parser("create", help="create an API key (printed once)")
    k_create.add_argument("--tenant", required=True)
    k_create.add_argument("--name")
    k_create.set_defaults(handler=cmd_api_keys_create)
    k_list = keys.add_parser("list", help="list a tenant's keys (never the secrets)")
    k_list.add_argument("--tenant", required=True)
    k_list.set_defaults(handler=cmd_api_keys_list)
    k_revoke = keys.add_parser("revoke", help="revoke a key")
    k_revoke.add_argument("key_id")
    k_revoke.set_defaults(handler=cmd_api_keys_revoke)

    conns = sub.add_parser("connections", help="manage connections").add_subparsers(metavar="ACTION")
    c_create = conns.add_parser("create", help="link a store (token printed once)")
    c_create.add_argument("--tenant", required=True)
    c_create.add_argument("--provider", required=True)
    c_create.add_argument("--credentials", required=True, help="JSON object")
    c_create.add_argument("--settings", help="JSON object")
    c_create.set_defaults(handler=cmd_connections_create)
    c_list = conns.add_parser("list", help="list a tenant's connections (never the secrets)")
    c_list.add_argument("--tenant", required=True)
    c_list.set_defaults(handler=cmd_connections_list)
    c_delete = conns.add_parser("delete", help="delete a connection; its token stops working")
    c_delete.add_argument("connection_id")
    c_delete.set_defaults(handler=cmd_connections_delete)

    fm = sub.add_parser("field-mappings", help="custom fields").add_subparsers(metavar="ACTION")
    fm_create = fm.add_parser("create", help="map a custom field to a JMESPath expression")
    fm_create.add_argument("--tenant", required=True)
    fm_create.add_argument("--name", required=True)
    fm_create.add_argument("--provider", required=True)
    fm_create.add_argument("--expression", required=True)
    fm_create.add_argument("--object", default="customer")
    fm_create.add_argument("--connection", help="override for one connection only")
    fm_create.set_defaults(handler=cmd_field_mappings_create)
    fm_list = fm.add_parser("list", help="a tenant's custom fields")
    fm_list.add_argument("--tenant", required=True)
    fm_list.set_defaults(handler=cmd_field_mappings_list)
    fm_delete = fm.add_parser("delete", help="delete a custom field")
    fm_delete.add_argument("--tenant", required=True)
    fm_delete.add_argument("mapping_id")
    fm_delete.set_defaults(handler=cmd_field_mappings_delete)

    keys_cmd = sub.add_parser("keys", help="credential encryption keys").add_subparsers(metavar="ACTION")
    k_rotate = keys_cmd.add_parser(
        "rotate", help="re-encrypt every credential under the first key of the keyring"
    )
    k_rotate.add_argument("--batch", type=int, default=500)
    k_rotate.set_defaults(handler=cmd_keys_rotate)
    k_gen = keys_cmd.add_parser("generate", help="print a new keyring entry id:base64key")
    k_gen.add_argument(
        "--key-id", type=_key_id, default="k" + str(int(time.time())),
        help="1-64 of A-Z a-z 0-9 _ . - (default k<unix time>)",
    )
    k_gen.set_defaults(handler=cmd_keys_generate, uses_database=False)

    providers = sub.add_parser("providers", help="available providers").add_subparsers(metavar="ACTION")
    providers.add_parser("list").set_defaults(handler=cmd_providers_list, uses_database=False)

    quick = sub.add_parser("quickstart", help="create a demo tenant, key and sandbox connection")
    quick.add_argument("--name", default="demo")
    quick.add_argument("--host", help="host of the printed address (default: the one serve uses, $SHOPRELAY_HOST)")
    quick.add_argument("--port", type=int, help="port of the printed address (default: $SHOPRELAY_PORT or 8080)")
    quick.add_argument("--json", action="store_true", help="print one JSON object")
    quick.set_defaults(handler=cmd_quickstart)
    return parser


if __name__ == "__main__":
    main()
