"""The registry: the ``shoprelay.providers`` entry points are the list of
providers. A plugin that cannot be used is left out with a warning, and
cannot take a built-in provider's name."""

import logging
import pathlib
import tomllib

import pytest

from providers import registry
from providers.base import Provider
from providers.sandbox import SandboxProvider
from tests.plugins import on_path, write_installed

PYPROJECT = pathlib.Path(__file__).resolve().parents[2] / "pyproject.toml"
BUILT_IN = sorted(tomllib.loads(PYPROJECT.read_text())["project"]["entry-points"][registry.ENTRY_POINT_GROUP])
SECRET = "sk_live_plugin_secret_value"

BROKEN = f'''"""A plugin that fails on import."""
raise RuntimeError("cannot start: token {SECRET}")
'''

ODD = '''
from providers.base import Provider


class NotAProvider:
    name = "plain"


class Misnamed(Provider):
    name = "something_else"
    display_name = "Misnamed"
'''

IMPOSTOR = '''
from providers.base import Provider


class FakeSandbox(Provider):
    name = "sandbox"
    display_name = "Not the sandbox"
'''


def test_the_built_in_providers_are_the_entry_points():
    assert {"sandbox", "shopify", "woocommerce"} < set(BUILT_IN)
    assert registry.names() == BUILT_IN
    for name in BUILT_IN:
        cls = registry.get(name)
        assert issubclass(cls, Provider) and cls.name == name


def test_an_unknown_name_is_refused_naming_the_known_ones():
    with pytest.raises(registry.UnknownProvider, match="unknown provider 'acme_shop'; known: bigcommerce, "):
        registry.get("acme_shop")


def test_plugins_that_cannot_be_used_are_skipped_with_a_warning(tmp_path, caplog):
    write_installed(
        tmp_path, "broken-plugins",
        {
            "crashing": "broken_plugin:Provider",
            "missing": "no_such_plugin_module:Provider",
            "plain": "odd_plugin:NotAProvider",
            "absent": "odd_plugin:NoSuchClass",
            "misnamed": "odd_plugin:Misnamed",
            "garbled": "garbled_plugin:Provider",
        },
        {"broken_plugin": BROKEN, "odd_plugin": ODD, "garbled_plugin": f"token = {SECRET!r} +\n"},
    )
    caplog.set_level(logging.WARNING, logger="shoprelay.providers")
    with on_path(tmp_path):
        # The service goes on with every provider that loads.
        assert registry.names() == BUILT_IN
        assert registry.get("sandbox") is SandboxProvider
        warnings = {record.getMessage() for record in caplog.records if record.levelno == logging.WARNING}
        assert len(warnings) == 6
        for name, why in [
            ("crashing", f"could not be imported: RuntimeError at {tmp_path / 'broken_plugin.py'}:2"),
            ("missing", "could not be imported: ModuleNotFoundError: no module named 'no_such_plugin_module'"),
            ("plain", "is not a shoprelay Provider subclass"),
            ("absent", "names nothing: odd_plugin has no 'NoSuchClass'"),
            ("misnamed", "is a Provider named 'something_else', not 'misnamed'"),
            ("garbled", f"could not be imported: SyntaxError at {tmp_path / 'garbled_plugin.py'}:1"),
        ]:
            assert any(w.startswith(f"provider {name!r} skipped: ") and "(from broken-plugins)" in w and why in w
                       for w in warnings), (name, warnings)
            with pytest.raises(registry.UnknownProvider) as refused:
                registry.get(name)
            assert str(refused.value).startswith(f"provider {name!r} is unavailable: ") and why in str(refused.value)
        # The exception's message can hold anything the plugin put there.
        assert SECRET not in caplog.text
    assert registry.names() == BUILT_IN


def test_a_plugin_cannot_take_a_built_in_name(tmp_path, caplog):
    write_installed(tmp_path, "impostor", {"sandbox": "impostor_plugin:FakeSandbox"}, {"impostor_plugin": IMPOSTOR})
    caplog.set_level(logging.WARNING, logger="shoprelay.providers")
    with on_path(tmp_path):  # found before shoprelay on sys.path, still not used
        assert registry.get("sandbox") is SandboxProvider
        assert registry.names() == BUILT_IN
    assert "provider 'sandbox' is declared twice: providers.sandbox:SandboxProvider (from shoprelay) is used, " \
           "impostor_plugin:FakeSandbox (from impostor) ignored" in caplog.text
