"""A provider from another distribution: built here from its own
pyproject.toml (one ``shoprelay.providers`` entry point, one module with a
Provider subclass), installed into a temporary directory and found through
the entry point like the built-in ones, by the registry, the CLI and the
service. Nothing is installed into the venv, and the tests that follow do
not see it. A plugin that fails to import does not take the service down."""

import importlib.util
import json
import os
import textwrap

import pytest

from providers import registry
from tests.cli_runner import run_cli
from tests.harness import running_app
from tests.plugins import build, on_path, write_installed

PYPROJECT = """
[build-system]
requires = ["setuptools>=61"]
build-backend = "setuptools.build_meta"

[project]
name = "shoprelay-ledger"
version = "0.1.0"
dependencies = ["shoprelay"]

[project.entry-points."shoprelay.providers"]
ledger = "shoprelay_ledger:LedgerProvider"

[tool.setuptools]
py-modules = ["shoprelay_ledger"]
"""

MODULE = '''
"""A provider shipped outside shoprelay; its store is a dict."""

from typing import Annotated, Any

import msgspec

from providers.base import CommonSettings, Provider, is_numeric_id
from providers.errors import CustomerNotFound
from providers.models import Customer

CUSTOMERS = {"7": {"number": 7, "mail": "ada@example.com", "given": "Ada", "family": "Lovelace"}}


class LedgerCredentials(msgspec.Struct, forbid_unknown_fields=True):
    token: Annotated[str, msgspec.Meta(description="the ledger's access token")]


class LedgerSettings(CommonSettings, kw_only=True, forbid_unknown_fields=True):
    book: Annotated[str, msgspec.Meta(description="which book of the ledger to read")] = "main"


class LedgerProvider(Provider):
    name = "ledger"
    display_name = "Ledger"
    credentials_type = LedgerCredentials
    settings_type = LedgerSettings
    remote_query_supported = False

    def valid_customer_id(self, customer_id: str) -> bool:
        return is_numeric_id(customer_id)

    async def fetch_customer(self, customer_id: str) -> dict[str, Any]:
        if customer_id not in CUSTOMERS:
            raise CustomerNotFound(f"no Ledger customer has id {customer_id!r}")
        return {**CUSTOMERS[customer_id], "book": self.settings.book}

    async def verify(self) -> None:
        return None

    @staticmethod
    def map_customer(raw: dict[str, Any]) -> Customer:
        return Customer(
            id=str(raw["number"]), remote_id=str(raw["number"]), email=raw["mail"],
            first_name=raw["given"], last_name=raw["family"],
        )
'''


@pytest.fixture(scope="module")
def ledger_site(tmp_path_factory):
    """shoprelay-ledger built and installed (pip --target) once for the module."""
    if importlib.util.find_spec("setuptools") is None:  # as tests/test_packaging.py
        pytest.skip("setuptools is needed to build the plugin")
    source = tmp_path_factory.mktemp("shoprelay-ledger")
    (source / "pyproject.toml").write_text(PYPROJECT, encoding="utf-8")
    (source / "shoprelay_ledger.py").write_text(textwrap.dedent(MODULE), encoding="utf-8")
    site = tmp_path_factory.mktemp("site")
    build(source, site)
    assert (site / "shoprelay_ledger.py").is_file()
    return site


@pytest.fixture
def ledger(ledger_site):
    with on_path(ledger_site):
        yield
    assert "ledger" not in registry.names()


def test_the_registry_lists_it_beside_the_built_in_ones(ledger):
    assert "ledger" in registry.names() and {"sandbox", "shopify"} < set(registry.names())
    cls = registry.get("ledger")
    assert cls.__module__ == "shoprelay_ledger" and cls.display_name == "Ledger"


def test_providers_list_describes_it(ledger, tmp_path):
    result = run_cli("providers", "list", env=dict(os.environ), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    data = {p["name"]: p for p in json.loads(result.stdout)["data"]}
    assert set(data) == set(registry.names())
    assert data["ledger"]["display_name"] == "Ledger"
    assert data["ledger"]["credentials"] == [
        {"name": "token", "type": "string", "required": True, "help": "the ledger's access token"}]
    assert [f["name"] for f in data["ledger"]["settings"]] == ["book", "base_url"]


async def test_a_connection_on_it_serves_customers(ledger, tmp_path):
    async with running_app(tmp_path) as api:
        tenant = await api.tenant()
        headers = {"x-api-key": tenant.api_key}
        refused = await api.client.post("/connections", headers=headers,
                                        json={"provider": "ledger", "credentials": {"key": "x"}})
        assert refused.status_code == 400 and "credentials" in refused.json()["detail"]
        created = await api.client.post("/connections", headers=headers, json={
            "provider": "ledger", "credentials": {"token": "t0k"}, "settings": {"book": "2026"}})
        assert created.status_code == 201, created.text
        token = created.json()["connection_token"]

        found = await api.get_customer(tenant, token, "7", remote_data="true")
        assert found.status_code == 200, found.text
        body = found.json()
        assert (body["id"], body["email"], body["first_name"]) == ("7", "ada@example.com", "Ada")
        assert body["remote_data"] == {"number": 7, "mail": "ada@example.com", "given": "Ada",
                                       "family": "Lovelace", "book": "2026"}
        missing = await api.get_customer(tenant, token, "8")
        assert missing.status_code == 404

        document = (await api.client.get("/openapi.json")).json()
        mapping = document["components"]["schemas"]["ConnectionCreate"]["discriminator"]["mapping"]
        assert "ledger" in mapping


async def test_a_plugin_that_fails_to_import_leaves_the_service_up(tmp_path):
    site = tmp_path / "site"
    write_installed(site, "shoprelay-broken", {"broken": "shoprelay_broken:Provider"},
                    {"shoprelay_broken": "import a_module_nobody_installed\n"})
    with on_path(site):
        async with running_app(tmp_path) as api:
            assert (await api.client.get("/openapi.json")).status_code == 200
            tenant = await api.tenant()
            headers = {"x-api-key": tenant.api_key}
            broken = await api.client.post("/connections", headers=headers,
                                           json={"provider": "broken", "credentials": {}})
            assert broken.status_code == 400 and "provider 'broken' is unavailable" in broken.json()["detail"]
            _, token = await api.connection(tenant, "sandbox", {})
            assert (await api.get_customer(tenant, token, "1")).status_code == 200
