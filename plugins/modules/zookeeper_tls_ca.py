#!/usr/bin/python
"""Ansible module: a certificate authority of the role's own, for a lab's TLS."""

DOCUMENTATION = r"""
---
module: zookeeper_tls_ca
short_description: Keep a small certificate authority and issue each server's certificate
description:
  - Keeps a certificate authority in O(directory) (C(ca.pem), and its key C(ca.key)) and
    issues, signed by it, a certificate for each server of O(hosts) (C(<name>.pem) and
    C(<name>.key)) and for each client name of O(clients), for ZooKeeper's TLS (3.8 line).
  - A certificate is issued again only when it is missing, names other addresses than asked,
    was not signed by the authority in O(directory), or expires within 30 days; so a second
    run changes nothing.
  - Meant for labs and tests (the zookeeper role runs it on the controller when
    C(zookeeper_tls_lab_ca) names a directory). A real deployment brings certificates from its
    own authority instead (C(zookeeper_tls_ca_cert), C(zookeeper_tls_cert), C(zookeeper_tls_key)).
options:
  directory:
    description: Where the authority and the certificates are kept; made with mode 0700.
    type: path
    required: true
  name:
    description: The authority's common name.
    type: str
    required: false
    default: ZooKeeper lab CA
  hosts:
    description:
      - The servers, each C({name, address, dns, ips}); the certificate's subject is C(name),
        its subject alternative names C(name) and the DNS names of C(dns), C(address) and the
        addresses of C(ips) (other keys, such as the role's member C(id), are ignored). Good
        for both server and client authentication (members are both to each other).
    type: list
    elements: dict
    required: false
    default: []
  clients:
    description: Names of client certificates to issue (for C(zk-status), tests, applications).
    type: list
    elements: str
    required: false
    default: []
  days:
    description: How long a new certificate is valid, in days.
    type: int
    required: false
    default: 825
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Check mode reports what would be issued and writes nothing.
  diff_mode:
    support: none
  platform:
    platforms: posix
notes:
  - Supports check mode, which reports what a normal run would issue and writes nothing.
  - Needs the Python package C(cryptography) where it runs (ansible-core depends on it, so the
    controller has it).
  - Keys are elliptic-curve (P-256), unencrypted PKCS#8 PEM, mode 0600; ZooKeeper reads them
    with C(ssl.keyStore.type=PEM).
author:
  - zookeeper-ansible (!UNKNOWN)
"""

EXAMPLES = r"""
- name: Issue the lab's certificates
  zkops.zookeeper34.zookeeper_tls_ca:
    directory: /home/me/zk-lab/tls
    hosts:
      - {name: zookeeper01, address: 192.168.56.112}
    clients: [client]
  delegate_to: localhost
  run_once: true
"""

RETURN = r"""
ca:
  description: The authority's certificate file.
  returned: always
  type: str
  sample: /home/me/zk-lab/tls/ca.pem
issued:
  description: The names whose certificate this run issued (or would issue, in check mode).
  returned: always
  type: list
  elements: str
  sample: [zookeeper01, client]
"""

import datetime
import ipaddress
import os
import tempfile
from typing import Any, List, Optional, Tuple

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

try:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
    HAS_CRYPTOGRAPHY = True
except ImportError:  # pragma: no cover - the controller has it with ansible-core
    HAS_CRYPTOGRAPHY = False

RENEW_BEFORE = datetime.timedelta(days=30)


def _write(path: str, data: bytes, mode: int) -> None:
    """Replace `path` atomically with `data` (never following a link there)."""
    handle, temp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".tls-")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.chmod(temp, mode)
        os.replace(temp, path)
    except BaseException:
        if os.path.exists(temp):
            os.unlink(temp)
        raise


def _new_key() -> Any:
    return ec.generate_private_key(ec.SECP256R1())


def _key_pem(key: Any) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc)


def _not_after(cert: Any) -> datetime.datetime:
    value = getattr(cert, "not_valid_after_utc", None)
    return value if value is not None else cert.not_valid_after.replace(
        tzinfo=datetime.timezone.utc)


def load_or_make_ca(directory: str, name: str, days: int, check: bool
                    ) -> Tuple[Optional[Any], Optional[Any], bool]:
    """The authority's key and certificate, made when missing; whether it was (or would be)."""
    key_path, cert_path = os.path.join(directory, "ca.key"), os.path.join(directory, "ca.pem")
    if os.path.isfile(key_path) and os.path.isfile(cert_path):
        with open(key_path, "rb") as handle:
            key = serialization.load_pem_private_key(handle.read(), password=None)
        with open(cert_path, "rb") as handle:
            cert = x509.load_pem_x509_certificate(handle.read())
        return key, cert, False
    if check:
        return None, None, True
    key = _new_key()
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = _now()
    cert = (x509.CertificateBuilder()
            .subject_name(subject).issuer_name(subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=max(days, 3650)))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(
                digital_signature=False, content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=True,
                crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                           critical=False)
            .sign(key, hashes.SHA256()))
    _write(key_path, _key_pem(key), 0o600)
    _write(cert_path, cert.public_bytes(serialization.Encoding.PEM), 0o644)
    return key, cert, True


