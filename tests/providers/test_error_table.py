"""ErrorTable (providers.error_table): a platform's error answers read in one place.

Answers are built in memory (UpstreamResponse), so each row, the wait
signal and the message's detail are checked without a server. Redaction is
checked through small Provider subclasses, one per form a secret takes on
the wire: the raw credential, HTTP Basic's base64 (whole or cut short) and
a minted OAuth token.
"""

from __future__ import annotations

import base64
import email.utils
import time
from typing import Any

import msgspec
import pytest
from multidict import CIMultiDict, CIMultiDictProxy

from providers.auth import Auth, BasicAuth, HeaderToken, OAuthAccess
from providers.base import CommonSettings, Credentials, Provider
from providers.error_table import DEFAULTS, ErrorTable, Say, Words, retry_after_header
from providers.errors import (
    REDACTED,
    CustomerNotFound,
    ProviderAuthFailed,
    ProviderBadResponse,
    ProviderError,
    ProviderRateLimited,
    ProviderUnavailable,
)
from providers.http import UpstreamResponse
from providers.tokens import AccessToken, MemoryTokenStore, TokenManager


def answer(status: int, body: Any = b"", **headers: str) -> UpstreamResponse:
    raw = body if isinstance(body, bytes) else msgspec.json.encode(body)
    return UpstreamResponse(status, CIMultiDictProxy(CIMultiDict(headers)), raw, "https://api.example.test/x")


def code_and_message(body: Any) -> Words:
    """A platform answering ``{"code", "message"}``, read without care."""
    return Words(body.get("code"), body.get("message"))


ACME = ErrorTable("Acme", read=code_and_message)


# -- rows --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "status,error,says",
    [
        (401, ProviderAuthFailed, "Acme rejected the connection's credentials (401)"),
        (403, ProviderAuthFailed, "Acme refused access with the connection's credentials (403)"),
        (404, CustomerNotFound, "Acme has no such customer (404)"),
        (429, ProviderRateLimited, "Acme rate limit reached (429)"),
        (500, ProviderUnavailable, "Acme failed (500)"),
        (503, ProviderUnavailable, "Acme failed (503)"),
        (400, ProviderBadResponse, "Acme refused the request (400)"),
        (409, ProviderBadResponse, "Acme refused the request (409)"),
        (422, ProviderBadResponse, "Acme refused the request (422)"),
    ],
)
def test_default_rows_by_status(status, error, says):
    exc = ErrorTable("Acme").classify(answer(status, {"code": "X", "message": "words"}))
    assert type(exc) is error
    assert exc.message == says  # the default table reads no words
    assert exc.remote_status == status


def test_status_rows_replace_only_their_defaults():
    table = ErrorTable("Acme", statuses={404: Say(ProviderAuthFailed, "has no store at this address")})
    assert type(table.classify(answer(404))) is ProviderAuthFailed
    assert table.classify(answer(404)).message == "Acme has no store at this address (404)"
    assert type(table.classify(answer(401))) is ProviderAuthFailed
    assert type(table.classify(answer(429))) is ProviderRateLimited
    assert DEFAULTS[404].error is CustomerNotFound  # the shared defaults are untouched


def test_a_code_row_wins_over_the_status_row():
    table = ErrorTable(
        "Acme",
        read=code_and_message,
        quote_message=False,
        codes={
            "THROTTLED": Say(ProviderRateLimited, "is throttling this store"),
            14: Say(ProviderAuthFailed, "rejected the token"),
        },
    )
    throttled = table.classify(answer(400, {"code": "THROTTLED"}, **{"Retry-After": "3"}))
    assert type(throttled) is ProviderRateLimited
    assert throttled.message == "Acme is throttling this store (400: THROTTLED)"
    assert throttled.retry_after == 3.0  # a rate-limit row reads the wait whatever the status
    assert type(table.classify(answer(404, {"code": 14}))) is ProviderAuthFailed
    # An unknown code, or a code of the wrong type, leaves the status to speak.
    assert type(table.classify(answer(404, {"code": "OTHER"}))) is CustomerNotFound
    assert type(table.classify(answer(404, {"code": "14"}))) is CustomerNotFound


