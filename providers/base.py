"""The provider base class: what every provider module overrides.

A provider is a small subclass that declares its credential and settings
shapes (msgspec Structs), fetches the raw customer payload through the
shared :class:`~providers.http.UpstreamClient`, and maps it to the unified
:class:`~providers.models.Customer` with a *pure* function. It knows nothing
of tenants, databases or HTTP servers.

Hooks, in the order a request meets them:

* ``valid_customer_id(id)``: ids malformed for the provider are a 404
  without a call;
* ``fetch_customer(id)``: the call(s); returns the raw payload (remote_data);
* ``classify_error(response)``: a non-2xx answer as a ProviderError;
* ``map_customer(raw)``: the pure mapping.
"""

from __future__ import annotations

import functools
import re
from typing import Annotated, Any, Awaitable, Callable, ClassVar, Generic, Mapping, TypeVar, get_args, get_origin

import msgspec
from yarl import URL

from .auth import Auth
from .error_table import ErrorTable
from .errors import (
    ConfigurationError,
    CustomerNotFound,
    ProviderBadResponse,
    ProviderError,
    basic_auth,
    scrub,
)
from . import calls
from .http import UpstreamClient, UpstreamResponse
from .resilience import RetryPolicy, with_retries
from .models import Customer
from .query_names import QueryNames, as_sent, read_name
from .tokens import TokenStore

T = TypeVar("T")
C = TypeVar("C", bound=msgspec.Struct)  # a provider's credentials
S = TypeVar("S", bound=msgspec.Struct)  # and its settings
_ORIGIN = re.compile(r"^https?://[A-Za-z0-9.\-\[\]:]+(:\d{1,5})?$")
_DIGITS = re.compile(r"^[1-9][0-9]{0,19}$")
_UTF8_BOM = b"\xef\xbb\xbf"
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


def valid_host_name(url: URL) -> bool:
    """The URL's host is an IP literal or a name DNS can hold: labels of 1-63
    characters, 253 in all, IDNA-encodable. Anything else makes the resolver
    raise UnicodeError ("label empty or too long") at the first call."""
    host = url.raw_host or ""
    if ":" in host:
        return True  # an IPv6 literal (yarl parsed the brackets)
    name = host[:-1] if host.endswith(".") else host  # one root dot is allowed
    if not name or len(name) > 253:
        return False
    if not all(1 <= len(label) <= 63 for label in name.split(".")):
        return False
    try:
        name.encode("idna")
    except UnicodeError:
        return False
    return True


def valid_origin(value: str | None, field: str) -> None:
    """``base_url``/``auth_url`` are origins: scheme://host[:port], no path."""
    if value is None:
        return
    if not _ORIGIN.match(value) or not URL(value).host:
        raise ValueError(f"{field} must be an origin like https://host[:port], without a path")
    if not valid_host_name(URL(value)):
        raise ValueError(f"{field} has a host name that is not valid (empty or over-long labels)")


def is_numeric_id(value: str) -> bool:
    return bool(_DIGITS.match(value))


def is_uuid(value: str) -> bool:
    return bool(_UUID.match(value))


