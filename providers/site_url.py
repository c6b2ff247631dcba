"""A self-hosted store's site URL: wherever its merchant installed it.

WooCommerce today; Magento, PrestaShop and Shopware installs take the same
kind of setting (reference/providers.md, "TLS/base URLs"): any host, http(s),
often in a sub-directory (``https://example.com/shop``). One normal form, so
that one store typed two ways is one destination (``Provider.destination``),
and refusals that never echo the value (a typed URL may hold a password).
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from yarl import URL

from .base import valid_host_name

_URL_TEXT = re.compile(r"[^\s\x00-\x1f\x7f]{1,2048}")
_DOT_SEGMENTS = frozenset({".", "..", "%2e", "%2E", "%2e%2e", "%2E%2E"})


def site_url(value: str, field: str, example: str = "https://example.com/shop") -> str:
    """``value`` as ``scheme://host[:port][/sub/dir]`` (host lower-cased and
    IDNA-encoded, empty segments and the trailing slash dropped), or a
    ValueError naming ``field``. Plain http passes here: the UpstreamClient's
    policy decides whether it may be used."""
    if not _URL_TEXT.fullmatch(value):
        raise ValueError(f"{field} must be an http(s) URL without spaces, e.g. {example}")
    try:
        url = URL(value)
        scheme, host, port = url.scheme, url.host, url.port  # port raises on a bad one
    except (ValueError, TypeError):
        raise ValueError(f"{field} is not a valid URL") from None
    if scheme not in ("http", "https") or not host or port is None:
        raise ValueError(f"{field} must be an http(s) URL with a host, e.g. {example}")
    if not valid_host_name(url):
        raise ValueError(f"{field} has a host name that is not valid (empty or over-long labels)")
    if url.raw_user is not None or url.raw_password is not None:
        raise ValueError(f"{field} must not contain a user name or password")
    if "?" in value or "#" in value:
        raise ValueError(f"{field} must not have a query string or fragment")
    # yarl resolves dot segments away; look at the text as typed.
    if any(s in _DOT_SEGMENTS for s in urlsplit(value).path.split("/")):
        raise ValueError(f"{field} must not contain '.' or '..' path segments")
    return str(url.origin()) + "".join("/" + s for s in url.raw_path.split("/") if s)


def site_origin(store_url: str) -> str:
    """The ``scheme://host[:port]`` of a normalised site URL."""
    return str(URL(store_url).origin())


def site_path(store_url: str) -> str:
    """The sub-directory of a normalised site URL (``""`` at the root)."""
    return URL(store_url).raw_path.rstrip("/")


def has_segment(store_url: str, names: frozenset[str]) -> bool:
    """Whether a path segment of a normalised site URL is one of ``names``
    (lower case), in any case: an API or admin URL given for the site's."""
    return any(segment.lower() in names for segment in URL(store_url).raw_path.split("/"))