def test_a_code_that_is_not_a_code_never_picks_a_row():
    # JSON true equals 1 in Python: it must not select the row of code 1.
    table = ErrorTable("Acme", read=code_and_message, codes={1: Say(ProviderAuthFailed, "code one")})
    exc = table.classify(answer(404, {"code": True}))
    assert type(exc) is CustomerNotFound


def test_a_collection_read_turns_a_missing_customer_into_the_collection_row():
    class Shop(KeyProvider):
        errors = ErrorTable("Acme", read=code_and_message, codes={"GONE": Say(ProviderAuthFailed, "gone")})

    shop = Shop(KeyCredentials(API_KEY), CommonSettings(), None)
    with pytest.raises(ProviderBadResponse) as caught:
        shop.read_json(answer(404, {"code": "NOT_FOUND", "message": "no such thing"}), collection=True)
    assert caught.value.message == (
        "Acme answered 404 for its customer collection: check base_url (404: NOT_FOUND: no such thing)"
    )
    assert caught.value.remote_status == 404
    with pytest.raises(CustomerNotFound):  # a lookup: the table's row
        shop.read_json(answer(404, {"code": "NOT_FOUND"}))
    with pytest.raises(ProviderAuthFailed):  # another class stays what the table says
        shop.read_json(answer(404, {"code": "GONE"}), collection=True)
    stated = ErrorTable("Acme", collection=Say(ProviderAuthFailed, "has no customers API here"))
    exc = stated.classify(answer(404), row=stated.collection)
    assert (type(exc), exc.message) == (ProviderAuthFailed, "Acme has no customers API here (404)")


# -- the wait signal ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "value,wait",
    [("7", 7.0), ("2.5", 2.5), ("0", 0.0), ("-3", None), ("soon", None), ("", None), ("nan", None),
     ("inf", None), ("1e400", None)],
)
def test_retry_after_in_seconds(value, wait):
    exc = ErrorTable("Acme").classify(answer(429, **{"Retry-After": value}))
    assert isinstance(exc, ProviderRateLimited)
    assert exc.retry_after == wait


def test_retry_after_as_an_http_date():
    later = email.utils.formatdate(time.time() + 120, usegmt=True)
    wait = retry_after_header(answer(429, **{"Retry-After": later}))
    assert wait is not None and 100 < wait <= 120
    past = email.utils.formatdate(time.time() - 120, usegmt=True)
    assert retry_after_header(answer(429, **{"Retry-After": past})) == 0.0


def test_no_retry_after_is_no_wait():
    assert ErrorTable("Acme").classify(answer(429)).retry_after is None


def test_a_custom_wait_signal_is_read_for_rate_limits_only():
    seen: list[int] = []

    def reset_ms(response: UpstreamResponse) -> float | None:
        seen.append(response.status)
        return int(response.headers["X-Rate-Limit-Time-Reset-Ms"]) / 1000

    table = ErrorTable("Acme", wait=reset_ms)
    exc = table.classify(answer(429, **{"X-Rate-Limit-Time-Reset-Ms": "1500", "Retry-After": "60"}))
    assert exc.retry_after == 1.5  # the platform's own signal, not Retry-After
    for status in (401, 404, 500, 400):
        table.classify(answer(status))  # no header: reading it would raise
    assert seen == [429]


# -- the detail --------------------------------------------------------------------------


def test_detail_quotes_status_code_and_message():
    assert ACME.classify(answer(400, {"code": "E_FIELD", "message": "email is invalid"})).message == (
        "Acme refused the request (400: E_FIELD: email is invalid)"
    )
    assert ACME.classify(answer(400, {"message": "  email is invalid \n"})).message == (
        "Acme refused the request (400: email is invalid)"
    )
    assert ACME.classify(answer(400, {"code": 1003})).message == "Acme refused the request (400: 1003)"
    assert ACME.classify(answer(400, {"code": " ", "message": ""})).message == "Acme refused the request (400)"


