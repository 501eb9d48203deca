"""Unit tests of tools/build_collection.py's rewrites (no ansible-galaxy run here; the built and
installed collection is tested in tools/test_collection.py)."""

from __future__ import annotations

from pathlib import Path

import build_collection as bc
import pytest
import yaml

COLL = bc.Collection("zkops", "zookeeper34", "0.1.0")
REPO = Path(__file__).resolve().parent.parent

PLAYBOOK = """\
---
# Deploys the ensemble:
#   ansible-playbook -i inventories/lab playbooks/site.yml
- name: Deploy
  hosts: zookeeper
  pre_tasks:
    - name: Validate
      ansible.builtin.import_role:
        name: zookeeper   # the role
        tasks_from: validate-inventory.yml
  roles:
    - role: java
      tags: [java]
    - zookeeper
    - {role: "zookeeper", tags: [zk]}

- name: Retire
  hosts: zookeeper_retired
  tasks:
    - name: Stop the unit called zookeeper (no role)
      ansible.builtin.systemd:
        name: zookeeper
        state: stopped
    - name: A block
      block:
        - name: Wait
          include_role:
            name: zookeeper
            tasks_from: wait-remaining.yml
"""


def test_playbook_roles_become_fqcn_and_nothing_else_changes() -> None:
    out = bc.qualify_playbook(PLAYBOOK, ["java", "zookeeper"], COLL)
    plays = yaml.safe_load(out)
    assert plays[0]["pre_tasks"][0]["ansible.builtin.import_role"]["name"] == (
        "zkops.zookeeper34.zookeeper")
    assert plays[0]["roles"] == [
        {"role": "zkops.zookeeper34.java", "tags": ["java"]}, "zkops.zookeeper34.zookeeper",
        {"role": "zkops.zookeeper34.zookeeper", "tags": ["zk"]}]
    # The systemd unit keeps its name; the role in the block is qualified.
    assert plays[1]["tasks"][0]["ansible.builtin.systemd"]["name"] == "zookeeper"
    assert plays[1]["tasks"][1]["block"][0]["include_role"]["name"] == (
        "zkops.zookeeper34.zookeeper")
    # Comments and layout stay.
    assert "name: zkops.zookeeper34.zookeeper   # the role\n" in out
    assert out.count("\n") == PLAYBOOK.count("\n")
    assert bc.qualify_playbook(out, ["java", "zookeeper"], COLL) == out


def test_a_role_the_collection_cannot_resolve_is_refused() -> None:
    with pytest.raises(bc.BuildError, match=r"'kafka' .* is not one of this repository's roles"):
        bc.qualify_playbook("- hosts: all\n  roles: [kafka]\n", ["java", "zookeeper"], COLL)
    # Another collection's role is left alone.
    text = "- hosts: all\n  roles: [community.general.foo]\n"
    assert bc.qualify_playbook(text, ["java"], COLL) == text


def test_module_utils_imports_point_at_the_collection() -> None:
    source = ("from ansible.module_utils.basic import AnsibleModule\n"
              "from ansible.module_utils.zookeeper_4lw import srvr_at\n"
              "import ansible.module_utils.zookeeper_4lw_extra\n")
    out = bc.rewrite_module_utils_imports(source, ["zookeeper_4lw"], COLL)
    assert out == ("from ansible.module_utils.basic import AnsibleModule\n"
                   "from ansible_collections.zkops.zookeeper34.plugins.module_utils.zookeeper_4lw"
                   " import srvr_at\n"
                   "import ansible.module_utils.zookeeper_4lw_extra\n")


def test_examples_name_the_module_by_its_fqcn_and_nothing_else() -> None:
    source = ('DOCUMENTATION = r"""\nmodule: zookeeper_probe\n"""\n'
              'EXAMPLES = r"""\n- name: Probe\n  zookeeper_probe:\n    user: zookeeper\n"""\n'
              'RETURN = r"""\nzookeeper_probe: {}\n"""\n')
    out = bc.qualify_examples(source, "zookeeper_probe", COLL)
    assert "\n  zkops.zookeeper34.zookeeper_probe:\n    user: zookeeper\n" in out
    assert "module: zookeeper_probe\n" in out and "\nzookeeper_probe: {}\n" in out


