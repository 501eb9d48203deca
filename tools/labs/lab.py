"""Local lab: systemd containers that stand in for real ZooKeeper hosts.

`tools/lab up` builds (once, cached) a Debian base image with systemd, python3 and
an SSH server, an offline ZooKeeper mirror, a dedicated Podman network and one
systemd container per host, reached by Ansible over SSH like any real machine.
Several labs (the interactive lab, each Molecule scenario, the benchmark) live side
by side: each has its own name, container names, network and subnet.

Podman runs with the runc runtime (crun fails on these machines, see LAB-NOTES).
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from labs import signing as lab_signing
from labs.distros import DISTROS, DistroError, archive_keyring
from labs.release import (
    JAVA_DIR,
    MIRROR_COLLECT_SCRIPT,
    MIRROR_MANIFEST,
    MIRROR_RELEASE,
    MIRROR_RELEASES,
    MIRROR_VERSION,
    LabError,
    Release,
    class_path_program,
    mirror_manifest,
    read_collected,
    release_tarball,
)

REPO = Path(__file__).resolve().parents[2]
STATE = Path(os.environ.get("ZK_LAB_STATE", REPO / ".lab"))
TEMPLATES = REPO / "templates"
PODMAN = ["podman", "--runtime", "runc"]
RUN_LIMITS = ["--ulimit", "nofile=1024:20000", "--ulimit", "nproc=4096:4096"]
IMAGE_PACKAGES = [
    "systemd", "systemd-sysv", "dbus", "python3", "python3-apt", "iproute2",
    "procps", "openssh-server", "ca-certificates", "sudo",
]
# Raised whenever IMAGE_PACKAGES or customise_rootfs change, so that a machine with the images of
# an earlier revision cached builds them again (2: sudo, for the playbooks' `become: true` and the
# upgrade scenario's sudo user).
IMAGE_REVISION = 2
MIRROR_PORT = 8080
MIRROR_HOST_OCTET = 250
DEBIAN_ETC_HOSTS = """127.0.0.1\tlocalhost
127.0.1.1\t{hostname}

