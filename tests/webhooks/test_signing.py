"""Signatures a stock Standard Webhooks library accepts."""

from __future__ import annotations

import base64
import time

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from proxy.webhooks import signing


def test_the_reference_librarys_test_vector():
    # standard-webhooks/standard-webhooks, libraries/python/tests/test_webhooks.py
    # (test_sign_function): the same key, id, time and body give the same signature.
    key = signing.secret_key("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
    got = signing.signature(key, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, b'{"test": 2432232314}')
    assert got == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_a_new_secret_signs_what_the_library_verifies():
    secret = signing.new_secret()
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret[len("whsec_"):])) >= 24  # the spec's minimum
    body = b'{"type":"connection.created","id":"evt_1","data":{}}'
    headers = signing.headers(secret, "evt_1", int(time.time()), body)
    assert set(headers) == {"content-type", "webhook-id", "webhook-timestamp", "webhook-signature"}
    assert Webhook(secret).verify(body, headers) == {"type": "connection.created", "id": "evt_1", "data": {}}


def test_another_secret_body_or_id_fails_verification():
    secret = signing.new_secret()
    body = b'{"a":1}'
    headers = signing.headers(secret, "evt_1", int(time.time()), body)
    with pytest.raises(WebhookVerificationError):
        Webhook(signing.new_secret()).verify(body, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(b'{"a":2}', headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(body, {**headers, "webhook-id": "evt_2"})


def test_each_attempt_is_signed_at_its_own_time():
    # A retry a day later must pass a receiver's 5-minute replay window.
    secret = signing.new_secret()
    old = signing.headers(secret, "evt_1", int(time.time()) - 86400, b"{}")
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(b"{}", old)
    Webhook(secret).verify(b"{}", signing.headers(secret, "evt_1", int(time.time()), b"{}"))


@pytest.mark.parametrize("bad", ["", "whsec_", "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_not base64!"])
def test_a_malformed_secret_is_refused_without_echoing_it(bad):
    with pytest.raises(signing.InvalidSecret) as caught:
        signing.secret_key(bad)
    assert not bad or bad not in str(caught.value)
