#!/usr/bin/env python3
"""Run ``ansible-test sanity`` on the built collection, offline (`make sanity`).

ansible-test runs most sanity tests in virtual environments of its own, created with a pip it
downloads and filled from requirement files that pin exact versions. Neither the download nor
those exact versions exist on an offline controller, whose package index holds one version of
each package. So when ansible-test stops at a test's environment ("... does not have pip
available"), this tool creates that environment itself, at the path ansible-test named, from the
same requirement file with the pins dropped (the offline index's versions), marks it ready the
way ansible-test does, and runs again. Tests whose packages the index lacks entirely are skipped
by name (UNAVAILABLE), and the summary says so: they did not pass, they did not run.

The ignore file (tools/sanity-ignore.txt) is copied into the collection as
tests/sanity/ignore-<ansible-core major.minor>.txt: each entry there says why.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
IGNORE = REPO / "tools" / "sanity-ignore.txt"

# Tests whose requirements are not in the offline index at any version (voluptuous,
# antsibull-changelog): they cannot run here.
UNAVAILABLE = {
    "validate-modules": "needs voluptuous and antsibull-docs-parser",
    "runtime-metadata": "needs voluptuous",
    "changelog": "needs antsibull-changelog and rstcheck",
}

NO_PIP = re.compile(r'FATAL: Python \S+ at "(?P<python>/\S+)/bin/python" '
                    r'does not have pip available')
# The most environments one run can need (ansible-test has about ten with requirements).
MAX_ENVIRONMENTS = 16
YAML_CHECK = """
try:
    import yaml
except ImportError:
    print("null")
else:
    print("true" if hasattr(yaml, "CSafeLoader") else "false")
"""


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


def requirements_dir() -> Path:
    import ansible_test  # the controller's ansible-test, the one that runs

    return Path(ansible_test.__file__).parent / "_data" / "requirements"


def core_version() -> str:
    from ansible.release import __version__

    return ".".join(__version__.split(".")[:2])


def unpinned(requirements: str) -> list[str]:
    """The package names of a pinned requirement file, without versions or comments."""
    names = []
    for line in requirements.splitlines():
        requirement = line.split("#", 1)[0].strip()
        if requirement:
            names.append(re.split(r"[<>=!~;\[ ]", requirement, maxsplit=1)[0])
    return names


def environment_test(venv: Path) -> str:
    """The sanity test an ansible-test environment is for: ~/.ansible/test/venv/sanity.NAME/."""
    label = venv.parent.parent.name
    if not label.startswith("sanity."):
        raise ValueError(f"{venv}: not a sanity test environment of ansible-test")
    return label.removeprefix("sanity.")


def create_environment(venv: Path, python: str) -> None:
    """Create the environment ansible-test asked for, from the offline index, and mark it ready."""
    test = environment_test(venv)
    packages = unpinned((requirements_dir() / f"sanity.{test}.txt").read_text())
    print(f"sanity: creating {venv} for {test!r} from the offline index: {' '.join(packages)}")
    subprocess.run([python, "-m", "venv", "--clear", str(venv)], check=True)
    pip = subprocess.run([str(venv / "bin" / "pip"), "install", "--quiet", *packages],
                         check=False, capture_output=True, text=True)
    if pip.returncode:
        raise SystemExit(f"sanity: pip could not install {packages} for {test!r}:\n{pip.stderr}")
    (venv / "meta.install.json").write_text("[]\n")
    # What ansible-test records of PyYAML there: true with libyaml, false without, null if absent.
    yaml_check = subprocess.run([str(venv / "bin" / "python"), "-c", YAML_CHECK],
                                capture_output=True, text=True, check=True)
    (venv / "meta.yaml.json").write_text(yaml_check.stdout)
    (venv / "marker.txt").touch()


def run(collection: Path, python_version: str, skips: list[str]) -> int:
    ignore_dir = collection / "tests" / "sanity"
    ignore_dir.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(IGNORE, ignore_dir / f"ignore-{core_version()}.txt")
    command = ["ansible-test", "sanity", "--python", python_version, "--local", "--color", "no"]
    for test in skips:
        command += ["--skip-test", test]
    python = shutil.which(f"python{python_version}") or sys.executable
    for _ in range(MAX_ENVIRONMENTS):
        result = subprocess.run(command, cwd=collection, check=False, capture_output=True,
                                text=True)
        output = result.stdout + result.stderr
        missing = NO_PIP.search(output)
        if result.returncode == 0 or not missing:
            sys.stdout.write(output)
            return result.returncode
        create_environment(Path(missing["python"]), python)
    sys.stdout.write(output)
    print(f"sanity: gave up after creating {MAX_ENVIRONMENTS} environments")
    return 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--tarball", type=Path, default=built_tarball(REPO),
                        help="the built collection (default: the one `make collection` builds)")
    parser.add_argument("--python", default=f"{sys.version_info[0]}.{sys.version_info[1]}",
                        help="the Python version the tests run with (default: this one)")
    args = parser.parse_args(argv)
    if not args.tarball.is_file():
        parser.error(f"{args.tarball}: no such collection; run `make collection` first")
    with tempfile.TemporaryDirectory(prefix="sanity-") as root:
        code = run(unpack(args.tarball, Path(root)), args.python, sorted(UNAVAILABLE))
    print("sanity: not run here (their packages are not in the offline index):")
    for test, why in sorted(UNAVAILABLE.items()):
        print(f"  {test}: {why}")
    return code


if __name__ == "__main__":
    sys.exit(main())