# The following lines are desirable for IPv6 capable hosts
::1     localhost ip6-localhost ip6-loopback
ff02::1 ip6-allnodes
ff02::2 ip6-allrouters
"""


@dataclass
class Lab:
    """One lab environment: its name decides every resource name it owns."""

    name: str
    subnet: ipaddress.IPv4Network
    hosts: int = 3
    distro: str = "bullseye"
    prefix: str = ""
    java: bool = False
    # Members re-created at another address by `replace` (member -> address).
    moved: dict[str, str] = field(default_factory=dict)
    members: list[str] = field(init=False)

    def __post_init__(self) -> None:
        if self.hosts < 1 or self.hosts > 200:
            raise LabError(f"--hosts must be between 1 and 200, not {self.hosts}")
        if self.distro not in DISTROS:
            raise LabError(f"--distro must be one of {', '.join(DISTROS)}, not {self.distro}")
        self.members = [f"zookeeper{i:02d}" for i in range(1, self.hosts + 1)]

    @property
    def network(self) -> str:
        return f"zk-{self.name}"

    @property
    def image(self) -> str:
        return f"localhost/zk-lab:{self.distro}-r{IMAGE_REVISION}{'-java' if self.java else ''}"

    @property
    def mirror_container(self) -> str:
        return f"zk-{self.name}-mirror"

    def container(self, member: str) -> str:
        return f"{self.prefix}{member}"

    def address(self, member: str) -> str:
        if member in self.moved:
            return self.moved[member]
        index = self.members.index(member) + 1
        return str(self.subnet.network_address + 10 + index)

    @property
    def mirror_address(self) -> str:
        return str(self.subnet.network_address + MIRROR_HOST_OCTET)

    @property
    def mirror_url(self) -> str:
        return f"http://{self.mirror_address}:{MIRROR_PORT}"

    def describe(self) -> dict:
        return {
            "name": self.name,
            "network": self.network,
            "subnet": str(self.subnet),
            "image": self.image,
            "mirror_url": self.mirror_url,
            "zookeeper_version": MIRROR_VERSION,
            # Every release the mirror serves (the role computes the same URL from
            # zookeeper_mirror and zookeeper_version, and reads the .sha512 beside it).
            "releases": {
                release.version: {"url": f"{self.mirror_url}/{release.directory}/"
                                         f"{release.tarball}",
                                  "sha512": mirror_sha512(release)}
                for release in MIRROR_RELEASES
            },
            "ssh_key": str(ssh_key_path()),
            "release_keys": str(mirror_keys()),
            "hosts": [
                {"name": m, "container": self.container(m), "address": self.address(m),
                 "zookeeper_id": i}
                for i, m in enumerate(self.members, start=1)
            ],
        }


# --------------------------------------------------------------------------- helpers

def log(message: str) -> None:
    print(f"lab: {message}", file=sys.stderr, flush=True)


def run(cmd: list[str], *, check: bool = True, capture: bool = True,
        stdin: bytes | None = None, timeout: float | None = 900) -> subprocess.CompletedProcess:
    proc = subprocess.run(cmd, input=stdin, capture_output=capture, timeout=timeout, check=False)
    if check and proc.returncode != 0:
        err = (proc.stderr or b"").decode(errors="replace").strip()
        raise LabError(f"command failed ({proc.returncode}): {' '.join(cmd)}\n{err[-2000:]}")
    return proc


def podman(*args: str, check: bool = True, stdin: bytes | None = None,
           timeout: float | None = 900) -> str:
    proc = run([*PODMAN, *args], check=check, stdin=stdin, timeout=timeout)
    return (proc.stdout or b"").decode(errors="replace").strip()


def require_tools(tools: list[str]) -> None:
    missing = [t for t in tools if shutil.which(t) is None]
    if missing:
        raise LabError(
            f"missing system tools: {', '.join(missing)}. Install them with "
            "`apt-get install podman runc debootstrap gnupg` (as root), or run `make lab` as "
            "root.")
    if os.geteuid() != 0:
        raise LabError("the lab runs rootful Podman and debootstrap: run it as root")


# systemd in each container holds several inotify instances, all counted against root's
# fs.inotify.max_user_instances (128 by default): the side-by-side Molecule scenarios start some
# forty containers at once, and past the limit a container's systemd exits at its start
# (seen here: "can only create exec sessions on running containers").
INOTIFY_INSTANCES = Path("/proc/sys/fs/inotify/max_user_instances")
INOTIFY_WANTED = 1024


def ensure_inotify_instances(path: Path = INOTIFY_INSTANCES, wanted: int = INOTIFY_WANTED
                             ) -> int:
    """Raise the kernel's inotify instances per user to `wanted` when below it (root can);
    returns the limit in force. A limit that cannot be raised is left, with a word."""
    try:
        current = int(path.read_text().strip())
    except (OSError, ValueError):
        return 0
    if current >= wanted:
        return current
    try:
        path.write_text(f"{wanted}\n")
    except OSError as err:
        log(f"fs.inotify.max_user_instances is {current} and cannot be raised ({err.strerror}): "
            f"many containers at once may not start; raise it to {wanted} (sysctl -w)")
        return current
    log(f"fs.inotify.max_user_instances raised from {current} to {wanted} (systemd in every "
        "container holds some)")
    return wanted


def ssh_key_path() -> Path:
    return STATE / "ssh" / "id_ed25519"


def ensure_ssh_key(key: Path | None = None, comment: str = "zookeeper-lab") -> Path:
    """The SSH key pair at `key` (the labs' own by default), made here (0600, root's) if new."""
    key = key or ssh_key_path()
    if not key.exists():
        key.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(key)])
    return key


def wait_for_port(address: str, port: int, timeout: float) -> bool:
    """Poll a TCP port of one of the lab's own containers, bounded by `timeout`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((address, port), timeout=1):
                return True
        except OSError:
            time.sleep(0.2)
    return False


