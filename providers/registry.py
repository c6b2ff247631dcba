"""Which provider class answers to which name.

The list is the ``shoprelay.providers`` entry-point group and nothing else:
the built-in providers are declared in shoprelay's own pyproject.toml, a
third-party provider in its own distribution's (``name = "package.module:Class"``).
shoprelay is always installed (editable in development, a wheel in the image),
so its own entry points are always there; entry points are read from the
installed metadata, so a line added to pyproject.toml counts once the package
is installed again (``pip install -e .``).

A plugin that fails to load (an import error, a target that is not a
Provider) is left out with one logged warning rather than taking the service
down with it; asking for it by name then fails like an unknown name.
"""

from __future__ import annotations

import functools
import importlib
import logging
import traceback
from importlib.metadata import EntryPoint, entry_points

from .base import Provider

ENTRY_POINT_GROUP = "shoprelay.providers"
OWN_DISTRIBUTION = "shoprelay"

log = logging.getLogger("shoprelay.providers")


class UnknownProvider(LookupError):
    pass


@functools.cache
def _declared() -> dict[str, EntryPoint]:
    """Every entry point of the group by name. A name declared twice goes to
    shoprelay's own declaration if it is one of them (a plugin cannot take
    over a built-in name), else to the first found."""
    found: dict[str, EntryPoint] = {}
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        kept = found.setdefault(ep.name, ep)
        if kept is ep:
            continue
        if _distribution(ep) == OWN_DISTRIBUTION:
            found[ep.name], ep = ep, kept  # ep: the one left out
        log.warning(
            "provider %r is declared twice: %s (from %s) is used, %s (from %s) ignored",
            ep.name, found[ep.name].value, _distribution(found[ep.name]), ep.value, _distribution(ep),
        )
    return found


@functools.cache
def _loaded() -> dict[str, type[Provider] | str]:
    """Name -> its Provider class, or why it could not be used."""
    return {name: _load(ep) for name, ep in sorted(_declared().items())}


def _load(ep: EntryPoint) -> type[Provider] | str:
    try:
        module = importlib.import_module(ep.module)
    except Exception as exc:  # a plugin's import can fail in any way
        problem = f"could not be imported: {_describe(exc)}"
    else:
        cls = functools.reduce(lambda obj, attr: getattr(obj, attr, None), (ep.attr or "").split("."), module)
        if cls is None:
            problem = f"names nothing: {ep.module} has no {ep.attr!r}"
        elif not (isinstance(cls, type) and issubclass(cls, Provider)):
            problem = "is not a shoprelay Provider subclass"
        elif getattr(cls, "name", None) != ep.name:
            # Connections, mappings and `providers list` all use the
            # entry-point name; a class answering to another would split them.
            problem = f"is a Provider named {getattr(cls, 'name', None)!r}, not {ep.name!r}"
        else:
            return cls
    reason = f"{ep.value} (from {_distribution(ep)}) {problem}"
    log.warning("provider %r skipped: %s", ep.name, reason)
    return reason


def _describe(exc: Exception) -> str:
    """The error's type and where it was raised; not its message, which a
    plugin may have filled with anything (a setting, a key), except the
    missing module's name, which is what an operator needs."""
    if isinstance(exc, ModuleNotFoundError) and exc.name:
        return f"ModuleNotFoundError: no module named {exc.name!r}"
    if isinstance(exc, SyntaxError):  # raised from the import system's frames
        return f"{type(exc).__name__} at {exc.filename}:{exc.lineno}"
    frames = traceback.extract_tb(exc.__traceback__)
    where = f" at {frames[-1].filename}:{frames[-1].lineno}" if frames else ""
    return f"{type(exc).__name__}{where}"


def _distribution(ep: EntryPoint) -> str:
    return ep.dist.name if ep.dist is not None else "an unknown distribution"


def names() -> list[str]:
    """The providers that can be used, sorted."""
    return [name for name, cls in _loaded().items() if not isinstance(cls, str)]


def get(name: str) -> type[Provider]:
    cls = _loaded().get(name)
    if cls is None and not _declared():
        # Run from a source tree that was never installed: no metadata.
        raise UnknownProvider(
            f"unknown provider {name!r}: no provider is installed (none declares the "
            f"{ENTRY_POINT_GROUP!r} entry point); install shoprelay, e.g. pip install -e ."
        )
    if cls is None:
        raise UnknownProvider(f"unknown provider {name!r}; known: {', '.join(names())}")
    if isinstance(cls, str):
        raise UnknownProvider(f"provider {name!r} is unavailable: {cls}")
    return cls


def clear_caches() -> None:
    """Read the entry points again (after installing or removing a plugin)."""
    _declared.cache_clear()
    _loaded.cache_clear()
