"""The role's templates rendered by ansible-playbook itself (real Ansible templating,
the role's defaults and vars), for inventories of different shapes.

The play renders them with the template lookup on the controller and writes every host's
files in one JSON file: the same text as the template action's, byte for byte (compared on
the three-member 3.4 and 3.8 shapes when this replaced the action), at a third of the CPU
(the action ran two modules per file and host)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
TEMPLATES = ["zoo.cfg", "zookeeper.service", "log4j.properties", "logback.xml"]
PLAY = """
- name: Render the zookeeper role's templates
  hosts: zookeeper
  connection: local
  gather_facts: true
  gather_subset: ["!all", "!min", distribution]
  tasks:
    - name: Validate as site.yml does
      ansible.builtin.import_role:
        name: zookeeper
        tasks_from: validate.yml
    - name: Render on the controller
      ansible.builtin.set_fact:
        rendered: "{{ rendered | default({}) | combine({item: lookup('LOOKUP',
                      roles_dir ~ '/zookeeper/templates/' ~ item ~ '.j2')}) }}"
      loop: TEMPLATES_JSON
    - name: Render the firewall's rules, one file per IP family, and its unit
      ansible.builtin.set_fact:
        rendered: "{{ rendered | combine({
                      'firewall.rules': lookup('LOOKUP', rules,
                      template_vars={'__zookeeper_firewall_family': 4}),
                      'firewall6.rules': lookup('LOOKUP', rules,
                      template_vars={'__zookeeper_firewall_family': 6}),
                      'zookeeper-firewall.service': lookup('LOOKUP',
                      roles_dir ~ '/zookeeper/templates/zookeeper-firewall.service.j2')}) }}"
      vars:
        rules: "{{ roles_dir ~ '/zookeeper/templates/firewall.rules.j2' }}"
    - name: Write every host's files at once
      ansible.builtin.copy:
        content: "{{ dict(ansible_play_hosts | zip(ansible_play_hosts
                     | map('extract', hostvars, 'rendered'))) | to_json }}"
        dest: "{{ out }}/rendered.json"
        mode: "0644"
      run_once: true
