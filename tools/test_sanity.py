"""Unit tests of tools/sanity.py: the pip bootstrap it gives ansible-test (run into a real
environment, the way ansible-test runs it), the environments it removes, and how it reads
ansible-test's results. `make sanity` runs the tool itself."""

from __future__ import annotations

import ensurepip
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import ansible_test
import pytest
import sanity

# The pip entry point ansible-test runs a bootstrap script with (GET_PIP).
QUIET_PIP = Path(ansible_test.__file__).parent / "_util" / "target" / "setup" / "quiet_pip.py"


def test_the_bootstrap_is_the_pip_ansible_test_wants() -> None:
    version = sanity.bootstrap_pip_version(f"{sys.version_info[0]}.{sys.version_info[1]}")
    assert re.fullmatch(r"\d+\.\d+(\.\d+)?", version)
    assert sanity.bootstrap_script(Path("/c"), version) == Path(
        f"/c/get_pip_{version.replace('.', '_')}.py")


def bundled_pip() -> Path:
    """The pip wheel this Python's ensurepip carries (a real pip, no download)."""
    wheels = sorted((Path(ensurepip.__file__).parent / "_bundled").glob("pip-*.whl"))
    if not wheels:
        pytest.skip("this Python's ensurepip carries no pip wheel")
    return wheels[0]


