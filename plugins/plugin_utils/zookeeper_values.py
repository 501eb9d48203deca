"""What a type cannot check in the zookeeper role's variables.

The role's argument specs check types and choices; `zookeeper_value_problems` checks what the
JVM or ZooKeeper would only reject, or silently reinterpret, once a server starts: sizes,
absolute paths, ranges, URLs, names, and zoo.cfg keys the role already writes. Every message
names the host, the variable, the value and what to do, and all of them come at once.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

# zoo.cfg keys the role writes from its own variables; zookeeper_config_extra may not set them.
MANAGED_KEYS = {
    "tickTime": "zookeeper_tick_time",
    "initLimit": "zookeeper_init_limit",
    "syncLimit": "zookeeper_sync_limit",
    "dataDir": "zookeeper_data_dir",
    "dataLogDir": "zookeeper_data_log_dir",
    "clientPort": "zookeeper_client_port",
    "clientPortAddress": "zookeeper_client_port_address",
    "maxClientCnxns": "zookeeper_max_client_cnxns",
    "maxSessionTimeout": "zookeeper_max_session_timeout",
    "autopurge.snapRetainCount": "zookeeper_autopurge_snap_retain_count",
    "autopurge.purgeInterval": "zookeeper_autopurge_purge_interval",
    "4lw.commands.whitelist": "zookeeper_4lw_whitelist",
    "admin.enableServer": "zookeeper_admin_server",
    "admin.serverPort": "zookeeper_admin_port",
    "admin.serverAddress": "zookeeper_admin_address",
    "secureClientPort": "zookeeper_tls_client_port",
    "ssl.clientAuth": "zookeeper_tls_client_auth",
    "secureClientPortAddress": "zookeeper_client_port_address",
}
# Keys written when a feature is on, and the variable that turns it on.
FEATURE_KEYS = {
    "authProvider.1": "zookeeper_sasl_client_auth",
    "jaasLoginRenew": "zookeeper_sasl_client_auth",
    "serverCnxnFactory": "zookeeper_tls_client",
    "sslQuorum": "zookeeper_tls_quorum",
    "portUnification": "zookeeper_tls_quorum",
}
# Keys ZooKeeper 3.4 reads but does not act on, and what does the job instead.
IGNORED_KEYS = {
    "requireClientAuthScheme": (
        "ZooKeeper 3.4 ignores it: a client that does not authenticate still connects, with the "
        "permissions of world:anyone. Protect znodes with sasl:<user> ACLs and limit who reaches "
        "the client port with zookeeper_firewall_client_networks"),
    "snapshot.trust.empty": (
        "playbooks/upgrade.yml sets it on a server only for its first start on 3.8 over a 3.4 "
        "data directory without a snapshot, and removes it once that server has written one; "
        "left on, a server whose snapshots are lost would start empty instead of refusing"),
}
FEATURE_PREFIXES = {"quorum.auth.": "zookeeper_quorum_sasl", "ssl.quorum.": "zookeeper_tls_quorum",
                    "ssl.": "zookeeper_tls_client"}
# Directories the role creates or chowns, and binaries it runs: absolute, and never `/`.
DIRECTORIES = ("zookeeper_install_root", "zookeeper_install_dir", "zookeeper_download_dir",
               "zookeeper_conf_dir", "zookeeper_data_dir", "zookeeper_log_dir")
OPTIONAL_DIRECTORIES = ("zookeeper_data_log_dir",)
BINARIES = ("zookeeper_java_binary",)
# Four-letter words of ZooKeeper 3.4; the role's own checks need the first three.
NEEDED_WORDS = ("srvr", "mntr", "ruok")
# The words the metrics collector asks (zookeeper_metrics).
METRICS_WORDS = ("srvr", "mntr")
KNOWN_WORDS = {*NEEDED_WORDS, "conf", "cons", "crst", "dump", "envi", "srst", "stat", "wchs",
               "wchc", "wchp", "isro", "gtmk", "stmk"}
# Whole numbers and their smallest sensible value (and why, when it is not obvious).
MINIMUMS: dict[str, tuple[int, str]] = {
    "zookeeper_max_client_cnxns": (0, "0 means unlimited"),
    "zookeeper_autopurge_snap_retain_count": (
        3, "ZooKeeper silently raises a lower count to 3"),
    "zookeeper_autopurge_purge_interval": (0, "0 switches purging off"),
    "zookeeper_log_max_backup_index": (1, "at least one rolled file"),
    "zookeeper_limit_nofile": (1024, "a server with fewer descriptors refuses clients early"),
    "zookeeper_start_timeout": (5, "a JVM needs seconds to start and elect"),
    "zookeeper_failure_log_lines": (1, ""),
    "zookeeper_java_max_major": (8, "ZooKeeper 3.4 needs Java 8 or newer"),
    "zookeeper_metrics_interval": (5, "a collection may take seconds when the server does not "
                                      "answer"),
}
HEAP = re.compile(r"[1-9][0-9]*[kKmMgG]?")
LOG_SIZE = re.compile(r"[1-9][0-9]*(KB|MB|GB)?", re.IGNORECASE)
# The release lines the role knows (__zookeeper_releases in vars/main.yml), and a release of one.
RELEASE_LINES = ("3.4", "3.8")
VERSION = re.compile(r"(?P<line>[0-9]+\.[0-9]+)\.[0-9]+")
NAME = re.compile(r"[a-z_][a-z0-9_-]{0,31}")
KEY = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
HOST_NAME = re.compile(r"(?=.{1,253}\Z)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
                       r"(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?")
# A JAAS option name (user_<name>) ends at any other character.
SASL_USER = re.compile(r"[A-Za-z0-9_.-]+")
URL = re.compile(r"(https?|ftp|file)://\S+")
CVE = re.compile(r"CVE-[0-9]{4}-[0-9]{4,}")
SHA512 = re.compile(r"[0-9a-fA-F]{128}")
# A download no transport protects (zookeeper_allow_plain_http).
PLAIN_URL = re.compile(r"(http|ftp)://")
PUBLIC_KEY_BLOCK = "-----BEGIN PGP PUBLIC KEY BLOCK-----"
HEAP_BYTES = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30}
SMALLEST_HEAP = 32 << 20


def _path_problems(host: str, var: str, value: Any, directory: bool) -> list[str]:
    text = str(value)
    if not text.startswith("/"):
        return [f"{host}: {var}={text!r} is not an absolute path; give the full path, "
                "starting with /"]
    if directory and text.rstrip("/") == "":
        return [f"{host}: {var}='/' would hand the root directory to the role; give a "
                "directory of its own"]
    if any(c.isspace() for c in text):
        return [f"{host}: {var}={text!r} contains white space, which the unit and zoo.cfg "
                "cannot carry; choose a path without it"]
    if any(c in text for c in "%$\\"):
        return [f"{host}: {var}={text!r} contains %, $ or \\, which systemd (specifiers, "
                "variables) and zoo.cfg (escapes) would read as something else; choose a path "
                "without them"]
    return []


def _heap_problems(host: str, value: Any) -> list[str]:
    text = str(value)
    if not HEAP.fullmatch(text):
        return [f"{host}: zookeeper_heap_size={text!r} is not a JVM heap size (the JVM would "
                "refuse to start); use a number with k, m or g, such as 512m or 2g"]
    unit = text[-1].lower() if text[-1].isalpha() else ""
    size = int(text.rstrip("kKmMgG")) * HEAP_BYTES[unit]
    if size < SMALLEST_HEAP:
        return [f"{host}: zookeeper_heap_size={text} is below 32m, too small for a ZooKeeper "
                "server; give it at least 32m (512m or more in production)"]
    return []


def _extra_problems(host: str, values: Mapping[str, Any]) -> list[str]:
    problems = []
    for raw_key, value in (values.get("zookeeper_config_extra") or {}).items():
        key = str(raw_key)
        owner = MANAGED_KEYS.get(key) or next(
            (var for prefix, var in FEATURE_PREFIXES.items()
             if key.startswith(prefix) and values.get(var)), None)
        if values.get(FEATURE_KEYS.get(key, "")):
            owner = FEATURE_KEYS[key]
        if re.fullmatch(r"server\.[0-9]+", key):
            problems.append(f"{host}: zookeeper_config_extra sets {key}, but the server lines "
                            "come from the inventory group and each host's zookeeper_id; "
                            "remove it and add the host to the group instead")
        elif owner:
            problems.append(f"{host}: zookeeper_config_extra sets {key}, which the role "
                            f"writes from {owner}; remove it there and set {owner} instead")
        elif key in IGNORED_KEYS:
            problems.append(f"{host}: zookeeper_config_extra sets {key}, but "
                            f"{IGNORED_KEYS[key]}; remove it")
        elif not KEY.fullmatch(key):
            problems.append(f"{host}: zookeeper_config_extra key {key!r} is not a zoo.cfg key "
                            "(letters, digits, dots, dashes, underscores)")
        if isinstance(value, (dict, list)) or "\n" in str(value) or "\r" in str(value):
            problems.append(f"{host}: zookeeper_config_extra {key}={value!r} is not one line of "
                            "text; give a single value")
    return problems


def _jvm_opt_problems(host: str, values: Mapping[str, Any]) -> list[str]:
    problems = []
    for opt in values.get("zookeeper_jvm_opts") or []:
        text = str(opt)
        if not text.startswith("-") or any(c in text for c in "\n\r\\"):
            problems.append(f"{host}: zookeeper_jvm_opts item {text!r} is not one JVM option "
                            "(it starts with -, on one line); give one option per item")
        elif re.match(r"-Xm[sx]", text):
            problems.append(f"{host}: zookeeper_jvm_opts item {text!r} sets the heap, which "
                            "the role sets from zookeeper_heap_size; set that instead")
    return problems


def switched_on(value: Any) -> bool:
    """A boolean as Ansible reads one (`-e zookeeper_metrics=false` gives the text false)."""
    return str(value).strip().lower() in ("true", "yes", "on", "1")


def _word_problems(host: str, values: Mapping[str, Any]) -> list[str]:
    words = [str(w) for w in values.get("zookeeper_4lw_whitelist") or []]
    if words == ["*"]:
        return []
    unknown = [w for w in words if w not in KNOWN_WORDS]
    needed, askers = list(NEEDED_WORDS), "the role's health checks and tools/zk-status"
    if switched_on(values.get("zookeeper_metrics")):
        needed += [w for w in METRICS_WORDS if w not in needed]
        askers = ("the role's health checks, tools/zk-status and the metrics collector "
                  "(zookeeper_metrics is on)")
    missing = [w for w in needed if w not in words]
    problems = []
    if unknown:
        problems.append(f"{host}: zookeeper_4lw_whitelist has {', '.join(unknown)}, not "
                        f"four-letter words of ZooKeeper 3.4 ({', '.join(sorted(KNOWN_WORDS))})")
    if missing:
        problems.append(f"{host}: zookeeper_4lw_whitelist={words} lacks {', '.join(missing)}, "
                        f"which {askers} ask; add them")
    return problems


def _metrics_problems(host: str, values: Mapping[str, Any]) -> list[str]:
    """zookeeper_metrics: the textfile directory, and an ensemble name a label (and the
    collector's unit) can carry."""
    if not switched_on(values.get("zookeeper_metrics")):
        return []
    problems = _path_problems(host, "zookeeper_metrics_textfile_dir",
                              values.get("zookeeper_metrics_textfile_dir"), True)
    return problems


def _name_problems(host: str, values: Mapping[str, Any]) -> list[str]:
    """The ensemble's name goes into zoo.cfg (its first line), the metrics' label, the backup's
    name and manifest: one line of printable text, or a line break writes zoo.cfg keys."""
    name = str(values.get("zookeeper_ensemble_name"))
    if not name or any(not c.isprintable() for c in name):
        return [f"{host}: zookeeper_ensemble_name={name!r} is not one line of printable text, "
                "which zoo.cfg, the metrics' label and the backups carry it as; give a plain name"]
    return []


def _is_address_or_host_name(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return HOST_NAME.fullmatch(text) is not None
    return True


def _network_problems(host: str, values: Mapping[str, Any]) -> list[str]:
    problems = []
    address = str(values.get("zookeeper_client_port_address") or "")
    if address:
        try:
            ipaddress.ip_address(address)
        except ValueError:
            problems.append(f"{host}: zookeeper_client_port_address={address!r} is not an IP "
                            "address; give one of the host's addresses, or leave it empty")
    admin = str(values.get("zookeeper_admin_address") or "")
    if admin and not _is_address_or_host_name(admin):
        problems.append(f"{host}: zookeeper_admin_address={admin!r} is neither an IP address nor "
                        "a host name; give the address the admin server should listen on, or "
                        "leave it empty")
    for network in values.get("zookeeper_firewall_client_networks") or []:
        try:
            ipaddress.ip_network(str(network), strict=False)
        except ValueError:
            problems.append(f"{host}: zookeeper_firewall_client_networks item {network!r} is "
                            "not a network; write it as IPv4 or IPv6 CIDR, such as 10.0.0.0/8 "
                            "or fd00::/8")
    return problems


def _number_problems(host: str, values: Mapping[str, Any]) -> list[str]:
    problems = []
    for var, (smallest, why) in MINIMUMS.items():
        value = values.get(var)
        if isinstance(value, int) and not isinstance(value, bool) and value < smallest:
            problems.append(f"{host}: {var}={value} is below {smallest}"
                            f"{' (' + why + ')' if why else ''}; raise it to {smallest} or more")
    return problems


def _release_problems(host: str, values: Mapping[str, Any]) -> list[str]:
    problems = []
    method = values.get("zookeeper_install_method")
    version = str(values.get("zookeeper_version"))
    release = VERSION.fullmatch(version)
    if method in ("tarball", "local") and not (release and release["line"] in RELEASE_LINES):
        problems.append(f"{host}: zookeeper_version={version!r} is not a release of a line "
                        f"this role deploys ({', '.join(f'{line}.N' for line in RELEASE_LINES)}); "
                        "give one, such as 3.4.14 or 3.8.4")
    if method == "tarball":
        for var in ("zookeeper_mirror", "zookeeper_tarball_url"):
            if not URL.fullmatch(str(values.get(var))):
                problems.append(f"{host}: {var}={values.get(var)!r} is not a URL; give an "
                                "http(s):// (or ftp://, file://) address")
    checksum = str(values.get("zookeeper_checksum") or "")
    url = str(values.get("zookeeper_tarball_url"))
    if (method == "tarball" and PLAIN_URL.match(url) and not checksum
            and not values.get("zookeeper_allow_plain_http")):
        scheme = url.split(":", maxsplit=1)[0]
        problems.append(f"{host}: zookeeper_tarball_url={url!r} is plain {scheme}, "
                        "and with zookeeper_checksum empty its sha512 would come unprotected "
                        "from the same place as the tarball; use an https:// mirror, pin the "
                        "release's sha512 in zookeeper_checksum, or set "
                        "zookeeper_allow_plain_http: true (the signature is still checked)")
    keys = str(values.get("zookeeper_release_keys") or "")
    if method in ("tarball", "local") and values.get("zookeeper_signature_check") and keys:
        problems += _keys_problems(host, keys)
    if checksum and not SHA512.fullmatch(checksum):
        problems.append(f"{host}: zookeeper_checksum is not a sha512 (128 hexadecimal digits); "
                        "copy it from the release's .sha512 file, or leave it empty to read that")
    for cve in values.get("zookeeper_build_fixes") or []:
        if not CVE.fullmatch(str(cve)):
            problems.append(f"{host}: zookeeper_build_fixes item {cve!r} is not a CVE id; "
                            "write it as CVE-YYYY-NNNN, such as CVE-2023-44981")
    for var in ("zookeeper_user", "zookeeper_group"):
        if not NAME.fullmatch(str(values.get(var))):
            problems.append(f"{host}: {var}={values.get(var)!r} is not a valid user or group "
                            "name (lower case letters, digits, - and _, at most 32)")
    size = str(values.get("zookeeper_log_max_file_size"))
    if not LOG_SIZE.fullmatch(size):
        problems.append(f"{host}: zookeeper_log_max_file_size={size!r} is not a log4j size; "
                        "use a number with KB, MB or GB, such as 10MB")
    return problems


def _keys_problems(host: str, keys: str) -> list[str]:
    """zookeeper_release_keys: an armored KEYS file on the controller (filters run there)."""
    fix = ("give the absolute path of an armored KEYS file on the controller (Apache's, or "
           "`gpg --armor --export` of the keys you trust), or leave it empty for the Apache "
           "ZooKeeper KEYS pinned in the role")
    path = Path(keys)
    if not path.is_absolute() or not path.is_file():
        return [f"{host}: zookeeper_release_keys={keys!r} is not "
                f"{'an absolute path' if not path.is_absolute() else 'a file on the controller'}"
                f"; {fix}"]
    try:
        text = path.read_text(errors="replace")
    except OSError as error:
        return [f"{host}: zookeeper_release_keys={keys!r} cannot be read ({error.strerror}); "
                f"{fix}"]
    if PUBLIC_KEY_BLOCK not in text:
        return [f"{host}: zookeeper_release_keys={keys!r} holds no armored public key "
                f"({PUBLIC_KEY_BLOCK}); {fix}"]
    return []


def _sasl_problems(host: str, values: Mapping[str, Any]) -> list[str]:
    """SASL user names and client passwords; a message never shows a password.

    An empty quorum password is refused in validate-inventory.yml, with the switch that needs it.
    """
    problems = []
    users = values.get("zookeeper_sasl_client_users") or {}
    names = [("zookeeper_sasl_client_users", user) for user in users]
    if values.get("zookeeper_quorum_sasl"):
        names.append(("zookeeper_quorum_sasl_user", values.get("zookeeper_quorum_sasl_user")))
    for var, user in names:
        if not SASL_USER.fullmatch(str(user)):
            problems.append(f"{host}: {var} has the user name {str(user)!r}, which a JAAS file "
                            "cannot carry; use letters, digits, '.', '-' and '_'")
    for user, password in users.items():
        if not isinstance(password, str) or not password:
            problems.append(f"{host}: zookeeper_sasl_client_users: the password of {user} is "
                            f"{'not a string' if password else 'empty'} (value not shown); "
                            "give a non-empty string, kept in Ansible Vault")
    return problems


# The PEM files TLS needs from the controller: variable, what it is, its PEM block.
TLS_FILES = (("zookeeper_tls_ca_cert", "CA certificate", "CERTIFICATE"),
             ("zookeeper_tls_cert", "host's certificate", "CERTIFICATE"),
             ("zookeeper_tls_key", "certificate's private key", "PRIVATE KEY"))
TLS_OTHER_PORTS = ("zookeeper_client_port", "zookeeper_quorum_port", "zookeeper_election_port")


def _tls_problems(host: str, values: Mapping[str, Any]) -> list[str]:
    """TLS: its port, and where the certificates come from (files on the controller, where
    filters run, or the lab CA's directory)."""
    if not (switched_on(values.get("zookeeper_tls_client"))
            or switched_on(values.get("zookeeper_tls_quorum"))):
        return []
    problems = []
    port = values.get("zookeeper_tls_client_port")
    others = {var: values.get(var) for var in TLS_OTHER_PORTS}
    if switched_on(values.get("zookeeper_admin_server")):
        others["zookeeper_admin_port"] = values.get("zookeeper_admin_port")
    if switched_on(values.get("zookeeper_tls_client")):
        if not isinstance(port, int) or isinstance(port, bool) or not 0 < port < 65536:
            problems.append(f"{host}: zookeeper_tls_client_port={port!r} is not a port "
                            "(1-65535)")
        for var, other in others.items():
            if str(other) == str(port):
                problems.append(f"{host}: zookeeper_tls_client_port and {var} are both {port}; "
                                "give the TLS client port its own number, such as 2281")
    lab = str(values.get("zookeeper_tls_lab_ca") or "")
    given = [entry[0] for entry in TLS_FILES if values.get(entry[0])]
    if lab:
        if not Path(lab).is_absolute():
            problems.append(f"{host}: zookeeper_tls_lab_ca={lab!r} is not an absolute path; "
                            "give the directory on the controller where the lab CA is kept")
        if given:
            problems.append(f"{host}: zookeeper_tls_lab_ca and {', '.join(given)} are both set; "
                            "give either the lab CA's directory or your own certificates")
        return problems
    for var, what, marker in TLS_FILES:
        problems += _pem_problems(host, var, str(values.get(var) or ""), what, marker)
    return problems


def _pem_problems(host: str, var: str, value: str, what: str, marker: str) -> list[str]:
    """One PEM file on the controller that TLS needs: there, readable, of the kind asked."""
    fix = (f"give the absolute path of the {what} (PEM) on the controller, or set "
           "zookeeper_tls_lab_ca to let the role keep a CA of its own (labs)")
    path = Path(value)
    if not value:
        return [f"{host}: {var} is empty while TLS is on (zookeeper_tls_client or "
                f"zookeeper_tls_quorum); {fix}"]
    if not path.is_absolute() or not path.is_file():
        where = "an absolute path" if not path.is_absolute() else "a file on the controller"
        return [f"{host}: {var}={value!r} is not {where}; {fix}"]
    try:
        text = path.read_text(errors="replace")
    except OSError as error:
        return [f"{host}: {var}={value!r} cannot be read ({error.strerror}); {fix}"]
    if f"-----BEGIN {marker}-----" in text:
        return []
    if marker == "PRIVATE KEY" and "PRIVATE KEY-----" in text:
        return [f"{host}: {var}={value!r} is not an unencrypted PKCS#8 key (BEGIN PRIVATE KEY), "
                "which ZooKeeper reads; convert it with `openssl pkcs8 -topk8 -nocrypt -in "
                "KEY -out KEY.pk8` and keep that file safe (its content is never printed)"]
    return [f"{host}: {var}={value!r} holds no PEM {marker.lower()} (-----BEGIN {marker}-----); "
            f"{fix}"]


CHECKS: tuple[Callable[[str, Mapping[str, Any]], list[str]], ...] = (
    _extra_problems, _jvm_opt_problems, _word_problems, _network_problems, _number_problems,
    _release_problems, _sasl_problems, _metrics_problems, _name_problems, _tls_problems)


def zookeeper_value_problems(values: Mapping[str, Any], host: str) -> list[str]:
    """Every problem of one host's zookeeper_* values, as messages; empty when all is well."""
    problems = _heap_problems(host, values.get("zookeeper_heap_size"))
    for var in DIRECTORIES + BINARIES:
        problems += _path_problems(host, var, values.get(var), var in DIRECTORIES)
    for var in OPTIONAL_DIRECTORIES:
        if values.get(var):
            problems += _path_problems(host, var, values.get(var), True)
    for check in CHECKS:
        problems += check(host, values)
    return problems


def _is_34(version: Any) -> bool:
    """A 3.4 release (or older): no dynamic reconfiguration, no TLS. Not a release number at all
    is _release_problems' to name."""
    match = re.match(r"([0-9]+)\.([0-9]+)", str(version))
    return bool(match) and (int(match[1]), int(match[2])) < (3, 5)


def zookeeper_switch_problems(values: Mapping[str, Any], host: str) -> list[str]:
    """Switches that need another value, or a release line, to work: quorum SASL without its
    password, client SASL without users, reconfiguration or TLS on a 3.4 release, clients left
    without a port, reconfiguration without the super user's password."""
    on = {var: switched_on(values.get(var)) for var in (
        "zookeeper_quorum_sasl", "zookeeper_sasl_client_auth", "zookeeper_reconfig",
        "zookeeper_tls_client", "zookeeper_tls_quorum", "zookeeper_tls_client_plain")}
    version = values.get("zookeeper_version")
    rules = (
        (on["zookeeper_quorum_sasl"] and not values.get("zookeeper_quorum_sasl_password"),
         "zookeeper_quorum_sasl is on but zookeeper_quorum_sasl_password is empty; set the same "
         "password on every member (in Ansible Vault)."),
        (on["zookeeper_sasl_client_auth"] and not values.get("zookeeper_sasl_client_users"),
         "zookeeper_sasl_client_auth is on but zookeeper_sasl_client_users is empty; give at "
         "least one user: password."),
        (on["zookeeper_reconfig"] and _is_34(version),
         f"zookeeper_reconfig is on but zookeeper_version={version} is a 3.4 release, which has "
         "no dynamic reconfiguration; turn it off (membership changes then restart the servers, "
         "one member per step), or upgrade to 3.8 first."),
        ((on["zookeeper_tls_client"] or on["zookeeper_tls_quorum"]) and _is_34(version),
         f"zookeeper_tls_client or zookeeper_tls_quorum is on but zookeeper_version={version} "
         "is a 3.4 release, which has no TLS (it came with 3.5); turn them off, or upgrade to "
         "3.8 first (playbooks/upgrade.yml)."),
        (not on["zookeeper_tls_client_plain"] and not on["zookeeper_tls_client"],
         "zookeeper_tls_client_plain is off but zookeeper_tls_client is off too, which leaves "
         "clients no port; turn zookeeper_tls_client on, or the plain port back on."),
        (on["zookeeper_reconfig"] and not values.get("zookeeper_super_password"),
         "zookeeper_reconfig is on but zookeeper_super_password is empty; set the password of "
         "the super user (in Ansible Vault): reconfig needs it."),
    )
    return [f"{host}: {message}" for broken, message in rules if broken]


def zookeeper_of_family(networks: Iterable[Any], family: int) -> list[str]:
    """The networks or addresses (CIDR or plain, as the inventory gives them) of one IP
    family, 4 or 6, in their order: the firewall writes each family's into its own rules
    (iptables, ip6tables). Values that are neither are left out (validation names them)."""
    chosen = []
    for network in networks:
        try:
            version = ipaddress.ip_network(str(network), strict=False).version
        except ValueError:
            continue
        if version == int(family):
            chosen.append(str(network))
    return chosen


# Checks of the zookeeper role's values (and the firewall's split by IP family), by the names
# tasks apply them with. plugins/filter/zookeeper.py names each and loads this file when a task
# first applies one.
FILTERS = {"zookeeper_value_problems": zookeeper_value_problems,
           "zookeeper_of_family": zookeeper_of_family}
