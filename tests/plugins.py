"""Provider plugins for tests: distributions other than shoprelay that declare
``shoprelay.providers`` entry points, made in a temporary directory and on
``sys.path`` for one test only. Nothing is installed into the venv."""

from __future__ import annotations

import contextlib
import importlib
import pathlib
import re
import subprocess
import sys
from typing import Iterator

from providers import registry
from proxy import openapi


def build(source: pathlib.Path, site: pathlib.Path) -> None:
    """Install the project in ``source`` (a pyproject.toml) into the directory
    ``site`` as pip installs it, entry points included: no network (no index,
    no build isolation: the venv's setuptools builds it), no dependencies."""
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", "--no-index",
         "--disable-pip-version-check", "--target", str(site), str(source)],
        check=True, capture_output=True, cwd=source,
    )


def write_installed(site: pathlib.Path, name: str, entry_points: dict[str, str], modules: dict[str, str]) -> None:
    """A distribution as an installer leaves it, written by hand: the
    modules and a ``.dist-info`` with METADATA and entry_points.txt. For
    plugins that could not be built (a module that fails on import)."""
    site.mkdir(parents=True, exist_ok=True)
    for module, source in modules.items():
        (site / f"{module}.py").write_text(source, encoding="utf-8")
    # Named as wheels name it: importlib.metadata reads the name up to the
    # first "-", so "shoprelay-x-0.1.0.dist-info" would pass for shoprelay.
    info = site / f"{re.sub(r'[-_.]+', '_', name)}-0.1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.1.0\n", encoding="utf-8")
    lines = [f"[{registry.ENTRY_POINT_GROUP}]", *(f"{k} = {v}" for k, v in entry_points.items())]
    (info / "entry_points.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")


@contextlib.contextmanager
def on_path(site: pathlib.Path) -> Iterator[None]:
    """``site``'s distributions installed for the block: first on sys.path
    (as a site-packages found before shoprelay's would be), the registry
    read again. Afterwards they are gone for the tests that follow: off the
    path, their modules unloaded, the registry and the OpenAPI document
    (which lists the providers) read again."""
    sys.path.insert(0, str(site))
    _forget()
    try:
        yield
    finally:
        sys.path.remove(str(site))
        for name, module in list(sys.modules.items()):
            if pathlib.Path(getattr(module, "__file__", None) or "/").is_relative_to(site):
                del sys.modules[name]
        _forget()


def _forget() -> None:
    importlib.invalidate_caches()
    registry.clear_caches()
    openapi.document.cache_clear()