def wanted_names(dns: List[str], ips: List[str]) -> List[Any]:
    names: List[Any] = [x509.DNSName(str(d)) for d in dns]
    names += [x509.IPAddress(ipaddress.ip_address(str(i))) for i in ips]
    return names


def is_current(path: str, ca_cert: Any, names: List[Any]) -> bool:
    """Whether the certificate at `path` was signed by `ca_cert`, names exactly `names` and
    stays valid for 30 days more."""
    try:
        with open(path, "rb") as handle:
            cert = x509.load_pem_x509_certificate(handle.read())
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except (OSError, ValueError, x509.ExtensionNotFound):
        return False
    if cert.issuer != ca_cert.subject or _not_after(cert) - _now() < RENEW_BEFORE:
        return False
    try:
        ca_cert.public_key().verify(cert.signature, cert.tbs_certificate_bytes,
                                    ec.ECDSA(cert.signature_hash_algorithm))
    except Exception:
        return False
    return set(map(repr, san)) == set(map(repr, names))


def issue(directory: str, subject: str, names: List[Any], ca_key: Any, ca_cert: Any,
          days: int) -> None:
    key = _new_key()
    now = _now()
    builder = (x509.CertificateBuilder()
               .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
               .issuer_name(ca_cert.subject)
               .public_key(key.public_key())
               .serial_number(x509.random_serial_number())
               .not_valid_before(now - datetime.timedelta(minutes=5))
               .not_valid_after(now + datetime.timedelta(days=days))
               .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
               .add_extension(x509.KeyUsage(
                   digital_signature=True, content_commitment=False, key_encipherment=False,
                   data_encipherment=False, key_agreement=True, key_cert_sign=False,
                   crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
               .add_extension(x509.ExtendedKeyUsage(
                   [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]),
                   critical=False))
    if names:
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    cert = builder.sign(ca_key, hashes.SHA256())
    _write(os.path.join(directory, f"{subject}.key"), _key_pem(key), 0o600)
    _write(os.path.join(directory, f"{subject}.pem"),
           cert.public_bytes(serialization.Encoding.PEM), 0o644)


# The options; DOCUMENTATION describes each (tests/unit/plugins/test_module_docs.py checks).
ARGUMENT_SPEC = {
    "directory": {"type": "path", "required": True},
    "name": {"type": "str", "default": "ZooKeeper lab CA"},
    "hosts": {"type": "list", "elements": "dict", "default": []},
    "clients": {"type": "list", "elements": "str", "default": []},
    "days": {"type": "int", "default": 825},
}


def main() -> None:
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    if not HAS_CRYPTOGRAPHY:
        module.fail_json(msg=missing_required_lib("cryptography"))
    params = module.params
    directory = params["directory"]
    wanted = []
    for entry in params["hosts"]:
        name = str(entry.get("name") or "")
        if not name or "/" in name or name.startswith("."):
            module.fail_json(msg=f"zookeeper_tls_ca: host name {name!r} cannot name a file")
        try:
            address = [entry["address"]] if entry.get("address") else []
            names = wanted_names([name, *(entry.get("dns") or [])],
                                 address + list(entry.get("ips") or []))
        except ValueError as error:
            module.fail_json(msg=f"zookeeper_tls_ca: {name}: {error}")
        wanted.append((name, names))
    wanted += [(str(name), [x509.DNSName(str(name))]) for name in params["clients"]]
    if os.path.islink(directory):
        module.fail_json(msg=f"zookeeper_tls_ca: {directory} is a symbolic link; give the "
                             "directory itself")
    if not module.check_mode:
        os.makedirs(directory, mode=0o700, exist_ok=True)
        os.chmod(directory, 0o700)
    ca_key, ca_cert, made = load_or_make_ca(directory, params["name"], params["days"],
                                            module.check_mode)
    issued = []
    for name, names in wanted:
        if ca_cert is not None and is_current(os.path.join(directory, f"{name}.pem"),
                                              ca_cert, names) \
                and os.path.isfile(os.path.join(directory, f"{name}.key")):
            continue
        issued.append(name)
        if not module.check_mode:
            issue(directory, name, names, ca_key, ca_cert, params["days"])
    module.exit_json(changed=made or bool(issued), ca=os.path.join(directory, "ca.pem"),
                     issued=issued)


if __name__ == "__main__":
    main()
