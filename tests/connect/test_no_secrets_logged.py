"""The connect flow logs nothing secret: not the link's token (it is in a
URL), the CSRF token, the connect code, the connection token, nor the keys a
merchant typed, right or refused (tests/logtrap.py captures every logger)."""

from __future__ import annotations

import hashlib
import urllib.parse

from tests.connect.conftest import RETURN_URL, code_of
from tests.contract import make_fake
from tests.logtrap import Trap, trap  # noqa: F401 (the fixture)


async def test_the_connect_flow_logs_no_secret(connect, trap: Trap):  # noqa: F811
    fake = make_fake("woocommerce")
    tenant = await connect.tenant()
    session = await connect.session(tenant, return_url=RETURN_URL)
    token = urllib.parse.parse_qs(urllib.parse.urlsplit(session["connect_url"]).query)["token"][0]
    async with fake.serve() as origin, connect.browser() as browser:
        settings = fake.settings(origin)
        await browser.open(session["connect_url"])
        csrf = await browser.csrf("woocommerce")
        refused = await browser.submit("woocommerce", {**fake.wrong_credentials(), **settings})
        assert refused.status_code == 422
        done = await browser.submit("woocommerce", {**fake.credentials, **settings})
        code, _ = code_of(done.headers["location"])
        exchanged = await connect.exchange(tenant, code)
        connection_token = exchanged.json()["connection_token"]
        assert (await connect.harness.get_customer(tenant, connection_token, fake.ids[0])).status_code == 200
        # A token pasted as a request id is not echoed or logged either.
        echoed = await browser.client.get("/connect", headers={"x-request-id": token})
        assert token not in echoed.headers["x-request-id"]
    values = [token, csrf, code, connection_token, tenant.api_key,
              *fake.credentials.values(), *fake.wrong_credentials().values()]
    values += [hashlib.sha256(v.encode()).hexdigest() for v in values]
    # httpx is the test's own client (the browser), which logs the URLs it opens.
    ours = [text for record, *texts in _rendered(trap) if record.name != "httpx" for text in texts]
    assert len(trap.access()) >= 8  # the requests were logged...
    leaks = [line for line in ours if any(v in line for v in values)]
    assert leaks == [], leaks[:2]  # ...without a secret


def _rendered(trap: Trap) -> list[tuple]:
    """Each record with its renderings (the Trap keeps three per record, in order)."""
    return [(record, *trap.texts[3 * i:3 * i + 3]) for i, record in enumerate(trap.records)]
