from __future__ import annotations

import pytest

from tests.contract import PROVIDERS, make_fake
from tests.fakes import Fake


@pytest.fixture(params=PROVIDERS)
def fake(request: pytest.FixtureRequest) -> Fake:
    """Each installed provider's fake upstream, holding the default store."""
    return make_fake(request.param)