def test_quote_message_false_quotes_only_the_code():
    table = ErrorTable("Acme", read=code_and_message, quote_message=False)
    exc = table.classify(answer(400, {"code": "E_FIELD", "message": "you sent bob@example.com"}))
    assert exc.message == "Acme refused the request (400: E_FIELD)"


def test_a_long_code_is_cut():
    exc = ACME.classify(answer(400, {"code": "E" * 300}))
    assert exc.message == f"Acme refused the request (400: {'E' * 64})"


# -- bodies of every shape ----------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        b"<html><body>502 Bad Gateway</body></html>",
        b"",
        b'{"code": "E", "message": ',  # cut short
        b"[1, 2]",
        b'"just text"',
        b"null",
        b"17",
        {"code": ["E1", "E2"], "message": {"text": "nested"}},
        {"code": {"id": 1}, "message": ["a", "b"]},
        {"code": 1.5, "message": 42},
    ],
)
def test_any_body_gives_the_status_row(body):
    exc = ACME.classify(answer(503, body))
    assert type(exc) is ProviderUnavailable
    assert exc.message.startswith("Acme failed (503")
    assert "nested" not in exc.message and "[" not in exc.message


def test_a_reader_failing_on_an_odd_shape_leaves_the_status_to_speak():
    def strict(body: Any) -> Words:
        return Words(body["errors"][0]["code"], body["errors"][0]["message"])

    table = ErrorTable("Acme", read=strict)
    for body in ({"errors": []}, {"errors": "x"}, {}, [], {"errors": [{"code": "E"}]}):
        assert table.classify(answer(404, body)).message == "Acme has no such customer (404)"
    assert table.classify(answer(404, {"errors": [{"code": "E", "message": "m"}]})).message == (
        "Acme has no such customer (404: E: m)"
    )


def test_a_bom_before_the_json_is_skipped():
    body = b"\xef\xbb\xbf" + msgspec.json.encode({"code": "E_BOM", "message": "read"})
    assert ACME.classify(answer(400, body)).message == "Acme refused the request (400: E_BOM: read)"


# -- redaction: every form of a secret, through Provider.redact ---------------------------


API_KEY = "sk_live_51Hx9vQ2eZvKYlo2C0a1b2c3d4e5f6g7h8i9"
USER, PASSWORD = "ck_4d2b8c5e9f1a3b7c6d0e", "cs_9e8d7c6b5a4f3e2d1c0b"
BASIC = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
MINTED = "ya29.a0AfB_byC-minted-access-token-0123456789"


class KeyCredentials(msgspec.Struct):
    api_key: str


class PairCredentials(msgspec.Struct):
    user: str
    password: str


class KeyProvider(Provider):
    name, display_name = "acme", "Acme"
    credentials_type = KeyCredentials
    errors = ErrorTable("Acme", read=code_and_message)

    def make_auth(self) -> Auth:
        return HeaderToken(self.credentials.api_key, scheme="Bearer")


class BasicPairProvider(KeyProvider):
    """HTTP Basic declared through ``basic_auth_pair``."""

    credentials_type = PairCredentials

    def make_auth(self) -> Auth:
        return Auth()

    def basic_auth_pair(self) -> tuple[str, str]:
        return self.credentials.user, self.credentials.password


class BasicStrategyProvider(KeyProvider):
    """HTTP Basic through the auth strategy alone."""

    credentials_type = PairCredentials

    def make_auth(self) -> Auth:
        return BasicAuth(self.credentials.user, self.credentials.password)


class OAuthProvider(KeyProvider):
    credentials_type = PairCredentials

    def make_auth(self) -> Auth:
        self.minted = iter([MINTED, MINTED + "-renewed"])

        async def mint() -> AccessToken:
            return AccessToken(access_token=next(self.minted), expires_at=time.time() + 3600)

        return OAuthAccess(TokenManager(MemoryTokenStore(), mint))


