"""The role's modules imported from library/ for unit tests, with the module_util they import
(`ansible.module_utils.zookeeper_4lw`) loaded from module_utils/ first."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

ROLE = Path(__file__).resolve().parent.parent
LIBRARY = ROLE / "library"
MODULE_UTILS = {"ansible.module_utils.zookeeper_4lw": ROLE / "module_utils" / "zookeeper_4lw.py",
                "ansible.module_utils.zookeeper_systemd":
                    ROLE / "module_utils" / "zookeeper_systemd.py",
                "ansible.module_utils.zookeeper_client":
                    ROLE / "module_utils" / "zookeeper_client.py",
                "ansible.module_utils.zookeeper_nofollow":
                    ROLE / "module_utils" / "zookeeper_nofollow.py"}


def load(name: str, path: Path) -> ModuleType:
    """The Python file at `path`, imported as `name`."""
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def role_module(name: str, as_name: str | None = None) -> ModuleType:
    """library/<name>.py, imported as `as_name` (default: its own name)."""
    for util, path in MODULE_UTILS.items():
        if util not in sys.modules:
            load(util, path)
    return load(as_name or name, LIBRARY / f"{name}.py")
