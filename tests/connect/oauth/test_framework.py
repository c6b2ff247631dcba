"""The OAuth framework's own steps, with a flow of the test's on the
sandbox provider (no app needed, no platform): the button with the flow's
inputs, the choice page and its one-use state, a refusal failing the
session, and a key-form reconnect leaving the grant."""

from __future__ import annotations

import re
import urllib.parse

import pytest

from proxy.connect.oauth.flow import FLOWS, Begin, Choice, FlowRefused, Grant, OAuthFlow
from tests.connect.conftest import csrf_of
from tests.connect.oauth.conftest import RETURN_URL

GOOD_CODE = "code-accepted"


class ChoosingFlow(OAuthFlow):
    """Consent is skipped (begin sends the browser straight back); the
    platform offers two 'stores' to choose from."""

    provider = "sandbox"
    needs_app = False
    inputs = ["seed"]

    async def begin(self, ctx, typed):
        if typed["seed"] == "refused-at-begin":
            raise FlowRefused("invalid_seed", "That seed is not one we take.", fail_session=False, field="seed")
        state = await ctx.new_state({"seed": typed["seed"]})
        return Begin(f"{ctx.redirect_uri}?" + urllib.parse.urlencode({"state": state, "code": GOOD_CODE}))

    async def callback(self, ctx, query, data):
        if query.get("code") != GOOD_CODE:
            raise FlowRefused("invalid_code", "The platform refused the code.")
        return Choice(field="size", label="Which store", options=[("5", "Five customers"), ("7", "Seven customers")],
                      keep={"seed": data["seed"]})

    async def chosen(self, ctx, keep, value):
        return Grant(credentials={}, settings={"size": int(value), "seed": keep["seed"]})


@pytest.fixture
def flow(monkeypatch):
    monkeypatch.setitem(FLOWS, "sandbox", ChoosingFlow())


def hidden(page: str, name: str) -> str:
    match = re.search(rf'name="{name}" value="([^"]+)"', page)
    assert match, name
    return match.group(1)


async def choose(merchant, page: str, value: str, state: str | None = None):
    body = urllib.parse.urlencode({"csrf_token": csrf_of(page), "state": state or hidden(page, "state"),
                                   "choice": value})
    return await merchant.client.post("/connect/oauth/sandbox/choose", content=body,
                                      headers={"content-type": "application/x-www-form-urlencoded"})


async def to_choice(merchant, seed: str = "seed-1"):
    started = await merchant.start("sandbox", {"seed": seed})
    assert started.status_code == 303, started.text
    page = await merchant.back(started.headers["location"])
    assert page.status_code == 200, page.text
    return page


async def test_a_choice_is_made_once_and_completes_the_session(oauth, flow):
    async with oauth.merchant() as merchant:
        session = await merchant.open(providers=["sandbox"], return_url=RETURN_URL)
        form = await merchant.get("/connect/providers/sandbox")
        assert "Connect with Sandbox" in form.text and 'id="o-seed"' in form.text
        page = await to_choice(merchant)
        assert "Which store" in page.text and "Seven customers" in page.text
        done = await choose(merchant, page.text, "7")
        assert done.status_code == 303 and done.headers["location"].startswith(RETURN_URL + "?")
        body = await oauth.exchange(done.headers["location"])
        again = await choose(merchant, page.text, "5")  # the same state: spent, and the session is done
        assert again.status_code == 410
    connection = await oauth.store.get_connection(body["connection_id"])
    assert connection.settings["size"] == 7 and connection.settings["seed"] == "seed-1"
    assert connection.grant_key is None
    assert (await oauth.read_customer(body["connection_token"], "7")).status_code == 200
    assert (await oauth.session_status(session["id"]))["status"] == "completed"


async def test_a_choice_not_offered_or_a_spent_state_stores_nothing(oauth, flow):
    async with oauth.merchant() as merchant:
        session = await merchant.open(providers=["sandbox"], return_url=RETURN_URL)
        page = await to_choice(merchant)
        before = await oauth.stored()
        forged = await choose(merchant, page.text, "9")
        assert forged.status_code == 400 and "not one offered" in forged.text
        spent = await choose(merchant, page.text, "7")
        assert spent.status_code == 400 and "already used" in spent.text
        guessed = await choose(merchant, page.text, "7", state="A" * 43)
        assert guessed.status_code == 400
        assert await oauth.stored() == before
        assert (await oauth.session_status(session["id"]))["status"] == "pending"
        # The session is still open: start again and finish.
        done = await choose(merchant, (await to_choice(merchant)).text, "5")
        assert done.status_code == 303


async def test_a_refusal_in_the_callback_fails_the_session_with_its_reason(oauth, flow):
    async with oauth.merchant() as merchant:
        session = await merchant.open(providers=["sandbox"], return_url=RETURN_URL)
        started = await merchant.start("sandbox", {"seed": "x"})
        location = started.headers["location"].replace(GOOD_CODE, "code-refused")
        refused = await merchant.back(location)
        assert refused.status_code == 400 and "The platform refused the code." in refused.text
        status = await oauth.session_status(session["id"])
        assert (status["status"], status["error"]) == ("failed", "invalid_code")
        assert await oauth.connect.rows("connections") == 0


async def test_a_refusal_at_begin_brings_the_form_back_on_the_field(oauth, flow):
    async with oauth.merchant() as merchant:
        session = await merchant.open(providers=["sandbox"], return_url=RETURN_URL)
        refused = await merchant.start("sandbox", {"seed": "refused-at-begin"})
        assert refused.status_code == 422
        assert "That seed is not one we take." in refused.text
        assert re.search(r'<input id="o-seed"[^>]*aria-invalid="true"', refused.text, re.S)
        assert 'value="refused-at-begin"' in refused.text  # what was typed comes back
        assert (await oauth.session_status(session["id"]))["status"] == "pending"
        assert await oauth.connect.rows("connect_attempts") == 0


async def test_a_repeated_callback_parameter_is_refused(oauth, flow):
    async with oauth.merchant() as merchant:
        session = await merchant.open(providers=["sandbox"], return_url=RETURN_URL)
        started = await merchant.start("sandbox", {"seed": "x"})
        location = started.headers["location"] + "&code=another"
        refused = await merchant.back(location)
        assert refused.status_code == 400
        assert (await oauth.session_status(session["id"]))["status"] == "pending"


async def test_a_state_is_good_for_its_own_step_only(oauth, flow):
    async with oauth.merchant() as merchant:
        await merchant.open(providers=["sandbox"], return_url=RETURN_URL)
        page = await to_choice(merchant)
        choice_state = hidden(page.text, "state")
        as_callback = await merchant.back(f"{oauth.callback_url('sandbox')}?state={choice_state}&code={GOOD_CODE}")
        assert as_callback.status_code == 400
        started = await merchant.start("sandbox", {"seed": "x"})
        callback_state = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(started.headers["location"]).query))["state"]
        as_choice = await choose(merchant, page.text, "5", state=callback_state)
        assert as_choice.status_code == 400
        assert await oauth.connect.rows("connections") == 0


async def test_without_a_return_url_the_connected_page_hands_the_code_over(oauth, flow):
    async with oauth.merchant() as merchant:
        session = await merchant.open(providers=["sandbox"])
        done = await choose(merchant, (await to_choice(merchant)).text, "5")
        assert done.status_code == 200 and "shoprelay.connect" in done.text
        code = re.search(r"cc_[A-Za-z0-9_-]{43}", done.text).group(0)
        exchanged = await oauth.connect.exchange(oauth.tenant, code)
        assert exchanged.status_code == 200 and exchanged.json()["session_id"] == session["id"]
