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

import glob
import hashlib
import os
import shutil
import tempfile
import urllib.error
from typing import Optional

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.urls import open_url
from ansible_collections.zkops.zookeeper34.plugins.module_utils.zookeeper_verify import (
    CHUNK,
    NO_VERIFIER,
    KeysError,
    check_signature,
    dearmor,
    find_verifier,
    published_sha512,
    sha512_of,
)

ARGUMENT_SPEC = {
    "path": {"type": "path", "required": True},
    "url": {"type": "str"},
    "checksum": {"type": "str", "default": ""},
    "signature_check": {"type": "bool", "default": True},
    # Public keys: nothing secret.
    "keys": {"type": "str", "no_log": False},
    "dest": {"type": "path", "required": True},
    "top": {"type": "str", "required": True},
    "advice": {"type": "str", "default": ""},
    "signature_missing_advice": {"type": "str", "default": ""},
    "timeout": {"type": "int", "default": 10},
    "validate_certs": {"type": "bool", "default": True},
}


class Refused(Exception):
    """A step that must stop the run: its message says which and why."""


def with_advice(message: str, advice: str) -> str:
    return f"{message} {advice}" if advice else message


def get(module: AnsibleModule, url: str):
    """The server's response to a GET of `url`; Refused when there is none, or not a 200.
    (open_url, not fetch_url: that one makes the remote_tmp directory it never uses here.)"""
    try:
        response = open_url(url, timeout=module.params["timeout"],
                            validate_certs=module.params["validate_certs"],
                            http_agent="ansible-zookeeper_release")
    except urllib.error.HTTPError as error:
        raise Refused(f"{url} could not be fetched (HTTP status {error.code}: {error.reason})"
                      ) from None
    except (urllib.error.URLError, OSError, ValueError) as error:
        raise Refused(f"{url} could not be fetched ({getattr(error, 'reason', error)})"
                      ) from None
    if response.getcode() != 200:
        raise Refused(f"{url} could not be fetched (HTTP status {response.getcode()})")
    return response


def download(module: AnsibleModule, url: str, path: str, expected: Optional[str]) -> None:
    """`url` into `path` (mode 0644) through a temporary file beside it, renamed into place
    only when its sha512 is `expected` (any, when None)."""
    response = get(module, url)
    os.makedirs(os.path.dirname(path), mode=0o755, exist_ok=True)
    handle, partial = tempfile.mkstemp(dir=os.path.dirname(path),
                                       prefix="." + os.path.basename(path) + ".")
    try:
        digest = hashlib.sha512()
        with os.fdopen(handle, "wb") as out:
            for chunk in iter(lambda: response.read(CHUNK), b""):
                out.write(chunk)
                digest.update(chunk)
        if expected is not None and digest.hexdigest() != expected:
            raise Refused(f"{url} has sha512 {digest.hexdigest()}, not the release's "
                          f"{expected}: it is not the release (a mirror's error page, a cut "
                          "download or another file)")
        os.chmod(partial, 0o644)
        os.rename(partial, path)
    finally:
        if os.path.exists(partial):
            os.unlink(partial)


def expected_sha512(module: AnsibleModule) -> Optional[str]:
    """The sha512 the tarball must have: the one given, or (with a URL) the one published."""
    params = module.params
    if params["checksum"]:
        return params["checksum"].strip().lower()
    if not params["url"]:
        return None
    published = params["url"] + ".sha512"
    text = get(module, published).read().decode("utf-8", "replace")
    try:
        return published_sha512(text)
    except ValueError as error:
        raise Refused(f"{published}: {error}") from None


