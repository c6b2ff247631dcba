"""Auth strategies: how a connection's requests prove who they are.

A provider picks one in ``make_auth`` from its credentials; the provider's
``send`` applies it to every request and, when the platform answers 401,
asks it to renew once (only OAuth tokens can) and sends again.

* :class:`HeaderToken`: a static token in a header (``X-Shopify-Access-Token``,
  ``Authorization: Bearer ...``);
* :class:`BasicAuth`: HTTP Basic (RFC 7617);
* :class:`QueryKey`: a key in the query string;
* :class:`OAuth1Signature`: an OAuth 1.0a (RFC 5849) signature of each
  request, its method and final URL included (Magento integrations);
* :class:`OAuthAccess`: a minted access token, refreshed single-flight
  through :class:`~providers.tokens.TokenManager` and stored encrypted with
  the connection; :func:`client_credentials` and :func:`refresh_token` build
  it on a :class:`~providers.token_endpoint.TokenEndpoint`.

Each strategy also names the forms its secrets take on the wire beyond the
raw credential values (Basic's base64, a minted token), so that
``Provider.redact`` scrubs every one of them from messages.
"""

from __future__ import annotations

import logging
from typing import Any

from oauthlib import oauth1
from yarl import URL

from .errors import basic_auth
from .tokens import AccessToken, TokenManager

# oauthlib's client logs each base string and its parameters (consumer key,
# token, signature) at DEBUG: never written, whatever the service's level.
logging.getLogger("oauthlib").setLevel(logging.INFO)


class Auth:
    """No credentials on the wire (the sandbox)."""

    async def apply(self, headers: dict[str, str], params: dict[str, str]) -> Any:
        """Add the proof to a request; returns what was used, for ``renew``."""
        return None

    async def renew(self, used: Any) -> bool:
        """After a 401 for a request sent with ``used``: True when a new proof
        is in place and the request is worth sending once more."""
        return False

    def sign(self, method: str, url: URL, headers: dict[str, str]) -> None:
        """Add a proof that covers the request itself, once its URL (query
        included) is final. Only signing strategies have one."""

    def secret_forms(self) -> tuple[list[str], list[str]]:
        """(exact values, base64 forms) to scrub, beyond the credentials."""
        return [], []


class HeaderToken(Auth):
    def __init__(self, token: str, header: str = "Authorization", scheme: str | None = None) -> None:
        self.header = header
        self.value = f"{scheme} {token}" if scheme else token

    async def apply(self, headers: dict[str, str], params: dict[str, str]) -> Any:
        headers[self.header] = self.value
        return None


class BasicAuth(Auth):
    def __init__(self, user: str, password: str) -> None:
        self.value = basic_auth(user, password)

    async def apply(self, headers: dict[str, str], params: dict[str, str]) -> Any:
        headers["Authorization"] = self.value
        return None

    def secret_forms(self) -> tuple[list[str], list[str]]:
        # A store echoing the header may cut its base64 short: the encoded
        # form is scrubbed piecewise (errors.scrub).
        return [self.value], [self.value.removeprefix("Basic ")]


class QueryKey(Auth):
    def __init__(self, name: str, key: str) -> None:
        self.name, self.key = name, key

    async def apply(self, headers: dict[str, str], params: dict[str, str]) -> Any:
        params[self.name] = self.key  # set last: a forwarded name cannot replace it
        return None


class OAuth1Signature(Auth):
    """OAuth 1.0a with a consumer and an access token (RFC 5849 section 3):
    a fresh nonce and timestamp per request, the signature over the method,
    the URL and every query parameter, sent in ``Authorization: OAuth ...``.
    oauthlib builds it: a signature base string is easy to get subtly wrong
    (encoding, parameter order), and a maintained library gets it right."""

    def __init__(
        self, consumer_key: str, consumer_secret: str, token: str, token_secret: str,
        method: str = oauth1.SIGNATURE_HMAC_SHA256,
    ) -> None:
        self.client = oauth1.Client(
            consumer_key, client_secret=consumer_secret, resource_owner_key=token,
            resource_owner_secret=token_secret, signature_method=method,
        )

    def sign(self, method: str, url: URL, headers: dict[str, str]) -> None:
        # The URL exactly as it goes on the wire (yarl's encoding): the
        # platform rebuilds the base string from the request line it receives.
        _, signed, _ = self.client.sign(str(url), http_method=method)
        headers["Authorization"] = signed["Authorization"]


class OAuthAccess(Auth):
    """A minted access token in a header; one refresh after a 401."""

    def __init__(self, manager: TokenManager, header: str = "Authorization", scheme: str | None = "Bearer") -> None:
        self.manager = manager
        self.header, self.scheme = header, scheme
        # The tokens recently sent, newest last: a request sent with a token
        # another request has since replaced may still answer quoting it.
        self._sent: list[str] = []

    async def apply(self, headers: dict[str, str], params: dict[str, str]) -> Any:
        token = await self.manager.get()
        self._remember(token)
        headers[self.header] = f"{self.scheme} {token.access_token}" if self.scheme else token.access_token
        return token

    async def renew(self, used: Any) -> bool:
        # Revoked or expired early: a new token, unless another request
        # already replaced the one that failed.
        self._remember(await self.manager.get(stale=used))
        return True

    def _remember(self, token: AccessToken) -> None:
        if token.access_token not in self._sent:
            self._sent = [*self._sent[-3:], token.access_token]

    def secret_forms(self) -> tuple[list[str], list[str]]:
        return list(self._sent), []
