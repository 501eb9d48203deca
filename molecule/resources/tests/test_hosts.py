"""What the roles promise on every host, checked over SSH with testinfra."""

from __future__ import annotations

import re

import pytest
from conftest import Ensemble, Member
from labs.lab import DEBIAN_ETC_HOSTS

HOSTS_BEGIN = "# BEGIN zookeeper ensemble (managed by Ansible)"
HOSTS_END = "# END zookeeper ensemble"


def test_java_runs(ensemble: Ensemble, member: Member) -> None:
    out = ensemble.host(member).run("/usr/bin/java -version")
    assert out.rc == 0, f"{member.name}: java -version failed: {out.stderr}"
    assert re.search(r'version "(1\.8|11|17)\.', out.stderr), (
        f"{member.name}: expected OpenJDK 8, 11 or 17, got {out.stderr.splitlines()[:1]}")


def test_service_user_has_no_shell(ensemble: Ensemble, member: Member) -> None:
    user = ensemble.host(member).user("zookeeper")
    assert user.exists, f"{member.name}: no zookeeper user"
    assert user.shell in {"/usr/sbin/nologin", "/sbin/nologin", "/bin/false"}, (
        f"{member.name}: zookeeper user has shell {user.shell}")
    assert user.group == "zookeeper"


def release(ensemble: Ensemble, member: Member) -> tuple[str, str, str]:
    """The member's release line, install method and release directory, as the role lays
    them out (3.4: zookeeper-V, 3.8: apache-zookeeper-V-bin, the package: zookeeper-V-package)."""
    hostvars = ensemble.hostvars[member.name]
    version = str(hostvars.get("zookeeper_version", "3.4.14"))
    line = ".".join(version.split(".")[:2])
    method = hostvars.get("zookeeper_install_method", "tarball")
    if method == "package":
        return line, method, f"/opt/zookeeper-{version}-package"
    return line, method, (f"/opt/zookeeper-{version}" if line == "3.4"
                          else f"/opt/apache-zookeeper-{version}-bin")


def test_paths_owners_and_modes(ensemble: Ensemble, member: Member) -> None:
    line, method, _unused = release(ensemble, member)
    log_config = "logback.xml" if line != "3.4" and method != "package" else "log4j.properties"
    expected = {
        "/var/lib/zookeeper": "directory zookeeper zookeeper 750",
        "/var/log/zookeeper": "directory zookeeper zookeeper 750",
        "/etc/zookeeper": "directory root zookeeper 750",
        "/etc/zookeeper/zoo.cfg": "regular file root zookeeper 640",
        f"/etc/zookeeper/{log_config}": "regular file root zookeeper 640",
        "/var/lib/zookeeper/myid": "regular file root zookeeper 644",
        "/etc/systemd/system/zookeeper.service": "regular file root root 644",
    }
    out = ensemble.host(member).run("stat -c '%n|%F %U %G %a' " + " ".join(expected))
    seen = dict(line.split("|", 1) for line in out.stdout.splitlines())
    problems = [f"{path}: want {want}, have {seen.get(path, 'missing')}"
                for path, want in expected.items() if seen.get(path) != want]
    assert not problems, f"{member.name}: " + "; ".join(problems)


def test_release_behind_a_stable_symlink(ensemble: Ensemble, member: Member) -> None:
    host = ensemble.host(member)
    line, method, directory = release(ensemble, member)
    link = host.file("/opt/zookeeper")
    assert link.is_symlink and link.linked_to == directory, (
        f"{member.name}: /opt/zookeeper -> {link.linked_to if link.exists else 'missing'}, "
        f"want {directory}")
    jars = host.run("ls /opt/zookeeper/*.jar /opt/zookeeper/lib/*.jar").stdout.split()
    names = " ".join(jars)
    # What the server needs on its classpath, per line and method (3.8's package brings the
    # rest through its jar's manifest).
    wanted = {("3.4", "tarball"): ("zookeeper", "log4j", "slf4j-api", "slf4j-log4j12", "jline"),
              ("3.8", "tarball"): ("zookeeper", "zookeeper-jute", "logback-classic",
                                   "logback-core", "slf4j-api", "netty-handler"),
              ("3.8", "package"): ("zookeeper", "zookeeper-jute", "log4j", "slf4j-log4j12")}
    for jar in wanted[line, "package" if method == "package" and line != "3.4" else "tarball"]:
        assert f"/{jar}" in names, f"{member.name}: no {jar} jar under /opt/zookeeper: {jars}"


