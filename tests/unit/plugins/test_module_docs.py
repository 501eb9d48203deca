"""Each module of the collection (plugins/modules/) documents itself as ansible.builtin modules
do: DOCUMENTATION, EXAMPLES and RETURN, options exactly as its argument_spec, check mode, the
examples calling it by its fully qualified name. ansible-doc renders it from the checkout (the
built collection's copy: tools/ci/test_collection.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from plugins import MODULES as MODULE_DIR
from plugins import PACKAGE, REPO, module

FQCN = PACKAGE.removeprefix("ansible_collections.")
MODULES = sorted(p.stem for p in MODULE_DIR.glob("*.py"))
BIN = Path(sys.executable).parent
# The fields of an option that an argument_spec and its documentation share.
# (no_log is the argument_spec's alone: validate-modules refuses it in DOCUMENTATION.)
SPEC_FIELDS = ("type", "elements", "default", "required", "choices", "aliases")


def normalized(option: dict) -> dict:
    """An option's spec fields, with what an absent field means (no default, not required)."""
    return {"type": option.get("type", "str"), "elements": option.get("elements"),
            "default": option.get("default"), "required": bool(option.get("required", False)),
            "choices": option.get("choices"), "aliases": option.get("aliases") or []}


def documented_options_match(options: dict, spec: dict) -> list[str]:
    """Every difference between the documented options and the argument_spec."""
    problems = [f"{key}: in the argument_spec, not documented"
                for key in spec.keys() - options.keys()]
    problems += [f"{key}: documented, not in the argument_spec"
                 for key in options.keys() - spec.keys()]
    for key in spec.keys() & options.keys():
        doc, code = normalized(options[key]), normalized(spec[key])
        problems += [f"{key}.{field}: documented {doc[field]!r}, argument_spec {code[field]!r}"
                     for field in doc if doc[field] != code[field]]
        if not options[key].get("description"):
            problems.append(f"{key}: no description")
    return problems


def ansible_doc(*args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    env.update(ANSIBLE_NOCOLOR="1", ANSIBLE_CONFIG=str(REPO / "ansible.cfg"))
    return subprocess.run([str(BIN / "ansible-doc"), *args], capture_output=True, text=True,
                          env=env, check=False, timeout=120)


# Modules whose work an action plugin of the same name does on the controller: the module file
# documents it and holds the ARGUMENT_SPEC the plugin checks its arguments against.
ACTIONS = sorted(p.stem for p in (MODULE_DIR.parent / "action").glob("*.py"))


def test_the_roles_have_modules() -> None:
    assert MODULES == ["java_check", "java_probe", "zookeeper_decide", "zookeeper_files",
                       "zookeeper_membership", "zookeeper_probe", "zookeeper_reconfig",
                       "zookeeper_release", "zookeeper_server", "zookeeper_signature",
                       "zookeeper_tls_ca", "zookeeper_validate"]
    assert ACTIONS == ["java_check", "zookeeper_decide", "zookeeper_membership",
                       "zookeeper_validate"]


@pytest.mark.parametrize("name", MODULES)
def test_documentation_examples_and_return_are_complete(name: str) -> None:
    mod = module(name)
    doc = yaml.safe_load(mod.DOCUMENTATION)
    assert doc["module"] == name
    for key in ("short_description", "description", "options", "author", "notes"):
        assert doc.get(key), f"{name}: DOCUMENTATION has no {key}"
    assert len(doc["short_description"]) <= 100
    assert doc["attributes"]["check_mode"]["support"] == "full"
    assert any("check mode" in note.lower() for note in doc["notes"]), (
        f"{name}: no note says what check mode does")
    assert documented_options_match(doc["options"], mod.ARGUMENT_SPEC) == []
    examples = yaml.safe_load(mod.EXAMPLES)
    calls = [task[f"{FQCN}.{name}"] for task in examples if f"{FQCN}.{name}" in task]
    assert calls, f"{name}: no example calls the module by {FQCN}.{name}"
    assert not [task for task in examples if name in task], f"{name}: an example's short name"
    for options in calls:
        assert set(options) <= set(mod.ARGUMENT_SPEC), f"{name}: an example's unknown option"
    returned = yaml.safe_load(mod.RETURN)
    for key, value in returned.items():
        assert {"description", "returned", "type"} <= set(value), f"{name}: RETURN {key}"


@pytest.mark.parametrize("name", MODULES)
def test_the_module_supports_check_mode_as_documented(name: str) -> None:
    if name in ACTIONS:  # the plugin runs in check mode as in a run, and checks its arguments
        source = (MODULE_DIR.parent / "action" / f"{name}.py").read_text()
        assert "self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)" in source
        assert "_supports_check_mode = False" not in source
        return
    source = (MODULE_DIR / f"{name}.py").read_text()
    assert "AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)" in source


def test_a_difference_between_spec_and_documentation_is_found() -> None:
    spec = {"a": {"type": "int", "default": 1}, "b": {"type": "path"}}
    docs = {"a": {"type": "int", "default": 2, "description": "x"},
            "c": {"type": "str", "description": "y"}}
    assert documented_options_match(docs, spec) == [
        "b: in the argument_spec, not documented", "c: documented, not in the argument_spec",
        "a.default: documented 2, argument_spec 1"]


@pytest.mark.slow
@pytest.mark.parametrize("name", MODULES)
def test_ansible_doc_renders_the_module_from_the_checkout(name: str) -> None:
    text = ansible_doc("-t", "module", f"{FQCN}.{name}")
    assert text.returncode == 0, text.stderr
    assert f"MODULE {FQCN}.{name} (" in text.stdout
    assert f"zookeeper34/plugins/modules/{name}.py)" in text.stdout
    assert "[WARNING]" not in text.stderr and "[ERROR]" not in text.stderr, text.stderr
    for section in ("OPTIONS", "ATTRIBUTES", "NOTES", "AUTHOR", "EXAMPLES", "RETURN VALUES"):
        assert section in text.stdout, f"ansible-doc {name} shows no {section}"
    parsed = ansible_doc("-t", "module", "--json", f"{FQCN}.{name}")
    assert parsed.returncode == 0, parsed.stderr
    doc = json.loads(parsed.stdout)[f"{FQCN}.{name}"]
    assert documented_options_match(doc["doc"]["options"], module(name).ARGUMENT_SPEC) == []
    assert doc["return"] and doc["examples"]