""".replace("TEMPLATES_JSON", json.dumps(TEMPLATES))
# The lookup the role renders its files with (plugins/lookup/template.py).
ROLE_LOOKUP = "zkops.zookeeper34.template"


def render(tmp_path: Path, hosts: dict, group_vars: dict | None = None,
           lookup: str = ROLE_LOOKUP) -> dict[str, dict[str, str]]:
    inventory = {"all": {"children": {"zookeeper": {"hosts": hosts, "vars": group_vars or {}}},
                         "vars": {"ansible_python_interpreter": sys.executable}}}
    (tmp_path / "inventory.json").write_text(json.dumps(inventory))
    (tmp_path / "play.yml").write_text(PLAY.replace("LOOKUP", lookup))
    env = dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"),
               ANSIBLE_ROLES_PATH=str(REPO / "roles"))
    bindir = Path(sys.executable).parent
    proc = subprocess.run(
        [str(bindir / "ansible-playbook"), "-i", str(tmp_path / "inventory.json"),
         str(tmp_path / "play.yml"), "-e", f"out={tmp_path} roles_dir={REPO / 'roles'}"],
        capture_output=True, text=True, env=env, check=False)
    if proc.returncode != 0:
        return {"_error": {"rc": str(proc.returncode), "out": proc.stdout + proc.stderr}}
    rendered = json.loads((tmp_path / "rendered.json").read_text())
    assert set(rendered) == set(hosts), f"rendered for {sorted(rendered)}, not {sorted(hosts)}"
    return rendered


def settings(text: str) -> dict[str, str]:
    pairs = [line.split("=", 1) for line in text.splitlines()
             if line.strip() and not line.startswith("#")]
    return dict(pairs)


THREE = {f"zookeeper0{i}": {"ansible_host": f"10.0.0.{10 + i}", "zookeeper_id": i}
         for i in (1, 2, 3)}


@pytest.fixture(scope="module")
def three(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, str]]:
    return render(tmp_path_factory.mktemp("three"), THREE)


@pytest.mark.parametrize("group_vars", [
    {}, {"zookeeper_version": "3.8.0", "zookeeper_firewall": True, "zookeeper_tls_client": True,
         "zookeeper_tls_quorum": True, "zookeeper_tls_lab_ca": "/nonexistent",
         "zookeeper_metrics": True}], ids=["3.4", "3.8-tls-firewall"])
def test_the_roles_lookup_renders_what_the_builtin_one_does(
        tmp_path: Path, group_vars: dict) -> None:
    """zkops.zookeeper34.template shares the host's variables instead of copying them deeply:
    byte for byte the same files as ansible.builtin.template, ansible_managed included."""
    (tmp_path / "ours").mkdir()
    (tmp_path / "builtin").mkdir()
    ours = render(tmp_path / "ours", THREE, group_vars)
    builtin = render(tmp_path / "builtin", THREE, group_vars, lookup="ansible.builtin.template")
    assert "_error" not in ours, ours.get("_error")
    assert ours == builtin
    assert ours["zookeeper01"]["zoo.cfg"].startswith("# Ansible managed")
    if group_vars:
        assert "secureClientPort=" in ours["zookeeper01"]["zoo.cfg"]
        assert "-A ZOOKEEPER" in ours["zookeeper01"]["firewall6.rules"]


def test_rendering_leaves_the_hosts_variables_as_they_were(tmp_path: Path) -> None:
    """The variables a file is rendered with (template_vars, template_path, ansible_managed) go
    to the file's copy of the variables, not to the host's."""
    (tmp_path / "t.j2").write_text(
        "{{ family }} {{ template_path | basename }} {{ items | length }}")
    (tmp_path / "play.yml").write_text("""
- name: Render twice
  hosts: localhost
  gather_facts: false
  vars:
    items: [1, 2]
  tasks:
    - name: Render with template_vars, then look at the host's variables
      ansible.builtin.debug:
        msg: "{{ lookup('zkops.zookeeper34.template', 't.j2', template_vars={'family': 4}) }}
              {{ family is defined }} {{ template_path is defined }} {{ items }}
              {{ lookup('zkops.zookeeper34.template', 't.j2', template_vars={'family': 6}) }}"