# --------------------------------------------------------------------------- image

def image_exists(image: str) -> bool:
    return run([*PODMAN, "image", "exists", image], check=False).returncode == 0


def build_image(lab: Lab) -> None:
    """Debootstrap a Debian root with systemd and sshd and import it as an image."""
    base = Lab(lab.name, lab.subnet, lab.hosts, lab.distro, lab.prefix, java=False)
    build_base_image(base)
    if lab.java and not image_exists(lab.image):
        build_java_image(base, lab.image)


def build_base_image(base: Lab) -> None:
    if not image_exists(base.image):
        require_tools(["debootstrap"])
        log(f"building {base.image} with debootstrap (about a minute, cached afterwards)")
        build = STATE / "build"
        build.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=build) as tmp:
            root = Path(tmp) / "rootfs"
            distro = DISTROS[base.distro]
            try:
                keyring = archive_keyring(distro, STATE / "keyrings")
            except DistroError as err:
                raise LabError(f"{distro.title}: {err}") from err
            run(["debootstrap", "--variant=minbase", f"--include={','.join(IMAGE_PACKAGES)}",
                 *distro.debootstrap_options(keyring), distro.suite, str(root), distro.mirror],
                timeout=1800)
            customise_rootfs(root)
            tar = subprocess.Popen(["tar", "-C", str(root), "-c", "."], stdout=subprocess.PIPE)
            imp = subprocess.run([*PODMAN, "import", "--change", "CMD=/sbin/init", "-", base.image],
                                 stdin=tar.stdout, capture_output=True, check=False)
            tar.wait()
            if imp.returncode != 0 or tar.returncode != 0:
                raise LabError(f"podman import failed: {imp.stderr.decode(errors='replace')}")


def customise_rootfs(root: Path) -> None:
    """What a freshly installed server has that debootstrap leaves out."""
    sshd = root / "etc/ssh/sshd_config.d"
    sshd.mkdir(parents=True, exist_ok=True)
    (sshd / "lab.conf").write_text("PermitRootLogin prohibit-password\nUseDNS no\n")
    (root / "root/.ssh").mkdir(mode=0o700, exist_ok=True)
    # No console on a container: a getty would only fail and mark the system degraded.
    for unit in ("getty@tty1.service", "console-getty.service"):
        (root / "etc/systemd/system" / unit).unlink(missing_ok=True)
        (root / "etc/systemd/system" / unit).symlink_to("/dev/null")
    apt_conf = root / "etc/apt/apt.conf.d/99lab"
    apt_conf.write_text('Acquire::Languages "none";\nAPT::Install-Recommends "false";\n')


def build_java_image(base: Lab, image: str) -> None:
    """The base image with the distribution's default JDK, for measurements that
    need Java already present (the benchmark's untimed prepare step)."""
    package = DISTROS[base.distro].java_package
    log(f"building {image} ({package} preinstalled)")
    build_derived_image(base, image, "apt-get update -qq && DEBIAN_FRONTEND=noninteractive "
                        f"apt-get install -y -qq {package} >/dev/null")


def build_derived_image(base: Lab, image: str, script: str) -> None:
    """Run `script` (sh) in a container of the base image and commit the result as `image`."""
    name = f"zk-build-{os.getpid()}"
    podman("run", "--name", name, *RUN_LIMITS, base.image, "sh", "-c", script, timeout=1800)
    try:
        podman("commit", "--change", "CMD=/sbin/init", name, image)
    finally:
        podman("rm", "-f", name, check=False)


# --------------------------------------------------------------------------- offline mirror

def mirror_dir() -> Path:
    return STATE / "mirror"


def mirror_tarball(release: Release = MIRROR_RELEASE) -> Path:
    return mirror_dir() / release.directory / release.tarball


