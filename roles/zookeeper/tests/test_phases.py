"""The reconcile loop's phases (tasks/converge.yml, tasks/phases.yml): each phase file is
included only when the decision says it has work, so the include itself must carry every tag a
task of the file answers to, or `--tags` would skip the include, and with it the task. Its
`apply` gives the file's tasks the phase's own tag, as the static import did before. A host
where no phase has work skips tasks/phases.yml, the four includes, in one task; that include is
tagged `always`, so that the phases' own tags alone decide under `--tags` and `--skip-tags`.

One include per phase, not one include looping over the phases with work: Ansible runs a
looped include's files in the order the first host's results name them, so a host still to
install (a new member) got its config phase before its install phase, when the first host had
no install to do (the membership, nemesis and reconfig38 scenarios failed on fb82575:
"/etc/zookeeper/zoo.cfg: no such user or group on the host")."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

TASKS = Path(__file__).resolve().parents[1] / "tasks"
PHASES = {"install.yml": "zookeeper_install", "config.yml": "zookeeper_config",
          "service.yml": "zookeeper_service", "metrics.yml": "zookeeper_metrics"}


def loop_tasks() -> list[dict[str, Any]]:
    return yaml.safe_load((TASKS / "converge.yml").read_text())


def phase_include(file: str) -> dict[str, Any]:
    """The task of tasks/phases.yml that includes `file`."""
    found = [task for task in yaml.safe_load((TASKS / "phases.yml").read_text())
             if (task.get("ansible.builtin.include_tasks") or {}).get("file") == file]
    assert len(found) == 1, f"tasks/phases.yml includes {file} {len(found)} times"
    return found[0]


def tags_in(entries: Any) -> set[str]:
    """Every tag the tasks, blocks and plays of `entries` name themselves, and the tags their
    includes and imports `apply` to the files' tasks."""
    tags: set[str] = set()
    for entry in entries or []:
        if not isinstance(entry, dict):
            continue
        named = entry.get("tags") or []
        tags.update([named] if isinstance(named, str) else named)
        for key in ("block", "rescue", "always", "tasks", "pre_tasks", "post_tasks", "handlers"):
            tags |= tags_in(entry.get(key))
        for key in ("ansible.builtin.include_tasks", "ansible.builtin.import_tasks"):
            if isinstance(entry.get(key), dict):
                tags.update(entry[key].get("apply", {}).get("tags") or [])
    return tags


def own_tags(file: str) -> set[str]:
    """Every tag a task of `file` names itself (blocks included), and those its includes apply."""
    return tags_in(yaml.safe_load((TASKS / file).read_text()))


@pytest.mark.parametrize("file", PHASES)
def test_each_phase_is_one_include_that_answers_to_its_tasks_tags(file: str) -> None:
    include = phase_include(file)
    tags = set(include.get("tags") or [])
    assert PHASES[file] in tags
    assert include["ansible.builtin.include_tasks"]["apply"]["tags"] == [PHASES[file]]
    missing = own_tags(file) - tags - {"always"}
    assert not missing, f"tasks/{file} has tasks tagged {sorted(missing)}, which --tags " \
        f"would skip with the include; add them to its include in tasks/converge.yml"


@pytest.mark.parametrize("file", PHASES)
def test_each_phase_runs_on_the_decision(file: str) -> None:
    when = str(phase_include(file).get("when"))
    assert "__zookeeper_todo" in when


