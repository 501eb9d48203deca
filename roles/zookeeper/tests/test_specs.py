"""Each variable is described once: defaults/main.yml and meta/argument_specs.yml must agree,
for both roles, and the README's short table must name real variables with their defaults
(docs/variables.md is generated from the specs: tools/ci/role_docs.py)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[3]
ROLES = ("java", "zookeeper")
# Set per host in the inventory, with no default: described in the specs and the README's text.
PER_HOST = {"zookeeper_id", "zookeeper_address"}
# Parameters the playbooks pass to one entry point (include_role/import_role vars), not
# variables of the role: no default in defaults/main.yml, none in the main entry point.
ENTRY_PARAMETERS = {("zookeeper", "validate-hosts"): {"zookeeper_line_change"},
                    ("zookeeper", "checks"): {"zookeeper_line_change"},
                    ("zookeeper", "upgrade-member"): {"zookeeper_upgrade_leader"}}


def specs(role: str) -> dict[str, Any]:
    return yaml.safe_load((REPO / "roles" / role / "meta" / "argument_specs.yml").read_text())[
        "argument_specs"]


def defaults(role: str) -> dict[str, Any]:
    return yaml.safe_load((REPO / "roles" / role / "defaults" / "main.yml").read_text())


@pytest.mark.parametrize("role", ROLES)
def test_defaults_and_argument_specs_name_the_same_variables(role: str) -> None:
    options = specs(role)["main"]["options"]
    assert set(defaults(role)) == set(options) - PER_HOST


@pytest.mark.parametrize("role", ROLES)
def test_a_literal_default_is_the_same_in_both(role: str) -> None:
    options = specs(role)["main"]["options"]
    for name, value in defaults(role).items():
        derived = isinstance(value, str) and "{{" in value
        if derived:
            assert "default" not in options[name], (
                f"{name}: the default is derived ({value}); the spec must not give another")
        else:
            assert options[name].get("default") == value, (
                f"{name}: defaults/main.yml says {value!r}, argument_specs.yml "
                f"{options[name].get('default')!r}")


@pytest.mark.parametrize("role", ROLES)
def test_every_option_of_every_entry_point_is_described_and_typed(role: str) -> None:
    main = specs(role)["main"]["options"]
    for entry, spec in specs(role).items():
        for name, option in (spec.get("options") or {}).items():
            assert option.get("description"), f"{role} {entry}: {name} has no description"
            assert option.get("type"), f"{role} {entry}: {name} has no type"
            if name in ENTRY_PARAMETERS.get((role, entry), set()):
                assert name not in main and "default" in option, (
                    f"{role} {entry}: the parameter {name} needs a default and no main option")
            elif entry != "main":
                assert name in main, f"{role} {entry}: {name} is not a variable of the role"
                for key in ("type", "default"):
                    assert option.get(key) == main[name].get(key), (
                        f"{role} {entry}: {name} {key} differs from the main entry point")


@pytest.mark.parametrize("role", ROLES)
def test_every_task_file_a_playbook_calls_has_an_entry_point(role: str) -> None:
    called = set()
    for playbook in (REPO / "playbooks").glob("*.yml"):
        text = playbook.read_text()
        for block in re.findall(rf"name: {role}\n\s+tasks_from: ([\w-]+)\.yml", text):
            called.add(block)
    missing = called - set(specs(role))
    assert not missing, f"{role}: no argument_specs entry for {sorted(missing)}"


def test_the_playbooks_pass_no_internal_variable_of_a_role() -> None:
    """Playbooks talk to the roles through their public parameters: no `__` variable is set,
    passed or read there."""
    for playbook in (REPO / "playbooks").glob("*.yml"):
        found = sorted(set(re.findall(r"__(?:zookeeper|java)_\w+", playbook.read_text())))
        assert not found, f"{playbook.name} uses the roles' internal variables {found}"


def readme_rows() -> dict[str, str]:
    """The README's short table of the variables people change: name -> default as shown."""
    text = (REPO / "README.md").read_text()
    section = text.split("\n## The variables people change\n", 1)[1].split("\n## ", 1)[0]
    return dict(re.findall(r"^\| `([a-z0-9_]+)` \| `([^`]*)` \|", section, re.M))


def test_the_readme_table_names_real_variables_with_their_defaults() -> None:
    """The README lists a few variables (the full reference is docs/variables.md, generated
    from the specs by tools/ci/role_docs.py and checked by make lint): each is a variable of a
    role, with the default defaults/main.yml gives it."""
    rows = readme_rows()
    assert len(rows) >= 8, rows
    for name, shown in rows.items():
        role = name.split("_", 1)[0]
        assert name in specs(role)["main"]["options"], f"README: {name} is no variable"
        value = defaults(role)[name]
        expected = value if isinstance(value, str) else yaml.safe_dump(
            value, default_flow_style=True).strip().removesuffix("...").strip()
        assert shown == expected, f"README: {name} default {shown!r}, defaults/main.yml {value!r}"