""")
    env = dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"))
    proc = subprocess.run(
        [str(Path(sys.executable).parent / "ansible-playbook"), "-i", "localhost,", "-c", "local",
         str(tmp_path / "play.yml"), "-e", f"ansible_python_interpreter={sys.executable}"],
        capture_output=True, text=True, env=env, check=False, cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert '"msg": "4 t.j2 2 False False [1, 2] 6 t.j2 2"' in proc.stdout, proc.stdout


def test_three_members_defaults(three: dict) -> None:
    assert "_error" not in three, three.get("_error")
    configs = {host: settings(files["zoo.cfg"]) for host, files in three.items()}
    # Every host gets the same server lines, from the inventory group and zookeeper_id.
    for cfg in configs.values():
        assert {k: v for k, v in cfg.items() if k.startswith("server.")} == {
            "server.1": "zookeeper01:2888:3888",
            "server.2": "zookeeper02:2888:3888",
            "server.3": "zookeeper03:2888:3888",
        }
    cfg = configs["zookeeper01"]
    assert cfg["tickTime"] == "2000"
    assert cfg["initLimit"] == "5"
    assert cfg["syncLimit"] == "2"
    assert cfg["dataDir"] == "/var/lib/zookeeper"
    assert cfg["clientPort"] == "2181"
    assert cfg["maxClientCnxns"] == "60"
    assert cfg["maxSessionTimeout"] == "40000"
    assert cfg["autopurge.snapRetainCount"] == "3"
    assert cfg["autopurge.purgeInterval"] == "24"
    assert cfg["4lw.commands.whitelist"] == "srvr,mntr,ruok"
    # Optional keys stay out when not set.
    assert "dataLogDir" not in cfg
    assert "clientPortAddress" not in cfg


def rules(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("-A ")]


def test_the_firewall_closes_both_ip_families(three: dict, tmp_path: Path) -> None:
    """Each family's rules go to its own file (ip6tables-restore refuses IPv4 and the other way
    round), and the unit loads both: before, only iptables was set up, and the JVM, listening
    on [::], took any client over IPv6."""
    ports = "--dports 2181,2888,3888"
    files = three["zookeeper01"]
    assert rules(files["firewall.rules"]) == [
        "-A ZOOKEEPER -i lo -j ACCEPT",
        "-A ZOOKEEPER -p tcp --dport 2181 -s 0.0.0.0/0 -j ACCEPT",
        *(f"-A ZOOKEEPER -p tcp -m multiport {ports} -s 10.0.0.{10 + i} -j ACCEPT"
          for i in (1, 2, 3)),
        f"-A ZOOKEEPER -p tcp -m multiport {ports} -j DROP"]
    assert rules(files["firewall6.rules"]) == [
        "-A ZOOKEEPER -i lo -j ACCEPT",
        "-A ZOOKEEPER -p tcp --dport 2181 -s ::/0 -j ACCEPT",
        f"-A ZOOKEEPER -p tcp -m multiport {ports} -j DROP"]
    unit = files["zookeeper-firewall.service"]
    assert "ExecStart=/usr/sbin/iptables-restore --noflush /etc/zookeeper/firewall.rules" in unit
    assert "/usr/sbin/ip6tables-restore --noflush /etc/zookeeper/firewall6.rules" in unit
    assert "ip6tables -I INPUT -j ZOOKEEPER" in unit
    assert "$$t -X ZOOKEEPER" in unit  # systemd's escape of $: sh gets $t

    # Networks of both families, members on IPv6: each goes to its family's rules only.
    hosts = {f"zookeeper0{i}": {"ansible_host": f"fd00::{10 + i}", "zookeeper_id": i}
             for i in (1, 2, 3)}
    mixed = render(tmp_path, hosts, {"zookeeper_firewall_client_networks": [
        "10.0.0.0/8", "fd00:1::/64"], "zookeeper_admin_server": False})
    assert "_error" not in mixed, mixed.get("_error")
    files = mixed["zookeeper02"]
    assert rules(files["firewall.rules"]) == [
        "-A ZOOKEEPER -i lo -j ACCEPT",
        "-A ZOOKEEPER -p tcp --dport 2181 -s 10.0.0.0/8 -j ACCEPT",
        f"-A ZOOKEEPER -p tcp -m multiport {ports} -j DROP"]
    assert rules(files["firewall6.rules"]) == [
        "-A ZOOKEEPER -i lo -j ACCEPT",
        "-A ZOOKEEPER -p tcp --dport 2181 -s fd00:1::/64 -j ACCEPT",
        *(f"-A ZOOKEEPER -p tcp -m multiport {ports} -s fd00::{10 + i} -j ACCEPT"
          for i in (1, 2, 3)),
        f"-A ZOOKEEPER -p tcp -m multiport {ports} -j DROP"]


def test_unit_runs_quorumpeermain_in_the_foreground(three: dict) -> None:
    unit = three["zookeeper02"]["zookeeper.service"]
    assert "User=zookeeper\n" in unit
    assert "Restart=on-failure\n" in unit
    assert "LimitNOFILE=16384\n" in unit
    assert "After=network-online.target\n" in unit
    assert "-Xms512m -Xmx512m" in unit
    assert "org.apache.zookeeper.server.quorum.QuorumPeerMain /etc/zookeeper/zoo.cfg" in unit
    assert "zkServer.sh" not in unit
    # The member list it runs with is kept as it starts, for the next membership change.
    assert "RuntimeDirectory=zookeeper\n" in unit
    assert "ExecStartPre=/bin/cp /etc/zookeeper/zoo.cfg /run/zookeeper/zoo.cfg\n" in unit
    assert "Description=Apache ZooKeeper 3.4.14 (server.2)" in unit
    # The release's own directory: a running server keeps its jars when the link moves on.
    assert "-cp /opt/zookeeper-3.4.14/*:/opt/zookeeper-3.4.14/lib/*:/etc/zookeeper" in unit
    assert "-Dlog4j.configuration=file:/etc/zookeeper/log4j.properties" in unit
    # 3.4 has no admin server, and the upgrade's key stays out.
    cfg = settings(three["zookeeper02"]["zoo.cfg"])
    assert not [key for key in cfg if key.startswith("admin.") or key.startswith("snapshot.")]


@pytest.fixture(scope="module")
def three38(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, str]]:
    return render(tmp_path_factory.mktemp("three38"), THREE, {"zookeeper_version": "3.8.0"})


def test_reconfig_on_38_leaves_the_member_list_to_the_servers(tmp_path: Path) -> None:
    """zookeeper_reconfig: no server lines (the servers keep theirs, docs/membership.md), the
    super user's digest, and a unit that starts the server on its own copy of zoo.cfg."""
    files = render(tmp_path, THREE, {"zookeeper_version": "3.8.0", "zookeeper_reconfig": True,
                                     "zookeeper_super_password": "lab-super-secret"})
    assert "_error" not in files, files.get("_error")
    cfg = settings(files["zookeeper01"]["zoo.cfg"])
    assert not [key for key in cfg if key.startswith("server.")]
    assert cfg["reconfigEnabled"] == "true" and cfg["standaloneEnabled"] == "false"
    assert cfg["DigestAuthenticationProvider.superDigest"] == "super:2+vVuCXKy7xyuBp3H5IdLivmf0o="
    unit = files["zookeeper01"]["zookeeper.service"]
    assert "QuorumPeerMain /var/lib/zookeeper/config/zoo.cfg" in unit
    assert "dynamicConfigFile=$${f:-/var/lib/zookeeper/config/zoo.cfg.dynamic}" in unit
    assert "UMask=0027" in unit


