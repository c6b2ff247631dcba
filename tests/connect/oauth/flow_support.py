"""What the Wix and Zoho flow tests share: a provider app, a flow context
over a real ``UpstreamClient`` (the flow called directly, without the
routes), and a browser hop that reads one redirect."""

from __future__ import annotations

import secrets
import urllib.parse
from typing import Any

import httpx

from proxy.provider_apps import ResolvedApp

CALLBACK = "http://shoprelay.test/connect/oauth/{provider}/callback"


def App(provider: str, client_id: str, client_secret: str, settings: dict[str, Any],
        scopes: list[str] | None = None) -> ResolvedApp:
    """An operator's default app, as provider_apps.resolve gives it."""
    return ResolvedApp(provider=provider, client_id=client_id, client_secret=client_secret, scopes=scopes or [],
                       settings=settings, owner="operator", tenant_id=None)


class Context:
    """The flow's view of the framework: the app, the HTTP client, the
    callback URL and the attempts it minted (state -> data)."""

    def __init__(self, app: App, http: Any) -> None:
        self.app, self.http = app, http
        self.redirect_uri = CALLBACK.format(provider=app.provider)
        self.attempts: dict[str, dict] = {}

    async def new_state(self, data: dict) -> str:
        state = secrets.token_urlsafe(32)
        self.attempts[state] = data
        return state


async def follow(url: str) -> dict[str, str]:
    """The browser at the platform: one hop, the redirect's query read."""
    async with httpx.AsyncClient() as client:
        response = await client.get(url)
    assert response.status_code == 302, response.text
    return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(response.headers["location"]).query))