def test_zoo_cfg_lists_every_member(ensemble: Ensemble, member: Member) -> None:
    cfg = ensemble.host(member).file("/etc/zookeeper/zoo.cfg").content_string
    servers = sorted(line for line in cfg.splitlines() if line.startswith("server."))
    want = sorted(f"server.{m.zookeeper_id}={m.name}:2888:3888" for m in ensemble.members)
    assert servers == want, f"{member.name}: zoo.cfg server lines {servers}, want {want}"


def test_myid_is_the_inventory_id(ensemble: Ensemble, member: Member) -> None:
    myid = ensemble.host(member).file("/var/lib/zookeeper/myid").content_string.strip()
    assert myid == str(member.zookeeper_id), (
        f"{member.name}: myid is {myid!r}, the inventory says zookeeper_id={member.zookeeper_id}")


def test_unit_enabled_active_and_runs_as_zookeeper(ensemble: Ensemble, member: Member) -> None:
    host = ensemble.host(member)
    service = host.service("zookeeper")
    assert service.is_enabled, f"{member.name}: zookeeper.service not enabled"
    assert service.is_running, f"{member.name}: zookeeper.service not running:\n" + (
        ensemble.log_tail(member))
    pid = host.check_output("systemctl show -p MainPID --value zookeeper")
    user = host.check_output(f"ps -o user= -p {pid}")
    argv = host.check_output(f"cat /proc/{pid}/cmdline | tr '\\0' '\\n'").splitlines()
    assert user == "zookeeper", f"{member.name}: main process {pid} runs as {user}"
    assert "org.apache.zookeeper.server.quorum.QuorumPeerMain" in argv
    # Each zookeeper_jvm_opts item reaches the JVM as written (the unit escapes systemd's % and $).
    opts = [str(opt) for opt in ensemble.hostvars[member.name].get("zookeeper_jvm_opts") or []]
    assert [opt for opt in opts if opt not in argv] == [], f"{member.name}: the JVM runs {argv}"


def test_log4j_writes_the_rolling_log(ensemble: Ensemble, member: Member) -> None:
    log = ensemble.host(member).file("/var/log/zookeeper/zookeeper.log")
    assert log.exists and log.user == "zookeeper", f"{member.name}: no zookeeper.log"
    assert f"[myid:{member.zookeeper_id}]" in log.content_string


def listening(host) -> set[tuple[str, int, str]]:
    """Listening TCP sockets as (address, port, process); any-address binds are '*' and the
    JVM's IPv4-mapped IPv6 addresses ([::ffff:10.0.0.1]) read as plain IPv4."""
    sockets = set()
    for line in host.check_output("ss -Htlnp").splitlines():
        fields = line.split()
        address, _unused, port = fields[3].rpartition(":")
        address = address.strip("[]").removeprefix("::ffff:")
        process = fields[5].split('"')[1] if len(fields) > 5 and '"' in fields[5] else ""
        sockets.add(("*" if address in {"*", "0.0.0.0", "::"} else address, int(port), process))
    return sockets