def fetch(module: AnsibleModule, expected: Optional[str]) -> list:
    """Download what is missing or differs (nothing in check mode): the files fetched."""
    params = module.params
    path, url = params["path"], params["url"]
    fetched = []
    found = sha512_of(path) if url or expected is not None else None
    if url and found != expected:
        fetched.append(path)
        if not module.check_mode:
            download(module, url, path, expected)
    elif not url and expected is not None and found is not None and found != expected:
        raise Refused(f"{path} has sha512 {found}, not the release's {expected}")
    signature = path + ".asc"
    if url and params["signature_check"] and (path in fetched or not os.path.isfile(signature)):
        fetched.append(signature)
        if not module.check_mode:
            try:
                download(module, url + ".asc", signature, None)
            except Refused as error:
                raise Refused(with_advice(f"the release's signature {error}, so nothing was "
                                          "unpacked.", params["signature_missing_advice"])
                              ) from None
    return fetched


def verify(module: AnsibleModule, keyring: bytes) -> dict:
    """The good signature of the tarball, or Refused."""
    params = module.params
    path, signature = params["path"], params["path"] + ".asc"
    for what, name in ((path, "the file"), (signature, "its signature")):
        if not os.path.isfile(what):
            raise Refused(with_advice(f"{path}: {what} ({name}) does not exist or is not a "
                                      "regular file.", params["signature_missing_advice"]))
    verifier = find_verifier(module.get_bin_path)
    if verifier is None:
        raise Refused(f"{path}: {NO_VERIFIER}.")
    result, why, _rc, _stderr = check_signature(module.run_command, verifier, keyring,
                                                signature, path)
    if result is None:
        raise Refused(with_advice(f"{path}: its signature {signature} is not good: {why}.",
                                  params["advice"]))
    return dict(result, verifier=verifier)


def unpack(module: AnsibleModule, release: str) -> None:
    """The tarball's top directory unpacked into a temporary directory of the destination,
    then renamed to `release` (an incomplete one there is replaced)."""
    params = module.params
    dest, top = params["dest"], params["top"]
    for leftover in glob.glob(os.path.join(glob.escape(dest), "." + top + ".unpacking-*")):
        shutil.rmtree(leftover, ignore_errors=True)
    os.makedirs(dest, mode=0o755, exist_ok=True)
    work = tempfile.mkdtemp(dir=dest, prefix="." + top + ".unpacking-")
    try:
        tar = module.get_bin_path("tar", required=True)
        rc, _out, err = module.run_command([tar, "-xzf", params["path"], "-C", work,
                                            "--no-same-owner"])
        if rc != 0:
            raise Refused(f"{params['path']}: tar could not unpack it (rc {rc}): "
                          f"{err.strip()[-1500:]}")
        unpacked = os.path.join(work, top)
        if not os.path.isdir(os.path.join(unpacked, "lib")):
            raise Refused(f"{params['path']} holds no {top}/lib: it is not the release the "
                          "inventory names, so nothing was put in place")
        if os.path.lexists(release):  # an earlier unpack, cut short
            os.rename(release, os.path.join(work, "replaced"))
        os.rename(unpacked, release)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    params = module.params
    if params["signature_check"] and not params["keys"]:
        module.fail_json(msg="keys is required when signature_check is true")
    release = os.path.join(params["dest"], params["top"])
    result = {"changed": False, "release": release, "fetched": [], "sha512": None,
              "unpacked": False, "signature": None}
    if os.path.isdir(os.path.join(release, "lib")):
        module.exit_json(**result)
    try:
        keyring = dearmor(params["keys"])[0] if params["signature_check"] else b""
    except KeysError as error:
        module.fail_json(msg=with_advice(f"{params['path']}: the trusted keys cannot be used: "
                                         f"{error}.", params["advice"]), **result)
    try:
        result["sha512"] = expected_sha512(module)
        result["fetched"] = fetch(module, result["sha512"])
        present = os.path.isfile(params["path"]) and not result["fetched"]
        if params["signature_check"] and (present or not module.check_mode):
            result["signature"] = verify(module, keyring)
        result.update(changed=True, unpacked=True)
        if module._diff:
            result["diff"] = {"before_header": release, "after_header": release,
                              "before": "", "after": f"unpacked from {params['path']}\n"}
        if not module.check_mode:
            unpack(module, release)
    except Refused as error:
        module.fail_json(msg=str(error), **result)
    except OSError as error:
        module.fail_json(msg=f"{release}: {error}", **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
