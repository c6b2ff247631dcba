"""Which provider class answers to which name.

Built-in providers are listed here; third-party ones register under the
``shoprelay.providers`` entry-point group (``name = "package.module:Class"``).
"""

from __future__ import annotations

import importlib
import importlib.util
from functools import lru_cache
from importlib.metadata import entry_points

from .base import Provider

ENTRY_POINT_GROUP = "shoprelay.providers"

BUILTIN = {
    "sandbox": "providers.sandbox:SandboxProvider",
    "shopify": "providers.shopify:ShopifyProvider",
    "bigcommerce": "providers.bigcommerce:BigCommerceProvider",
    "woocommerce": "providers.woocommerce:WooCommerceProvider",
    "wix": "providers.wix:WixProvider",
    "commerce7": "providers.commerce7:Commerce7Provider",
    "zoho_inventory": "providers.zoho_inventory:ZohoInventoryProvider",
}


class UnknownProvider(LookupError):
    pass


@lru_cache(maxsize=None)
def _targets() -> dict[str, str]:
    targets = dict(BUILTIN)
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        targets.setdefault(ep.name, ep.value)
    return targets


def _importable(target: str) -> bool:
    module = target.split(":", 1)[0]
    return importlib.util.find_spec(module) is not None


def names() -> list[str]:
    return sorted(name for name, target in _targets().items() if _importable(target))


@lru_cache(maxsize=None)
def get(name: str) -> type[Provider]:
    target = _targets().get(name)
    if target is None or not _importable(target):
        raise UnknownProvider(f"unknown provider {name!r}; known: {', '.join(names())}")
    module_name, _, attr = target.partition(":")
    cls = getattr(importlib.import_module(module_name), attr)
    if not (isinstance(cls, type) and issubclass(cls, Provider)):
        raise UnknownProvider(f"{target} is not a shoprelay Provider")
    return cls
