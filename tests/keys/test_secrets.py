import hashlib

from keys import secrets


def test_minted_values_are_prefixed_random_and_256_bit():
    keys = {secrets.mint_api_key() for _ in range(100)}
    tokens = {secrets.mint_connection_token() for _ in range(100)}
    assert len(keys) == 100 and len(tokens) == 100
    assert all(k.startswith("sk_") and len(k) == 3 + 43 for k in keys)
    assert all(t.startswith("ct_") and len(t) == 3 + 43 for t in tokens)
    sessions = {secrets.mint_connect_session_token() for _ in range(100)}
    codes = {secrets.mint_connect_code() for _ in range(100)}
    assert len(sessions) == 100 and len(codes) == 100
    assert all(s.startswith("cst_") and len(s) == 4 + 43 and secrets.looks_like(s, "cst_") for s in sessions)
    assert all(c.startswith("cc_") and len(c) == 3 + 43 and secrets.looks_like(c, "cc_") for c in codes)


def test_digest_is_sha256_hex():
    assert secrets.digest("sk_abc") == hashlib.sha256(b"sk_abc").hexdigest()


def test_display_prefix_shows_little():
    key = secrets.mint_api_key()
    prefix = secrets.display_prefix(key)
    assert prefix == key[:11] and len(prefix) < len(key) // 3


def test_shape_check():
    key = secrets.mint_api_key()
    assert secrets.looks_like(key, "sk_")
    assert not secrets.looks_like(key, "ct_")
    assert not secrets.looks_like("sk_" + "a" * 200, "sk_")
    assert not secrets.looks_like("sk_abc'; DROP TABLE api_keys;--", "sk_")
    assert not secrets.looks_like("sk_é", "sk_")
