"""Query names as PHP reads them (main/php_variables.c), and the provider
check that compares the lists against that reading."""

import pytest

from providers.base import Provider
from providers.query_names import php_query_name


@pytest.mark.parametrize(
    "sent, read",
    [
        ("_method", "_method"),
        (".method", "_method"),
        (" method", "method"),         # leading spaces dropped
        ("  .method", "_method"),
        ("a b.c", "a_b_c"),
        ("x[method", "x_method"),      # an unclosed '[' becomes '_'
        ("a[b.c", "a_b.c"),            # ...and what follows it is not rewritten
        ("a.b[c.d", "a_b_c.d"),
        ("role[]", "role"),            # array syntax: the base name is the key
        ("role[0][x", "role"),
        ("role[a]b", "role"),
        ("rest.route[x]", "rest_route"),
        ("_method\x00junk", "_method"),  # PHP stops at NUL
        ("[method", None),             # empty names are dropped
        ("   ", None),
        ("", None),
    ],
)
def test_php_query_name(sent, read):
    assert php_query_name(sent) == read


class PhpDenyOnly(Provider):
    name = "php-deny-only"
    display_name = "PhpShop"
    query_names = "php"


class Verbatim(Provider):
    name = "verbatim"
    display_name = "Verbatim"


@pytest.mark.parametrize("name", [".method", "x[method", "_method[x]", "per.page", "[id", "ID"])
def test_a_php_provider_refuses_every_spelling(name):
    assert PhpDenyOnly.remote_query_refusal(name) is not None


@pytest.mark.parametrize("name", ["status", "status[]", "date_created:min"])
def test_a_php_provider_forwards_plain_names(name):
    assert PhpDenyOnly.remote_query_refusal(name) is None


def test_a_verbatim_provider_takes_names_as_sent():
    assert Verbatim.remote_query_refusal("a.b") is None
    assert Verbatim.remote_query_refusal("page[size]") is not None  # base "page" is denied
