#!/usr/bin/python
"""Ansible module: check a release's detached OpenPGP signature against trusted keys."""

DOCUMENTATION = r"""
---
module: zookeeper_signature
short_description: Check a file's detached OpenPGP signature against the keys given
description:
  - Changes nothing. Checks that O(signature) is a good signature of O(path) made by one of the
    public keys in O(keys), with C(gpgv) (or C(gpgv2), or C(gpg) as a last resort) in a
    temporary directory of its own, so that no keyring of the host is read or written.
  - The zookeeper role runs it on each release tarball (the C(.asc) Apache publishes beside
    it) before root unpacks it, with the Apache ZooKeeper C(KEYS) pinned in the role.
options:
  path:
    description: The signed file.
    type: path
    required: true
  signature:
    description: Its detached signature, ASCII-armored (C(.asc)) or binary.
    type: path
    required: true
  keys:
    description:
      - The trusted public keys, ASCII-armored; the text of an Apache C(KEYS) file, which may
        hold many key blocks with text between them. Every key in it is trusted.
    type: str
    required: true
  advice:
    description: What to tell the user to do, added to each failure's message.
    type: str
    required: false
    default: ""
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: It changes nothing in any mode; check mode checks as a normal run does.
  diff_mode:
    support: none
  platform:
    platforms: posix
notes:
  - Supports check mode, which checks as a normal run does, and always returns
    C(changed=false).
  - Needs C(gpgv) on the host (Debian and Ubuntu have it with apt; the RHEL family's C(gnupg2)
    package has C(gpgv) or C(gpgv2)).
  - Like C(gpgv), it trusts every key given and does not check their expiry or revocation; the
    keys given are the trust decision.
  - Runs on the host's Python 3.6 or later, standard library only.
author:
  - zookeeper-ansible (!UNKNOWN)
"""

EXAMPLES = r"""
- name: Check the release's signature
  zkops.zookeeper34.zookeeper_signature:
    path: /var/cache/zookeeper/zookeeper-3.4.14.tar.gz
    signature: /var/cache/zookeeper/zookeeper-3.4.14.tar.gz.asc
    keys: "{{ lookup('ansible.builtin.file', 'KEYS') }}"
"""

RETURN = r"""
fingerprint:
  description: The fingerprint of the primary key whose (sub)key made the signature.
  returned: success
  type: str
  sample: BBE7232D7991050B54C8EA0ADC08637CA615D22C
signer:
  description: The user id of that key, as the signature check reports it.
  returned: success
  type: str
  sample: Enrico Olivelli <eolivelli@apache.org>
signed:
  description: When the signature was made, in seconds since the epoch.
  returned: success
  type: int
  sample: 1645778880
keys:
  description: How many public key blocks O(keys) held.
  returned: always
  type: int
  sample: 16
verifier:
  description: The program that checked the signature.
  returned: success
  type: str
  sample: /usr/bin/gpgv
"""

import base64
import binascii
import os
import re
import shutil
import tempfile
from typing import Dict, List, Optional, Tuple

from ansible.module_utils.basic import AnsibleModule

BLOCK = re.compile(r"-----BEGIN PGP PUBLIC KEY BLOCK-----\r?\n(.*?)"
                   r"-----END PGP PUBLIC KEY BLOCK-----", re.S)
# The programs that check a detached signature against a keyring, in the order tried.
VERIFIERS = ("gpgv", "gpgv2", "gpg")


class KeysError(ValueError):
    """The keys text holds no usable public key block."""


def crc24(data: bytes) -> int:
    """The CRC-24 of OpenPGP's ASCII armor (RFC 4880, 6.1)."""
    crc = 0xB704CE
    for byte in data:
        crc ^= byte << 16
        for _bit in range(8):
            crc <<= 1
            if crc & 0x1000000:
                crc ^= 0x1864CFB
    return crc & 0xFFFFFF


def dearmor_block(body: str, number: int) -> bytes:
    """One armored block's packets: the armor headers skipped, the base64 decoded and checked
    against the block's CRC-24 when it has one."""
    lines = [line.strip() for line in body.splitlines()]
    if "" in lines:  # armor headers (Version:, Comment:) end at the first empty line
        lines = lines[lines.index("") + 1:]
    checksum = None
    if lines and lines[-1].startswith("="):
        checksum = lines.pop()[1:]
    try:
        data = base64.b64decode("".join(lines), validate=True)
        expected = base64.b64decode(checksum, validate=True) if checksum is not None else None
    except (binascii.Error, ValueError):
        raise KeysError(f"public key block {number} is not valid base64") from None
    if not data:
        raise KeysError(f"public key block {number} is empty")
    if expected is not None and int.from_bytes(expected, "big") != crc24(data):
        raise KeysError(f"public key block {number} does not match its checksum (the text "
                        "was changed or cut)")
    return data