def test_the_bootstrap_installs_pip_into_an_empty_environment(tmp_path: Path) -> None:
    """As ansible-test does: a venv without pip, then its quiet_pip.py running the cached
    bootstrap with ansible-test's arguments (offline here: no index, the wheel beside it)."""
    wheel = bundled_pip()
    version = wheel.name.split("-")[1]
    cache = tmp_path / "cache"
    cache.mkdir()
    shutil.copy(wheel, cache)
    script = sanity.provide_pip_bootstrap(cache, version)
    assert script == sanity.bootstrap_script(cache, version)
    assert sanity.BOOTSTRAP_MARKER in script.read_text()
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    env = {**os.environ, "GET_PIP": str(script), "PIP_NO_INDEX": "1"}
    proc = subprocess.run([str(python), str(QUIET_PIP), "--disable-pip-version-check",
                           f"pip=={version}", "--no-setuptools", "--no-wheel"],
                          env=env, capture_output=True, text=True, check=False, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    pip = subprocess.run([str(python), "-m", "pip", "--version"], capture_output=True,
                         text=True, check=True)
    assert pip.stdout.startswith(f"pip {version} from {venv}")
    installed = subprocess.run([str(python), "-m", "pip", "list", "--format=json"],
                               capture_output=True, text=True, check=True)
    assert [p["name"] for p in json.loads(installed.stdout)] == ["pip"]


def test_a_genuine_get_pip_is_left_alone_and_ours_is_rewritten(tmp_path: Path) -> None:
    script = sanity.bootstrap_script(tmp_path, "24.2")
    script.write_text("# get-pip.py, downloaded by ansible-test\n")
    assert sanity.provide_pip_bootstrap(tmp_path, "24.2") == script
    assert script.read_text() == "# get-pip.py, downloaded by ansible-test\n"
    assert not list(tmp_path.glob("*.whl"))
    (tmp_path / "pip-24.2-py3-none-any.whl").touch()
    script.write_text(f"# {sanity.BOOTSTRAP_MARKER}, an older one\n")
    sanity.provide_pip_bootstrap(tmp_path, "24.2")
    assert '"pip-24.2-py3-none-any.whl"' in script.read_text()


def test_only_the_environments_made_unpinned_are_removed(tmp_path: Path) -> None:
    def environment(label: str, meta: str) -> Path:
        path = tmp_path / label / "3.11" / "0123abcd"
        path.mkdir(parents=True)
        (path / "meta.install.json").write_text(meta)
        return path

    pinned = environment("sanity.pylint", json.dumps([["install", {"packages": []}]],
                                                     indent=4))
    unpinned = environment("sanity.pep8", "[]\n")
    plain = environment("sanity", "[]")  # ansible-test's, for the tests without requirements
    assert sanity.remove_unpinned_environments(tmp_path) == [unpinned]
    assert pinned.is_dir() and plain.is_dir() and not unpinned.exists()
    assert sanity.remove_unpinned_environments(tmp_path / "none") == []


JUNIT = """<?xml version="1.0" ?>
<testsuites disabled="0" errors="0" failures="0" tests="1" time="0">
  <testsuite disabled="0" errors="0" failures="0" name="ansible-test" tests="1" time="0">
    {case}
  </testsuite>
</testsuites>
"""
CASES = {
    "pep8": '<testcase classname="sanity" name="pep8"/>',
    "pslint": ('<testcase classname="sanity" name="pslint-python-3.11">'
               "<skipped>No tests applicable.</skipped></testcase>"),
    "validate-modules": ('<testcase classname="sanity" name="validate-modules">'
                         '<failure message="The test failed with 1 error:" type="failure">'
                         "plugins/modules/m.py:0:0: invalid-documentation</failure></testcase>"),
    "yamllint": ('<testcase classname="sanity" name="yamllint"><skipped>Skipping sanity test '
                 '"yamllint" on Python 3.11 due to missing virtual environment support.'
                 "</skipped></testcase>"),
}


def junit(tmp_path: Path, *tests: str) -> Path:
    for test in tests:
        (tmp_path / f"ansible-test-sanity-{test}.xml").write_text(JUNIT.format(case=CASES[test]))
    return tmp_path


def test_each_test_outcome_is_read_from_the_junit_files(tmp_path: Path) -> None:
    results = sanity.junit_results(junit(tmp_path, *CASES))
    assert [(r.test, r.outcome) for r in results] == [
        ("pep8", "passed"), ("pslint", "not applicable"), ("validate-modules", "failed"),
        ("yamllint", "skipped")]
    assert "missing virtual environment support" in results[3].reason


def test_passed_and_not_applicable_tests_pass_the_run(tmp_path: Path) -> None:
    lines, ok = sanity.summary(sanity.junit_results(junit(tmp_path, "pep8", "pslint")))
    assert ok
    assert lines == ["sanity: 2 tests", "  passed (1): pep8", "  not applicable (1): pslint"]


@pytest.mark.parametrize("bad", ["validate-modules", "yamllint"])
def test_a_failed_or_skipped_test_fails_the_run(tmp_path: Path, bad: str) -> None:
    lines, ok = sanity.summary(sanity.junit_results(junit(tmp_path, "pep8", bad)))
    assert not ok
    assert any(line.startswith(("  failed (1): ", "  skipped (1): ")) for line in lines)
    if bad == "yamllint":
        assert lines[-1].startswith("  yamllint did not run: Skipping sanity test")


def test_no_results_is_no_pass(tmp_path: Path) -> None:
    assert sanity.summary(sanity.junit_results(tmp_path)) == (["sanity: 0 tests"], False)


def manifest(collection: Path, licenses: list[str], modules: list[str]) -> Path:
    (collection / "plugins" / "modules").mkdir(parents=True)
    for module in modules:
        (collection / "plugins" / "modules" / module).touch()
    (collection / "plugins" / "modules" / "README.md").touch()
    (collection / "MANIFEST.json").write_text(json.dumps({"collection_info": {
        "namespace": "zkops", "name": "zookeeper34", "license": licenses}}))
    return collection


def test_each_module_of_a_collection_not_under_the_gpl_is_ignored_its_gpl_header(
        tmp_path: Path) -> None:
    collection = manifest(tmp_path, ["Apache-2.0"], ["b.py", "a.py"])
    listed = "roles/r/files/x.py shebang # why\n"
    assert sanity.ignore_entries(collection, listed) == listed + (
        "plugins/modules/a.py validate-modules:missing-gplv3-license # the collection is "
        "Apache-2.0 (MANIFEST.json), not GPLv3\n"
        "plugins/modules/b.py validate-modules:missing-gplv3-license # the collection is "
        "Apache-2.0 (MANIFEST.json), not GPLv3\n")


@pytest.mark.parametrize("licenses", [["GPL-3.0-or-later"], []])
def test_a_gpl_or_unlicensed_collection_gets_only_the_listed_entries(
        tmp_path: Path, licenses: list[str]) -> None:
    collection = manifest(tmp_path, licenses, ["a.py"])
    assert sanity.ignore_entries(collection, "x shebang # why\n") == "x shebang # why\n"


def test_the_repository_ignore_file_is_one_entry_a_line_each_with_its_reason() -> None:
    for line in sanity.IGNORE.read_text().splitlines():
        assert re.fullmatch(r"\S+ [\w:.-]+ # \S.*", line), line
