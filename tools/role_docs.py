#!/usr/bin/env python3
"""The variable reference, docs/variables.md, written from the roles' argument specs
(roles/*/meta/argument_specs.yml), the one place each variable is described.

    tools/role_docs.py            write docs/variables.md
    tools/role_docs.py --check    exit 1 if docs/variables.md is not what it would write
                                  (make lint runs this)
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parent.parent
ROLES = ("java", "zookeeper")
HEADER = """# Variables

Written by `tools/role_docs.py` from `roles/*/meta/argument_specs.yml` (edit those, then run
`python tools/role_docs.py`; `make lint` checks that this file matches). Each role's `main`
entry point lists the variables of `roles/*/defaults/main.yml`; the other entry points are the
task files the playbooks call (`tasks_from`) and the parameters they take.

Set per host in the inventory: `zookeeper_id` (required, 1-255) and optionally
`zookeeper_address`. A default shown as *derived* is computed from other variables
(`roles/*/defaults/main.yml` has the expression).
"""


def text(value: Any) -> str:
    """A description (a string or a list of them) on one line."""
    if isinstance(value, list):
        value = " ".join(str(v) for v in value)
    return " ".join(str(value or "").split())


def cell(value: str) -> str:
    return value.replace("|", "\\|")


def shown(value: Any) -> str:
    return f"`{json.dumps(value)}`"


def default_of(name: str, option: dict[str, Any], defaults: dict[str, Any]) -> str:
    if option.get("required"):
        return "required"
    if "default" in option:
        return shown(option["default"])
    value = defaults.get(name)
    if isinstance(value, str) and "{{" in value:
        return "*derived*"
    return "" if name not in defaults else shown(value)


def type_of(option: dict[str, Any]) -> str:
    kind = str(option.get("type", "str"))
    if kind == "list" and option.get("elements"):
        kind += f" of {option['elements']}"
    return kind


def render_role(role: str, roles_dir: Path) -> list[str]:
    specs = yaml.safe_load((roles_dir / role / "meta" / "argument_specs.yml").read_text())
    defaults_file = roles_dir / role / "defaults" / "main.yml"
    defaults = yaml.safe_load(defaults_file.read_text()) if defaults_file.exists() else {}
    lines = [f"## Role `{role}`", ""]
    for entry, spec in specs["argument_specs"].items():
        lines += [f"### `{role}` entry point `{entry}`", "",
                  text(spec.get("short_description")), ""]
        if spec.get("description"):
            lines += [text(spec["description"]), ""]
        options = spec.get("options") or {}
        if not options:
            lines += ["No parameters of its own.", ""]
            continue
        lines += ["| variable | type | default | description |", "|---|---|---|---|"]
        for name, option in options.items():
            what = text(option.get("description"))
            if option.get("choices"):
                what += " Choices: " + ", ".join(shown(c) for c in option["choices"]) + "."
            lines.append(f"| `{name}` | {type_of(option)} | "
                         f"{cell(default_of(name, option, defaults or {}))} | {cell(what)} |")
        lines.append("")
    return lines


def render(roles_dir: Path) -> str:
    lines = [HEADER]
    for role in ROLES:
        lines += render_role(role, roles_dir)
    return "\n".join(lines).rstrip("\n") + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="exit 1 if the output file differs from what would be written")
    parser.add_argument("--roles-dir", type=Path, default=REPO / "roles")
    parser.add_argument("--output", type=Path, default=REPO / "docs" / "variables.md")
    args = parser.parse_args(argv)
    wanted = render(args.roles_dir)
    if args.check:
        if not args.output.exists() or args.output.read_text() != wanted:
            print(f"{args.output} does not match the argument specs: run python "
                  "tools/role_docs.py", file=sys.stderr)
            return 1
        return 0
    args.output.write_text(wanted)
    return 0


if __name__ == "__main__":
    sys.exit(main())
