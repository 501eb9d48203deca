"""Unit tests of tools/ci/core_matrix.py's pure parts: versions, virtualenv markers, version
parsing, the table and the JSON document (its PLAY RECAP parsing:
tools/testkit/test_playbook_output.py).
Nothing here installs, starts a lab or runs a playbook."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ci import core_matrix
import pytest
from testkit.test_playbook_output import RERUN_OUTPUT

# A no-op run's output as core_matrix reads it: the version banner, then the play (the PLAY
# RECAP parsing itself is tested in tools/testkit/test_playbook_output.py).
NOOP_OUTPUT = ("ansible-playbook [core 2.16.19]\n  config file = /work/main/ansible.cfg\n\n"
               + RERUN_OUTPUT)


@pytest.mark.parametrize(("text", "version"), [
    ("2.16", "2.16"), (" 2.19 ", "2.19"), ("2.016", "2.16"),
])
def test_parse_version_takes_minor_versions(text: str, version: str) -> None:
    assert core_matrix.parse_version(text) == version


@pytest.mark.parametrize("text", ["2", "2.16.3", "3.0", "latest", "2.x", ""])
def test_parse_version_refuses_anything_else(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match="not an ansible-core minor version"):
        core_matrix.parse_version(text)


def test_requirement_pins_the_minor_version() -> None:
    assert core_matrix.requirement("2.16") == "ansible-core==2.16.*"


def test_venv_dir_is_keyed_on_the_version(tmp_path: Path) -> None:
    assert core_matrix.venv_dir("2.17", tmp_path) == tmp_path / "2.17"
    assert core_matrix.venv_dir("2.17").parent.name == ".venv-core"


def make_venv(path: Path, marker: str | None) -> Path:
    (path / "bin").mkdir(parents=True)
    (path / "bin" / "ansible-playbook").write_text("#!/bin/sh\n")
    if marker is not None:
        (path / core_matrix.VENV_MARKER).write_text(marker + "\n")
    return path


def test_venv_ready_needs_the_marker_of_its_version(tmp_path: Path) -> None:
    assert core_matrix.venv_ready(make_venv(tmp_path / "a", "ansible-core==2.16.*"), "2.16")
    assert not core_matrix.venv_ready(make_venv(tmp_path / "b", None), "2.16")
    assert not core_matrix.venv_ready(make_venv(tmp_path / "c", "ansible-core==2.17.*"), "2.16")
    assert not core_matrix.venv_ready(tmp_path / "missing", "2.16")


def test_parse_core_version() -> None:
    assert core_matrix.parse_core_version(NOOP_OUTPUT) == "2.16.19"
    assert core_matrix.parse_core_version("ansible-playbook 2.9.27") is None


def test_warnings_are_collected_once() -> None:
    output = NOOP_OUTPUT + "[WARNING]: Could not match supplied host pattern, ignoring: " \
        "zookeeper_retired\n[DEPRECATION WARNING]: something old.\n"
    assert core_matrix.warnings(output) == [
        "[WARNING]: Could not match supplied host pattern, ignoring: zookeeper_retired",
        "[DEPRECATION WARNING]: something old.",
    ]


@pytest.mark.parametrize(("modes", "healthy"), [
    (["follower", "leader", "follower"], True),
    (["leader"], True),
    (["leader", "leader", "follower"], False),
    (["follower", "follower", "follower"], False),
    (["leader", None, "follower"], False),
    (["leader", "follower", "standalone"], False),
    ([], False),
])
def test_leader_and_followers(modes: list[str | None], healthy: bool) -> None:
    assert core_matrix.leader_and_followers(modes) is healthy


def results() -> list[core_matrix.VersionResult]:
    passed = core_matrix.VersionResult("2.16", core="2.16.19", converge_s=163.51,
                                       converge_changed=36, noop_s=30.4, noop_changed=0,
                                       result=core_matrix.RESULT_PASSED)
    failed = core_matrix.VersionResult("2.17", core="2.17.14", result="failed: converge",
                                       error="site.yml failed (exit 2)")
    return [passed, failed]


def test_format_table() -> None:
    lines = core_matrix.format_table(results()).splitlines()
    assert lines[0].split() == ["VERSION", "ANSIBLE-CORE", "CONVERGE", "(s)", "NO-OP", "(s)",
                                "NO-OP", "CHANGED", "RESULT"]
    assert lines[1].split() == ["2.16", "2.16.19", "163.5", "30.4", "0", "passed"]
    assert lines[2].split() == ["2.17", "2.17.14", "-", "-", "-", "failed:", "converge"]
    # the numbers are right-aligned under their headers
    assert lines[1].index("163.5") + len("163.5") == lines[0].index("CONVERGE (s)") + len(
        "CONVERGE (s)")


def test_passed_property() -> None:
    passed, failed = results()
    assert passed.passed and not failed.passed


def test_document_is_json_and_says_what_passed() -> None:
    doc = core_matrix.document(results(), 600.04, "2026-01-01T00:00:00+00:00", {"cpus": 2})
    again = json.loads(json.dumps(doc))
    assert again["total_s"] == 600.0
    assert again["passed"] is False
    assert again["lab"] == {"name": "core", "subnet": "10.213.22.0/24"}
    assert [v["version"] for v in again["versions"]] == ["2.16", "2.17"]
    assert again["versions"][0]["converge_s"] == 163.51
    assert again["versions"][1]["error"] == "site.yml failed (exit 2)"
    assert core_matrix.document(results()[:1], 1, "x", {})["passed"] is True
    assert core_matrix.document([], 1, "x", {})["passed"] is False


def test_parse_args_defaults_and_versions() -> None:
    args = core_matrix.parse_args([])
    assert args.versions == list(core_matrix.DEFAULT_VERSIONS)
    assert args.results == core_matrix.DEFAULT_RESULTS
    assert not args.keep and not args.refresh and not args.java
    assert core_matrix.parse_args(["2.19", "2.16"]).versions == ["2.19", "2.16"]


def test_parse_args_refuses_bad_and_repeated_versions() -> None:
    with pytest.raises(SystemExit):
        core_matrix.parse_args(["2.16.1"])
    with pytest.raises(SystemExit):
        core_matrix.parse_args(["2.16", "2.16"])


def test_ansible_env_uses_the_project_config_and_the_venv(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("ANSIBLE_STDOUT_CALLBACK", "json")
    monkeypatch.setenv("PATH", "/usr/bin")
    env = core_matrix.ansible_env(tmp_path)
    assert env["ANSIBLE_CONFIG"] == str(core_matrix.REPO / "ansible.cfg")
    assert "ANSIBLE_STDOUT_CALLBACK" not in env
    assert env["PATH"] == f"{tmp_path / 'bin'}:/usr/bin"
