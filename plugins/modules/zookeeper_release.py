#!/usr/bin/python
"""Ansible module: fetch a ZooKeeper release, check it and unpack it, in one call."""

DOCUMENTATION = r"""
---
module: zookeeper_release
short_description: Fetch a release tarball, check its sha512 and signature, and unpack it
description:
  - Puts a release in place in one call, where the zookeeper role had five (C(uri) for the
    published sha512, C(get_url) for the tarball and for its signature, zookeeper_signature
    and C(unarchive)). Each step is taken only where it has work.
  - The same code runs in zkops.zookeeper34.zookeeper_files with its C(release) option (the
    zookeeper role's tarball method, so that a new server's release and files are one call).
  - Nothing is done when O(dest)/O(top)/lib exists already (the release is in place).
  - With O(url), the tarball is downloaded to O(path) unless it is there with the right
    sha512, which is O(checksum) or the one published beside it (O(url) with C(.sha512)). A
    download goes to a temporary file beside O(path), renamed into place only when its sha512
    matches.
  - With O(signature_check), its detached signature (O(path) with C(.asc), fetched from O(url)
    with C(.asc) when missing or when the tarball was just fetched) must be a good signature
    by one of O(keys), checked as zookeeper_signature checks it, before anything is unpacked.
  - The tarball is unpacked with C(tar) into a temporary directory in O(dest), owned by root,
    and its O(top) directory is then renamed into place. An interrupted run leaves no half
    release that the next run would take for a whole one. A directory O(top) without C(lib)
    (an unpack cut short by an earlier tool) is replaced, and the leftovers of an interrupted
    unpack are removed.
options:
  path:
    description:
      - The release tarball on the host (gzip-compressed tar). Its directory is made (mode 0755)
        when a download needs it.
    type: path
    required: true
  url:
    description:
      - Where to fetch the tarball from when O(path) is missing or differs. Its signature is
        O(url) with C(.asc), its published sha512 O(url) with C(.sha512).
      - Without it, O(path) must be on the host already (copied there by an earlier task).
    type: str
    required: false
  checksum:
    description:
      - The tarball's sha512, 128 hexadecimal digits.
      - When empty, with O(url) the sha512 published beside it is read (also in check mode);
        without O(url) the tarball's sha512 is not checked (the task that copied it did).
    type: str
    required: false
    default: ""
  signature_check:
    description: Check the tarball's detached signature against O(keys) before unpacking it.
    type: bool
    required: false
    default: true
  keys:
    description:
      - The trusted public keys, ASCII-armored (the text of an Apache C(KEYS) file). Required
        with O(signature_check).
    type: str
    required: false
  dest:
    description: The directory to unpack into, made (mode 0755) when missing.
    type: path
    required: true
  top:
    description:
      - The directory the tarball holds (C(zookeeper-3.4.13)). The release is O(dest)/O(top).
    type: str
    required: true
  advice:
    description: What to tell the user to do, added to the message of a bad signature.
    type: str
    required: false
    default: ""
  signature_missing_advice:
    description: What to tell the user to do, added when the signature cannot be fetched.
    type: str
    required: false
    default: ""
  timeout:
    description: Seconds to wait for each download's server.
    type: int
    required: false
    default: 10
  validate_certs:
    description: Check the server's TLS certificate on an C(https) O(url).
    type: bool
    required: false
    default: true
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details:
      - Downloads, writes and unpacks nothing. It reads the published sha512, and checks the
        signature where both files are on the host already and would not be fetched again.
  diff_mode:
    support: partial
    details: Names the release directory the run would unpack.
  platform:
    platforms: posix
notes:
  - Supports check mode and diff mode (see attributes).
  - Needs C(tar) with gzip, and with O(signature_check) C(gpgv) (or C(gpgv2), or C(gpg)).
  - Runs on the host's Python 3.6 or later.
seealso:
  - module: zkops.zookeeper34.zookeeper_signature
author:
  - zookeeper-ansible (!UNKNOWN)
"""

EXAMPLES = r"""
- name: Put the release in place
  zkops.zookeeper34.zookeeper_release:
    url: https://archive.apache.org/dist/zookeeper/zookeeper-3.4.13/zookeeper-3.4.13.tar.gz
    path: /var/cache/zookeeper/zookeeper-3.4.13.tar.gz
    keys: "{{ lookup('ansible.builtin.file', 'KEYS') }}"
    dest: /opt
    top: zookeeper-3.4.13
"""

RETURN = r"""
release:
  description: The release directory, O(dest)/O(top).
  returned: always
  type: str
  sample: /opt/zookeeper-3.4.13
fetched:
  description: The files downloaded (in check mode, those that would be).
  returned: always
  type: list
  elements: str
  sample: [/var/cache/zookeeper/zookeeper-3.4.13.tar.gz]
sha512:
  description: The sha512 the tarball was checked against (none when nothing was checked).
  returned: always
  type: str
unpacked:
  description: Whether the release was unpacked (in check mode, would be).
  returned: always
  type: bool
signature:
  description:
    - The good signature's key fingerprint, signer, time (seconds since the epoch) and the
      program that checked it; none when no signature was checked.
  returned: always
  type: dict
  sample:
    fingerprint: BBE7232D7991050B54C8EA0ADC08637CA615D22C
    signer: Enrico Olivelli <eolivelli@apache.org>
    signed: 1645778880
    verifier: /usr/bin/gpgv
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.zkops.zookeeper34.plugins.module_utils.zookeeper_release import (
    ARGUMENT_SPEC,
    put_in_place,
)


def main() -> None:
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    result, refused = put_in_place(module, module.params)
    if refused:
        module.fail_json(msg=refused, **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
