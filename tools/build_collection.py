#!/usr/bin/env python3
"""Build the Ansible collection described by galaxy.yml from this repository (`make collection`).

The repository keeps its own layout (roles/ with their modules and filters, playbooks/); the
collection is generated from it, never kept as a second copy. The build stages
BUILD/collection/ansible_collections/NAMESPACE/NAME/ with:

  roles/ROLE/             each role, without its tests/ and without the plugins a role inside a
                          collection cannot carry (library/, module_utils/, filter_plugins/)
  plugins/modules/        roles/*/library/*.py; their imports of the roles' module_utils,
                          ``ansible.module_utils.X``, rewritten to the collection's
                          ``ansible_collections.NAMESPACE.NAME.plugins.module_utils.X``, and the
                          module names in EXAMPLES fully qualified
  plugins/module_utils/   roles/*/module_utils/*.py
  plugins/filter/         roles/*/filter_plugins/*.py
  plugins/plugin_utils/   roles/*/filter_plugins/impl/*.py, the code a filter file loads when a
                          task first applies one of its filters (the file told where it is)
  roles/ROLE/...          with the roles' own filters fully qualified wherever a template
                          applies them (``| zookeeper_members(...)`` in tasks, vars and
                          templates becomes ``| NAMESPACE.NAME.zookeeper_members(...)``)
  playbooks/              playbooks/*.yml, the roles they name fully qualified
                          (NAMESPACE.NAME.ROLE) and their usage comments as a collection's
                          user runs them; a playbook's name is its resource name, so
                          rolling-restart.yml becomes rolling_restart.yml (a collection
                          reference has no dashes)
  galaxy.yml, meta/runtime.yml, README.md, LICENSE, CHANGELOG.md
  changelogs/             CHANGELOG.md's releases as antsibull-changelog keeps a collection's
                          (changelog.yaml, each release's text its summary, and config.yaml), the
                          form ansible-test's changelog test and the collection tooling read;
                          the build refuses a galaxy.yml version CHANGELOG.md has no section for

then runs ``ansible-galaxy collection build``, which writes BUILD/NAMESPACE-NAME-VERSION.tar.gz.

Why the build rewrites the module_utils import instead of the modules trying the collection's
path first and falling back to ``ansible.module_utils``: with a fallback, the repository's role
would silently ship an installed collection's (perhaps older) module_utils to the hosts whenever
one is installed, since AnsiballZ bundles the first import that resolves. Rewritten, each copy
uses its own; and the build fails if a module imports a module_util the roles do not carry.

Inside the collection, the roles keep calling their modules by their short names: for modules
and action plugins a role's own collection is searched first. Filters are not: ansible-core looks
an unqualified filter name up among its own and the legacy (role-adjacent) filters only ("No
filter named 'zookeeper_problems'" otherwise), so the build qualifies them.
tools/test_collection.py runs the built roles to prove both.
"""

from __future__ import annotations

import argparse
import importlib.util
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
# What a role keeps inside the collection: everything but these.
ROLE_EXCLUDED_DIRS = {"tests", "library", "module_utils", "filter_plugins", "__pycache__"}
# Role plugin directories and where the collection keeps them.
PLUGIN_DIRS = {"library": "modules", "module_utils": "module_utils", "filter_plugins": "filter",
               "filter_plugins/impl": "plugin_utils"}
# Where a role's filter file finds the code it loads on first use (filter_plugins/impl/), and
# where the collection's does (plugins/plugin_utils/: ansible-doc reads every file under
# plugins/filter/ as a filter plugin).
FILTER_IMPL = 'IMPL = Path(__file__).resolve().parent / "impl"'
COLLECTION_FILTER_IMPL = 'IMPL = Path(__file__).resolve().parent.parent / "plugin_utils"'

TOP_FILES = ["galaxy.yml", "README.md", "LICENSE", "CHANGELOG.md", "meta/runtime.yml",
             "meta/execution-environment.yml", "meta/ee-requirements.txt", "meta/ee-bindep.txt"]
# Task keywords that name a role.
ROLE_TASK_KEYS = {f"{prefix}{action}" for prefix in ("", "ansible.builtin.", "ansible.legacy.")
                  for action in ("import_role", "include_role")}
TASK_LISTS = ("pre_tasks", "tasks", "post_tasks", "handlers")
BLOCK_LISTS = ("block", "rescue", "always")
# A release's section in CHANGELOG.md: `## VERSION (YYYY-MM-DD)`.
SECTION_HEADING = re.compile(r"^## .*$", re.M)
RELEASE_HEADING = re.compile(r"## (?P<version>\d+\.\d+\.\d+\S*) \((?P<date>\d{4}-\d{2}-\d{2})\)")
CHANGELOG_HEADER = ("# Generated by tools/build_collection.py from the repository's CHANGELOG.md "
                    "(edit that, not this).\n")


