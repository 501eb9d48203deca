"""docs/variables.md is what tools/role_docs.py writes from the argument specs, and --check
says when it is not."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import role_docs
import yaml

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def roles(tmp_path: Path) -> Path:
    """A copy of the roles' specs and defaults, to change."""
    for role in role_docs.ROLES:
        for sub in ("meta/argument_specs.yml", "defaults/main.yml"):
            target = tmp_path / role / sub
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(REPO / "roles" / role / sub, target)
    return tmp_path


def test_the_checked_in_reference_matches_the_specs() -> None:
    assert role_docs.main(["--check"]) == 0, "run python tools/role_docs.py"


def test_check_fails_when_a_description_changes(roles: Path, tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    output = tmp_path / "variables.md"
    assert role_docs.main(["--roles-dir", str(roles), "--output", str(output)]) == 0
    assert role_docs.main(["--roles-dir", str(roles), "--output", str(output), "--check"]) == 0
    spec = roles / "java" / "meta" / "argument_specs.yml"
    data = yaml.safe_load(spec.read_text())
    data["argument_specs"]["main"]["options"]["java_binary"]["description"] = "Another text."
    spec.write_text(yaml.safe_dump(data))
    assert role_docs.main(["--roles-dir", str(roles), "--output", str(output), "--check"]) == 1
    assert "run python tools/role_docs.py" in capsys.readouterr().err


def test_a_pipe_is_escaped_and_derived_and_required_defaults_are_named(roles: Path) -> None:
    spec = roles / "zookeeper" / "meta" / "argument_specs.yml"
    data = yaml.safe_load(spec.read_text())
    data["argument_specs"]["main"]["options"]["zookeeper_heap_size"]["description"] = "a | b"
    spec.write_text(yaml.safe_dump(data))
    text = role_docs.render(roles)
    assert "| `zookeeper_heap_size` | str | `\"512m\"` | a \\| b |" in text
    assert "| `zookeeper_id` | int | required |" in text
    assert "*derived*" in text