class CommonSettings(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Settings every provider accepts. ``base_url`` replaces the API origin."""

    base_url: Annotated[str | None, msgspec.Meta(title="API origin override", description=(
        "replaces the provider's API origin (scheme://host[:port], no path), e.g. a proxy; "
        "https and a public address unless private networks are allowed"
    ))] = None

    def __post_init__(self) -> None:
        valid_origin(self.base_url, "base_url")


class OAuthSettings(CommonSettings, kw_only=True, forbid_unknown_fields=True):
    """Settings of a provider with an OAuth token endpoint: ``auth_url``
    replaces that endpoint's origin (tests, proxies, on-prem)."""

    auth_url: Annotated[str | None, msgspec.Meta(title="Token endpoint origin override", description=(
        "replaces the OAuth token endpoint's origin (scheme://host[:port], no path)"
    ))] = None

    def __post_init__(self) -> None:
        super().__post_init__()
        valid_origin(self.auth_url, "auth_url")


# A GUID, checked where it is decoded (msgspec names the field on a mismatch).
Guid = Annotated[str, msgspec.Meta(pattern=_UUID.pattern)]
# An id as a platform sends it: a string with something in it besides spaces.
NonBlank = Annotated[str, msgspec.Meta(pattern=r"\S")]
# A token, key or id sent as a header or query value: visible ASCII, no spaces.
HeaderValue = Annotated[str, msgspec.Meta(pattern=r"^[\x21-\x7e]{1,4096}$")]


@functools.cache
def envelope(key: str, type_: Any = dict[str, Any]) -> type[msgspec.Struct]:
    """The Struct of an answer holding what is wanted under ``key``
    (``{"contact": {...}}``), read as ``answer.<key>``; kept raw by default,
    as remote_data must be."""
    return msgspec.defstruct(f"Envelope_{key}", [(key, type_)])


class Credentials(msgspec.Struct, forbid_unknown_fields=True):
    """A provider's credentials: unknown fields refused, and never printed
    (the repr names the fields given, not their values)."""

    def __repr__(self) -> str:
        given = [name for name in self.__struct_fields__ if getattr(self, name) is not None]
        return f"{type(self).__name__}({', '.join(name + '=...' for name in given)})"


class NoCredentials(Credentials):
    pass


class PageRequest(msgspec.Struct, frozen=True, kw_only=True):
    """Which page to read. ``state`` is the provider's own position (a
    cursor, a page number, an offset...), exactly as the provider returned
    it in ``Page.next``/``Page.prev``; None means the first page."""

    limit: int
    state: dict[str, Any] | None = None
    query: dict[str, str] = msgspec.field(default_factory=dict)


class Page(msgspec.Struct, kw_only=True):
    """Raw customers in the provider's stable order, and where to go next.

    ``next`` is None exactly on the last page; ``prev`` is None where the
    provider cannot go back (never a guess). An item may be the provider's
    ``payload_type`` instead when the call keeps no raw (CallRecord.keep_raw)."""

    items: list[Any]
    next: dict[str, Any] | None = None
    prev: dict[str, Any] | None = None


class MappedPage(msgspec.Struct, kw_only=True):
    raws: list[dict[str, Any] | None]  # None: not kept (CallRecord.keep_raw)
    customers: list[Customer]
    next: dict[str, Any] | None = None
    prev: dict[str, Any] | None = None


class Provider(Generic[C, S]):
    """``class AcmeProvider(Provider[AcmeCredentials, AcmeSettings])`` names
    the two Structs once: parsed into (``credentials_type``,
    ``settings_type``) and typed as ``self.credentials``/``self.settings``."""

    name: ClassVar[str]
    display_name: ClassVar[str]
    credentials_type: ClassVar[type[msgspec.Struct]] = NoCredentials
    settings_type: ClassVar[type[msgspec.Struct]] = CommonSettings
    # Other credential shapes the provider takes (an OAuth install's grant).
    credentials_alternatives: ClassVar[tuple[type[msgspec.Struct], ...]] = ()
    credentials: C
    settings: S
    default_origin: ClassVar[str] = ""
    default_auth_origin: ClassVar[str] = ""  # of an OAuth token endpoint (OAuthSettings.auth_url replaces it)
    # Settings that decide where the credentials go: the origins they are sent
    # to and which store they open there. Changing one needs the credentials
    # given again, so that whoever may edit a connection cannot redirect
    # credentials it never saw (a merchant typed them through Connect).
    destination_settings: ClassVar[frozenset[str]] = frozenset({"base_url", "auth_url"})
    retry_policy: ClassVar[RetryPolicy] = RetryPolicy()
    # How the platform's error answers read (providers.error_table); a
    # provider that states none gets the default rows under its name.
    errors: ClassVar[ErrorTable]
    # The customer payload as the mapping reads it (a msgspec Struct).
    payload_type: ClassVar[Any] = dict
    remote_query_supported: ClassVar[bool] = True
    # How the platform reads query names: "php" for PHP platforms, which
    # rewrite them (see providers.query_names); None reads them verbatim.
    query_names: ClassVar[QueryNames | None] = None
    # When set, the only names (as the platform reads them, exact case) a
    # client may forward: the platform's documented read filters.
    remote_query_allowed: ClassVar[frozenset[str] | None] = None
    # remote_query: names a client may not forward (auth, ids, paging, anything
    # that changes which resource or tenant is read). Lower-case; a name is
    # also denied when its base before ':', '[' or '.' is ("id:in" by "id").
    remote_query_denied: ClassVar[frozenset[str]] = frozenset(
        {
            "id", "ids", "include", "exclude", "page", "per_page", "limit", "offset", "cursor",
            "after", "before", "sort", "order", "orderby", "access_token", "token", "key",
            "api_key", "consumer_key", "consumer_secret", "oauth_consumer_key", "oauth_token",
            "oauth_signature", "client_id", "client_secret", "tenant", "organization_id",
            "rest_route", "_method", "_envelope", "_jsonp", "callback",
        }
    )

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "errors" not in cls.__dict__ and "display_name" in cls.__dict__:
            cls.errors = ErrorTable(cls.display_name)
        for base in cls.__dict__.get("__orig_bases__", ()):
            types = get_args(base) if get_origin(base) is Provider else ()
            if all(isinstance(t, type) for t in types) and len(types) == 2:
                cls.credentials_type, cls.settings_type = types

    def __init__(
        self,
        credentials: msgspec.Struct,
        settings: msgspec.Struct,
        http: UpstreamClient | None,
        tokens: TokenStore | None = None,
    ) -> None:
        self.credentials = credentials
        self.settings = settings
        self.http = http
        self.tokens = tokens
        self.auth = self.make_auth()

    # -- configuration -------------------------------------------------------

    @classmethod
    def destination(cls, settings: Mapping[str, Any]) -> dict[str, Any]:
        """The values of ``destination_settings`` in raw ``settings``,
        normalised when they parse (one store_url written two ways is one
        destination), as given when they do not."""
        try:
            parsed = _convert(dict(settings), cls.settings_type, "settings")
        except ConfigurationError:
            return {name: settings.get(name) for name in cls.destination_settings}
        return {name: getattr(parsed, name, None) for name in cls.destination_settings}

    @classmethod
    def parse_config(
        cls, credentials: Any, settings: Any
    ) -> tuple[msgspec.Struct, msgspec.Struct]:
        """Validate raw credentials/settings; ConfigurationError on mismatch."""
        return (
            _convert(credentials, cls.credentials_form(credentials), "credentials"),
            _convert(settings if settings is not None else {}, cls.settings_type, "settings"),
        )

    @classmethod
    def credentials_form(cls, credentials: Any) -> type[msgspec.Struct]:
        """The Struct raw credentials are in: ``credentials_type`` (what the
        connect form asks for), or the first of ``credentials_alternatives``
        (an OAuth install's) holding every field given when it does not."""
        if isinstance(credentials, dict) and cls.credentials_alternatives:
            given = set(credentials)
            if not given <= set(cls.credentials_type.__struct_fields__):
                for form in cls.credentials_alternatives:
                    if given <= set(form.__struct_fields__):
                        return form
        return cls.credentials_type

    @property
    def origin(self) -> str:
        return getattr(self.settings, "base_url", None) or self.default_origin

    @property
    def auth_origin(self) -> str:
        return getattr(self.settings, "auth_url", None) or self.default_auth_origin

    @classmethod
    def remote_query_refusal(cls, name: str) -> str | None:
        """Why ``remote_query[name]`` may not be forwarded, or None. The
        lists are checked against the name as the platform will read it, so
        a spelling the platform rewrites cannot slip past them."""
        read = read_name(name, cls.query_names)
        if read is None:
            return f"{cls.display_name} would drop a parameter named {name!r}"
        if read != as_sent(name, cls.query_names):
            # Refused even when harmless: what we check must be what it reads.
            return f"{name!r} reaches {cls.display_name} as {read!r}; only names it reads as sent are forwarded"
        lowered = read.lower()
        base = re.split(r"[:\[.]", lowered, maxsplit=1)[0]
        if lowered in cls.remote_query_denied or base in cls.remote_query_denied:
            return f"{name!r} cannot be forwarded to {cls.display_name}"
        if cls.remote_query_allowed is not None and read not in cls.remote_query_allowed:
            allowed = ", ".join(sorted(cls.remote_query_allowed))
            return f"{name!r} cannot be forwarded to {cls.display_name} (it takes: {allowed})"
        return None

    # -- hooks ---------------------------------------------------------------

    def valid_customer_id(self, customer_id: str) -> bool:
        return bool(customer_id) and len(customer_id) <= 128

    def make_auth(self) -> Auth:
        """The auth strategy for these credentials (see providers.auth)."""
        return Auth()

    def request_headers(self) -> dict[str, str]:
        """Headers every request to the platform carries, besides auth."""
        return {}

    @property
    def api_root(self) -> str:
        """What a relative path in ``send`` is appended to."""
        return self.origin

    def api_root_for(self, used: Any) -> str:
        """``api_root`` for a request carrying the proof ``used`` (what
        ``auth.apply`` returned): Zoho's access token names its API domain."""
        return self.api_root

    async def fetch_customer(
        self, customer_id: str, query: Mapping[str, str] | None = None
    ) -> dict[str, Any]:
        """The raw customer. ``query`` (already checked against
        ``remote_query_denied``) is added to the main request's query string."""
        raise NotImplementedError

    async def list_customers(self, request: PageRequest) -> Page:
        """One page of raw customers, ``request.limit`` of them unless the
        store has no more (see providers.paging for the strategies)."""
        raise NotImplementedError

    @classmethod
    def map_customer(cls, raw: dict[str, Any]) -> Customer:
        """The unified customer: ``raw`` decoded into ``payload_type`` (the
        fields the mapping reads, typed), then ``map_payload``. A missing or
        mistyped field raises msgspec.ValidationError naming its JSON path."""
        return cls.map_payload(msgspec.convert(raw, cls.payload_type))

    @staticmethod
    def map_payload(payload: Any) -> Customer:
        raise NotImplementedError

    async def verify(self) -> None:
        """One cheap live call proving the credentials work (management API)."""
        raise NotImplementedError

    def classify_error(self, response: UpstreamResponse) -> ProviderError:
        """A non-2xx answer as an error, by the provider's ``errors`` table."""
        return self.errors.classify(response, self.redact)

    def basic_auth_pair(self) -> tuple[str, str] | None:
        """``(user, password)`` for providers that authenticate with HTTP Basic."""
        return None

    def basic_auth(self) -> str:
        pair = self.basic_auth_pair()
        assert pair is not None, f"{self.name} does not use HTTP Basic"
        return basic_auth(*pair)

    # -- requests --------------------------------------------------------------

    async def send(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> UpstreamResponse:
        """One authenticated request to ``api_root_for(proof) + path`` (or to
        ``path`` when it is a full URL); after a 401, sent once more if the auth
        strategy renewed its proof."""
        assert self.http is not None
        for attempt in range(2):
            sent_headers = {**self.request_headers(), **(headers or {})}
            sent_params = dict(params or {})
            used = await self.auth.apply(sent_headers, sent_params)
            url = URL(path if path.startswith(("https://", "http://")) else self.api_root_for(used) + path)
            target = url.update_query(sent_params) if sent_params else url  # the URL as sent
            self.auth.sign(method, target, sent_headers)  # a signature covers it (OAuth 1.0a)
            response = await self.http.request(method, target, headers=sent_headers, json=json)
            if response.status != 401 or attempt or not await self.auth.renew(used):
                return response
        return response  # pragma: no cover - the loop always returns

    def read_json(self, response: UpstreamResponse, type_: Any = Any, *, collection: bool = False) -> Any:
        """The 2xx body decoded into ``type_`` (a Struct names the fields it
        needs), or the classified error; a wrong shape is a bad response
        that names the JSON path. ``collection``: the answer of a collection
        every store has (the customer list), where what reads as a missing
        customer is the error table's ``collection`` row instead."""
        if not 200 <= response.status < 300:
            error = self.classify_error(response)
            if collection and isinstance(error, CustomerNotFound):
                error = self.errors.classify(response, self.redact, row=self.errors.collection)
            raise error
        try:
            return msgspec.json.decode(response.body.removeprefix(_UTF8_BOM), type=type_)
        except msgspec.ValidationError as exc:
            raise ProviderBadResponse(
                f"{self.display_name} answered with an unexpected shape: {exc}", remote_status=response.status
            ) from None
        except msgspec.DecodeError:
            raise ProviderBadResponse(
                f"{self.display_name} answered with a body that is not JSON", remote_status=response.status
            ) from None

    async def get_json(
        self, path: str, type_: Any = Any, params: Mapping[str, str] | None = None, *, collection: bool = False
    ) -> Any:
        return self.read_json(await self.send("GET", path, params=params), type_, collection=collection)

    def check_customer_id(self, found: str, customer_id: str) -> None:
        """``found``, the id in the answer as the provider reads it, must be
        the one asked for: a platform that ignored the id (a filter dropped,
        a proxy's cache) answers about someone else, never handed out."""
        if found != customer_id:
            raise ProviderBadResponse(f"{self.display_name} answered with another customer than the one asked for")

    # -- secrets in messages ------------------------------------------------------

    def redact(self, text: str, limit: int | None = 200) -> str:
        """Text from the platform (an error message...) scrubbed of every form
        of this connection's secrets, then cut to ``limit``: scrubbed first,
        so the cut cannot leave half a secret behind."""
        # Every credential value (identifiers too: an app id is harmless to
        # hide and one list cannot forget a secret) and, for Basic, the
        # header's base64 form.
        values = [v for v in msgspec.structs.astuple(self.credentials) if isinstance(v, str)]
        forms, encoded = self.auth.secret_forms()
        values += forms
        if (pair := self.basic_auth_pair()) is not None:
            header = basic_auth(*pair)
            encoded.append(header.removeprefix("Basic "))
            values.append(header)
        return scrub(text, values, encoded)[:limit]

    def _scrubbed(self, exc: ProviderError) -> ProviderError:
        """The error with its message scrubbed: the net under every message a
        provider builds, whatever it quoted."""
        exc.message = self.redact(exc.message, limit=None)
        exc.args = (exc.message,)
        return exc

    # -- the template method -------------------------------------------------

    async def get_customer(
        self, customer_id: str, query: Mapping[str, str] | None = None
    ) -> tuple[dict[str, Any] | None, Customer]:
        """The raw customer and its mapping. The raw is None when the call's
        record says it is not kept and the provider decoded the answer
        straight into its ``payload_type`` (``fetch_customer`` returned one)."""
        if not self.valid_customer_id(customer_id):
            raise CustomerNotFound(f"no {self.display_name} customer has id {customer_id!r}")
        calls.current().provider = self.name
        raw = await self._guarded(
            lambda: with_retries(
                lambda: self.fetch_customer(customer_id, query) if query else self.fetch_customer(customer_id),
                self.retry_policy,
            )
        )
        return self._kept(raw), self._mapped(raw, "a customer")

    async def list_page(self, request: PageRequest) -> "MappedPage":
        """A page of raw customers with their unified mapping."""
        calls.current().provider = self.name
        page = await self._guarded(lambda: with_retries(lambda: self.list_customers(request), self.retry_policy))
        customers = [self._mapped(raw, f"customer {i + 1} of a page") for i, raw in enumerate(page.items)]
        raws = [self._kept(raw) for raw in page.items]
        return MappedPage(raws=raws, customers=customers, next=page.next, prev=page.prev)

    def _typed(self, raw: Any) -> bool:
        """Whether ``raw`` is the provider's payload Struct (decoded straight
        into it: the call keeps no raw) rather than the platform's JSON."""
        return isinstance(raw, msgspec.Struct) and isinstance(raw, self.payload_type)

    def _kept(self, raw: Any) -> dict[str, Any] | None:
        return None if self._typed(raw) else raw

    def _mapped(self, raw: Any, what: str) -> Customer:
        try:
            if self._typed(raw):
                return self.map_payload(raw)
            return self.map_customer(raw)
        except msgspec.ValidationError as exc:
            # Names the JSON path and the types, never a value.
            raise ProviderBadResponse(
                f"{self.display_name} answered with {what} of an unexpected shape: {exc}"
            ) from None
        except (KeyError, TypeError, ValueError, AttributeError):
            raise ProviderBadResponse(f"{self.display_name} answered with {what} of an unexpected shape") from None

    async def verify_credentials(self) -> None:
        """``verify``, its failures handled like those of reads."""
        await self._guarded(self.verify)

    async def _guarded(self, call: Callable[[], Awaitable[T]]) -> T:
        """Every call into the hooks: errors leave scrubbed of the secrets."""
        try:
            return await call()
        except ProviderError as exc:
            raise self._scrubbed(exc) from exc.__cause__
        except RecursionError:
            # JSON nested past what the decoder recurses through: any store
            # can send it (a self-hosted WooCommerce is anyone's).
            raise ProviderBadResponse(
                f"{self.display_name} answered with JSON nested too deeply"
            ) from None

    def ok_json(self, response: UpstreamResponse) -> Any:
        """The JSON body of a 2xx response, or the classified error."""
        return self.read_json(response)


def _convert(value: Any, type_: type[msgspec.Struct], what: str) -> msgspec.Struct:
    if not isinstance(value, dict):
        raise ConfigurationError(f"{what} must be a JSON object")
    try:
        return msgspec.convert(value, type_)
    except msgspec.ValidationError as exc:
        raise ConfigurationError(f"{what}: {exc}") from None