class BuildError(Exception):
    """The repository cannot be turned into the collection (a message says why)."""


@dataclass(frozen=True)
class Collection:
    namespace: str
    name: str
    version: str

    @property
    def fqcn(self) -> str:
        return f"{self.namespace}.{self.name}"

    @property
    def package(self) -> str:
        """The Python package the collection is imported as."""
        return f"ansible_collections.{self.namespace}.{self.name}"

    @property
    def tarball_name(self) -> str:
        return f"{self.namespace}-{self.name}-{self.version}.tar.gz"


def read_galaxy(repo: Path) -> Collection:
    meta = yaml.safe_load((repo / "galaxy.yml").read_text())
    return Collection(str(meta["namespace"]), str(meta["name"]), str(meta["version"]))


def roles(repo: Path) -> list[str]:
    return sorted(p.name for p in (repo / "roles").iterdir()
                  if p.is_dir() and (p / "tasks" / "main.yml").is_file())


def plugin_sources(repo: Path) -> dict[str, dict[str, Path]]:
    """For each collection plugin directory, the files that go there by name; two roles with a
    plugin file of the same name are refused (one would silently replace the other)."""
    found: dict[str, dict[str, Path]] = {target: {} for target in PLUGIN_DIRS.values()}
    for role in roles(repo):
        for source_dir, target in PLUGIN_DIRS.items():
            for path in sorted((repo / "roles" / role / source_dir).glob("*.py")):
                if path.name == "__init__.py":
                    continue
                if path.name in found[target]:
                    raise BuildError(f"{path.relative_to(repo)} and "
                                     f"{found[target][path.name].relative_to(repo)} would both "
                                     f"be plugins/{target}/{path.name}; rename one")
                found[target][path.name] = path
    return found


def rewrite_module_utils_imports(text: str, utils: list[str], collection: Collection) -> str:
    """``ansible.module_utils.X`` of the roles' own module_utils X, as the collection's."""
    if not utils:
        return text
    pattern = re.compile(r"\bansible\.module_utils\.(" + "|".join(map(re.escape, utils)) + r")\b")
    return pattern.sub(lambda m: f"{collection.package}.plugins.module_utils.{m.group(1)}", text)


def qualify_examples(text: str, module: str, collection: Collection) -> str:
    """The module's name as a task key in EXAMPLES, fully qualified."""
    match = re.search(r'^EXAMPLES = r?"""\n(.*?)^"""', text, flags=re.S | re.M)
    if not match:
        return text
    examples = re.sub(rf"^(\s*){re.escape(module)}:", rf"\g<1>{collection.fqcn}.{module}:",
                      match.group(1), flags=re.M)
    return text[:match.start(1)] + examples + text[match.end(1):]


def filter_names(paths: list[Path]) -> list[str]:
    """The filters the FilterModule classes of these files provide."""
    names: list[str] = []
    for path in paths:
        spec = importlib.util.spec_from_file_location(f"_zk_filter_{path.stem}", path)
        if spec is None or spec.loader is None:
            raise BuildError(f"cannot load {path}")
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module  # as Ansible's loader does (dataclasses need it)
        spec.loader.exec_module(module)
        names.extend(module.FilterModule().filters())
    return sorted(names)


def _filter_pattern(names: list[str]) -> re.Pattern[str]:
    """A filter applied by name: ``| name`` or ``map('name'``, not a variable of that name."""
    alternatives = "|".join(map(re.escape, names))
    return re.compile(rf"(\|\s*|\bmap\(\s*['\"])({alternatives})\b(?![.\w])")


def qualify_filters(text: str, names: list[str], collection: Collection) -> str:
    """Each application of one of the roles' filters, fully qualified."""
    if not names:
        return text
    return _filter_pattern(names).sub(
        lambda m: f"{m.group(1)}{collection.fqcn}.{m.group(2)}", text)


def unqualified_filters(text: str, names: list[str]) -> list[str]:
    """The roles' filters a text still applies by their short name."""
    return [m.group(2) for m in _filter_pattern(names).finditer(text)] if names else []


def _scalar(node: yaml.Node) -> str | None:
    return node.value if isinstance(node, yaml.ScalarNode) else None


def _mapping_value(node: yaml.Node, key: str) -> yaml.Node | None:
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            if _scalar(k) == key:
                return v
    return None


def _task_role_names(tasks: yaml.Node | None) -> Iterator[yaml.Node]:
    if not isinstance(tasks, yaml.SequenceNode):
        return
    for task in tasks.value:
        if not isinstance(task, yaml.MappingNode):
            continue
        for key, value in task.value:
            if _scalar(key) in ROLE_TASK_KEYS:
                name = _mapping_value(value, "name") or _mapping_value(value, "role")
                if name is not None:
                    yield name
            elif _scalar(key) in BLOCK_LISTS:
                yield from _task_role_names(value)


