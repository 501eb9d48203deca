"""docs/variables.md is what tools/ci/role_docs.py writes from the argument specs, and --check
says when it is not."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from ci import role_docs
import yaml

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def roles(tmp_path: Path) -> Path:
    """A copy of the roles' specs and defaults, to change."""
    for role in role_docs.ROLES:
        for sub in ("meta/argument_specs.yml", "defaults/main.yml"):
            target = tmp_path / "roles" / role / sub
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(REPO / "roles" / role / sub, target)
    return tmp_path / "roles"


def describe(roles: Path, role: str, name: str, description: str) -> None:
    spec = roles / role / "meta" / "argument_specs.yml"
    data = yaml.safe_load(spec.read_text())
    data["argument_specs"]["main"]["options"][name]["description"] = description
    spec.write_text(yaml.safe_dump(data))


def test_the_checked_in_reference_matches_the_specs() -> None:
    assert role_docs.main(["--check"]) == 0, "run python tools/ci/role_docs.py"


def test_check_fails_when_a_description_changes(roles: Path, tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    output = tmp_path / "variables.md"
    args = ["--roles-dir", str(roles), "--output", str(output)]
    assert role_docs.main(args) == 0
    assert role_docs.main([*args, "--check"]) == 0
    describe(roles, "java", "java_binary", "Another text.")
    assert role_docs.main([*args, "--check"]) == 1
    err = capsys.readouterr().err
    assert str(output) in err and "run python tools/ci/role_docs.py" in err
    assert role_docs.main(args) == 0 and "Another text." in output.read_text()
    assert role_docs.main([*args, "--check"]) == 0


def test_check_fails_when_the_file_is_missing(roles: Path, tmp_path: Path) -> None:
    output = tmp_path / "variables.md"
    assert role_docs.main(["--roles-dir", str(roles), "--output", str(output), "--check"]) == 1


def test_a_pipe_in_a_description_is_escaped(roles: Path) -> None:
    describe(roles, "zookeeper", "zookeeper_heap_size", ["a | b", "c"])
    assert "| `zookeeper_heap_size` | str | `512m` |  |  | a \\| b c |" in role_docs.render(roles)


def test_defaults_required_choices_and_elements(roles: Path) -> None:
    text = role_docs.render(roles)
    assert "| `zookeeper_id` | int |  | yes |  |" in text
    assert "| `zookeeper_address` | str |  |  |  |" in text
    assert ("| `zookeeper_install_method` | str | `tarball` |  | "
            "`tarball`, `local`, `package` | `tarball` downloads") in text
    assert "| `zookeeper_4lw_whitelist` | list of str | `[srvr, mntr, ruok]` |" in text
    assert "| `zookeeper_java_binary` | path | derived: `{{ java_binary \\| default(" in text
    assert "| `java_package` | str | `''` |" in text
    assert "C(" not in text
