"""Unit tests of tools/ci/sanity.py: the pip bootstrap it gives ansible-test (run into a real
environment, the way ansible-test runs it), the copy of the checkout it runs ansible-test in, and
how it reads ansible-test's results. `make sanity` runs the tool itself."""

from __future__ import annotations

import ensurepip
import os
import re
import subprocess
import sys
from pathlib import Path

import ansible_test
import pytest
from ci import sanity

# The pip entry point ansible-test runs a bootstrap script with (GET_PIP).
QUIET_PIP = Path(ansible_test.__file__).parent / "_util" / "target" / "setup" / "quiet_pip.py"


def test_the_bootstrap_is_the_pip_ansible_test_wants(tmp_path: Path) -> None:
    version = sanity.bootstrap_pip_version(f"{sys.version_info[0]}.{sys.version_info[1]}")
    assert re.fullmatch(r"\d+\.\d+(\.\d+)?", version)
    assert sanity.provide_pip_bootstrap(tmp_path, version) == (
        tmp_path / f"get_pip_{version.replace('.', '_')}.py")


def test_the_bootstrap_installs_pip_into_an_empty_environment(tmp_path: Path) -> None:
    """As ansible-test does: a venv without pip, then its quiet_pip.py running the cached
    bootstrap with ansible-test's arguments (offline here: the pip asked for is the one this
    Python's ensurepip carries)."""
    version = ensurepip.version()
    script = sanity.provide_pip_bootstrap(tmp_path / "cache", version)
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


def test_the_install_after_ensurepip_keeps_pips_settings(tmp_path: Path) -> None:
    """ensurepip clears pip's settings in its process; the install that follows asks the index
    and the CA bundle the machine's pip settings name (here: no index, an empty folder of links,
    so a missing package fails at once, offline)."""
    script = sanity.provide_pip_bootstrap(tmp_path / "cache", ensurepip.version())
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    links = tmp_path / "links"
    links.mkdir()
    env = {**os.environ, "PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(links)}
    proc = subprocess.run([str(venv / "bin" / "python"), str(script), "zk-no-such-package==1"],
                          env=env, capture_output=True, text=True, check=False, timeout=120)
    assert proc.returncode != 0
    assert f"Looking in links: {links}" in proc.stdout, proc.stdout + proc.stderr


def test_a_genuine_get_pip_is_left_alone_and_ours_is_rewritten(tmp_path: Path) -> None:
    script = tmp_path / "get_pip_24_2.py"
    script.write_text("# get-pip.py, downloaded by ansible-test\n")
    assert sanity.provide_pip_bootstrap(tmp_path, "24.2") == script
    assert script.read_text() == "# get-pip.py, downloaded by ansible-test\n"
    script.write_text(f"# {sanity.BOOTSTRAP_MARKER}, an older one\n")
    sanity.provide_pip_bootstrap(tmp_path, "24.2")
    assert script.read_text() == sanity.BOOTSTRAP


def test_the_copy_is_the_checkouts_files_unchanged_without_its_link_to_itself(
        tmp_path: Path) -> None:
    root = sanity.stage(sanity.REPO, tmp_path)
    assert root == tmp_path / "ansible_collections" / "zkops" / "zookeeper34"
    names = sanity.checkout_files(sanity.REPO)
    assert {"galaxy.yml", "plugins/modules/zookeeper_probe.py", "roles/zookeeper/tasks/main.yml",
            "tests/sanity/ignore-2.19.txt", "tools/ci/sanity.py"} <= set(names)
    assert not [n for n in names if n.startswith(".collections")]
    assert not (root / ".collections").exists()
    for name in names:
        assert (root / name).read_bytes() == (sanity.REPO / name).read_bytes(), name
    assert not [p for p in root.rglob("*") if p.is_symlink()]


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


def test_the_ignore_file_is_one_entry_a_line_each_with_its_reason() -> None:
    ignores = sorted((sanity.REPO / "tests" / "sanity").glob("ignore-*.txt"))
    assert ignores, "no ignore file"
    for line in (line for path in ignores for line in path.read_text().splitlines()):
        assert re.fullmatch(r"\S+ [\w:.-]+ # \S.*", line), line
