"""Every installed provider has a fake, found by its name: a module
``tests/fakes/<name>.py`` defining ``FAKE``, or, for a provider from another
distribution, a ``shoprelay.fakes`` entry point."""

from __future__ import annotations

import importlib

import pytest

from providers import registry
from tests.contract import WITHOUT_UPSTREAM
from tests.fakes import Fake, NoFake, fake_for


def test_every_installed_provider_has_a_fake():
    missing = []
    for name in registry.names():
        if name in WITHOUT_UPSTREAM:
            continue
        try:
            fake = fake_for(name)
        except NoFake as exc:
            missing.append(str(exc))
            continue
        assert issubclass(fake, Fake) and fake.provider == name
    assert not missing, "\n".join(missing)


def test_each_exclusion_names_an_installed_provider():
    assert set(WITHOUT_UPSTREAM) <= set(registry.names())  # no stale exclusion hides a provider


def test_an_unknown_provider_has_no_fake_and_says_where_one_goes():
    with pytest.raises(NoFake, match="tests/fakes/nowhere.py"):
        fake_for("nowhere")


def test_a_third_party_fake_is_found_by_its_entry_point(tmp_path, monkeypatch):
    (tmp_path / "acme_fake.py").write_text(
        "from tests.fakes import Fake\n\n\nclass AcmeFake(Fake):\n    provider = 'acme'\n"
    )
    dist = tmp_path / "acme_fake-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: acme-fake\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[shoprelay.fakes]\nacme = acme_fake:AcmeFake\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.invalidate_caches()
    fake = fake_for("acme")
    assert fake.__name__ == "AcmeFake" and fake.provider == "acme"