def role_name_nodes(text: str) -> list[yaml.ScalarNode]:
    """The scalar nodes of a playbook that name a role: in a play's `roles`, and in
    import_role/include_role tasks of its task lists (blocks included)."""
    document = yaml.compose(text, Loader=yaml.SafeLoader)
    nodes: list[yaml.Node] = []
    if not isinstance(document, yaml.SequenceNode):
        return []
    for play in document.value:
        entries = _mapping_value(play, "roles")
        if isinstance(entries, yaml.SequenceNode):
            for entry in entries.value:
                if isinstance(entry, yaml.ScalarNode):
                    nodes.append(entry)
                else:
                    name = _mapping_value(entry, "role") or _mapping_value(entry, "name")
                    if name is not None:
                        nodes.append(name)
        for key in TASK_LISTS:
            nodes.extend(_task_role_names(_mapping_value(play, key)))
    return [n for n in nodes if isinstance(n, yaml.ScalarNode)]


def qualify_playbook(text: str, known_roles: list[str], collection: Collection) -> str:
    """The playbook with each of this repository's roles named by its FQCN. Only the scalars
    that name a role change; comments and layout stay (a systemd unit called zookeeper is no
    role). A role name that is neither one of ours nor fully qualified is refused: the
    collection could not resolve it."""
    edits = []
    for node in role_name_nodes(text):
        if node.value in known_roles:
            edits.append((node.start_mark.index, node.end_mark.index,
                          f"{collection.fqcn}.{node.value}"))
        elif node.value.count(".") < 2 and "{{" not in node.value:
            raise BuildError(f"role {node.value!r} (line {node.start_mark.line + 1}) is not one "
                             f"of this repository's roles ({', '.join(known_roles)})")
    for start, end, value in sorted(edits, reverse=True):
        text = text[:start] + value + text[end:]
    return text


def qualify_usage_comments(text: str, collection: Collection) -> str:
    """The usage lines of a playbook's comments as a user of the collection types them:
    ``ansible-playbook -i inventories/lab playbooks/status.yml`` becomes ``ansible-playbook -i
    INVENTORY NAMESPACE.NAME.status``."""
    def usage(match: re.Match[str]) -> str:
        line = re.sub(r"-i inventories/\S+", "-i INVENTORY", match.group(0))
        return re.sub(r"\bplaybooks/([\w-]+)\.yml\b",
                      lambda m: f"{collection.fqcn}.{m.group(1).replace('-', '_')}", line)

    return re.sub(r"^#.*\bansible-playbook\b.*$", usage, text, flags=re.M)


def playbook_resource_name(path: Path) -> str:
    """A playbook's file name in the collection: a valid collection reference (no dashes)."""
    return path.stem.replace("-", "_") + path.suffix


@dataclass(frozen=True)
class Release:
    date: str
    text: str  # Markdown


def changelog_releases(markdown: str) -> dict[str, Release]:
    """CHANGELOG.md's releases by version: each ``## VERSION (YYYY-MM-DD)`` section."""
    headings = list(SECTION_HEADING.finditer(markdown))
    releases: dict[str, Release] = {}
    for heading, following in zip(headings, [*headings[1:], None]):
        release = RELEASE_HEADING.fullmatch(heading.group(0).rstrip())
        if not release:
            raise BuildError(f"CHANGELOG.md: {heading.group(0)!r} is not a release's heading, "
                             "## VERSION (YYYY-MM-DD)")
        if release["version"] in releases:
            raise BuildError(f"CHANGELOG.md has two sections for {release['version']}")
        end = following.start() if following else len(markdown)
        releases[release["version"]] = Release(
            release["date"], markdown[heading.end():end].strip() + "\n")
    return releases


def markdown_to_rst(text: str) -> str:
    """A release's Markdown as reStructuredText (antsibull-changelog's markup): lists,
    paragraphs and emphasis read the same; a code span takes double backquotes."""
    return re.sub(r"(?<!`)`([^`\n]+)`(?!`)", r"``\1``", text)


class _BlockDumper(yaml.SafeDumper):
    """Writes a text of several lines as a literal block, as it reads."""


_BlockDumper.add_representer(str, lambda dumper, value: dumper.represent_scalar(
    "tag:yaml.org,2002:str", value, style="|" if "\n" in value else None))


