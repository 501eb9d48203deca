"""The collection's plugins for unit tests, imported from this checkout by their collection
names (``ansible_collections.zkops.zookeeper34.plugins.*``), as Ansible and AnsiballZ import them:
.collections/ansible_collections/zkops/zookeeper34 links back to the checkout, and pytest.ini puts
.collections on the path."""

from __future__ import annotations

import importlib
import importlib.util
import sys
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


def load(name: str, path: Path) -> ModuleType:
    """The Python file at `path`, imported as `name` (a copy of its own)."""
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def plugin(kind: str, name: str) -> ModuleType:
    """plugins/<kind>/<name>.py by its collection name: module_utils("zookeeper_4lw") is
    ansible_collections.zkops.zookeeper34.plugins.module_utils.zookeeper_4lw."""
    return importlib.import_module(f"{PACKAGE}.plugins.{kind}.{name}")


def role_module(name: str, as_name: str | None = None) -> ModuleType:
    """plugins/modules/<name>.py; with `as_name`, a copy of its own under that name (its
    module_utils imported by their collection names)."""
    if as_name:
        return load(as_name, MODULES / f"{name}.py")
    return plugin("modules", name)


def module_util(name: str) -> ModuleType:
    return plugin("module_utils", name)


def filter_code(name: str) -> ModuleType:
    """plugins/plugin_utils/<name>.py, the code behind the zookeeper role's filters."""
    return plugin("plugin_utils", name)
