"""One fake upstream per platform, found by provider name.

``tests/fakes/<provider>.py`` defines ``FAKE``, the platform's
:class:`~tests.fakes.base.Fake` subclass: adding a platform is adding that
module (the contract suite, tests/contract/, then runs against it). A
provider from another distribution brings its fake the way it brings the
provider: an entry point in the ``shoprelay.fakes`` group, named like the
provider, pointing at the class (``name = "package.module:FakeClass"``).
"""

from __future__ import annotations

import importlib
import importlib.util
from importlib.metadata import entry_points

from .base import API, MISSING, TOTAL, Answer, Fake

__all__ = ["API", "MISSING", "TOTAL", "Answer", "Fake", "ENTRY_POINT_GROUP", "fake_for", "NoFake"]

ENTRY_POINT_GROUP = "shoprelay.fakes"


class NoFake(LookupError):
    pass


def fake_for(provider: str) -> type[Fake]:
    """The fake of ``provider``: ``tests.fakes.<provider>.FAKE``, else the
    ``shoprelay.fakes`` entry point of that name."""
    module_name = f"{__name__}.{provider}"
    if provider.isidentifier() and importlib.util.find_spec(module_name) is not None:
        fake = getattr(importlib.import_module(module_name), "FAKE", None)
        if fake is None:
            raise NoFake(f"{module_name} defines no FAKE")
        return fake
    for entry in entry_points(group=ENTRY_POINT_GROUP, name=provider):
        return entry.load()
    raise NoFake(
        f"provider {provider!r} is installed but has no fake upstream: add tests/fakes/{provider}.py "
        f"defining FAKE, or register one under the {ENTRY_POINT_GROUP!r} entry point"
    )