def checksum_path(tarball: Path) -> Path:
    return tarball.with_name(tarball.name + ".sha512")


def mirror_sha512(release: Release) -> str | None:
    """The sha512 the mirror publishes beside the release's tarball, once it is built."""
    checksum = checksum_path(mirror_tarball(release))
    fields = checksum.read_text().split() if checksum.is_file() else []
    return fields[0] if fields else None


def mirror_complete(tarball: Path) -> bool:
    """The tarball, its .sha512 (matching it) and the manifest beside it are all there."""
    checksum = checksum_path(tarball)
    manifest = tarball.with_name(MIRROR_MANIFEST)
    if not (tarball.is_file() and checksum.is_file() and manifest.is_file()):
        return False
    expected = checksum.read_text().split()[:1]
    return expected == [hashlib.sha512(tarball.read_bytes()).hexdigest()]


def mirror_keys() -> Path:
    """The lab's KEYS: the public key that signs the mirror's tarballs (tools/labs/signing.py)."""
    return mirror_dir() / "KEYS"


def signing_home() -> Path:
    """The GnuPG home holding the lab mirror's signing key."""
    return STATE / "gnupg"


def build_mirror(lab: Lab) -> dict[str, Path]:
    """Every release of the offline mirror (MIRROR_RELEASES), each built unless complete and
    signed by the lab's key unless it is: version -> tarball."""
    tarballs = {release.version: build_release(lab, release) for release in MIRROR_RELEASES}
    lab_signing.ensure_key(signing_home(), mirror_keys())
    for tarball in tarballs.values():
        if not lab_signing.signed(signing_home(), tarball):
            lab_signing.sign(signing_home(), tarball)
            log(f"signed {tarball.parent.name}/{tarball.name} with the lab's key "
                f"({mirror_keys()})")
    return tarballs


def build_release(lab: Lab, release: Release) -> Path:
    """Assemble one release's tarball in the upstream layout from the jars of its Debian
    release (whatever the lab's own distribution), with a manifest of the Debian packages they
    come from, beside it and in it."""
    tarball = mirror_tarball(release)
    if mirror_complete(tarball):
        return tarball
    host = Lab(lab.name, lab.subnet, lab.hosts, release.distro, lab.prefix)
    build_base_image(host)
    log(f"building the offline mirror: {release.tarball} from "
        f"{DISTROS[release.distro].title}'s {', '.join(release.packages)}")
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        collect_jars(host.image, release, out)
        collected = read_collected(out, release)
        text = mirror_manifest(release, collected)
        data = release_tarball(release, out, collected.jars, text)
    publish_release(tarball, data, text)
    log(f"built {release.directory}/{release.tarball} in {time.monotonic() - started:.1f} s")
    return tarball


def collect_jars(image: str, release: Release, out: Path) -> None:
    """Run MIRROR_COLLECT_SCRIPT for the release in a container of `image`, into `out`."""
    env = ["-e", f"PACKAGES={' '.join(release.packages)}"]
    if release.class_path_of:
        (out / "class_path.py").write_text(class_path_program())
        env += ["-e", f"CLASS_PATH_OF={JAVA_DIR}/{release.class_path_of}"]
    podman("run", "--rm", *RUN_LIMITS, "-v", f"{out}:/out", *env, image,
           "sh", "-c", MIRROR_COLLECT_SCRIPT, "collect",
           *(f"{JAVA_DIR}/{jar}" for jar, _unused in release.jars), timeout=1800)


def publish_release(tarball: Path, data: bytes, manifest: str) -> None:
    """Write the tarball, its .sha512 and the manifest beside it."""
    tarball.parent.mkdir(parents=True, exist_ok=True)
    # The manifest marks a finished build: it goes first and comes back last.
    tarball.with_name(MIRROR_MANIFEST).unlink(missing_ok=True)
    write_atomically(tarball, data)
    write_atomically(checksum_path(tarball),
                     f"{hashlib.sha512(data).hexdigest()}  {tarball.name}\n".encode())
    write_atomically(tarball.with_name(MIRROR_MANIFEST), manifest.encode())


