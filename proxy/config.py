"""Configuration from the environment (see README, "Configuration").

Every variable is optional for the embedded default. Invalid values stop
startup with a message naming the variable; values are never echoed back
when they might be secrets.
"""

from __future__ import annotations

import os
import urllib.parse
from typing import Mapping

import msgspec

from . import forwarded


class ConfigError(ValueError):
    pass


MIN_ADMIN_TOKEN_LENGTH = 32
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def default_data_dir(env: Mapping[str, str]) -> str:
    """Where the embedded database (and its key file) live unless
    SHOPRELAY_DATABASE_URL says otherwise: one place per user, never the
    folder a command happens to run from. ``SHOPRELAY_DATA_DIR``, else
    ``$XDG_DATA_HOME/shoprelay``, else ``~/.local/share/shoprelay``."""
    explicit = env.get("SHOPRELAY_DATA_DIR")
    if explicit:
        path = os.path.expanduser(explicit)
        if not os.path.isabs(path):
            raise ConfigError("SHOPRELAY_DATA_DIR must be an absolute path")
        return os.path.normpath(path)
    xdg = env.get("XDG_DATA_HOME")
    if xdg and os.path.isabs(xdg):  # the XDG spec says to ignore a relative one
        return os.path.join(os.path.normpath(xdg), "shoprelay")
    home = env.get("HOME") or os.path.expanduser("~")
    if not os.path.isabs(home):  # no HOME and no passwd entry (some containers)
        raise ConfigError("no home directory to keep data in: set SHOPRELAY_DATA_DIR")
    return os.path.join(home, ".local", "share", "shoprelay")


def sqlite_url(path: str) -> str:
    return "sqlite:///" + path


DATABASE_FILE = "shoprelay.db"


