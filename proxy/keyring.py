"""Loading the credential keyring from the environment or the key file.

With SQLite and no ``SHOPRELAY_ENCRYPTION_KEYS``, a key file is created
beside the database (mode 0600) so the embedded default just works; a
warning says to move the key into the environment for production. With
PostgreSQL the variable is required: replicas must share one keyring.
"""

from __future__ import annotations

import logging
import os
import stat

from keys.vault import Keyring, KeyringError, new_key_text, parse_keyring

from .config import Config, ConfigError

log = logging.getLogger("shoprelay.keyring")


def key_file_path(config: Config) -> str:
    return os.path.abspath(config.sqlite_path) + ".key"


def load_keyring(config: Config) -> Keyring:
    """The keyring, or ConfigError with a message fit for a terminal."""
    if config.encryption_keys:
        try:
            return parse_keyring(config.encryption_keys)
        except KeyringError as exc:
            raise ConfigError(f"SHOPRELAY_ENCRYPTION_KEYS is malformed: {exc}") from None
    if not config.is_sqlite:
        raise ConfigError("SHOPRELAY_ENCRYPTION_KEYS is required with PostgreSQL")
    path = key_file_path(config)
    text = _read_or_create(path)
    try:
        return parse_keyring(text)
    except KeyringError as exc:
        raise ConfigError(f"key file {path} is malformed: {exc}") from None


def _read_or_create(path: str) -> str:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        mode = stat.S_IMODE(os.stat(path).st_mode)
        if mode & 0o077:
            log.warning("key file %s is readable by others (mode %o); chmod 600 it", path, mode)
        with open(path, encoding="ascii") as handle:
            return handle.read().strip()
    text = new_key_text("k1")
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(text + "\n")
    log.warning(
        "SHOPRELAY_ENCRYPTION_KEYS is not set: created key file %s (mode 0600). "
        "Back it up; without it stored credentials cannot be decrypted. For production "
        "set SHOPRELAY_ENCRYPTION_KEYS instead.",
        path,
    )
    return text