def test_the_decision_comes_from_the_host_checks_and_the_phases_run_under_any_tag() -> None:
    """The last step of tasks/validate-hosts.yml checks each host and decides which phases have
    work on it (zookeeper_decide); tasks/converge.yml is the include of the phases, under any
    tag, where one has work. The phases are the four includes alone (no set_fact step to forget
    what an earlier pass wrote): the start reads the unit's write only in a pass whose config
    phase ran, which registers it anew."""
    checks = yaml.safe_load((TASKS / "validate-hosts.yml").read_text())[-1]
    assert checks["register"] == "__zookeeper_decision"
    decide = checks["zkops.zookeeper34.zookeeper_decide"]
    assert decide["problems"] == "__zookeeper_host_problems"
    assert decide["phases"] == {phase: f"__zookeeper_{phase}_todo"
                                for phase in ("install", "config", "service", "metrics")}
    tasks = loop_tasks()
    assert [task["name"] for task in tasks] == ["Converge the phases that have work on this host"]
    assert tasks[0]["ansible.builtin.include_tasks"] == "phases.yml"
    assert tasks[0]["tags"] == ["always"]
    # the phases' file only where one of them has work
    assert tasks[0]["when"] == "__zookeeper_todo.values() | map('bool') is any"
    variables = yaml.safe_load((TASKS.parent / "vars" / "main.yml").read_text())
    assert "__zookeeper_decision.todo" in variables["__zookeeper_todo"]
    assert set(variables["__zookeeper_todo_now"]) == set(decide["phases"])
    phases = yaml.safe_load((TASKS / "phases.yml").read_text())
    assert [task["ansible.builtin.include_tasks"]["file"] for task in phases] == list(PHASES)
    # the config phase's write is tasks/config-write.yml, its last step (site.yml's short path
    # for a new ensemble imports it too)
    config = yaml.safe_load((TASKS / "config.yml").read_text())
    assert config[-1]["ansible.builtin.import_tasks"] == "config-write.yml"
    writes = [task for task in yaml.safe_load((TASKS / "config-write.yml").read_text())
              if task.get("register") == "__zookeeper_written"]
    assert len(writes) == 1 and "zkops.zookeeper34.zookeeper_files" in writes[0]
    start = [task for task in yaml.safe_load((TASKS / "service-start.yml").read_text())
             if (task.get("zkops.zookeeper34.zookeeper_server") or {}).get("action") == "started"]
    assert len(start) == 1
    unit_changed = " ".join(start[0]["vars"]["__zookeeper_unit_changed"].split())
    assert unit_changed.startswith("{{ __zookeeper_todo.config | bool and "), unit_changed
    # A new server the write started also had its unit enabled by it: the service phase skips
    # its steps up to the start there (test_start_early.py renders __zookeeper_started_early),
    # and the restart handler leaves it be.
    files = writes[0]["zkops.zookeeper34.zookeeper_files"]
    assert files["start"] == "{{ 'zookeeper' if __zookeeper_start_early else omit }}"
    assert files["enabled"] == (
        "{{ zookeeper_service_enabled | bool if __zookeeper_start_early else omit }}")
    handlers = yaml.safe_load((TASKS.parent / "handlers" / "main.yml").read_text())
    assert "or __zookeeper_started_by_write | bool)" in handlers[0]["when"]
    # ... and where the write starts the server it does not even notify the handler.
    assert handlers[0]["listen"] == "zookeeper restart"
    assert writes[0]["notify"] == (
        "{{ [] if __zookeeper_start_early else ['zookeeper restart'] }}")


def test_a_server_the_write_started_skips_the_service_phase_up_to_its_wait() -> None:
    """tasks/service.yml: one include of everything before and at the start
    (tasks/service-start.yml: the Java check, the firewall, the membership walk, the start, the
    stale server's restart), skipped where the write of the files started and enabled a new
    server; then the handlers and the wait, on every host. The wait does not read what the start
    step registered in an earlier pass where this pass's write started the server."""
    service = yaml.safe_load((TASKS / "service.yml").read_text())
    include = service[0]["ansible.builtin.include_tasks"]
    assert include == {"file": "service-start.yml", "apply": {"tags": ["zookeeper_service"]}}
    assert service[0]["when"] == "not __zookeeper_started_early | bool"
    assert [task.get("ansible.builtin.meta") for task in service[1:]] == ["flush_handlers", None]
    wait = service[2]
    assert "action" not in wait["zkops.zookeeper34.zookeeper_server"]
    assert wait["when"].startswith(
        "(__zookeeper_started_early | bool or not __zookeeper_started.restarted | default(false))")
    steps = yaml.safe_load((TASKS / "service-start.yml").read_text())
    assert [next(key for key in task if "." in key) for task in steps] == [
        "ansible.builtin.assert", "ansible.builtin.include_tasks", "ansible.builtin.include_tasks",
        "zkops.zookeeper34.zookeeper_server", "ansible.builtin.debug"]
    # the nested includes give their files' tasks the phase's tag, as service.yml's own does
    for task in steps[1:3]:
        assert task["ansible.builtin.include_tasks"]["apply"] == {"tags": ["zookeeper_service"]}


