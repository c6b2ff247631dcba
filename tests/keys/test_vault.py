import base64

import pytest

from keys.vault import (
    DecryptionError,
    KeyringError,
    credentials_aad,
    new_key_text,
    parse_keyring,
)

KEY_A = base64.b64encode(bytes(range(32))).decode()
KEY_B = base64.b64encode(bytes(range(32, 64))).decode()
AAD = credentials_aad("tenant-1", "conn-1")


def test_round_trip_uses_active_key_and_fresh_nonce():
    ring = parse_keyring(f"a:{KEY_A},b:{KEY_B}")
    key_id, blob1 = ring.encrypt(b'{"access_token":"shpat_x"}', AAD)
    _, blob2 = ring.encrypt(b'{"access_token":"shpat_x"}', AAD)
    assert key_id == "a"
    assert blob1[:12] != blob2[:12], "nonce must be fresh per encryption"
    assert b"shpat_x" not in blob1
    assert ring.decrypt(key_id, blob1, AAD) == b'{"access_token":"shpat_x"}'


def test_old_key_still_decrypts_after_rotation():
    old = parse_keyring(f"a:{KEY_A}")
    key_id, blob = old.encrypt(b"secret", AAD)
    rotated = parse_keyring(f"b:{KEY_B},a:{KEY_A}")
    assert rotated.active_id == "b"
    assert rotated.decrypt(key_id, blob, AAD) == b"secret"


def test_tampered_ciphertext_fails():
    ring = parse_keyring(f"a:{KEY_A}")
    key_id, blob = ring.encrypt(b"secret", AAD)
    tampered = blob[:-1] + bytes([blob[-1] ^ 1])
    with pytest.raises(DecryptionError):
        ring.decrypt(key_id, tampered, AAD)
    with pytest.raises(DecryptionError):
        ring.decrypt(key_id, blob[:10], AAD)


@pytest.mark.parametrize(
    "aad",
    [credentials_aad("tenant-2", "conn-1"), credentials_aad("tenant-1", "conn-2"),
     credentials_aad("tenant-1", "conn-1", "oauth-token")],
)
def test_wrong_row_fails(aad):
    ring = parse_keyring(f"a:{KEY_A}")
    key_id, blob = ring.encrypt(b"secret", AAD)
    with pytest.raises(DecryptionError):
        ring.decrypt(key_id, blob, aad)


def test_wrong_key_fails():
    key_id, blob = parse_keyring(f"a:{KEY_A}").encrypt(b"secret", AAD)
    with pytest.raises(DecryptionError):
        parse_keyring(f"a:{KEY_B}").decrypt(key_id, blob, AAD)
    with pytest.raises(DecryptionError, match="not in the keyring"):
        parse_keyring(f"b:{KEY_B}").decrypt(key_id, blob, AAD)


@pytest.mark.parametrize(
    "text, message",
    [
        ("", "empty"),
        ("a", "key_id:base64key"),
        ("a:not*base64", "not valid base64"),
        (f"a:{base64.b64encode(b'short').decode()}", "5 bytes"),
        (f"a:{KEY_A},a:{KEY_B}", "appears twice"),
        (f"a:{KEY_A},", "entry 2 is empty"),
        (f"bad id:{KEY_A}", "key id"),
    ],
)
def test_malformed_keyrings_are_refused(text, message):
    with pytest.raises(KeyringError, match=message) as info:
        parse_keyring(text)
    assert KEY_A not in str(info.value) and KEY_B not in str(info.value)


def test_new_key_text_parses():
    ring = parse_keyring(new_key_text("k9"))
    assert ring.active_id == "k9"
    assert "k9" in repr(ring) and KEY_A not in repr(ring)
