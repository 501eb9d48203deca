"""The collection's plugins for unit tests, imported from this checkout by their collection
names (``ansible_collections.zkops.zookeeper34.plugins.*``), as Ansible and AnsiballZ import them:
.collections/ansible_collections/zkops/zookeeper34 links back to the checkout, and pytest.ini puts
.collections on the path."""

from __future__ import annotations

import importlib
from pathlib import Path
from types import ModuleType

REPO = Path(__file__).resolve().parents[3]
COLLECTIONS = REPO / ".collections"
PACKAGE = "ansible_collections.zkops.zookeeper34"
PLUGINS = REPO / "plugins"
MODULES = PLUGINS / "modules"
MODULE_UTILS = PLUGINS / "module_utils"
PLUGIN_UTILS = PLUGINS / "plugin_utils"
ROLE = REPO / "roles" / "zookeeper"


def plugin(kind: str, name: str) -> ModuleType:
    """plugins/<kind>/<name>.py by its collection name: module_utils("zookeeper_4lw") is
    ansible_collections.zkops.zookeeper34.plugins.module_utils.zookeeper_4lw."""
    return importlib.import_module(f"{PACKAGE}.plugins.{kind}.{name}")


def module(name: str) -> ModuleType:
    """plugins/modules/<name>.py (its module_utils imported by their collection names)."""
    return plugin("modules", name)


def module_util(name: str) -> ModuleType:
    return plugin("module_utils", name)


def filter_code(name: str) -> ModuleType:
    """plugins/plugin_utils/<name>.py, the code behind the zookeeper role's filters."""
    return plugin("plugin_utils", name)
