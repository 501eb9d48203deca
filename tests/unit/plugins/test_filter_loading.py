"""The role's one filter file (plugins/filter/zookeeper.py) names every filter of
plugins/plugin_utils/ and imports a module of it only when a task applies one of its filters:
Ansible loads the filter file in every worker process, and most workers apply none of these
filters."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from plugins import COLLECTIONS, PACKAGE, PLUGIN_UTILS, plugin


def test_every_filter_of_plugin_utils_is_named_once_with_its_module() -> None:
    entry = plugin("filter", "zookeeper")
    found: dict[str, str] = {}
    for path in sorted(PLUGIN_UTILS.glob("*.py")):
        for name in plugin("plugin_utils", path.stem).FILTERS:
            assert name not in found, f"{name} is in {found.get(name)}.py and {path.name}"
            found[name] = path.stem
    assert entry.FILTERS == found
    assert set(entry.FilterModule().filters()) == set(found)


PROBE = """
import importlib, json, sys
sys.path.insert(0, sys.argv[1])
entry = importlib.import_module(sys.argv[2] + ".plugins.filter.zookeeper")
prefix = sys.argv[2] + ".plugins.plugin_utils."
loaded = lambda: sorted(m[len(prefix):] for m in sys.modules if m.startswith(prefix))
filters = entry.FilterModule().filters()
before = loaded()
zxid = filters["zookeeper_zxid"]("0x300000012")
after_one = loaded()
try:
    filters["zookeeper_value_problems"]({}, "zookeeper01")
    error = None
except Exception as exc:
    error = type(exc).__name__
print(json.dumps({"before": before, "after_one": after_one, "zxid": zxid,
                  "after_two": loaded(), "error": error}))
"""


def test_a_module_of_plugin_utils_is_loaded_by_the_first_use_of_its_filters_only() -> None:
    out = subprocess.run([sys.executable, "-c", PROBE, str(COLLECTIONS), PACKAGE],
                         capture_output=True, text=True, check=True, timeout=60).stdout
    seen = json.loads(out)
    assert seen["before"] == [], "the filter file loaded plugin_utils before any filter was applied"
    # zookeeper_restore reads the members' settings through zookeeper_ensemble's settings_of.
    assert seen["after_one"] == ["zookeeper_ensemble", "zookeeper_restore"]
    assert seen["zxid"] == (3 << 32) + 0x12
    assert seen["after_two"] == ["zookeeper_ensemble", "zookeeper_restore", "zookeeper_values"]


def test_a_module_that_fails_to_load_is_not_kept_half_loaded(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "broken_filter_code").mkdir()
    (tmp_path / "broken_filter_code" / "zookeeper_values.py").write_text(
        "raise RuntimeError('broken')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    entry = plugin("filter", "zookeeper")
    monkeypatch.setattr(entry, "IMPL", "broken_filter_code")
    apply = entry.FilterModule().filters()["zookeeper_value_problems"]
    for _unused in range(2):  # the second call loads again instead of using a half-run module
        with pytest.raises(RuntimeError, match="broken"):
            apply({}, "zookeeper01")
    assert "broken_filter_code.zookeeper_values" not in sys.modules