def test_filters_are_qualified_where_applied_not_where_a_variable_has_their_name() -> None:
    names = ["java_major_version", "zookeeper_members"]
    text = ('java_major_version: "{{ out.stderr | java_major_version }}"\n'
            "that: java_major_version | default(0) | int <= 17\n"
            "m: \"{{ groups.zk |zookeeper_members(hostvars) | map('zookeeper_members') }}\"\n"
            "n: \"{{ x | zookeeper_members_extra | other.coll.zookeeper_members }}\"\n")
    out = bc.qualify_filters(text, names, COLL)
    assert out == (
        'java_major_version: "{{ out.stderr | zkops.zookeeper34.java_major_version }}"\n'
        "that: java_major_version | default(0) | int <= 17\n"
        "m: \"{{ groups.zk |zkops.zookeeper34.zookeeper_members(hostvars)"
        " | map('zkops.zookeeper34.zookeeper_members') }}\"\n"
        "n: \"{{ x | zookeeper_members_extra | other.coll.zookeeper_members }}\"\n")
    assert bc.unqualified_filters(out, names) == []
    assert bc.qualify_filters(out, names, COLL) == out


def test_the_repository_filters_are_found() -> None:
    sources = bc.plugin_sources(REPO)
    names = bc.filter_names(list(sources["filter"].values()))
    assert {"zookeeper_members", "zookeeper_value_problems", "java_major_version"} <= set(names)
    assert set(sources["modules"]) == {p.name for p in REPO.glob("roles/*/library/*.py")}


def test_two_roles_with_a_plugin_of_the_same_name_are_refused(tmp_path: Path) -> None:
    for role in ("a", "b"):
        (tmp_path / "roles" / role / "tasks").mkdir(parents=True)
        (tmp_path / "roles" / role / "tasks" / "main.yml").write_text("---\n[]\n")
        (tmp_path / "roles" / role / "filter_plugins").mkdir()
        (tmp_path / "roles" / role / "filter_plugins" / "same.py").write_text("")
    with pytest.raises(bc.BuildError, match=r"would both be plugins/filter/same\.py"):
        bc.plugin_sources(tmp_path)


def test_usage_comments_name_the_collections_playbooks() -> None:
    text = ("---\n# Restarts every server:\n"
            "#   ansible-playbook -i inventories/lab playbooks/rolling-restart.yml -e x=1\n"
            "- name: playbooks/site.yml stays in a task\n")
    assert bc.qualify_usage_comments(text, COLL) == (
        "---\n# Restarts every server:\n"
        "#   ansible-playbook -i INVENTORY zkops.zookeeper34.rolling_restart -e x=1\n"
        "- name: playbooks/site.yml stays in a task\n")


def test_playbook_names_are_collection_references() -> None:
    assert bc.playbook_resource_name(Path("rolling-restart.yml")) == "rolling_restart.yml"
    assert bc.playbook_resource_name(Path("site.yml")) == "site.yml"


def test_stage_lays_out_the_collection(tmp_path: Path) -> None:
    collection, root = bc.stage(REPO, tmp_path)
    assert root == tmp_path / "collection/ansible_collections" / collection.namespace / (
        collection.name)
    for role in bc.roles(REPO):
        for part in bc.ROLE_EXCLUDED_DIRS:
            assert not (root / "roles" / role / part).exists()
    users = 0
    for module in (REPO / "roles").glob("*/library/*.py"):
        text = (root / "plugins/modules" / module.name).read_text()
        assert "ansible.module_utils.zookeeper_4lw" not in text
        if "ansible.module_utils.zookeeper_4lw" in module.read_text():
            users += 1
            assert f"{collection.package}.plugins.module_utils.zookeeper_4lw" in text
    assert users >= 2, "no module of the role imports the module_util any more"
    names = bc.filter_names(sorted((root / "plugins/filter").glob("*.py")))
    assert sorted(p.name for p in (root / "plugins/plugin_utils").glob("*.py")) == sorted(
        p.name for p in REPO.glob("roles/*/filter_plugins/impl/*.py"))
    assert bc.COLLECTION_FILTER_IMPL in (root / "plugins/filter/zookeeper.py").read_text()
    assert bc.FILTER_IMPL in (REPO / "roles/zookeeper/filter_plugins/zookeeper.py").read_text()
    for path in (root / "roles").rglob("*"):
        if path.suffix in (".yml", ".j2"):
            assert bc.unqualified_filters(path.read_text(), names) == [], path
    assert sorted(p.name for p in (root / "playbooks").iterdir()) == sorted(
        bc.playbook_resource_name(p) for p in (REPO / "playbooks").glob("*.yml"))
    assert (root / "meta/runtime.yml").is_file() and (root / "LICENSE").is_file()
    assert sorted(p.name for p in (root / "changelogs").iterdir()) == [
        "changelog.yaml", "config.yaml"]
    # Staging again replaces the tree (nothing stale is left behind).
    (root / "stale.txt").write_text("x")
    bc.stage(REPO, tmp_path)
    assert not (root / "stale.txt").exists()


