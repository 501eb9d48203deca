"""Run every ``ansible-test sanity`` test on the checkout (`make sanity`).

ansible-test wants its working directory to be ``.../ansible_collections/NAMESPACE/NAME``; the
checkout's own directory is named by whoever cloned it, and a symlink does not help (the kernel
gives ansible-test the real path). So the tool copies the checkout's files (git's tracked and
untracked-not-ignored ones, without the .collections/ link back to itself) unchanged into
TMP/ansible_collections/zkops/zookeeper34/ and runs ansible-test there (outside the checkout,
whose git would hide an ignored build directory from ansible-test), with the
checked-in ignore file tests/sanity/ignore-<ansible-core major.minor>.txt (each entry says why).

ansible-test runs most tests in virtual environments of its own, each filled with the exact
versions it pins, from the package index. The one thing it cannot get here is its pip bootstrap,
get-pip.py, from ci-files.testing.ansible.com; its error message says the file may be put in its
cache by hand. The tool puts there a script that bootstraps pip with the Python's own ensurepip
and then installs what ansible-test asked for (its pinned pip) from the index.

A test ansible-test skips for a reason (an environment it could not make, a Python it could not
find) fails the run: every test either runs or has no file to check ("No tests applicable").
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

from ci.galaxy import REPO, read_galaxy

CACHE = Path.home() / ".ansible" / "test" / "cache"
# Written into the bootstrap script, so that a genuine get-pip.py (downloaded by ansible-test
# where ci-files.testing.ansible.com is reachable) is told from this one and left alone.
BOOTSTRAP_MARKER = "written by tools/ci/sanity.py"
BOOTSTRAP = f'''\
"""ansible-test's pip bootstrap, {BOOTSTRAP_MARKER}: ensurepip, then what it asked for."""
import ensurepip, os, subprocess, sys
# ensurepip drops the PIP_* variables and points PIP_CONFIG_FILE at os.devnull for the rest of
# this process: the install takes pip's settings as they were (an index, a CA bundle).
env = dict(os.environ)
ensurepip.bootstrap(upgrade=True)
args = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
sys.exit(subprocess.call([sys.executable, "-m", "pip", "install", *args], env=env))
'''
NOT_APPLICABLE = "No tests applicable."
# Not the collection's: the checkout's link to itself (ansible.cfg's collections_path).
NOT_COPIED = (".collections",)


def core_version() -> str:
    from ansible.release import __version__

    return ".".join(__version__.split(".")[:2])


def bootstrap_pip_version(python_version: str) -> str:
    """The pip ansible-test puts into its environments for that Python (its get_pip_VERSION)."""
    from ansible_test._internal.python_requirements import get_venv_packages

    return get_venv_packages(SimpleNamespace(version=python_version))["pip"]


def provide_pip_bootstrap(cache: Path, version: str) -> Path:
    """The bootstrap script ansible-test looks for (get_pip_VERSION.py), written unless a
    genuine one is there."""
    script = cache / f"get_pip_{version.replace('.', '_')}.py"
    if script.is_file() and BOOTSTRAP_MARKER not in script.read_text():
        return script
    cache.mkdir(parents=True, exist_ok=True)
    script.write_text(BOOTSTRAP)
    return script


def checkout_files(repo: Path) -> list[str]:
    """The checkout's files as git sees them (tracked, and new ones not ignored)."""
    out = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                         cwd=repo, capture_output=True, check=True).stdout.decode()
    return sorted(name for name in set(out.split("\0"))
                  if name and not name.startswith(NOT_COPIED) and (repo / name).is_file())


def stage(repo: Path, output: Path) -> Path:
    """The checkout's files, unchanged, at OUTPUT/ansible_collections/NAMESPACE/NAME."""
    collection = read_galaxy(repo)
    root = output / "ansible_collections" / collection.namespace / collection.name
    if root.exists():
        shutil.rmtree(root)
    for name in checkout_files(repo):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(repo / name, root / name)
    return root


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


def run(collection: Path, python_version: str, tests: list[str]) -> int:
    ignore = collection / "tests" / "sanity" / f"ignore-{core_version()}.txt"
    if not ignore.is_file():
        print(f"sanity: no {ignore.relative_to(collection)} for this ansible-core")
        return 1
    command = ["ansible-test", "sanity", "--python", python_version, "--local", "--color", "no",
               "--junit", *[arg for test in tests for arg in ("--test", test)]]
    # Nothing of the checkout on the path (the Makefile's PYTHONPATH): only the copy is tested.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    code = subprocess.run(command, cwd=collection, env=env, check=False).returncode
    lines, ok = summary(junit_results(collection / "tests" / "output" / "junit"))
    print("\n".join(lines))
    if code == 0 and not ok:
        print("sanity: a test did not run (see above); that is a failure here")
        return 1
    return code


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--output", type=Path,
                        help="where the copy of the checkout goes, kept (default: a temporary "
                             "directory, removed), outside the checkout")
    parser.add_argument("--python", default=f"{sys.version_info[0]}.{sys.version_info[1]}",
                        help="the Python version the tests run with (default: this one)")
    parser.add_argument("--test", action="append", default=[],
                        help="run only this test (repeatable; default: every test)")
    args = parser.parse_args(argv)
    if args.output and args.output.resolve().is_relative_to(REPO):
        parser.error(f"--output {args.output}: inside the checkout, git would hide it from "
                     "ansible-test; name a directory outside it")
    provide_pip_bootstrap(CACHE, bootstrap_pip_version(args.python))
    if args.output:
        return run(stage(REPO, args.output), args.python, args.test)
    with tempfile.TemporaryDirectory(prefix="zk-sanity-") as output:
        return run(stage(REPO, Path(output)), args.python, args.test)


if __name__ == "__main__":
    sys.exit(main())
