"""The installed distribution carries every module of the source tree and
declares every provider.

The tests run against an editable install, which finds modules in the tree
whatever the packaging says; the README's start command installs a wheel.
A subpackage missing from the wheel once broke ``shoprelay serve``. The
providers are the ``shoprelay.providers`` entry points (providers/registry.py):
pyproject.toml declares them, the installed metadata is what is read."""

import configparser
import importlib.util
import pathlib
import subprocess
import sys
import tomllib
import zipfile
from importlib.metadata import distribution

import pytest

from providers import registry

ROOT = pathlib.Path(__file__).resolve().parent.parent
PACKAGES = ("proxy", "providers", "keys")
DATA_SUFFIXES = {".html", ".css", ".js"}


@pytest.mark.skipif(importlib.util.find_spec("setuptools") is None, reason="setuptools is needed to build the wheel")
def test_the_wheel_holds_every_module(tmp_path):
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(tmp_path), str(ROOT)],
        check=True, capture_output=True, cwd=tmp_path,
    )
    (wheel,) = tmp_path.glob("shoprelay-*.whl")
    shipped = set(zipfile.ZipFile(wheel).namelist())
    sources = {
        path.relative_to(ROOT).as_posix()
        for package in PACKAGES
        for path in (ROOT / package).rglob("*.py")
        if "__pycache__" not in path.parts
    }
    assert sources, "no sources found"
    assert sources - shipped == set()
    # Files read at run time that are not modules (the connect page's
    # templates and assets) ship too: package-data in pyproject.toml.
    data = {
        path.relative_to(ROOT).as_posix()
        for package in PACKAGES
        for path in (ROOT / package).rglob("*")
        if path.suffix in DATA_SUFFIXES and path.is_file() and "__pycache__" not in path.parts
    }
    assert {"proxy/connect/templates/form.html", "proxy/connect/static/connected.js"} <= data
    assert data - shipped == set()
    entry_points = next(name for name in shipped if name.endswith("entry_points.txt"))
    declared = configparser.ConfigParser(delimiters=("=",))
    declared.optionxform = str  # type: ignore[assignment,method-assign]  # names keep their case
    declared.read_string(zipfile.ZipFile(wheel).read(entry_points).decode())
    assert dict(declared["console_scripts"]) == {"shoprelay": "proxy.cli:main"}
    assert dict(declared[registry.ENTRY_POINT_GROUP]) == _providers_in_pyproject()


def _providers_in_pyproject() -> dict[str, str]:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    return pyproject["project"]["entry-points"][registry.ENTRY_POINT_GROUP]


def test_the_installed_package_declares_every_provider_of_pyproject():
    """The editable install's metadata is what the registry reads; a line
    added to pyproject.toml counts only once the package is installed again."""
    installed = {
        ep.name: ep.value for ep in distribution("shoprelay").entry_points
        if ep.group == registry.ENTRY_POINT_GROUP
    }
    assert installed == _providers_in_pyproject(), "reinstall: pip install -e '.[test]'"
    assert registry.names() == sorted(installed)
