"""The module payloads the preload callback keeps between runs
(plugins/plugin_utils/ansiballz_cache.py): a later run sends the kept payloads instead of
building them, and the key moves with any file they are built from."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from plugins import REPO, local_play

PLAY = """
- name: A core module and one of the collection's
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Ping
      ansible.builtin.ping:
    - name: Look at a Java that is not there
      zkops.zookeeper34.java_probe:
        binary: /nonexistent/java
        query: false
"""


def _run(tmp_path: Path, cache_dir: Path) -> str:
    proc = local_play(tmp_path, PLAY, ZKOPS_CACHE_DIR=str(cache_dir),
                      ANSIBLE_CALLBACKS_ENABLED="zkops.zookeeper34.preload", ANSIBLE_DEBUG="1",
                      ANSIBLE_LOCAL_TEMP=str(tmp_path / "local-tmp"))
    return proc.stdout + proc.stderr


def test_a_later_run_sends_the_kept_payloads(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    first = _run(tmp_path, cache)
    assert first.count("ANSIBALLZ: Creating module") == 2
    (key,) = list((cache / "ansiballz").iterdir())
    kept = sorted(path.name.split("-")[0] for path in key.iterdir())
    assert kept == ["ansible.modules.ping",
                    "ansible_collections.zkops.zookeeper34.plugins.modules.java_probe"]
    assert (cache / "ansiballz").stat().st_mode & 0o777 == 0o700
    second = _run(tmp_path, cache)
    assert "ANSIBALLZ: Creating module" not in second
    assert second.count("ANSIBALLZ: using cached module") == 2


def test_the_key_moves_with_the_collections_module_code(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    from ansible_collections.zkops.zookeeper34.plugins.plugin_utils import ansiballz_cache

    copy = tmp_path / "collection"
    for part in ("modules", "module_utils"):
        shutil.copytree(REPO / "plugins" / part, copy / "plugins" / part,
                        ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(ansiballz_cache, "COLLECTION", copy)
    before = ansiballz_cache.key()
    assert ansiballz_cache.key() == before
    util = copy / "plugins" / "module_utils" / "zookeeper_4lw.py"
    util.write_text(util.read_text() + "\n# changed\n")
    assert ansiballz_cache.key() != before


def test_only_core_and_collection_payloads_are_kept(tmp_path: Path) -> None:
    from ansible_collections.zkops.zookeeper34.plugins.plugin_utils import ansiballz_cache

    for name in ("ansible.modules.ping-ZIP_DEFLATED-none",
                 "ansible_collections.zkops.zookeeper34.plugins.modules.x-ZIP_DEFLATED-none",
                 "ansible.legacy.mine-ZIP_DEFLATED-none",
                 "ansible_collections.other.col.plugins.modules.y-ZIP_DEFLATED-none",
                 "ansible.modules.ping-ZIP_DEFLATED-none.lock"):
        (tmp_path / name).write_text("x")
    assert sorted(p.name for p in ansiballz_cache._payloads(tmp_path)) == [
        "ansible.modules.ping-ZIP_DEFLATED-none",
        "ansible_collections.zkops.zookeeper34.plugins.modules.x-ZIP_DEFLATED-none"]