def test_ports(ensemble: Ensemble, member: Member) -> None:
    sockets = listening(ensemble.host(member))
    bound = {(address, port) for address, port, _unused in sockets}
    leader = ensemble.leader()
    # The client port on every address, or on the one zookeeper_client_port_address names.
    client = "*" if member.address == member.peer_address else member.address
    assert (client, member.port) in bound, (
        f"{member.name}: client port not listening on {client}:{member.port}: {sockets}")
    assert (member.peer_address, 3888) in bound, (
        f"{member.name}: election port not listening on {member.peer_address}:3888: {sockets}")
    java = {port for _unused, port, process in sockets if process == "java"}
    # 3.8's admin server, when the scenario turns it on, and on no other port.
    hostvars = ensemble.hostvars[member.name]
    admin = ({int(hostvars.get("zookeeper_admin_port", 8080))}
             if str(hostvars.get("zookeeper_admin_server")).lower() == "true" else set())
    assert java <= {member.port, 2888, 3888} | admin, (
        f"{member.name}: the JVM listens on more than ZooKeeper's ports (JMX?): {sorted(java)}")
    quorum = (member.peer_address, 2888) in bound
    if member == leader:
        assert quorum, f"{member.name} leads but does not listen on {member.peer_address}:2888"
    else:
        assert not quorum, f"{member.name} is a follower yet listens on 2888 (leader {leader.name})"


def test_etc_hosts_block_and_the_rest_untouched(ensemble: Ensemble, member: Member) -> None:
    text = ensemble.host(member).file("/etc/hosts").content_string
    lines = text.splitlines()
    assert lines.count(HOSTS_BEGIN) == 1 and lines.count(HOSTS_END) == 1, text
    start, end = lines.index(HOSTS_BEGIN), lines.index(HOSTS_END)
    block = lines[start + 1:end]
    by_id = sorted(ensemble.members, key=lambda m: m.zookeeper_id)
    want = [f"{m.peer_address}\t{m.name}" for m in by_id]
    assert block == want, f"{member.name}: /etc/hosts block {block}, want {want}"
    # The file the host started with (Debian's, as tools/lab writes it), less only the
    # member's own 127.0.1.1 line.
    original = [line for line in DEBIAN_ETC_HOSTS.format(hostname=member.name).splitlines()
                if line != f"127.0.1.1\t{member.name}"]
    rest = lines[:start] + lines[end + 1:]
    while rest and not rest[-1].strip():
        rest.pop()
    assert rest == original, f"{member.name}: lines outside the block changed:\n{text}"
    resolved = ensemble.host(member).check_output(f"getent hosts {member.name}").split()[0]
    assert resolved == member.peer_address, f"{member.name} resolves its own name to {resolved}"


def test_the_checks_name_a_wrong_myid_and_a_missing_server_line(ensemble: Ensemble) -> None:
    """Break one host the way a faulty role would and see the checks above say so."""
    member = ensemble.members[0]
    other = ensemble.members[1]
    host = ensemble.host(member)
    saved = {path: f"/root/{path.replace('/', '_')}.verify"
             for path in ("/var/lib/zookeeper/myid", "/etc/zookeeper/zoo.cfg")}
    for path, copy in saved.items():
        host.check_output(f"cp -p {path} {copy}")
    try:
        host.check_output("echo 99 > /var/lib/zookeeper/myid")
        with pytest.raises(AssertionError, match=(
                rf"{member.name}: myid is '99', the inventory says "
                rf"zookeeper_id={member.zookeeper_id}")):
            test_myid_is_the_inventory_id(ensemble, member)
        host.check_output(f"sed -i '/^server.{other.zookeeper_id}=/d' /etc/zookeeper/zoo.cfg")
        with pytest.raises(AssertionError, match=(
                rf"{member.name}: zoo.cfg server lines .* want .*'server.{other.zookeeper_id}=")):
            test_zoo_cfg_lists_every_member(ensemble, member)
    finally:
        for path, copy in saved.items():
            host.check_output(f"mv {copy} {path}")
    test_myid_is_the_inventory_id(ensemble, member)
    test_zoo_cfg_lists_every_member(ensemble, member)
