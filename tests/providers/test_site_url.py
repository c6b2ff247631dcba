"""providers.site_url: a self-hosted store's site URL in one normal form,
and the check that it is the site's URL, not an API or admin URL under it."""

import pytest

from providers.site_url import has_segment, site_origin, site_path, site_url


@pytest.mark.parametrize("typed, normal", [
    ("https://Example.com/shop/", "https://example.com/shop"),
    ("https://example.com//shop//sub", "https://example.com/shop/sub"),
    ("http://example.com:8080", "http://example.com:8080"),
])
def test_one_store_typed_two_ways_is_one_url(typed, normal):
    assert site_url(typed, "store_url") == normal
    assert site_origin(normal) + site_path(normal) == normal


@pytest.mark.parametrize("url, names, found", [
    ("https://example.com/shop/wp-json", frozenset({"wp-json", "wp-admin"}), True),
    ("https://example.com/WP-Admin", frozenset({"wp-json", "wp-admin"}), True),  # any case
    ("https://example.com/shop/REST", frozenset({"rest"}), True),
    ("https://example.com/restaurant", frozenset({"rest"}), False),  # a whole segment, not a prefix
    ("https://example.com", frozenset({"api"}), False),
])
def test_has_segment_matches_whole_segments_in_any_case(url, names, found):
    assert has_segment(url, names) is found


@pytest.mark.parametrize("typed", ["ftp://example.com", "https://user:pw@example.com", "https://example.com/a/../b",
                                   "https://example.com/?q=1"])
def test_refusals_never_echo_the_value(typed):
    with pytest.raises(ValueError) as refused:
        site_url(typed, "store_url")
    assert typed not in str(refused.value)
