"""Loading the credential keyring from the environment or the key file.

With SQLite and no ``SHOPRELAY_ENCRYPTION_KEYS``, a key file is created
beside the database (mode 0600) so the embedded default just works; a
warning says to move the key into the environment for production. With
PostgreSQL the variable is required: replicas must share one keyring.

The variable wins over the key file. That is a trap when a shell has the
variable and ``serve`` does not (or the other way round): the two then use
different keyrings on one database. So every command that uses a keyring
can say where it came from (``keyring_source``), and ``keys rotate``
checks the key file against the variable before re-encrypting anything.
"""

from __future__ import annotations

import logging
import os
import stat
import time

import msgspec

from keys.vault import Keyring, KeyringError, new_key_text, parse_keyring

from .config import Config, ConfigError

log = logging.getLogger("shoprelay.keyring")

ENV_NAME = "SHOPRELAY_ENCRYPTION_KEYS"


class KeyringSource(msgspec.Struct, frozen=True):
    """Where this configuration's keyring comes from."""

    kind: str  # "environment" or "key file"
    key_file: str | None = None  # the key file's path (kind "key file")

    def describe(self) -> str:
        return ENV_NAME if self.kind == "environment" else f"key file {self.key_file}"


def key_file_path(config: Config) -> str:
    return os.path.abspath(config.sqlite_path) + ".key"


def keyring_source(config: Config) -> KeyringSource:
    """The same choice ``load_keyring`` makes, without reading any key."""
    if config.encryption_keys:
        return KeyringSource("environment")
    if not config.is_sqlite:
        raise ConfigError(f"{ENV_NAME} is required with PostgreSQL")
    return KeyringSource("key file", key_file_path(config))


def load_keyring(config: Config, *, create: bool = True) -> Keyring:
    """The keyring, or ConfigError with a message fit for a terminal.
    ``create=False`` never makes a key file (a command that only reads
    existing ciphertexts has no use for a brand-new key)."""
    source = keyring_source(config)
    if source.kind == "environment":
        try:
            return parse_keyring(config.encryption_keys or "")
        except KeyringError as exc:
            raise ConfigError(f"{ENV_NAME} is malformed: {exc}") from None
    path = source.key_file or ""
    if create:
        text = _read_or_create(path)
    else:
        text = read_key_file(path)
        if text is None:
            raise ConfigError(f"{ENV_NAME} is not set and there is no key file at {path}")
    return parse_key_file(path, text)


def read_key_file(path: str) -> str | None:
    """The key file's text, or None if there is none."""
    try:
        mode = stat.S_IMODE(os.stat(path).st_mode)
    except FileNotFoundError:
        return None
    if mode & 0o077:
        log.warning("key file %s is readable by others (mode %o); chmod 600 it", path, mode)
    with open(path, encoding="ascii") as handle:
        return handle.read().strip()


def parse_key_file(path: str, text: str) -> Keyring:
    try:
        return parse_keyring(text)
    except KeyringError as exc:
        raise ConfigError(f"key file {path} is malformed: {exc}") from None


def _read_or_create(path: str) -> str:
    os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return read_key_file(path) or ""
    # A key id of its own (not "k1"): a key file lost and made again then
    # names a key the stored rows do not use, which `serve` detects, instead
    # of a same-named key that silently fails to decrypt them.
    text = new_key_text(f"k{int(time.time())}")
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(text + "\n")
    log.warning(
        "%s is not set: created key file %s (mode 0600). "
        "Back it up; without it stored credentials cannot be decrypted. For production "
        "set %s instead.",
        ENV_NAME, path, ENV_NAME,
    )
    return text