def dearmor(text: str) -> Tuple[bytes, int]:
    """Every public key block of `text`, decoded into one binary keyring (the packets of each
    key one after another, the format gpgv reads), and how many blocks there were."""
    blocks = BLOCK.findall(text)
    if not blocks:
        raise KeysError("they hold no public key block (-----BEGIN PGP PUBLIC KEY BLOCK-----)")
    return b"".join(dearmor_block(body, n) for n, body in enumerate(blocks, start=1)), len(blocks)


def status_lines(output: str) -> Dict[str, List[List[str]]]:
    """The [GNUPG:] status lines of a check, by keyword: each a list of the lines' fields."""
    found = {}  # type: Dict[str, List[List[str]]]
    for line in output.splitlines():
        if line.startswith("[GNUPG:] "):
            fields = line[len("[GNUPG:] "):].split(" ")
            found.setdefault(fields[0], []).append(fields[1:])
    return found


def judge(status: Dict[str, List[List[str]]]) -> Tuple[Optional[dict], str]:
    """What the status lines say: the good signature's fingerprint, signer and time, or None
    and why not."""
    if "VALIDSIG" in status and "GOODSIG" in status and "BADSIG" not in status:
        valid = status["VALIDSIG"][0]
        return {"fingerprint": valid[-1] if len(valid) >= 10 else valid[0],
                "signer": " ".join(status["GOODSIG"][0][1:]),
                "signed": int(valid[2]) if len(valid) > 2 and valid[2].isdigit() else None}, ""
    if "BADSIG" in status:
        return None, ("the signature does not match the file: the file was changed after it was "
                      "signed, or the signature is of another file")
    if "NO_PUBKEY" in status:
        return None, (f"it was made by key {status['NO_PUBKEY'][0][0]}, which is not among the "
                      "trusted keys")
    if "NODATA" in status:
        return None, "the signature file holds no OpenPGP signature"
    if "ERRSIG" in status:
        return None, f"the signature could not be checked (ERRSIG {' '.join(status['ERRSIG'][0])})"
    return None, "no good signature was found"


def find_verifier(module: AnsibleModule) -> Optional[str]:
    for name in VERIFIERS:
        path = module.get_bin_path(name)
        if path:
            return path
    return None


def verify_command(verifier: str, home: str, keyring: str, signature: str, path: str) -> List[str]:
    """The command that checks `signature` of `path` against `keyring` alone, with `home` as
    GnuPG's home (nothing of root's is read or written)."""
    if os.path.basename(verifier) == "gpg":
        return [verifier, "--homedir", home, "--batch", "--no-default-keyring", "--keyring",
                keyring, "--trust-model", "always", "--status-fd", "1", "--verify", signature,
                path]
    return [verifier, "--homedir", home, "--keyring", keyring, "--status-fd", "1", signature,
            path]


ARGUMENT_SPEC = {
    "path": {"type": "path", "required": True},
    "signature": {"type": "path", "required": True},
    # Public keys: nothing secret.
    "keys": {"type": "str", "required": True, "no_log": False},
    "advice": {"type": "str", "default": ""},
}


def main() -> None:
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    params = module.params
    advice = f" {params['advice']}" if params["advice"] else ""

    def fail(why: str, **extra: object) -> None:
        module.fail_json(msg=f"{params['path']}: {why}.{advice}", **extra)

    try:
        keyring, count = dearmor(params["keys"])
    except KeysError as error:
        fail(f"the trusted keys cannot be used: {error}", keys=0)
    for what in ("path", "signature"):
        if not os.path.isfile(params[what]):
            fail(f"{params[what]} ({'the file' if what == 'path' else 'its signature'}) does "
                 "not exist or is not a regular file", keys=count)
    verifier = find_verifier(module)
    if verifier is None:
        fail("no program here checks OpenPGP signatures (gpgv, gpgv2 or gpg): install gpgv "
             "(Debian, Ubuntu) or gnupg2 (the RHEL family)", keys=count)
    home = tempfile.mkdtemp(prefix="zookeeper-signature-")
    try:
        keyring_path = os.path.join(home, "trusted.gpg")
        with open(keyring_path, "wb") as out:
            out.write(keyring)
        rc, out_text, err_text = module.run_command(
            verify_command(verifier, home, keyring_path, params["signature"], params["path"]))
    finally:
        shutil.rmtree(home, ignore_errors=True)
    result, why = judge(status_lines(out_text))
    if rc != 0 or result is None:
        fail(f"its signature {params['signature']} is not good: "
             f"{why or 'the check failed'}", keys=count, rc=rc, stderr=err_text,
             verifier=verifier)
    module.exit_json(changed=False, keys=count, verifier=verifier, **result)


if __name__ == "__main__":
    main()