class Config(msgspec.Struct, frozen=True, kw_only=True):
    data_dir: str = msgspec.field(default_factory=lambda: default_data_dir(os.environ))
    database_url: str = msgspec.field(
        default_factory=lambda: sqlite_url(os.path.join(default_data_dir(os.environ), DATABASE_FILE))
    )
    encryption_keys: str | None = None
    allow_private_networks: bool = False
    admin_token: str | None = None
    request_timeout: float = 10.0
    connect_timeout: float = 5.0
    max_response_bytes: int = 5 * 1024 * 1024
    cache_ttl: float = 300.0
    cache_size: int = 10_000
    invalidation_poll_interval: float = 1.0
    db_pool_size: int = 10
    db_statement_timeout: float = 5.0
    host: str = "127.0.0.1"
    port: int = 8080
    workers: int = 1
    client_read_timeout: float = 10.0
    keep_alive_timeout: float = 5.0
    max_connections: int = 1000
    connection_concurrency: int = 8
    # pool / tenant bound = 16 tenants whose stores all hang before the pool
    # is used up (32 of 100 let four do it).
    tenant_concurrency: int = 16
    upstream_pool_size: int = 256
    # Webhooks: the spec recommends a 15-30 s timeout; attempts in flight per process.
    webhook_timeout: float = 15.0
    webhook_concurrency: int = 8
    retry_attempts: int = 3
    tenant_rps: float = 200.0
    connection_rps: float = 50.0
    auth_failures_per_minute: float = 30.0
    # Peers whose X-Forwarded-For is believed (normalised CIDRs); empty: none.
    trusted_proxies: tuple[str, ...] = ()
    metrics_require_admin: bool = False
    log_level: str = "INFO"
    log_format: str = "auto"
    # The origin (and optional path prefix) merchants' browsers reach this
    # service at: connect_url and every /connect link are built on it. None:
    # the address `serve` listens on (see public_base).
    public_url: str | None = None
    connect_session_ttl: int = 1800  # seconds a connect_url stays valid

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> "Config":
        env = _with_secret_files(os.environ if env is None else env)
        get = lambda name: env.get(f"SHOPRELAY_{name}")  # noqa: E731
        values: dict[str, object] = {}
        if get("DATABASE_URL"):
            values["database_url"] = get("DATABASE_URL")
            # Not needed then: a data directory that cannot be found is no error.
            try:
                values["data_dir"] = default_data_dir(env)
            except ConfigError:
                values["data_dir"] = ""
        else:
            values["data_dir"] = data_dir = default_data_dir(env)
            values["database_url"] = sqlite_url(os.path.join(data_dir, DATABASE_FILE))
        if get("ENCRYPTION_KEYS"):
            values["encryption_keys"] = get("ENCRYPTION_KEYS")
        if get("ADMIN_TOKEN"):
            if len(get("ADMIN_TOKEN")) < MIN_ADMIN_TOKEN_LENGTH:
                # A short bearer can be guessed; never echo it.
                raise ConfigError(
                    f"SHOPRELAY_ADMIN_TOKEN must be at least {MIN_ADMIN_TOKEN_LENGTH} characters "
                    "(make one with: python3 -c \"import secrets; print(secrets.token_urlsafe(32))\")"
                )
            values["admin_token"] = get("ADMIN_TOKEN")
        if get("METRICS_REQUIRE_ADMIN") is not None:
            values["metrics_require_admin"] = _bool("SHOPRELAY_METRICS_REQUIRE_ADMIN", get("METRICS_REQUIRE_ADMIN"))
        if get("ALLOW_PRIVATE_NETWORKS") is not None:
            values["allow_private_networks"] = _bool("SHOPRELAY_ALLOW_PRIVATE_NETWORKS", get("ALLOW_PRIVATE_NETWORKS"))
        for name, key, kind, low, high in (
            ("REQUEST_TIMEOUT", "request_timeout", float, 0.1, 300),
            ("CONNECT_TIMEOUT", "connect_timeout", float, 0.1, 60),
            ("MAX_RESPONSE_BYTES", "max_response_bytes", int, 1024, 1 << 30),
            ("CACHE_TTL", "cache_ttl", float, 0, 86_400),
            ("CACHE_SIZE", "cache_size", int, 1, 10_000_000),
            ("CONNECTION_CONCURRENCY", "connection_concurrency", int, 1, 1000),
            ("TENANT_CONCURRENCY", "tenant_concurrency", int, 1, 10_000),
            ("UPSTREAM_POOL_SIZE", "upstream_pool_size", int, 2, 100_000),
            ("RETRY_ATTEMPTS", "retry_attempts", int, 1, 10),
            ("TENANT_RPS", "tenant_rps", float, 0, 1_000_000),
            ("CONNECTION_RPS", "connection_rps", float, 0, 1_000_000),
            ("AUTH_FAILURES_PER_MINUTE", "auth_failures_per_minute", float, 0, 1_000_000),
            ("INVALIDATION_POLL_INTERVAL", "invalidation_poll_interval", float, 0.05, 60),
            ("DB_POOL_SIZE", "db_pool_size", int, 1, 1000),
            ("DB_STATEMENT_TIMEOUT", "db_statement_timeout", float, 0.1, 600),
            ("PORT", "port", int, 1, 65535),
            ("WORKERS", "workers", int, 1, 256),
            ("CLIENT_READ_TIMEOUT", "client_read_timeout", float, 0.5, 3600),
            ("KEEP_ALIVE_TIMEOUT", "keep_alive_timeout", float, 0.5, 3600),
            ("MAX_CONNECTIONS", "max_connections", int, 16, 1_000_000),
            ("CONNECT_SESSION_TTL", "connect_session_ttl", int, 60, 7 * 86_400),
            ("WEBHOOK_TIMEOUT", "webhook_timeout", float, 1, 60),
            ("WEBHOOK_CONCURRENCY", "webhook_concurrency", int, 1, 1000),
        ):
            raw = get(name)
            if raw is not None and raw != "":
                values[key] = _number(f"SHOPRELAY_{name}", raw, kind, low, high)
        if get("TRUSTED_PROXIES"):
            try:
                values["trusted_proxies"] = forwarded.parse_networks(get("TRUSTED_PROXIES"))
            except ValueError as exc:
                raise ConfigError(f"SHOPRELAY_TRUSTED_PROXIES: {exc}") from None
        if get("HOST"):
            values["host"] = get("HOST").strip()
        if get("PUBLIC_URL"):
            values["public_url"] = public_url(get("PUBLIC_URL"))
        if get("LOG_LEVEL"):
            level = get("LOG_LEVEL").upper()
            if level not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
                raise ConfigError("SHOPRELAY_LOG_LEVEL must be DEBUG, INFO, WARNING or ERROR")
            values["log_level"] = level
        if get("LOG_FORMAT"):
            fmt = get("LOG_FORMAT").lower()
            if fmt not in {"auto", "json", "text"}:
                raise ConfigError("SHOPRELAY_LOG_FORMAT must be auto, json or text")
            values["log_format"] = fmt
        config = cls(**values)  # type: ignore[arg-type]
        if config.tenant_concurrency >= config.upstream_pool_size:
            raise ConfigError(
                "SHOPRELAY_TENANT_CONCURRENCY must be below SHOPRELAY_UPSTREAM_POOL_SIZE, "
                "or one tenant's hanging stores could hold every upstream socket"
            )
        if not config.database_url.startswith(("sqlite:///", "postgresql://", "postgres://")):
            raise ConfigError(
                "SHOPRELAY_DATABASE_URL must start with sqlite:/// or postgresql://"
            )
        if not config.is_sqlite:
            try:
                parts = urllib.parse.urlsplit(config.database_url)
                parts.port  # noqa: B018 - raises on a malformed port
            except ValueError:
                # Never echo the URL: it may hold a password.
                raise ConfigError("SHOPRELAY_DATABASE_URL is not a valid postgresql:// URL") from None
        return config

    @property
    def public_base(self) -> str:
        """SHOPRELAY_PUBLIC_URL without a trailing slash, else the address
        `serve` listens on (`serve` exports it for its workers)."""
        if self.public_url:
            return self.public_url
        return listen_url(self.host, self.port)

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite:///")

    @property
    def sqlite_path(self) -> str:
        return self.database_url[len("sqlite:///"):]

    @property
    def database_shown(self) -> str:
        """The database for messages: a SQLite file as an absolute path, a
        PostgreSQL URL without its password."""
        if self.is_sqlite:
            return sqlite_url(os.path.abspath(self.sqlite_path))
        return redact_url(self.database_url)