def write_atomically(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    tmp.replace(path)


# --------------------------------------------------------------------------- containers

def container_state(name: str) -> str | None:
    proc = run([*PODMAN, "container", "inspect", "--format", "{{.State.Status}}", name],
               check=False)
    return proc.stdout.decode().strip() if proc.returncode == 0 else None


REMOVE_TRIES = 3  # podman rm of a lab's containers, before the error is the caller's
REMOVE_PAUSE = 2.0  # seconds between two tries


def remove_containers(*names: str, pause: float = REMOVE_PAUSE) -> None:
    """podman rm -f of the containers `names` that exist, again for those still there when it
    fails: on a loaded machine podman may give up on a container whose processes it killed
    but that were not reaped in time (seen in CI: "could not be stopped: given PIDs did not
    die within timeout"); the next try removes it. The last try's error is raised."""
    for attempt in range(1, REMOVE_TRIES + 1):
        left = [name for name in names if container_state(name) is not None]
        if not left:
            return
        try:
            podman("rm", "-f", "-t", "0", *left)
            return
        except LabError as err:
            if attempt == REMOVE_TRIES:
                raise
            log(f"removing {', '.join(left)} failed, trying again in {pause:g} s: "
                f"{str(err).splitlines()[-1]}")
            time.sleep(pause)


def network_subnet(name: str) -> str | None:
    proc = run([*PODMAN, "network", "inspect", "--format",
                "{{range .Subnets}}{{.Subnet}}{{end}}", name], check=False)
    return proc.stdout.decode().strip() if proc.returncode == 0 else None


def lab_containers(lab: Lab) -> list[str]:
    """Every container attached to the lab's network, whatever its name."""
    out = podman("ps", "-a", "--filter", f"network={lab.network}", "--format", "{{.Names}}",
                 check=False)
    return [n for n in out.split() if n]


def find_moved(lab: Lab) -> None:
    """Note the members that `replace` re-created at another address, so that `up`,
    `status` and the inventory follow them."""
    for member in lab.members:
        proc = run([*PODMAN, "container", "inspect", "--format",
                    f"{{{{(index .NetworkSettings.Networks \"{lab.network}\").IPAddress}}}}",
                    lab.container(member)], check=False)
        address = proc.stdout.decode().strip() if proc.returncode == 0 else ""
        if address and address != lab.address(member):
            lab.moved[member] = address


def ensure_network(lab: Lab) -> None:
    subnet = network_subnet(lab.network)
    if subnet == str(lab.subnet):
        return
    if subnet is not None:
        log(f"network {lab.network} has subnet {subnet}, not {lab.subnet}: recreating it")
        remove_lab(lab)
    proc = run([*PODMAN, "network", "create", "--subnet", str(lab.subnet), lab.network],
               check=False)
    if proc.returncode != 0:
        raise LabError(
            f"cannot create network {lab.network} ({lab.subnet}): "
            f"{proc.stderr.decode(errors='replace').strip()}\n"
            "Another Podman network may use that subnet (`podman network ls`); pick another "
            "with --subnet.")


def healthy(name: str) -> bool:
    """A running container whose systemd is up (not a leftover whose processes died)."""
    if container_state(name) != "running":
        return False
    proc = run([*PODMAN, "exec", name, "systemctl", "is-system-running"], check=False, timeout=30)
    return proc.stdout.decode().strip() in {"running", "degraded"}


def start_member(lab: Lab, member: str, pubkey: bytes) -> bool:
    """Create the container of one member unless a healthy one is there; True if created."""
    name = lab.container(member)
    if healthy(name):
        return False
    leftover = container_state(name)
    if leftover is not None:
        log(f"removing leftover container {name} ({leftover})")
        remove_containers(name)
    podman("run", "-d", "--name", name, "--hostname", member, "--network", lab.network,
           "--ip", lab.address(member), "--no-hosts", "--systemd=always", "--privileged",
           *RUN_LIMITS, "--label", f"zk-lab={lab.name}", lab.image, "/sbin/init")
    podman("exec", "-i", name, "sh", "-c",
           "umask 077 && mkdir -p /root/.ssh && cat > /root/.ssh/authorized_keys", stdin=pubkey)
    podman("exec", "-i", name, "sh", "-c", "cat > /etc/hosts",
           stdin=DEBIAN_ETC_HOSTS.format(hostname=member).encode())
    return True


def start_mirror(lab: Lab) -> None:
    name = lab.mirror_container
    if container_state(name) == "running":
        return
    remove_containers(name)
    podman("run", "-d", "--name", name, "--network", lab.network, "--ip", lab.mirror_address,
           *RUN_LIMITS, "--label", f"zk-lab={lab.name}", "-v", f"{mirror_dir()}:/srv:ro",
           lab.image, "python3", "-m", "http.server", str(MIRROR_PORT), "--directory", "/srv")


def remove_lab(lab: Lab) -> None:
    names = set(lab_containers(lab)) | {lab.container(m) for m in lab.members}
    names.add(lab.mirror_container)
    remove_containers(*sorted(names))
    if network_subnet(lab.network) is not None:
        podman("network", "rm", "-f", lab.network)


def mirror_vars(lab: Lab, release: Release = MIRROR_RELEASE,
                inventory_dir: Path | None = None) -> dict[str, Any]:
    """The ZooKeeper variables that point a deployment at one release of the lab's offline
    mirror (by default the one the lab deploys, 3.4.13). The build fixes are every mirror
    release's, so that the same inventory upgrades to 3.8.0 without a warning about a fix
    Debian's 3.8.0 carries. The mirror's tarballs are signed by the lab's key, which these
    trust instead of Apache's (relative to `inventory_dir` when given, so that the inventory
    reads the same in any clone); it serves plain HTTP on the lab's own network."""
    fixes = sorted({cve for each in MIRROR_RELEASES for cve in each.build_fixes})
    keys = (f"{{{{ inventory_dir }}}}/{os.path.relpath(mirror_keys(), inventory_dir)}"
            if inventory_dir is not None else str(mirror_keys()))
    return {"zookeeper_version": release.version, "zookeeper_mirror": lab.mirror_url,
            "zookeeper_build_fixes": fixes, "zookeeper_release_keys": keys,
            "zookeeper_allow_plain_http": True}


def write_inventory(lab: Lab, path: Path) -> None:
    """The inventory Ansible uses for this lab; the same bytes on every `up`."""
    key = os.path.relpath(ssh_key_path(), path.parent)
    lines = [
        "---",
        f"# Written by `tools/lab up` for the lab `{lab.name}` (network {lab.network}, "
        f"{lab.subnet}).",
        "# The offline mirror serves ZooKeeper 3.4.13 (deployed here) and 3.8.0 (for",
        "# playbooks/upgrade.yml), rebuilt from Debian 11's and Debian 12's jars and signed",
        "# by the lab's own key (.lab/mirror/KEYS), which this inventory trusts.",
        "all:",
        "  children:",
        "    zookeeper:",
        "      hosts:",
    ]
    for index, member in enumerate(lab.members, start=1):
        lines += [f"        {member}:", f"          ansible_host: {lab.address(member)}",
                  f"          zookeeper_id: {index}"]
    lines += ["      vars:"]
    lines += [f"        {key}: {json.dumps(value)}"
              for key, value in mirror_vars(lab, inventory_dir=path.parent).items()]
    lines += [
        "  vars:",
        "    ansible_user: root",
        f"    ansible_ssh_private_key_file: \"{{{{ inventory_dir }}}}/{key}\"",
        "    ansible_ssh_common_args: >-",
        "      -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR",
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    text = "\n".join(lines) + "\n"
    if not path.exists() or path.read_text() != text:
        path.write_text(text)


# --------------------------------------------------------------------------- commands

def cmd_up(lab: Lab, inventory: Path | None) -> dict:
    require_tools(["podman", "runc", "debootstrap", "ssh-keygen", "gpg"])
    started = time.monotonic()
    ensure_inotify_instances()
    build_image(lab)
    build_mirror(lab)
    key = ensure_ssh_key()
    ensure_network(lab)
    start_mirror(lab)
    created = [m for m in lab.members if start_member(lab, m, key.with_suffix(".pub").read_bytes())]
    for member in lab.members:
        if not wait_for_port(lab.address(member), 22, timeout=60):
            raise LabError(f"{lab.container(member)} ({lab.address(member)}): SSH did not come up "
                           f"within 60 s; see `podman logs {lab.container(member)}`")
    if not wait_for_port(lab.mirror_address, MIRROR_PORT, timeout=30):
        raise LabError(f"mirror {lab.mirror_container} did not answer on {lab.mirror_url}")
    if inventory is not None:
        write_inventory(lab, inventory)
    log(f"up in {time.monotonic() - started:.1f} s: {len(lab.members)} hosts "
        f"({len(created)} created), mirror {lab.mirror_url}")
    return lab.describe()


def cmd_replace(lab: Lab, member: str, address: str) -> dict:
    """A dead member replaced by a new host: the member's container is removed (as if the
    machine died) and a fresh one with the same name starts at `address`."""
    if member not in lab.members:
        raise LabError(f"{member} is not one of the lab's hosts ({', '.join(lab.members)})")
    new = ipaddress.IPv4Address(address)
    taken = {lab.address(m): m for m in lab.members if m != member}
    taken[lab.mirror_address] = lab.mirror_container
    if new not in lab.subnet or new in (lab.subnet.network_address, lab.subnet.broadcast_address,
                                        lab.subnet.network_address + 1):
        raise LabError(f"--address {address} is not a host address of {lab.subnet}")
    if address in taken:
        raise LabError(f"--address {address} is taken by {taken[address]}")
    require_tools(["podman", "runc", "ssh-keygen"])
    remove_containers(lab.container(member))
    lab.moved[member] = address
    start_member(lab, member, ensure_ssh_key().with_suffix(".pub").read_bytes())
    if not wait_for_port(address, 22, timeout=60):
        raise LabError(f"{lab.container(member)} ({address}): SSH did not come up within 60 s")
    log(f"{member} replaced by a new host at {address}")
    return lab.describe()


def cmd_status(lab: Lab) -> int:
    rows = []
    ok = True
    for member in lab.members:
        name = lab.container(member)
        state = container_state(name) or "absent"
        system = "-"
        if state == "running":
            proc = run([*PODMAN, "exec", name, "systemctl", "is-system-running"], check=False)
            system = proc.stdout.decode().strip() or "unknown"
        ssh = "yes" if state == "running" and wait_for_port(lab.address(member), 22, 1) else "no"
        ok = ok and ssh == "yes"
        rows.append((name, lab.address(member), state, system, ssh))
    mirror = container_state(lab.mirror_container) or "absent"
    rows.append((lab.mirror_container, lab.mirror_address, mirror, "-", "-"))
    print(f"lab {lab.name}: network {lab.network} ({network_subnet(lab.network) or 'absent'})")
    print(f"{'container':<28} {'address':<15} {'state':<10} {'systemd':<10} ssh")
    for row in rows:
        print(f"{row[0]:<28} {row[1]:<15} {row[2]:<10} {row[3]:<10} {row[4]}")
    return 0 if ok and mirror == "running" else 1


def default_subnet(name: str) -> str:
    """The interactive lab is 10.213.10.0/24; other labs must say which subnet they own."""
    if name == "lab":
        return "10.213.10.0/24"
    raise LabError(f"lab {name!r} needs --subnet (each lab owns its own subnet)")