def test_license_and_galaxy_metadata_agree() -> None:
    galaxy = yaml.safe_load((REPO / "galaxy.yml").read_text())
    assert galaxy["license"] == ["Apache-2.0"]
    assert "Apache License" in (REPO / "LICENSE").read_text()[:200]
    assert "Version 2.0" in (REPO / "LICENSE").read_text()[:200]
    for meta in REPO.glob("roles/*/meta/main.yml"):
        assert yaml.safe_load(meta.read_text())["galaxy_info"]["license"] == "Apache-2.0", meta
    assert galaxy["dependencies"] == {}
    assert galaxy["version"] == "0.2.0"


CHANGELOG = """\
# Changelog of the collection zkops.zookeeper34

## 0.2.0 (2026-12-01)

- The `zookeeper` role takes `zookeeper_x`; ``kept`` as it is.

## 0.1.0 (2026-11-26)

- First.
"""


def test_changelog_releases_are_its_dated_sections() -> None:
    releases = bc.changelog_releases(CHANGELOG)
    assert list(releases) == ["0.2.0", "0.1.0"]
    assert releases["0.2.0"] == bc.Release(
        "2026-12-01", "- The `zookeeper` role takes `zookeeper_x`; ``kept`` as it is.\n")
    assert releases["0.1.0"] == bc.Release("2026-11-26", "- First.\n")


@pytest.mark.parametrize(("text", "error"), [
    ("## 0.1.0\n\n- First.\n", r"'## 0.1.0' is not a release's heading"),
    ("## Unreleased\n", r"'## Unreleased' is not a release's heading"),
    ("## 0.1.0 (2026-11-26)\n- a\n## 0.1.0 (2026-11-27)\n- b\n", "two sections for 0.1.0"),
])
def test_a_changelog_section_antsibull_could_not_date_is_refused(text: str, error: str) -> None:
    with pytest.raises(bc.BuildError, match=error):
        bc.changelog_releases(text)


def test_code_spans_become_rst_literals_and_nothing_else_changes() -> None:
    assert bc.markdown_to_rst("- `a` and ``b``, *c*, **d**\n  `e`.\n") == (
        "- ``a`` and ``b``, *c*, **d**\n  ``e``.\n")


def test_a_version_the_changelog_does_not_describe_is_not_built() -> None:
    with pytest.raises(bc.BuildError, match=r"no section \(## 0.3.0 \(DATE\)\)"):
        bc.changelog_files(CHANGELOG, bc.Collection("zkops", "zookeeper34", "0.3.0"))


def test_the_collection_changelog_is_what_antsibull_changelog_reads(tmp_path: Path) -> None:
    """The repository's CHANGELOG.md, as the collection's changelogs/: antsibull-changelog (the
    version ansible-test's changelog test pins) lints its changelog.yaml clean, loads its
    config.yaml, and renders each release of CHANGELOG.md from them."""
    from antsibull_changelog.changes import load_changes
    from antsibull_changelog.config import ChangelogConfig, CollectionDetails, PathsConfig
    from antsibull_changelog.lint import lint_changelog_yaml

    collection = bc.read_galaxy(REPO)
    markdown = (REPO / "CHANGELOG.md").read_text()
    (tmp_path / "changelogs").mkdir()
    for name, text in bc.changelog_files(markdown, collection).items():
        assert text.startswith("# Generated by tools/build_collection.py")
        (tmp_path / "changelogs" / name).write_text(text)
    (tmp_path / "galaxy.yml").write_text((REPO / "galaxy.yml").read_text())
    assert lint_changelog_yaml(str(tmp_path / "changelogs" / "changelog.yaml")) == []
    paths = PathsConfig.force_collection(str(tmp_path))
    config = ChangelogConfig.load(paths, CollectionDetails(paths))
    assert config.title == collection.fqcn and config.changes_file == "changelog.yaml"
    changes = load_changes(config)
    releases = bc.changelog_releases(markdown)
    assert sorted(changes.releases) == sorted(releases)
    assert collection.version in changes.releases
    for version, release in releases.items():
        assert changes.releases[version]["release_date"] == release.date
        assert changes.releases[version]["changes"]["release_summary"] == bc.markdown_to_rst(
            release.text)