def test_the_main_entry_point_validates_then_runs_the_loop() -> None:
    """The role on its own checks before it converges; site.yml imports the role once
    (tasks/deploy.yml), whose checks come first and whose loop is imported alone."""
    main = yaml.safe_load((TASKS / "main.yml").read_text())
    validate = [i for i, task in enumerate(main)
                if (task.get("ansible.builtin.include_tasks") or {}).get("file") == "validate.yml"]
    loop = [i for i, task in enumerate(main)
            if task.get("ansible.builtin.import_tasks") == "converge.yml"]
    assert len(validate) == 1 and loop == [len(main) - 1] and validate[0] < loop[0]
    site = yaml.safe_load((TASKS.parents[2] / "playbooks" / "site.yml").read_text())[0]
    assert [task["ansible.builtin.import_role"] for task in site["tasks"]] == [{
        "name": "zkops.zookeeper34.zookeeper", "tasks_from": "deploy.yml",
        "rolespec_validate": False}]
    deploy = yaml.safe_load((TASKS / "deploy.yml").read_text())
    steps = [task.get("ansible.builtin.import_tasks") or task.get("ansible.builtin.include_tasks")
             or "java:" + task["ansible.builtin.import_role"]["tasks_from"] for task in deploy]
    assert steps == ["checks.yml", "settled.yml", "java:converge.yml", "new-server.yml",
                     "phases.yml"]
    assert [task["tags"] for task in deploy] == [["always"]] * 2 + [["java"]] + [["zookeeper"]] * 2
    assert deploy[0]["vars"] == {"zookeeper_line_change": False}
    # site.yml and upgrade.yml check the same way, each saying whether the line may change.
    checks = yaml.safe_load((TASKS / "checks.yml").read_text())
    assert [task["ansible.builtin.import_tasks"] for task in checks] == [
        "validate-inventory.yml", "observe.yml", "validate-hosts.yml"]
    # The Java each host would run is checked in the host checks' step (zookeeper_decide), as
    # the java role's tasks/validate.yml checks it, from what the probe found; the java role
    # reads the result (vars/main.yml).
    java = checks[2]["vars"]["__zookeeper_java_check"]
    assert java["spec"] == "{{ role_path | dirname }}/java/meta/argument_specs.yml"
    assert java["found"] == "{{ __zookeeper_probe.java | default(none) }}"
    assert java["packages"] == "{{ __java_packages }}"
    java_role = TASKS.parents[1] / "java"
    java_validate = yaml.safe_load((java_role / "tasks" / "validate.yml").read_text())
    assert java_validate[0]["register"] == "__java_checked"
    decide = yaml.safe_load((TASKS / "validate-hosts.yml").read_text())[-1]
    assert decide["zkops.zookeeper34.zookeeper_decide"]["java"] == (
        "{{ __zookeeper_java_check | default(omit) }}")
    java_vars = yaml.safe_load((java_role / "vars" / "main.yml").read_text())
    assert java_vars["__java_checked"] == "{{ __zookeeper_decision.java }}"
    upgrade = yaml.safe_load((TASKS.parents[2] / "playbooks" / "upgrade.yml").read_text())[0]
    first = upgrade["pre_tasks"][0]
    assert first["ansible.builtin.import_role"]["tasks_from"] == "checks.yml"
    assert first["vars"] == {"zookeeper_line_change": True}
    # A host where nothing differs ends before the loop's (skipped) steps, under any tag.
    settled = yaml.safe_load((TASKS / "settled.yml").read_text())
    assert [task["ansible.builtin.meta"] for task in settled] == ["end_host"]
    assert settled[0]["tags"] == ["always"]
    assert settled[0]["when"] == ["not __java_install_pending | default(false) | bool",
                                  "not __zookeeper_todo.values() | map('bool') is any"]