def test_release_line_38_layout_logging_and_admin_server(three38: dict) -> None:
    assert "_error" not in three38, three38.get("_error")
    unit = three38["zookeeper01"]["zookeeper.service"]
    release = "/opt/apache-zookeeper-3.8.0-bin"
    assert f"-cp {release}/*:{release}/lib/*:/etc/zookeeper" in unit
    assert "-Dlogback.configurationFile=/etc/zookeeper/logback.xml" in unit
    assert "log4j" not in unit
    cfg = settings(three38["zookeeper01"]["zoo.cfg"])
    assert cfg["admin.enableServer"] == "false"
    assert "admin.serverPort" not in cfg
    assert "snapshot.trust.empty" not in cfg
    assert cfg["4lw.commands.whitelist"] == "srvr,mntr,ruok"
    logback = three38["zookeeper01"]["logback.xml"]
    assert "<file>/var/log/zookeeper/zookeeper.log</file>" in logback
    assert "<maxIndex>10</maxIndex>" in logback
    assert '<root level="INFO">' in logback


def test_admin_server_and_the_upgrade_key_when_asked(tmp_path: Path) -> None:
    rendered = render(tmp_path, THREE, {
        "zookeeper_version": "3.8.4", "zookeeper_admin_server": True,
        "zookeeper_admin_port": 9990, "zookeeper_admin_address": "127.0.0.1",
        "__zookeeper_trust_empty": True})
    assert "_error" not in rendered, rendered.get("_error")
    cfg = settings(rendered["zookeeper03"]["zoo.cfg"])
    assert cfg["admin.enableServer"] == "true"
    assert cfg["admin.serverPort"] == "9990"
    assert cfg["admin.serverAddress"] == "127.0.0.1"
    assert cfg["snapshot.trust.empty"] == "true"


