"""AnsiballZ payloads kept between runs (the `preload` callback).

Before it sends a module to a host, Ansible builds the module's payload: a zip of the module
and every module_utils file it imports, found by parsing each of them. It builds it once per
run, in the first worker that needs it, while every other worker that needs the same module
waits for it; for zookeeper_probe (whose Java look imports the distribution facts, some 140
files) that is about 0.3 s of CPU at the start of every run, in the way of every host.

The payloads are kept under a key that changes with anything they are built from: the
ansible-core release and the size and time of every file of its modules and module_utils, the
text of every module and module_utils file of this collection, and the controller's Python.
Only the payloads of ansible-core's modules and of this collection's are kept (another
collection's or a playbook's own modules may change without the key seeing it). At the start of
a run they are copied into the run's own payload cache (where Ansible looks before it builds);
at its end, the payloads the run built are copied back.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
from pathlib import Path

from ansible_collections.zkops.zookeeper34.plugins.plugin_utils.jinja_code_cache import (
    private_directory,
    write_atomically,
)

# No filters here (this module serves the preload callback).
FILTERS: dict = {}

# The payloads kept: ansible-core's modules and this collection's.
KEPT = ("ansible.modules.", "ansible_collections.zkops.zookeeper34.plugins.modules.")
# Keys (one directory each) kept side by side, for runs of several ansible-core releases.
KEYS_KEPT = 4

COLLECTION = Path(__file__).resolve().parents[2]


def run_directory() -> Path:
    """This run's payload cache, where Ansible looks before it builds one."""
    from ansible import constants as C

    return Path(C.DEFAULT_LOCAL_TMP) / "ansiballz_cache"


def key() -> str:
    """A digest of everything a kept payload is built from."""
    import ansible
    from ansible.release import __version__

    digest = hashlib.sha256(f"{__version__}|{sys.version}".encode())
    core = Path(ansible.__file__).parent
    for tree in (core / "modules", core / "module_utils"):
        for path in sorted(tree.rglob("*.py")):
            info = path.stat()
            digest.update(f"{path.relative_to(core)}|{info.st_size}|{info.st_mtime_ns}\n".encode())
    for tree in (COLLECTION / "plugins" / "modules", COLLECTION / "plugins" / "module_utils"):
        for path in sorted(tree.glob("*.py")):
            digest.update(f"{path.name}\n".encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:32]


def _payloads(directory: Path) -> list[Path]:
    return [path for path in directory.iterdir() if path.name.startswith(KEPT)
            and not path.name.endswith((".lock", "-part")) and path.is_file()]


def restore(store: Path, run_key: str) -> int:
    """Copy the payloads kept under `run_key` (key(), taken once per run) into the run's
    cache; how many."""
    private_directory(store)
    kept = store / run_key
    if not kept.is_dir():
        return 0
    target = run_directory()
    target.mkdir(parents=True, exist_ok=True)
    copied = 0
    for path in _payloads(kept):
        if not (target / path.name).exists():
            shutil.copyfile(path, target / path.name)
            copied += 1
    os.utime(kept)  # the most recently used key is the last one pruned
    return copied


def keep(store: Path, run_key: str) -> int:
    """Copy the payloads this run built into the store, under `run_key`; how many were new."""
    source = run_directory()
    if not source.is_dir():
        return 0
    private_directory(store)
    kept = store / run_key
    kept.mkdir(mode=0o700, exist_ok=True)
    added = 0
    for path in _payloads(source):
        if not (kept / path.name).exists():
            write_atomically(kept / path.name, path.read_bytes())
            added += 1
    keys = sorted((d for d in store.iterdir() if d.is_dir()), key=lambda d: d.stat().st_mtime)
    for old in keys[:-KEYS_KEPT]:
        shutil.rmtree(old, ignore_errors=True)
    return added
