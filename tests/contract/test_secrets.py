"""No provider lets a secret out: not in a problem body, not in a header,
not in any log record, whatever its store answers.

The fake store is careless on purpose: its errors quote every request
header (the token, or the whole Basic ``Authorization`` and pieces of its
base64) and the credentials bare, in the platform's own error shape. The
secrets are the connection's credentials, their derived forms, the access
tokens the fake minted, and a second, wrong set of credentials. Logs are
captured at DEBUG from every logger (tests/logtrap.py).
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.contract import connect
from tests.harness import running_app
from tests.logtrap import trap  # noqa: F401 (the fixture)


@pytest.mark.parametrize("status", [401, 400, 500])
async def test_an_echoing_store_gets_no_secret_out(tmp_path, fake, trap, status):  # noqa: F811
    wrong = fake.wrong_credentials()
    async with fake.serve() as origin, running_app(tmp_path) as api:
        tenant = await api.tenant()
        _, client = await connect(api, tenant, fake, origin)
        _, refused = await connect(api, tenant, fake, origin, credentials=wrong)
        fake.echo_credentials(status)
        body = {"provider": fake.provider, "credentials": fake.credentials, "settings": fake.settings(origin)}
        responses = [
            await client.get(fake.ids[0]),
            (await client.list(limit=5))[0],
            await api.client.post("/connections?verify=true", json=body, headers={"x-api-key": tenant.api_key}),
            await refused.get(fake.ids[0]),
        ]
    secrets = {*fake.secrets(), *(v for v in wrong.values() if v)}
    # Not vacuous: the credentials were in flight, and the store echoed them.
    sent = [f"{dict(r.headers)} {r.query_string} {raw!r}" for r, raw in zip(fake.requests, fake.bodies)]
    assert any(secret in text for secret in fake.secrets() for text in sent)
    assert all(r.status_code >= 400 for r in responses)
    assert trap.access(), "nothing was logged"
    for response in responses:
        assert response.headers["content-type"] == "application/problem+json"
        text = response.text + "\n" + "\n".join(f"{k}: {v}" for k, v in response.headers.items())
        assert not leaked(secrets, text), f"{leaked(secrets, text)} in {text}"
    for line in trap.texts:
        assert not leaked(secrets, line), f"{leaked(secrets, line)} in a log line: {line[:300]}"


def leaked(secrets: set[str], text: str) -> list[str]:
    return [secret for secret in secrets if secret in text]


async def test_each_error_answer_is_logged_without_secrets(tmp_path, fake, trap):  # noqa: F811
    """The documented error answers (429, 5xx, a refused token) leave no secret
    in the access log, which still records each request with its status."""
    async with fake.serve() as origin, running_app(tmp_path, request_timeout=1.0) as api:
        tenant = await api.tenant()
        _, client = await connect(api, tenant, fake, origin)
        _, refused = await connect(api, tenant, fake, origin, credentials=fake.wrong_credentials())
        statuses: list[Any] = []
        fake.rate_limit()
        statuses.append((await client.get(fake.ids[0])).status_code)
        fake.answer(fake.server_error(500))
        statuses.append((await client.get(fake.ids[0])).status_code)
        statuses.append((await refused.get(fake.ids[0])).status_code)
    assert statuses == [429, 502, 502]
    logged = [r.status for r in trap.access() if r.status >= 400]  # type: ignore[attr-defined]
    assert logged == statuses
    secrets = {*fake.secrets(), *fake.wrong_credentials().values()}
    for line in trap.texts:
        assert not leaked(secrets, line), f"{leaked(secrets, line)} in a log line: {line[:300]}"
