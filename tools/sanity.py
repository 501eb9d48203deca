#!/usr/bin/env python3
"""Run every ``ansible-test sanity`` test on the built collection (`make sanity`).

ansible-test runs most sanity tests in virtual environments of its own
(~/.ansible/test/venv/sanity.TEST/), each filled with the exact versions its requirement file for
that test pins (ansible_test/_data/requirements/sanity.TEST.txt), through pip and the package
index pip is configured with. It makes them itself; one thing it cannot get here is the script it
puts pip into a new environment with, get-pip.py, which it downloads from
ci-files.testing.ansible.com (a host this machine and CI do not reach; pip's index they do) and
caches as ~/.ansible/test/cache/get_pip_VERSION.py. Its error message says that file can be put
there by hand; this tool does: a script that, as get-pip does with the pip it embeds, runs pip
from a wheel to install pip VERSION into the environment, the wheel being pip VERSION downloaded
beside it by ``pip download``. The rest is ansible-test's own: the environments, their pins,
their reuse on the next run.

A test ansible-test skips for a reason (an environment it could not make, a Python it could not
find) fails the run: every test either runs or has no file of the collection to check ("No tests
applicable": pslint, shellcheck and empty-init here, the collection having no PowerShell, no shell
script and no __init__.py). The summary names both.

The ignore file (tools/sanity-ignore.txt) is copied into the collection as
tests/sanity/ignore-<ansible-core major.minor>.txt: each entry there says why. To it the tool adds
one entry per module for validate-modules' missing-gplv3-license (it asks every module for a GPLv3
header): the collection's license (MANIFEST.json) is Apache-2.0, its modules too, new ones
included.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import yaml

REPO = Path(__file__).resolve().parent.parent
IGNORE = REPO / "tools" / "sanity-ignore.txt"
ANSIBLE_TEST_HOME = Path.home() / ".ansible" / "test"
# Written into the bootstrap script, so that a genuine get-pip.py (downloaded by ansible-test
# where ci-files.testing.ansible.com is reachable) is told from this one and left alone.
BOOTSTRAP_MARKER = "written by tools/sanity.py"
BOOTSTRAP = '''\
"""ansible-test's pip bootstrap (get-pip), {marker}: runs pip from the wheel beside
this file to install pip into a new environment, as get-pip.py does with the pip it embeds."""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "{wheel}"))
from pip._internal.cli.main import main  # noqa: E402

# get-pip's own options (ansible-test passes both): it adds setuptools and wheel unless told not.
args = [arg for arg in sys.argv[1:] if arg not in ("--no-setuptools", "--no-wheel")]
sys.exit(main(["install", "--upgrade", "--force-reinstall", "--find-links", HERE, *args]))
'''
NOT_APPLICABLE = "No tests applicable."


def built_tarball(repo: Path) -> Path:
    """The tarball `make collection` builds: build/NAMESPACE-NAME-VERSION.tar.gz."""
    galaxy = yaml.safe_load((repo / "galaxy.yml").read_text())
    return repo / "build" / f"{galaxy['namespace']}-{galaxy['name']}-{galaxy['version']}.tar.gz"


def unpack(tarball: Path, root: Path) -> Path:
    """The tarball unpacked as ROOT/ansible_collections/NS/NAME, where ansible-test wants it
    (outside this repository, whose git would hide the build directory from it)."""
    namespace, name = tarball.name.split("-")[:2]
    collection = root / "ansible_collections" / namespace / name
    collection.mkdir(parents=True)
    shutil.unpack_archive(tarball, collection)
    return collection


def core_version() -> str:
    from ansible.release import __version__

    return ".".join(__version__.split(".")[:2])


def bootstrap_pip_version(python_version: str) -> str:
    """The pip ansible-test puts into its environments for that Python (its get_pip_VERSION)."""
    from ansible_test._internal.python_requirements import get_venv_packages

    return get_venv_packages(SimpleNamespace(version=python_version))["pip"]


def bootstrap_script(cache: Path, version: str) -> Path:
    """The path ansible-test caches its get-pip.py for pip VERSION at."""
    return cache / f"get_pip_{version.replace('.', '_')}.py"


def provide_pip_bootstrap(cache: Path, version: str) -> Path:
    """Put the pip bootstrap ansible-test would download into its cache (unless a genuine one
    is there already), with the pip VERSION wheel it installs from."""
    script = bootstrap_script(cache, version)
    if script.is_file() and BOOTSTRAP_MARKER not in script.read_text():
        return script
    cache.mkdir(parents=True, exist_ok=True)
    wheels = sorted(cache.glob(f"pip-{version}-*.whl"))
    if not wheels:
        subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
                        "--only-binary=:all:", "--dest", str(cache), f"pip=={version}"],
                       check=True)
        wheels = sorted(cache.glob(f"pip-{version}-*.whl"))
    if not wheels:
        raise SystemExit(f"sanity: pip download wrote no pip {version} wheel into {cache}")
    script.write_text(BOOTSTRAP.format(marker=BOOTSTRAP_MARKER, wheel=wheels[0].name))
    return script


def remove_unpinned_environments(venvs: Path) -> list[Path]:
    """Remove the test environments an earlier tools/sanity.py made from the package index's
    versions instead of the pins (it marked them ready with an empty meta.install.json, where
    ansible-test records the pip commands it ran): ansible-test would reuse them as they are.
    It makes them again, pinned."""
    removed = []
    for meta in sorted(venvs.glob("sanity.*/*/*/meta.install.json")):
        if meta.read_text().strip() == "[]":
            shutil.rmtree(meta.parent)
            removed.append(meta.parent)
    return removed


@dataclass(frozen=True)
class Result:
    test: str
    outcome: str  # passed, failed, not applicable, skipped
    reason: str = ""


def junit_results(junit_dir: Path) -> list[Result]:
    """The outcome of each test from the JUnit files ``ansible-test sanity --junit`` writes."""
    results = []
    for path in sorted(junit_dir.glob("*.xml")):
        for case in ET.parse(path).getroot().iter("testcase"):
            name = case.get("name", path.stem)
            python = name.rfind("-python-")
            test = name[:python] if python > 0 else name
            failed = case.find("failure")
            if failed is None:
                failed = case.find("error")
            skipped = case.find("skipped")
            if failed is not None:
                results.append(Result(test, "failed", failed.get("message", "")))
            elif skipped is not None:
                reason = (skipped.text or skipped.get("message") or "").strip()
                outcome = "not applicable" if reason == NOT_APPLICABLE else "skipped"
                results.append(Result(test, outcome, reason))
            else:
                results.append(Result(test, "passed"))
    return results


def summary(results: list[Result]) -> tuple[list[str], bool]:
    """Lines that name each outcome's tests, and whether the run may pass: no test failed and
    none was skipped for a reason other than having nothing to check."""
    lines = [f"sanity: {len(results)} tests"]
    for outcome in ("passed", "not applicable", "failed", "skipped"):
        tests = sorted(r.test for r in results if r.outcome == outcome)
        if tests:
            lines.append(f"  {outcome} ({len(tests)}): {' '.join(tests)}")
    for result in results:
        if result.outcome == "skipped":
            lines.append(f"  {result.test} did not run: {result.reason}")
    ok = bool(results) and all(r.outcome in ("passed", "not applicable") for r in results)
    return lines, ok


def ignore_entries(collection: Path, listed: str) -> str:
    """The collection's ignore file: the entries listed, and missing-gplv3-license for each of
    its modules unless its license is a GPL (each module is under the collection's)."""
    info = json.loads((collection / "MANIFEST.json").read_text())["collection_info"]
    licenses = info.get("license") or []
    if not licenses or any(name.startswith("GPL") for name in licenses):
        return listed
    reason = f"the collection is {' and '.join(licenses)} (MANIFEST.json), not GPLv3"
    modules = sorted((collection / "plugins" / "modules").glob("*.py"))
    return listed + "".join(f"{path.relative_to(collection)} "
                            f"validate-modules:missing-gplv3-license # {reason}\n"
                            for path in modules)


def run(collection: Path, python_version: str) -> int:
    ignore_dir = collection / "tests" / "sanity"
    ignore_dir.mkdir(parents=True, exist_ok=True)
    (ignore_dir / f"ignore-{core_version()}.txt").write_text(
        ignore_entries(collection, IGNORE.read_text()))
    command = ["ansible-test", "sanity", "--python", python_version, "--local", "--color", "no",
               "--junit"]
    code = subprocess.run(command, cwd=collection, check=False).returncode
    lines, ok = summary(junit_results(collection / "tests" / "output" / "junit"))
    print("\n".join(lines))
    if code == 0 and not ok:
        print("sanity: a test did not run (see above); that is a failure here")
        return 1
    return code


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--tarball", type=Path, default=built_tarball(REPO),
                        help="the built collection (default: the one `make collection` builds)")
    parser.add_argument("--python", default=f"{sys.version_info[0]}.{sys.version_info[1]}",
                        help="the Python version the tests run with (default: this one)")
    args = parser.parse_args(argv)
    if not args.tarball.is_file():
        parser.error(f"{args.tarball}: no such collection; run `make collection` first")
    for venv in remove_unpinned_environments(ANSIBLE_TEST_HOME / "venv"):
        print(f"sanity: removed {venv} (not made from its pinned requirements)")
    provide_pip_bootstrap(ANSIBLE_TEST_HOME / "cache", bootstrap_pip_version(args.python))
    with tempfile.TemporaryDirectory(prefix="sanity-") as root:
        return run(unpack(args.tarball, Path(root)), args.python)


if __name__ == "__main__":
    sys.exit(main())
