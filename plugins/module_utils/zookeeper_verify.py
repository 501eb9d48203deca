"""What a release's published files say, shared by the zookeeper role's modules: its sha512
(the .sha512 Apache publishes beside each tarball) and its detached OpenPGP signature (the .asc),
checked against trusted keys with gpgv in a directory of its own.

It runs on the hosts' Python, 3.6 and later, and on the controller (the zookeeper_sha512
filter): standard library only, no ``from __future__ import annotations``; ``make lint`` checks
the floor with vermin.
"""

import base64
import binascii
import hashlib
import os
import re
import shutil
import tempfile
from typing import Callable, Dict, List, Optional, Tuple

BLOCK = re.compile(r"-----BEGIN PGP PUBLIC KEY BLOCK-----\r?\n(.*?)"
                   r"-----END PGP PUBLIC KEY BLOCK-----", re.S)
# The programs that check a detached signature against a keyring, in the order tried.
VERIFIERS = ("gpgv", "gpgv2", "gpg")
_HEX = re.compile(r"[0-9a-fA-F]+")
# Bytes read at a time from a file or a download.
CHUNK = 1 << 20


class KeysError(ValueError):
    """The keys text holds no usable public key block."""


def sha512_of(path: str) -> Optional[str]:
    """The file's sha512, or None when it is not a regular file."""
    if not os.path.isfile(path):
        return None
    digest = hashlib.sha512()
    with open(path, "rb") as source:
        for chunk in iter(lambda: source.read(CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def published_sha512(text: str) -> str:
    """The sha512 digest from a .sha512 file, in either format Apache has used:
    `<hex>  <file>` (sha512sum) or `<file>: 0123ABCD 4567EF01 ...` (gpg --print-md); ValueError
    when it holds none."""
    body = text or ""
    if ":" in body.split("\n", 1)[0]:
        body = body.split(":", 1)[1]
    digest = ""
    for token in body.split():
        if not _HEX.fullmatch(token):
            break
        digest += token
    digest = digest.lower()
    if len(digest) != 128:
        raise ValueError(f"no sha512 digest in the checksum file (read {(text or '')[:200]!r}); "
                         "set zookeeper_checksum to the release's sha512")
    return digest


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
        raise KeysError(f"public key block {number} does not match its checksum (the text was "
                        "changed or cut)")
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
        return None, (f"it was made by key {status['NO_PUBKEY'][0][0]}, which is not among "
                      "the trusted keys")
    if "NODATA" in status:
        return None, "the signature file holds no OpenPGP signature"
    if "ERRSIG" in status:
        return None, f"the signature could not be checked (ERRSIG {' '.join(status['ERRSIG'][0])})"
    return None, "no good signature was found"


def find_verifier(which: Callable[[str], Optional[str]]) -> Optional[str]:
    """The first of VERIFIERS that `which` (AnsibleModule.get_bin_path) finds."""
    for name in VERIFIERS:
        path = which(name)
        if path:
            return path
    return None


NO_VERIFIER = ("no program here checks OpenPGP signatures (gpgv, gpgv2 or gpg): install gpgv "
               "(Debian, Ubuntu) or gnupg2 (the RHEL family)")


def verify_command(verifier: str, home: str, keyring: str, signature: str, path: str) -> List[str]:
    """The command that checks `signature` of `path` against `keyring` alone, with `home` as
    GnuPG's home (nothing of root's is read or written)."""
    if os.path.basename(verifier) == "gpg":
        return [verifier, "--homedir", home, "--batch", "--no-default-keyring", "--keyring",
                keyring, "--trust-model", "always", "--status-fd", "1", "--verify", signature,
                path]
    return [verifier, "--homedir", home, "--keyring", keyring, "--status-fd", "1", signature,
            path]


Runner = Callable[[List[str]], Tuple[int, str, str]]


def check_signature(run: Runner, verifier: str, keyring: bytes, signature: str,
                    path: str) -> Tuple[Optional[dict], str, int, str]:
    """Check `signature` of `path` against `keyring` (dearmor's) with `verifier`, through
    `run` (AnsibleModule.run_command): the good signature's fingerprint, signer and time, or
    None and why not; then the verifier's return code and error output."""
    home = tempfile.mkdtemp(prefix="zookeeper-signature-")
    try:
        keyring_path = os.path.join(home, "trusted.gpg")
        with open(keyring_path, "wb") as out:
            out.write(keyring)
        rc, out_text, err_text = run(verify_command(verifier, home, keyring_path, signature,
                                                    path))
    finally:
        shutil.rmtree(home, ignore_errors=True)
    result, why = judge(status_lines(out_text))
    if rc != 0 or result is None:
        return None, why or "the check failed", rc, err_text
    return result, "", rc, err_text