def listen_url(host: str, port: int) -> str:
    """http://host:port for a listening address; a wildcard address is not
    one a browser can open, so it becomes loopback."""
    host = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(host, host)
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"http://{host}:{port}"


def public_url(raw: str) -> str:
    """SHOPRELAY_PUBLIC_URL checked: http(s)://host[:port][/prefix], no query
    or fragment; returned without a trailing slash."""
    value = raw.strip()
    try:
        parts = urllib.parse.urlsplit(value)
        parts.port  # noqa: B018 - raises on a malformed port
    except ValueError:
        parts = None
    if (
        parts is None or parts.scheme not in ("http", "https") or not parts.hostname
        or parts.query or parts.fragment or "@" in parts.netloc
    ):
        raise ConfigError(
            "SHOPRELAY_PUBLIC_URL must be an http(s) URL like https://relay.example.com "
            "(optionally with a path prefix), without a query, fragment or user"
        )
    return value.rstrip("/")


def redact_url(url: str) -> str:
    """``url`` with any password (in the user part or a ``password=``
    query parameter, both of which libpq accepts) replaced by ``***``."""
    parts = urllib.parse.urlsplit(url)
    netloc = parts.netloc
    userinfo, at, hostport = netloc.rpartition("@")
    if at and ":" in userinfo:
        netloc = userinfo.split(":", 1)[0] + ":***@" + hostport
    query = parts.query
    if query:
        pairs = urllib.parse.parse_qsl(query, keep_blank_values=True)
        query = urllib.parse.urlencode(
            [(k, "***" if k.lower() == "password" else v) for k, v in pairs], safe="*"
        )
    return urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


# Settings that may hold a secret can come from a file instead (Docker and
# Kubernetes secrets): SHOPRELAY_X_FILE=/run/secrets/x.
SECRET_SETTINGS = ("SHOPRELAY_DATABASE_URL", "SHOPRELAY_ENCRYPTION_KEYS", "SHOPRELAY_ADMIN_TOKEN")
MAX_SECRET_FILE_BYTES = 64 * 1024


def _with_secret_files(env: Mapping[str, str]) -> Mapping[str, str]:
    """``env`` with each ``<NAME>_FILE`` replaced by ``<NAME>`` holding the
    file's content (one trailing newline dropped). Giving both forms is an
    error, as is a file that cannot be read; messages name the variable and
    the path, never the content."""
    if not any(f"{name}_FILE" in env for name in SECRET_SETTINGS):
        return env
    merged = dict(env)
    for name in SECRET_SETTINGS:
        path = merged.pop(f"{name}_FILE", None)
        if path is None:
            continue
        if name in env:
            raise ConfigError(f"set {name} or {name}_FILE, not both")
        if not path:
            raise ConfigError(f"{name}_FILE is empty; give the path of a file")
        try:
            with open(path, "rb") as handle:
                content = handle.read(MAX_SECRET_FILE_BYTES + 1)
        except OSError as exc:
            raise ConfigError(f"{name}_FILE: cannot read {path} ({exc.strerror or type(exc).__name__})") from None
        if len(content) > MAX_SECRET_FILE_BYTES:
            raise ConfigError(f"{name}_FILE: {path} is larger than {MAX_SECRET_FILE_BYTES} bytes")
        try:
            text = content.decode("utf-8")
        except UnicodeDecodeError:
            raise ConfigError(f"{name}_FILE: {path} is not UTF-8 text") from None
        text = text.removesuffix("\n").removesuffix("\r")
        if not text.strip():
            # An empty secret would silently mean "unset" (SQLite, no admin API).
            raise ConfigError(f"{name}_FILE: {path} is empty")
        merged[name] = text
    return merged


def _bool(name: str, raw: str | None) -> bool:
    value = (raw or "").strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ConfigError(f"{name} must be true or false")


def _number(name: str, raw: str, kind: type, low: float, high: float) -> float | int:
    try:
        value = kind(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number") from None
    if not low <= value <= high:
        raise ConfigError(f"{name} must be between {low} and {high}")
    return value