def key_provider() -> KeyProvider:
    return KeyProvider(KeyCredentials(API_KEY), CommonSettings(), None)


def pair_provider(cls: type[Provider]) -> Provider:
    return cls(PairCredentials(USER, PASSWORD), CommonSettings(), None)


def classified(provider: Provider, code: Any = None, message: Any = None, status: int = 400) -> ProviderError:
    return provider.classify_error(answer(status, {"code": code, "message": message}))


def test_the_raw_credential_is_scrubbed_from_code_and_message():
    exc = classified(key_provider(), code=API_KEY, message=f"key {API_KEY} is not valid for this store")
    assert API_KEY not in exc.message
    assert exc.message == f"Acme refused the request (400: {REDACTED}: key {REDACTED} is not valid for this store)"


def test_a_secret_is_scrubbed_before_the_code_is_cut():
    # The cut at 64 characters falls inside the key: what is left must not show its start.
    code = "E" * 50 + API_KEY
    exc = classified(key_provider(), code=code)
    assert API_KEY[:12] not in exc.message
    assert "E" * 50 in exc.message


def test_a_secret_is_scrubbed_before_the_message_is_cut():
    message = "x" * 190 + " " + API_KEY
    exc = classified(key_provider(), message=message)
    assert API_KEY[:8] not in exc.message


@pytest.mark.parametrize("cls", [BasicPairProvider, BasicStrategyProvider])
def test_basic_credentials_are_scrubbed_in_every_form(cls):
    provider = pair_provider(cls)
    echoed = f"bad header Authorization: Basic {BASIC}"
    cut = f"header starts {BASIC[:24]}..."  # a store echoing the header may cut it short
    middle = f"got {BASIC[10:30]}"
    for message in (echoed, cut, middle, f"user {USER} password {PASSWORD}"):
        exc = classified(provider, message=message)
        for piece in (BASIC[:24], BASIC[10:30], USER, PASSWORD):
            assert piece not in exc.message, (message, exc.message)
        assert REDACTED in exc.message


async def test_a_minted_oauth_token_is_scrubbed():
    provider = pair_provider(OAuthProvider)
    await provider.auth.apply({}, {})
    exc = classified(provider, message=f"token {MINTED} expired")
    assert MINTED not in exc.message and exc.message.endswith(f"token {REDACTED} expired)")


async def test_a_token_replaced_during_a_request_is_still_scrubbed():
    # One request sent the first token; meanwhile another renewed it. The
    # first request's error, quoting its token, comes after the renewal.
    provider = pair_provider(OAuthProvider)
    headers: dict[str, str] = {}
    used = await provider.auth.apply(headers, {})
    assert headers["Authorization"] == f"Bearer {MINTED}"
    assert await provider.auth.renew(used)
    exc = classified(provider, message=f"token {MINTED} was revoked")
    assert MINTED not in exc.message
    exc = classified(provider, message=f"token {MINTED}-renewed was revoked")
    assert "renewed" not in exc.message


def test_redaction_happens_in_every_message_built_by_the_template():
    # Messages a provider builds itself are scrubbed by _scrubbed, the net
    # under Provider._guarded.
    provider = key_provider()
    exc = provider._scrubbed(ProviderBadResponse(f"odd answer for {API_KEY}"))
    assert exc.message == f"odd answer for {REDACTED}" and exc.args == (exc.message,)


def test_credentials_print_their_field_names_never_their_values():
    class Pair(Credentials, kw_only=True):
        user: str
        password: str | None = None

    assert repr(Pair(user=USER, password=PASSWORD)) == "Pair(user=..., password=...)"
    assert str(Pair(user=USER)) == "Pair(user=...)"
    with pytest.raises(msgspec.ValidationError):  # unknown fields are refused
        msgspec.convert({"user": USER, "token": API_KEY}, Pair)
