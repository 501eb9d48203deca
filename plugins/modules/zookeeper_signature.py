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

import os

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.zkops.zookeeper34.plugins.module_utils.zookeeper_verify import (
    NO_VERIFIER,
    KeysError,
    check_signature,
    dearmor,
    find_verifier,
)

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
    verifier = find_verifier(module.get_bin_path)
    if verifier is None:
        fail(NO_VERIFIER, keys=count)
    result, why, rc, err_text = check_signature(module.run_command, verifier, keyring,
                                                params["signature"], params["path"])
    if result is None:
        fail(f"its signature {params['signature']} is not good: {why}", keys=count, rc=rc,
             stderr=err_text, verifier=verifier)
    module.exit_json(changed=False, keys=count, verifier=verifier, **result)


if __name__ == "__main__":
    main()
