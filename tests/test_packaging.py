"""The installed distribution carries every module of the source tree.

The tests run against an editable install, which finds modules in the tree
whatever the packaging says; the README's start command installs a wheel.
A subpackage missing from the wheel once broke ``shoprelay serve``."""

import importlib.util
import pathlib
import subprocess
import sys
import zipfile

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
PACKAGES = ("proxy", "providers", "keys")


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
    entry_points = next(name for name in shipped if name.endswith("entry_points.txt"))
    assert "shoprelay = proxy.cli:main" in zipfile.ZipFile(wheel).read(entry_points).decode()