def test_admin_server_on_34_is_refused(tmp_path: Path) -> None:
    rendered = render(tmp_path, THREE, {"zookeeper_admin_server": True})
    assert "_error" in rendered
    assert ("zookeeper_admin_server is on, but ZooKeeper 3.4.14 has no admin server"
            in rendered["_error"]["out"])


def test_an_unknown_release_line_is_refused_before_anything_else(tmp_path: Path) -> None:
    rendered = render(tmp_path, THREE, {"zookeeper_version": "3.6.4"})
    assert "_error" in rendered
    out = rendered["_error"]["out"]
    assert ("zookeeper01: zookeeper_version=3.6.4 is not a release of a line this role deploys "
            "(3.4.N, 3.8.N), so no host was changed" in out)


def test_log4j_rolls_in_the_log_dir(three: dict) -> None:
    log4j = settings(three["zookeeper03"]["log4j.properties"])
    assert log4j["log4j.rootLogger"] == "INFO, ROLLINGFILE"
    assert log4j["log4j.appender.ROLLINGFILE"] == "org.apache.log4j.RollingFileAppender"
    assert log4j["log4j.appender.ROLLINGFILE.File"] == "/var/log/zookeeper/zookeeper.log"
    assert log4j["log4j.appender.ROLLINGFILE.MaxBackupIndex"] == "10"


def test_five_members_ids_out_of_order_extra_and_optional_keys(tmp_path: Path) -> None:
    hosts = {
        "zk-a": {"ansible_host": "10.1.0.1", "zookeeper_id": 5},
        "zk-b": {"ansible_host": "10.1.0.2", "zookeeper_id": 1},
        "zk-c": {"ansible_host": "10.1.0.3", "zookeeper_id": 12},
        "zk-d": {"ansible_host": "10.1.0.4", "zookeeper_id": 2},
        "zk-e": {"ansible_host": "10.1.0.5", "zookeeper_id": 200},
    }
    group_vars = {
        "zookeeper_data_log_dir": "/srv/zk-txlog",
        "zookeeper_client_port_address": "0.0.0.0",
        "zookeeper_quorum_port": 12888,
        "zookeeper_election_port": 13888,
        "zookeeper_tick_time": 3000,
        "zookeeper_config_extra": {"snapCount": 50000, "globalOutstandingLimit": 2000,
                                   "leaderServes": "no"},
        "zookeeper_jvm_opts": ["-XX:+UseG1GC", "-Djute.maxbuffer=4194304"],
        "zookeeper_heap_size": "2g",
    }
    rendered = render(tmp_path, hosts, group_vars)
    assert "_error" not in rendered, rendered.get("_error")
    text = rendered["zk-c"]["zoo.cfg"]
    servers = [line for line in text.splitlines() if line.startswith("server.")]
    assert servers == [
        "server.1=zk-b:12888:13888",
        "server.2=zk-d:12888:13888",
        "server.5=zk-a:12888:13888",
        "server.12=zk-c:12888:13888",
        "server.200=zk-e:12888:13888",
    ]
    cfg = settings(text)
    assert cfg["dataLogDir"] == "/srv/zk-txlog"
    assert cfg["clientPortAddress"] == "0.0.0.0"
    assert cfg["tickTime"] == "3000"
    assert cfg["snapCount"] == "50000"
    assert cfg["globalOutstandingLimit"] == "2000"
    assert cfg["leaderServes"] == "no"
    unit = rendered["zk-c"]["zookeeper.service"]
    assert "-Xms2g -Xmx2g" in unit
    assert "  -XX:+UseG1GC \\\n  -Djute.maxbuffer=4194304 \\\n" in unit


