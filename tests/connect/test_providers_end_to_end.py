"""Every installed provider through the connect page, over HTTP, against its
fake upstream (tests/fakes/): the form has the provider's own fields, a key
the platform refuses brings the form back with its reason and nothing
stored, the right keys land on the return URL with a code, the code is
exchanged for a token, and the token reads a customer."""

from __future__ import annotations

import re

import pytest

from providers import registry
from tests.connect.conftest import RETURN_URL, code_of
from tests.contract import PROVIDERS, make_fake


def field_names(page: str) -> list[str]:
    return re.findall(r'<input id="f-[^"]+" name="([^"]+)"', page)


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_a_merchant_connects_each_provider_end_to_end(connect, provider):
    fake = make_fake(provider)
    cls = registry.get(provider)
    tenant = await connect.tenant()
    session = await connect.session(tenant, end_user_id=f"merchant-{provider}", return_url=RETURN_URL,
                                    tags={"source": "e2e"})
    async with fake.serve() as origin, connect.browser() as browser:
        settings = {name: str(value) for name, value in fake.settings(origin).items()}
        await browser.open(session["connect_url"])
        picker = await browser.get("/connect")
        assert f'href="/connect/providers/{provider}">{cls.display_name}</a>' in picker.text
        form = await browser.get(f"/connect/providers/{provider}")
        assert form.status_code == 200
        # One field per credential and setting, named exactly as the provider's contract.
        expected = set(cls.credentials_type.__struct_fields__) | set(cls.settings_type.__struct_fields__)
        assert set(field_names(form.text)) == expected
        assert f"Connect your {cls.display_name} store" in form.text

        refused = await browser.submit(provider, {**fake.wrong_credentials(), **settings})
        assert refused.status_code == 422, refused.text
        assert f"{cls.display_name} rejected these credentials" in refused.text
        assert await connect.store.list_connections(tenant.id) == []
        for secret in [*fake.wrong_credentials().values(), *fake.secrets()]:
            assert secret not in refused.text

        accepted = await browser.submit(provider, {**fake.credentials, **settings})
        assert accepted.status_code == 303, accepted.text
        code, session_id = code_of(accepted.headers["location"])
        assert accepted.headers["location"].startswith(RETURN_URL + "?")

        exchanged = await connect.exchange(tenant, code)
        assert exchanged.status_code == 200
        body = exchanged.json()
        assert body["provider"] == provider and body["end_user_id"] == f"merchant-{provider}"
        assert body["session_id"] == session_id == session["id"]
        customer_id = fake.ids[0]
        read = await connect.harness.get_customer(tenant, body["connection_token"], customer_id)
        assert read.status_code == 200, read.text
        assert read.json()["id"] == customer_id
    [stored] = await connect.store.list_connections(tenant.id)
    assert stored.id == body["connection_id"]
    stored = await connect.store.get_connection(stored.id)
    assert stored.end_user_id == f"merchant-{provider}" and stored.tags == {"source": "e2e"}


async def test_sandbox_needs_no_keys(connect):
    tenant = await connect.tenant()
    session = await connect.session(tenant, providers=["sandbox"], return_url=RETURN_URL)
    async with connect.browser() as browser:
        await browser.open(session["connect_url"])
        form = await browser.get("/connect/providers/sandbox")
        assert set(field_names(form.text)) == {"base_url", "size", "seed"}
        assert 'value="250"' in form.text  # defaults are shown, under Advanced
        done = await browser.submit("sandbox", {"size": "250", "seed": "shoprelay"})
    code, _ = code_of(done.headers["location"])
    token = (await connect.exchange(tenant, code)).json()["connection_token"]
    assert (await connect.harness.get_customer(tenant, token, "1")).status_code == 200