def test_a_new_ensemble_takes_the_short_path_the_write_then_the_wait() -> None:
    """site.yml (tasks/deploy.yml), after the Java install and before the phases: where every
    member of the host's ensemble in the play is a new server whose files' write puts the release
    in place and starts it (the host checks decide __zookeeper_new_server, test_start_early.py
    renders both), tasks/new-server.yml: that write (the config phase's own step), the service
    phase's start step waiting for a server the write started (unless the write waited), and
    the play ends for the host."""
    deploy = yaml.safe_load((TASKS / "deploy.yml").read_text())
    short = deploy[3]
    assert short["ansible.builtin.include_tasks"] == "new-server.yml"
    assert short["when"] == "__zookeeper_new_ensemble | bool"
    steps = yaml.safe_load((TASKS / "new-server.yml").read_text())
    assert [task.get("ansible.builtin.import_tasks") or task.get("ansible.builtin.meta")
            or next(iter(task.get("zkops.zookeeper34.zookeeper_server", {})), None)
            for task in steps] == ["config-write.yml", "action", "end_host"]
    # The wait is skipped only where the write started and enabled the server and waited until
    # it served (zookeeper_files' serve, where every host of the play runs the write at once).
    assert [task.get("when") for task in steps] == [
        None, "not (__zookeeper_started_early | bool and __zookeeper_written.serving "
              "| default(false))", None]
    # The wait is the service phase's start step (the same options), which
    # also waits for a server already active: the one the write just started.
    wait = steps[1]["zkops.zookeeper34.zookeeper_server"]
    start = next(task for task in yaml.safe_load((TASKS / "service-start.yml").read_text())
                 if task.get("register") == "__zookeeper_started")
    assert wait == {**start["zkops.zookeeper34.zookeeper_server"], "wait_active": True}
    decide = yaml.safe_load((TASKS / "validate-hosts.yml").read_text())[-1]
    assert decide["zkops.zookeeper34.zookeeper_decide"]["new_server"] == "__zookeeper_new_server"
    variables = yaml.safe_load((TASKS.parent / "vars" / "main.yml").read_text())
    # The write's own wait asks what the wait step asks.
    serve = variables["__zookeeper_serve_options"]
    assert serve == {key: wait[key] for key in serve}, serve
    write = yaml.safe_load((TASKS / "config-write.yml").read_text())[0]
    assert write["zkops.zookeeper34.zookeeper_files"]["serve"] == (
        "{{ __zookeeper_serve_options if __zookeeper_serve_in_write else omit }}")
    assert "__zookeeper_new_ensemble | bool" in variables["__zookeeper_serve_in_write"]
    assert "['__zookeeper_decision', 'new_server']" in variables["__zookeeper_new_ensemble"]
    # What the short path leaves out has nothing to do on such a server: the install phase
    # (__zookeeper_release_with_config), the check-mode preview and the TLS include (no check
    # mode, no TLS), the metrics phase; the service phase's include is the file itself.
    assert "__zookeeper_release_with_config" in variables["__zookeeper_new_server"]
    assert "not __zookeeper_release_with_config" in phase_include("install.yml")["when"]
    assert "not __zookeeper_metrics_todo" in variables["__zookeeper_new_server"]
    assert "__zookeeper_todo.metrics" in phase_include("metrics.yml")["when"]
    config = yaml.safe_load((TASKS / "config.yml").read_text())
    assert [task["when"] for task in config[:-1]] == [
        "__zookeeper_fresh_check", "__zookeeper_tls | bool or __zookeeper_tls_passes | length > 0"]


def test_the_untagged_run_knows_every_tag_of_site_yml() -> None:
    """__zookeeper_untagged_run treats a --skip-tags that names none of site.yml's tags as no
    tags at all (the early start and the short path need every phase selected): a task tagged
    with a tag missing from __zookeeper_run_tags would be skipped unnoticed."""
    variables = yaml.safe_load((TASKS.parent / "vars" / "main.yml").read_text())
    known = set(variables["__zookeeper_run_tags"])
    roles = TASKS.parents[1]
    used: set[str] = set()
    for path in [*roles.glob("*/tasks/*.yml"), *roles.glob("*/handlers/*.yml"),
                 TASKS.parents[2] / "playbooks" / "site.yml"]:
        used |= tags_in(yaml.safe_load(path.read_text()))
    assert used, "no tags found"
    assert used <= known, f"tags missing from __zookeeper_run_tags: {sorted(used - known)}"
    assert {"all", "always", "tagged", "untagged"} <= known