def java_properties(text: str) -> dict[str, str]:
    """zoo.cfg as ZooKeeper reads it (java.util.Properties.load): a line ending in an odd number
    of backslashes goes on with the next one, and a backslash escapes the character after it."""
    logical, pending = [], ""
    for raw in text.splitlines():
        if not pending and (not raw.strip() or raw.lstrip().startswith(("#", "!"))):
            continue  # a comment goes on no further line
        line = pending + (raw.lstrip() if pending else raw)
        if (len(line) - len(line.rstrip("\\"))) % 2:
            pending = line[:-1]
            continue
        pending = ""
        logical.append(line)
    escapes = {"t": "\t", "n": "\n", "r": "\r", "f": "\f"}
    result = {}
    for line in logical:
        key, _unused, value = line.partition("=")
        result[key.strip()] = re.sub(r"\\(.)", lambda m: escapes.get(m[1], m[1]), value.lstrip())
    return result


def test_values_reach_zoo_cfg_and_the_unit_as_written(tmp_path: Path) -> None:
    """A backslash in a zookeeper_config_extra value (Java properties would take it as an
    escape, and one at the end joins the next key), % and $ in a JVM option (systemd would
    expand them) come out as the inventory wrote them."""
    extra = {"zookeeper.test.path": "C:\\zk\\", "zookeeper.test.tab": "a\\tb",
             "zookeeper.test.next": "kept"}
    rendered = render(tmp_path, {"zk-a": {"ansible_host": "10.1.0.1", "zookeeper_id": 1}},
                      {"zookeeper_config_extra": extra,
                       "zookeeper_jvm_opts": ["-XX:OnOutOfMemoryError=kill -9 %p",
                                              "-Dzk.test=$HOME%%"]})
    assert "_error" not in rendered, rendered.get("_error")
    cfg = java_properties(rendered["zk-a"]["zoo.cfg"])
    assert {key: cfg.get(key) for key in extra} == extra, cfg
    assert cfg["tickTime"] == "2000"
    unit = rendered["zk-a"]["zookeeper.service"]
    assert "  -XX:OnOutOfMemoryError=kill -9 %%p \\\n  -Dzk.test=$$HOME%%%% \\\n" in unit, unit


def test_a_bad_inventory_stops_before_rendering(tmp_path: Path) -> None:
    hosts = {"zk-a": {"ansible_host": "10.1.0.1", "zookeeper_id": 1},
             "zk-b": {"ansible_host": "10.1.0.2", "zookeeper_id": 1}}
    rendered = render(tmp_path, hosts)
    assert "_error" in rendered
    assert "zk-b: zookeeper_id=1 is already used by zk-a" in rendered["_error"]["out"]
    assert not (tmp_path / "rendered.json").exists()


def test_a_link_in_place_of_myid_stops_the_run_before_any_change(tmp_path: Path) -> None:
    """The data directory belongs to the service account, which can replace myid by a link to
    any file (issue #25 point 1): the host check refuses it, naming the link, and prints
    nothing of what it points to."""
    data = tmp_path / "data"
    data.mkdir()
    secret = tmp_path / "shadow"
    secret.write_text("root:$6$secret-hash:19000\n")
    (data / "myid").symlink_to(secret)
    if os.geteuid() == 0:  # planted by the service account: a link root made is replaced
        os.lchown(data / "myid", 65534, 65534)
    rendered = render(tmp_path, {"zk-a": {"ansible_host": "10.1.0.1", "zookeeper_id": 1}},
                      {"zookeeper_data_dir": str(data)})
    assert "_error" in rendered, "a myid link was let through"
    out = rendered["_error"]["out"]
    said = (f"zk-a: {data / 'myid'} -> {secret}: a symbolic link (not root's) or not a "
            "regular file where the role writes a file as root, so no host was changed")
    assert said in " ".join(out.split()), out
    assert "secret-hash" not in out
    assert not (tmp_path / "rendered.json").exists()