def changelog_files(markdown: str, collection: Collection) -> dict[str, str]:
    """changelogs/changelog.yaml and changelogs/config.yaml of the collection, generated from
    CHANGELOG.md; its version must be one of CHANGELOG.md's releases."""
    releases = changelog_releases(markdown)
    if collection.version not in releases:
        raise BuildError(f"CHANGELOG.md has no section (## {collection.version} (DATE)) for "
                         "the version galaxy.yml builds")
    changes = {"ancestor": None, "releases": {
        version: {"changes": {"release_summary": markdown_to_rst(release.text)},
                  "release_date": release.date}
        for version, release in releases.items()}}
    config = {
        "title": collection.fqcn,
        "changes_file": "changelog.yaml",
        "changes_format": "combined",
        "notesdir": "fragments",
        "prelude_section_name": "release_summary",
        "prelude_section_title": "Release Summary",
        "changelog_filename_template": "../CHANGELOG.md",
        "output_formats": ["md"],
        "use_fqcn": True,
    }
    return {name: CHANGELOG_HEADER + yaml.dump(data, Dumper=_BlockDumper, sort_keys=False,
                                               width=100)
            for name, data in (("changelog.yaml", changes), ("config.yaml", config))}


def _ignore_role_parts(directory: str, names: list[str]) -> set[str]:
    return {n for n in names if n in ROLE_EXCLUDED_DIRS or n.endswith(".pyc")}


def stage(repo: Path, output: Path) -> tuple[Collection, Path]:
    """Write the collection's tree under OUTPUT/collection/ansible_collections/NS/NAME."""
    collection = read_galaxy(repo)
    root = output / "collection" / "ansible_collections" / collection.namespace / collection.name
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    for name in TOP_FILES:
        source = repo / name
        if not source.is_file():
            raise BuildError(f"{name} is missing; the collection needs it")
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, root / name)
    (root / "changelogs").mkdir()
    for name, text in changelog_files((repo / "CHANGELOG.md").read_text(), collection).items():
        (root / "changelogs" / name).write_text(text)
    role_names = roles(repo)
    sources = plugin_sources(repo)
    filters = filter_names(list(sources["filter"].values()))
    for role in role_names:
        shutil.copytree(repo / "roles" / role, root / "roles" / role, ignore=_ignore_role_parts)
        for path in sorted((root / "roles" / role).rglob("*")):
            if path.is_file() and path.suffix in (".yml", ".yaml", ".j2"):
                text = path.read_text()
                qualified = qualify_filters(text, filters, collection)
                if qualified != text:
                    path.write_text(qualified)
    utils = sorted(Path(name).stem for name in sources["module_utils"])
    core = _core_module_utils()
    for target, files in sources.items():
        (root / "plugins" / target).mkdir(parents=True, exist_ok=True)
        for name, path in files.items():
            text = rewrite_module_utils_imports(path.read_text(), utils, collection)
            if target == "modules":
                text = qualify_examples(text, path.stem, collection)
            if target == "filter":
                text = text.replace(FILTER_IMPL, COLLECTION_FILTER_IMPL)
            unknown = set(re.findall(r"\bansible\.module_utils\.(\w+)", text)) - core
            if unknown:
                raise BuildError(f"{path.relative_to(repo)} imports ansible.module_utils."
                                 f"{', '.join(sorted(unknown))}, which neither ansible-core nor "
                                 "the roles' module_utils provide")
            (root / "plugins" / target / name).write_text(text)
            shutil.copymode(path, root / "plugins" / target / name)
    (root / "playbooks").mkdir()
    for path in sorted((repo / "playbooks").glob("*.yml")):
        text = qualify_usage_comments(
            qualify_playbook(path.read_text(), role_names, collection), collection)
        (root / "playbooks" / playbook_resource_name(path)).write_text(text)
    return collection, root


def _core_module_utils() -> set[str]:
    """The top-level module_utils ansible-core itself ships."""
    import ansible.module_utils as core

    return {p.stem for p in Path(core.__file__).parent.iterdir()
            if p.suffix == ".py" or (p.is_dir() and (p / "__init__.py").exists())}


def build(repo: Path, output: Path) -> Path:
    """Stage the collection and build its tarball; returns the tarball's path."""
    collection, root = stage(repo, output)
    galaxy = Path(sys.executable).parent / "ansible-galaxy"
    command = [str(galaxy) if galaxy.exists() else "ansible-galaxy", "collection", "build",
               str(root), "--output-path", str(output), "--force"]
    proc = subprocess.run(command, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise BuildError(f"{' '.join(command)} failed:\n{proc.stdout}{proc.stderr}")
    tarball = output / collection.tarball_name
    if not tarball.is_file():
        raise BuildError(f"ansible-galaxy did not write {tarball}:\n{proc.stdout}")
    return tarball


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=REPO / "build",
                        help="directory for the staged tree and the tarball (default: build/)")
    parser.add_argument("--stage-only", action="store_true",
                        help="write the collection's tree, do not build the tarball")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    output = args.output.resolve()
    try:
        if args.stage_only:
            _, root = stage(REPO, output)
            print(root)
        else:
            print(build(REPO, output))
    except (BuildError, OSError, yaml.YAMLError) as err:
        print(f"build_collection: error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
