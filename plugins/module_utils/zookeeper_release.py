"""Put a ZooKeeper release in place on a host: the published sha512, the tarball and its
detached signature fetched where missing or different, the signature checked, the tarball
unpacked into a directory of its own and renamed into place. Shared by the zookeeper_release
module and by zookeeper_files (its ``release`` option: a new host's write in the same call).

It runs on the hosts' Python, 3.6 and later: standard library and Ansible's module_utils only,
no ``from __future__ import annotations``; ``make lint`` checks the floor with vermin.
"""

import glob
import hashlib
import os
import shutil
import tempfile
import urllib.error
from typing import Dict, Optional, Tuple

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

# The options of zookeeper_release, and the suboptions of zookeeper_files' release.
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


def get(params: Dict, url: str):
    """The server's response to a GET of `url`; Refused when there is none, or not a 200.
    (open_url, not fetch_url: that one makes the remote_tmp directory it never uses here.)"""
    try:
        response = open_url(url, timeout=params["timeout"],
                            validate_certs=params["validate_certs"],
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


def download(params: Dict, url: str, path: str, expected: Optional[str]) -> None:
    """`url` into `path` (mode 0644) through a temporary file beside it, renamed into place
    only when its sha512 is `expected` (any, when None)."""
    response = get(params, url)
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


def expected_sha512(params: Dict) -> Optional[str]:
    """The sha512 the tarball must have: the one given, or (with a URL) the one published."""
    if params["checksum"]:
        return params["checksum"].strip().lower()
    if not params["url"]:
        return None
    published = params["url"] + ".sha512"
    text = get(params, published).read().decode("utf-8", "replace")
    try:
        return published_sha512(text)
    except ValueError as error:
        raise Refused(f"{published}: {error}") from None


def fetch(module: AnsibleModule, params: Dict, expected: Optional[str]) -> list:
    """Download what is missing or differs (nothing in check mode): the files fetched."""
    path, url = params["path"], params["url"]
    fetched = []
    found = sha512_of(path) if url or expected is not None else None
    if url and found != expected:
        fetched.append(path)
        if not module.check_mode:
            download(params, url, path, expected)
    elif not url and expected is not None and found is not None and found != expected:
        raise Refused(f"{path} has sha512 {found}, not the release's {expected}")
    signature = path + ".asc"
    if url and params["signature_check"] and (path in fetched or not os.path.isfile(signature)):
        fetched.append(signature)
        if not module.check_mode:
            try:
                download(params, url + ".asc", signature, None)
            except Refused as error:
                raise Refused(with_advice(f"the release's signature {error}, so nothing was "
                                          "unpacked.", params["signature_missing_advice"])
                              ) from None
    return fetched


def verify(module: AnsibleModule, params: Dict, keyring: bytes) -> dict:
    """The good signature of the tarball, or Refused."""
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


def unpack(module: AnsibleModule, params: Dict, release: str) -> None:
    """The tarball's top directory unpacked into a temporary directory of the destination,
    then renamed to `release` (an incomplete one there is replaced)."""
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


def put_in_place(module: AnsibleModule, params: Dict) -> Tuple[Dict, Optional[str]]:
    """The release of `params` (ARGUMENT_SPEC's options) put in place unless it is there
    (`module` runs the commands and says whether this is check mode or diff mode): the result
    (release, fetched, sha512, unpacked, signature, changed, and diff in diff mode), and what
    refused it, None when nothing did."""
    release = os.path.join(params["dest"], params["top"])
    result = {"changed": False, "release": release, "fetched": [], "sha512": None,
              "unpacked": False, "signature": None}
    if params["signature_check"] and not params["keys"]:
        return result, "keys is required when signature_check is true"
    if os.path.isdir(os.path.join(release, "lib")):
        return result, None
    try:
        keyring = dearmor(params["keys"])[0] if params["signature_check"] else b""
    except KeysError as error:
        return result, with_advice(f"{params['path']}: the trusted keys cannot be used: "
                                   f"{error}.", params["advice"])
    try:
        result["sha512"] = expected_sha512(params)
        result["fetched"] = fetch(module, params, result["sha512"])
        present = os.path.isfile(params["path"]) and not result["fetched"]
        if params["signature_check"] and (present or not module.check_mode):
            result["signature"] = verify(module, params, keyring)
        result.update(changed=True, unpacked=True)
        if module._diff:
            result["diff"] = {"before_header": release, "after_header": release,
                              "before": "", "after": f"unpacked from {params['path']}\n"}
        if not module.check_mode:
            unpack(module, params, release)
    except Refused as error:
        return result, str(error)
    except OSError as error:
        return result, f"{release}: {error}"
    return result, None
