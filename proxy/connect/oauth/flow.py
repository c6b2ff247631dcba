"""TEMPORARY (H-wixzoho): the interface SPEC-15 section 2 promises, reduced to
what the Wix and Zoho flows use. H-flow's real module replaces this file
(it is deleted before ``git merge i15-flow``)."""

from __future__ import annotations

from typing import Any, Mapping

import msgspec

from providers.tokens import AccessToken


class FlowRefused(Exception):
    def __init__(self, reason: str, message: str, *, fail_session: bool = True) -> None:
        super().__init__(message)
        self.reason, self.message, self.fail_session = reason, message, fail_session


class Grant(msgspec.Struct, kw_only=True):
    credentials: dict
    settings: dict
    grant_key: str | None = None
    token: AccessToken | None = None


class Choice(msgspec.Struct, kw_only=True):
    field: str
    label: str
    options: list[tuple[str, str]]
    keep: dict


class Begin(msgspec.Struct):
    url: str


class FlowContext:
    runtime: Any
    request: Any
    session: Any
    tenant: Any
    app: Any
    redirect_uri: str
    http: Any

    async def new_state(self, data: dict) -> str:  # pragma: no cover - the real one is H-flow's
        raise NotImplementedError


class OAuthFlow:
    provider: str
    needs_app: bool = True
    inputs: list[str] = []

    async def begin(self, ctx: FlowContext, typed: dict[str, str]) -> Begin:
        raise NotImplementedError

    async def callback(self, ctx: FlowContext, query: Mapping[str, str], data: dict) -> Grant | Choice:
        raise NotImplementedError

    async def chosen(self, ctx: FlowContext, keep: dict, value: str) -> Grant:
        raise NotImplementedError

    def routes(self) -> list:
        return []


FLOWS: dict[str, OAuthFlow] = {}
