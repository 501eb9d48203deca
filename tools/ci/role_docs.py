"""The variable reference, docs/variables.md, written from the roles' argument specs
(roles/*/meta/argument_specs.yml), the one place each variable is described.

    tools/ci/role_docs.py            write docs/variables.md
    tools/ci/role_docs.py --check    exit 1 if docs/variables.md is not what it would write
                                  (make lint runs this)
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
ROLES = ("java", "zookeeper")
HEADER = """# Variables

Written by `tools/ci/role_docs.py` from `roles/*/meta/argument_specs.yml` (edit those, then run
`python tools/ci/role_docs.py`; `make lint` checks that this file matches). Each role's `main`
entry point lists the variables of `roles/*/defaults/main.yml`; the other entry points are the
task files the playbooks call (`tasks_from`) and the parameters they take.

Set per host in the inventory: `zookeeper_id` (required, 1-255) and optionally
`zookeeper_address`. Defaults are shown as YAML; a default *derived* from other variables shows
the expression of `roles/*/defaults/main.yml`.
"""
# Ansible's documentation markup: C(code), I(italics), B(bold), M(module), O(option), V(value).
MARKUP = re.compile(r"\b([CIBMOV])\(([^()]*)\)")
MARKDOWN = {"C": "`{}`", "M": "`{}`", "O": "`{}`", "V": "`{}`", "I": "*{}*", "B": "**{}**"}


def text(value: Any) -> str:
    """A description (a string or a list of them) on one line, its markup as Markdown."""
    if isinstance(value, list):
        value = " ".join(str(v) for v in value)
    value = " ".join(str(value or "").split())
    return MARKUP.sub(lambda m: MARKDOWN[m.group(1)].format(m.group(2)), value)


def cell(value: str) -> str:
    """A table cell: a `|` would end it."""
    return value.replace("|", "\\|")


def shown(value: Any) -> str:
    """A value as YAML writes it, on one line."""
    dumped = yaml.safe_dump(value, default_flow_style=True, width=10**6).strip()
    return "`" + dumped.removesuffix("...").strip() + "`"


def default_of(name: str, option: dict[str, Any], defaults: dict[str, Any]) -> str:
    if "default" in option:
        return shown(option["default"])
    value = defaults.get(name)
    if isinstance(value, str) and "{{" in value:
        return f"derived: `{value}`"
    return shown(value) if name in defaults else ""


def type_of(option: dict[str, Any]) -> str:
    kind = str(option.get("type", "str"))
    if option.get("elements"):
        kind += f" of {option['elements']}"
    return kind


def row(name: str, option: dict[str, Any], defaults: dict[str, Any]) -> str:
    cells = [f"`{name}`", type_of(option), default_of(name, option, defaults),
             "yes" if option.get("required") else "",
             ", ".join(shown(c) for c in option.get("choices") or []),
             text(option.get("description"))]
    return "| " + " | ".join(cell(c) for c in cells) + " |"


def render_role(role: str, roles_dir: Path) -> list[str]:
    specs = yaml.safe_load((roles_dir / role / "meta" / "argument_specs.yml").read_text())
    defaults_file = roles_dir / role / "defaults" / "main.yml"
    defaults = (yaml.safe_load(defaults_file.read_text()) if defaults_file.exists() else None) or {}
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
        lines += ["| variable | type | default | required | choices | description |",
                  "|---|---|---|---|---|---|"]
        lines += [row(name, option, defaults) for name, option in options.items()]
        lines.append("")
    return lines


def render(roles_dir: Path) -> str:
    lines = [HEADER]
    for role in ROLES:
        lines += render_role(role, roles_dir)
    return "\n".join(lines).rstrip("\n") + "\n"


def named(path: Path) -> str:
    """A path as the repository names it, else as given."""
    try:
        return str(path.resolve().relative_to(REPO))
    except ValueError:
        return str(path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="exit 1 if the output file differs from what would be written")
    parser.add_argument("--roles-dir", type=Path, default=REPO / "roles",
                        help="the roles whose meta/argument_specs.yml to read (default: roles/)")
    parser.add_argument("--output", type=Path, default=REPO / "docs" / "variables.md",
                        help="the file to write or check (default: docs/variables.md)")
    args = parser.parse_args(argv)
    wanted = render(args.roles_dir)
    if args.check:
        if not args.output.exists() or args.output.read_text() != wanted:
            print(f"{named(args.output)} does not match the argument specs: run python "
                  "tools/ci/role_docs.py", file=sys.stderr)
            return 1
        return 0
    args.output.write_text(wanted)
    return 0


if __name__ == "__main__":
    sys.exit(main())
