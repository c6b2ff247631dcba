"""A platform's error answers as a table, read in one place.

Every platform answers a failed call with a status and, usually, a body in
its own error format. What shoprelay makes of it is a table: the status (or
the platform's own error code, checked first) decides the error class and
what the message says; ``read`` pulls the platform's code and words out of
the body; ``wait`` reads the platform's signal for how long to back off
after a 429. A provider states its table::

    errors = ErrorTable(
        "BigCommerce",
        read=problem_title,
        wait=reset_ms_header,
        statuses={404: Say(ProviderAuthFailed, "has no store at this store_hash/base_url")},
    )

and ``classify`` builds the exception, quoting the platform's words after
scrubbing them of the connection's secrets (``redact``). Rows not stated
fall back to ``DEFAULTS`` by status family. The ``collection`` row speaks
for a read of a collection every store has (the customer list): what would
read there as a missing customer means the connection addresses no such API.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping, NamedTuple

import msgspec

from .errors import (
    CustomerNotFound,
    ProviderAuthFailed,
    ProviderBadResponse,
    ProviderError,
    ProviderRateLimited,
    ProviderUnavailable,
)
from .http import UpstreamResponse, retry_after_seconds
from .normalize import text

_UTF8_BOM = b"\xef\xbb\xbf"


class Say(NamedTuple):
    """One row: the error class, and what it says after the platform's name."""

    error: type[ProviderError]
    says: str


class Words(NamedTuple):
    """What the platform's error body says: its code and its message."""

    code: str | int | None = None
    message: str | None = None


DEFAULTS: Mapping[int, Say] = {
    401: Say(ProviderAuthFailed, "rejected the connection's credentials"),
    403: Say(ProviderAuthFailed, "refused access with the connection's credentials"),
    404: Say(CustomerNotFound, "has no such customer"),
    429: Say(ProviderRateLimited, "rate limit reached"),
}
SERVER_ERROR = Say(ProviderUnavailable, "failed")
COLLECTION = Say(ProviderBadResponse, "answered 404 for its customer collection: check base_url")
OTHER_ERROR = Say(ProviderBadResponse, "refused the request")


def no_words(body: Any) -> Words:
    return Words()


def retry_after_header(response: UpstreamResponse) -> float | None:
    """The standard wait signal: ``Retry-After`` (seconds or an HTTP date)."""
    return retry_after_seconds(response.headers.get("Retry-After"))


def json_body(response: UpstreamResponse) -> Any:
    """The error body as JSON (a leading BOM skipped), or None: error pages
    are often HTML from a proxy or host in front of the API."""
    try:
        return msgspec.json.decode(response.body.removeprefix(_UTF8_BOM))
    except msgspec.DecodeError:
        return None


class ErrorTable:
    def __init__(
        self,
        platform: str,
        *,
        read: Callable[[Any], Words] = no_words,
        statuses: Mapping[int, Say] | None = None,
        codes: Mapping[str | int, Say] | None = None,
        wait: Callable[[UpstreamResponse], float | None] = retry_after_header,
        quote_message: bool = True,
        collection: Say = COLLECTION,
    ) -> None:
        self.platform = platform
        self.read = read
        self.statuses = {**DEFAULTS, **(statuses or {})}
        self.codes = dict(codes or {})
        self.wait = wait
        # Some platforms echo request text in their messages: quote only codes.
        self.quote_message = quote_message
        self.collection = collection

    def words(self, response: UpstreamResponse) -> Words:
        body = json_body(response)
        if body is None:
            return Words()
        try:
            code, message = self.read(body)
        except (AttributeError, KeyError, TypeError, IndexError, ValueError):
            return Words()  # an error body of another shape: the status speaks
        # A reader taking values as they come may hand over a list (which
        # cannot be looked up) or a bool (which equals 1): only a string or
        # an integer is a code, only a string is words.
        if not isinstance(code, (str, int)) or isinstance(code, bool):
            code = None
        return Words(code, message if isinstance(message, str) else None)

    def row(self, status: int, code: str | int | None) -> Say:
        if code is not None and code in self.codes:
            return self.codes[code]
        if status in self.statuses:
            return self.statuses[status]
        return SERVER_ERROR if status >= 500 else OTHER_ERROR

    def classify(
        self, response: UpstreamResponse, redact: Callable[[str], str] = lambda s: s, row: Say | None = None
    ) -> ProviderError:
        """The answer as an error: by ``row`` when given, else by the table."""
        status = response.status
        code, message = self.words(response)
        row = row or self.row(status, code)
        detail = detail_of(status, code, message if self.quote_message else None, redact)
        return self.build(row, f"{self.platform} {row.says}{detail}", status, response)

    def build(
        self, row: Say, message: str, status: int | None, response: UpstreamResponse | None = None
    ) -> ProviderError:
        if issubclass(row.error, ProviderRateLimited):
            wait = self.wait(response) if response is not None else None
            return row.error(message, remote_status=status, retry_after=wait)
        return row.error(message, remote_status=status)


def detail_of(
    status: int | None, code: str | int | None, message: str | None, redact: Callable[[str], str]
) -> str:
    """`` (401: code: message)``: the parts present, the words scrubbed and short."""
    parts = [str(status)] if status is not None else []
    if code is not None and (code_text := text(str(code))):
        parts.append(redact(code_text)[:64])  # scrubbed first: a cut cannot leave half a secret
    if message is not None and (words := text(message)):
        parts.append(redact(words))
    return f" ({': '.join(parts)})" if parts else ""
